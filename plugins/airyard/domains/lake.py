"""The domain lake in the object store: where its Delta tables live, how fresh they are, and the
SparkApplications that feed them: the bronze stream, and the builds of silver and gold.

Freshness is read from the Delta log itself (the commitInfo timestamp of the table's latest
version), so the check needs only S3 reads: no Spark, no Delta library in the Airflow worker.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from airyard.objectstore.delta import split_s3
from airyard.spark import spec as spark_spec
from airyard.spark.applications import JOB_LABEL, RUN_LABEL, run_label

BUCKET = "domains"
LAKE = f"s3a://{BUCKET}/lake"
CHECKPOINTS = f"s3a://{BUCKET}/checkpoints"
LAYERS = {"bronze": "lake/bronze", "silver": "lake/silver", "gold": "lake/gold/blocklist"}
STATS_TABLE = "lake/gold/stats"
MAX_AGE_MINUTES = {"bronze": 30, "silver": 60, "gold": 120}
#: The builds of silver and gold, one per pipeline run, one at a time (airyard.spark.applications).
SPARK_JOB = "domains-lake"
#: The bronze stream: one long-running SparkApplication of this name in the tasks namespace.
STREAM_JOB = "domains-bronze"
#: How often the stream looks for new records in Kafka.
STREAM_TRIGGER_SECONDS = 30
#: What the lake job's driver and executors use (jobs/domains_lake.py reads the connections).
STORE_SERVICE = "objectstore:domains"
SERVICES = ("kafka:domains", STORE_SERVICE)
STORE_CONN = "objectstore_domains"
#: The consumer group build_lake asks Kafka's end offsets as (it joins nothing and commits nothing).
OFFSETS_GROUP = "airyard-domains-lake"


def application_name(run_id: str, try_number: int) -> str:
    """A DNS-1123 name per task try: re-submitting a retry never collides with the failed one."""
    return f"{SPARK_JOB}-{hashlib.sha256(f'{run_id}/{try_number}'.encode()).hexdigest()[:10]}"


def _application(
    name: str | None, job: str, labels: dict[str, str], arguments: list[str], core_request: str, **spec: Any
) -> dict[str, Any]:
    """A SparkApplication of images/domains-spark's job: 2 shuffle partitions instead of 200 tiny
    tasks, and Delta's small tables' state rebuilt in 2 partitions."""
    app = spark_spec.application(
        name=name,
        image="domains-spark",
        main_file="local:///opt/airyard/jobs/domains_lake.py",
        arguments=["--lake", LAKE, "--checkpoints", CHECKPOINTS, *arguments],
        uses=SERVICES,
        labels={JOB_LABEL: job},
        core_request=core_request,
        spark_conf={
            "spark.sql.shuffle.partitions": "2",
            # Delta rebuilds a table's state from its log in 50 partitions by default:
            # 50 tasks for a few small files, at every snapshot of every MERGE.
            "spark.databricks.delta.snapshotPartitions": "2",
            "spark.kubernetes.executor.deleteOnTermination": "true",
        },
        **spec,
    )
    app["metadata"]["labels"].update(labels)
    return app


def spark_application(name: str | None, *, run_id: str, active_days: int) -> dict[str, Any]:
    """One build of silver and gold from bronze, for a pipeline run (DomainsLakeOperator)."""
    return _application(
        name,
        SPARK_JOB,
        {RUN_LABEL: run_label(run_id)},
        ["--layers", "silver,gold", "--active-days", str(active_days)],
        core_request="100m",
        # Kept a day for the record of recent builds, then removed by the operator.
        timeToLiveSeconds=86400,
    )


def stream_application(topic: str) -> dict[str, Any]:
    """The bronze stream: Kafka → bronze, running until deleted, restarted by the operator when it
    stops (restart policy Always: the operator waits the retry interval times the attempts so far)."""
    return _application(
        STREAM_JOB,
        STREAM_JOB,
        {},
        ["--layers", "bronze", "--topic", topic, "--trigger-seconds", str(STREAM_TRIGGER_SECONDS)],
        # Idle between its batches, and there all day: a 2-core node's platform requests 1.7 cores
        # at rest, and a stream requesting 100m per pod left a build's executor unschedulable.
        core_request="25m",
        restart_policy={"type": "Always", "onFailureRetryInterval": 10, "onSubmissionFailureRetryInterval": 10},
    )


def bronze_offsets(s3: Any, topic: str) -> dict[int, int]:
    """The Kafka offsets the bronze stream has written to bronze: partition → next offset to read.

    From its checkpoint: the source offsets of the newest batch that has a commit file (Spark
    writes the commit after the batch's MERGE). Empty before the stream's first batch.
    """
    bucket, key = split_s3(f"{CHECKPOINTS}/bronze")
    committed: list[int] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{key}/commits/"):
        for obj in page.get("Contents", []):
            name = obj["Key"].rsplit("/", 1)[-1]
            if name.isdigit():
                committed.append(int(name))
    if not committed:
        return {}
    body = s3.get_object(Bucket=bucket, Key=f"{key}/offsets/{max(committed)}")["Body"].read().decode()
    for line in body.splitlines()[2:]:  # "v1", the batch's metadata, then one line per source
        offsets = json.loads(line) if line.startswith("{") else {}  # "-": a source without offsets
        if topic in offsets:
            return {int(p): int(o) for p, o in offsets[topic].items()}
    return {}


def bronze_behind(written: dict[int, int], end: dict[int, int]) -> dict[int, tuple[int, int]]:
    """Partitions whose records up to `end` are not all in bronze: partition → (written, end)."""
    return {p: (written.get(p, 0), e) for p, e in sorted(end.items()) if written.get(p, 0) < e}
