"""The domain lake in the object store: where its Delta tables live, how fresh they are, and the
SparkApplication that builds them.

Freshness is read from the Delta log itself (the commitInfo timestamp of the table's latest
version), so the check needs only S3 reads: no Spark, no Delta library in the Airflow worker.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from airyard import cluster, services
from airyard.spark.applications import FINISHED, JOB_LABEL, RUN_LABEL, run_label, state_of

BUCKET = "domains"
LAKE = f"s3a://{BUCKET}/lake"
CHECKPOINTS = f"s3a://{BUCKET}/checkpoints"
LAYERS = {"bronze": "lake/bronze", "silver": "lake/silver", "gold": "lake/gold/blocklist"}
STATS_TABLE = "lake/gold/stats"
MAX_AGE_MINUTES = {"bronze": 30, "silver": 60, "gold": 120}
SPARK_JOB = "domains-lake"
#: What the lake job's driver and executors use (jobs/domains_lake.py reads the connections).
SERVICES = ("kafka:domains", "objectstore:domains")


def split_s3(path: str) -> tuple[str, str]:
    """s3://bucket/key or s3a://bucket/key -> (bucket, key without trailing slash)."""
    scheme, _, rest = path.partition("://")
    if scheme not in {"s3", "s3a"} or not rest:
        raise ValueError(f"not an s3:// path: {path!r}")
    bucket, _, key = rest.partition("/")
    return bucket, key.strip("/")


@dataclass(frozen=True)
class Freshness:
    path: str
    version: int
    committed_at: datetime
    age_minutes: float
    operation: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "version": self.version,
            "committed_at": self.committed_at.isoformat(),
            "age_minutes": round(self.age_minutes, 2),
            "operation": self.operation,
        }


def delta_freshness(s3: Any, path: str, now: datetime | None = None) -> Freshness:
    """Latest version of the Delta table at `path` and its commit time, from its _delta_log.

    Raises FileNotFoundError when there is no table. `s3` is a boto3 S3 client.
    """
    bucket, key = split_s3(path)
    log_prefix = f"{key}/_delta_log/"
    start_after = ""
    try:  # the last checkpoint bounds the listing (the log keeps 30 days of commits)
        doc = json.loads(s3.get_object(Bucket=bucket, Key=log_prefix + "_last_checkpoint")["Body"].read())
        start_after = f"{log_prefix}{int(doc['version']):020d}"
    except s3.exceptions.NoSuchKey:
        pass
    commits: list[tuple[int, str]] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=log_prefix, StartAfter=start_after):
        for obj in page.get("Contents", []):
            name = obj["Key"][len(log_prefix) :]
            if name.endswith(".json") and name[:-5].isdigit():
                commits.append((int(name[:-5]), obj["Key"]))
    if not commits:
        raise FileNotFoundError(f"no Delta table at {path} (no commits in {log_prefix})")
    version, latest = max(commits)
    body = s3.get_object(Bucket=bucket, Key=latest)["Body"].read().decode()
    info = next((json.loads(line)["commitInfo"] for line in body.splitlines() if '"commitInfo"' in line), None)
    if not info or "timestamp" not in info:
        raise ValueError(f"{path} version {version} has no commitInfo timestamp")
    committed = datetime.fromtimestamp(int(info["timestamp"]) / 1000, tz=UTC)
    current = now or datetime.now(tz=UTC)
    return Freshness(
        path, version, committed, (current - committed).total_seconds() / 60, str(info.get("operation", ""))
    )


def application_name(run_id: str, try_number: int) -> str:
    """A DNS-1123 name per task try: re-submitting a retry never collides with the failed one."""
    return f"{SPARK_JOB}-{hashlib.sha256(f'{run_id}/{try_number}'.encode()).hexdigest()[:10]}"


def spark_application(
    name: str,
    *,
    run_id: str,
    topic: str,
    active_days: int,
    layers: str = "bronze,silver,gold",
    namespace: str = "airyard",
) -> dict[str, Any]:
    """The SparkApplication running images/domains-spark's job: bronze, silver and gold in one driver.

    Sized for a 2-core machine: one driver and one executor of 1 core each that request only a
    tenth of a core (the job is short and bursty; requests of a full core would keep it from being
    scheduled next to the platform), 2 shuffle partitions instead of 200 tiny tasks, and no UI.
    """
    uses = services.spark_pod(services.resolve(SERVICES))
    pod = {
        "cores": 1,
        "coreRequest": "100m",
        "memory": "512m",
        **uses,
        "labels": {**uses["labels"], JOB_LABEL: SPARK_JOB},
        **cluster.spark_pod_security(),
    }
    return {
        "apiVersion": "sparkoperator.k8s.io/v1beta2",
        "kind": "SparkApplication",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {JOB_LABEL: SPARK_JOB, RUN_LABEL: run_label(run_id)},
        },
        "spec": {
            "type": "Python",
            "mode": "cluster",
            "image": cluster.image("domains-spark"),
            "imagePullPolicy": "IfNotPresent",
            "mainApplicationFile": "local:///opt/airyard/jobs/domains_lake.py",
            "arguments": [
                "--lake",
                LAKE,
                "--checkpoints",
                CHECKPOINTS,
                "--topic",
                topic,
                "--active-days",
                str(active_days),
                "--layers",
                layers,
            ],
            "sparkVersion": "4.0.4",
            "sparkConf": cluster.spark_conf(
                {
                    "spark.sql.shuffle.partitions": "2",
                    # Delta rebuilds a table's state from its log in 50 partitions by default:
                    # 50 tasks for a few small files, at every snapshot of every MERGE.
                    "spark.databricks.delta.snapshotPartitions": "2",
                    "spark.kubernetes.executor.deleteOnTermination": "true",
                }
            ),
            "restartPolicy": {"type": "Never"},
            # Kept a day so SparkJobCheckOperator sees the recent history, then removed by the operator.
            "timeToLiveSeconds": 86400,
            "driver": cluster.spark_driver(pod),
            "executor": {**pod, "instances": 1},
        },
    }


def assess_applications(apps: list[dict[str, Any]], now: datetime, max_age_minutes: float) -> dict[str, Any]:
    """Health of a job from its SparkApplications: the newest finished one succeeded, recently enough.

    Returns {"healthy", "reason", "latest", "running", "counts"}.
    """

    def created(app: dict[str, Any]) -> datetime:
        return datetime.fromisoformat(app["metadata"]["creationTimestamp"].replace("Z", "+00:00"))

    ordered = sorted(apps, key=created, reverse=True)
    counts: dict[str, int] = {}
    for app in ordered:
        counts[state_of(app)] = counts.get(state_of(app), 0) + 1
    finished = [a for a in ordered if state_of(a) in FINISHED | {"FAILING"}]
    running = [a["metadata"]["name"] for a in ordered if a not in finished]
    summary: dict[str, Any] = {"counts": counts, "running": running, "latest": None}
    if not finished:
        return {**summary, "healthy": False, "reason": "no finished application"}
    latest = finished[0]
    age = (now - created(latest)).total_seconds() / 60
    summary["latest"] = {"name": latest["metadata"]["name"], "state": state_of(latest), "age_minutes": round(age, 1)}
    if state_of(latest) != "COMPLETED":
        return {
            **summary,
            "healthy": False,
            "reason": f"latest application {latest['metadata']['name']} is {state_of(latest)}",
        }
    if age > max_age_minutes:
        return {**summary, "healthy": False, "reason": f"latest success is {age:.0f} min old (> {max_age_minutes})"}
    return {**summary, "healthy": True, "reason": "ok"}
