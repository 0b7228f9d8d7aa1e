"""Domain and weather reference pipelines on the cluster, driven through Airflow's REST API,
against the fake outside services of tests/e2e/domains.py."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from devkit import airflow, kube
from tests.e2e.domains import CLIENT, NS, REL, outside_services, read_lake, received_alerts, user_env
from tests.fakes import threat_feeds

pytestmark = pytest.mark.shared_platform


@pytest.fixture(scope="module")
def fakes() -> Iterator[None]:
    with outside_services():
        yield


@pytest.fixture(scope="module")
def api(fakes) -> Iterator[airflow.Airflow]:
    with airflow.connect() as client:
        yield client


STREAM = "domains-bronze"  # airyard.domains.lake.STREAM_JOB


def stream_status() -> dict:
    return kube.get("sparkapplication", STREAM, airflow.TASKS_NAMESPACE).get("status", {})


def test_ingestion_lands_expected_domains_in_bronze_silver_gold(api: airflow.Airflow) -> None:
    run_id, run = api.run_dag("domain_ingestion_dag")
    states = api.task_states("domain_ingestion_dag", run_id)
    assert run["state"] == "success", states
    # Bronze is written by the long-running stream, which the run started or found running.
    assert stream_status()["applicationState"]["state"] == "RUNNING"
    lake = read_lake("ingest")
    assert set(lake["bronze"]["domains"]) >= threat_feeds.ALL_EXPECTED
    assert lake["bronze"]["rows"] == lake["bronze"]["events"]  # one row per event id
    silver = {json.loads(r)["domain"]: json.loads(r) for r in lake["silver"]}
    gold = {json.loads(r)["domain"] for r in lake["gold/blocklist"]}
    assert set(silver) >= threat_feeds.ALL_EXPECTED
    assert gold >= threat_feeds.ALL_EXPECTED
    assert silver["login-paypa1.com"]["sources"] == ["phishing_domains", "phishtank_json"]
    assert not any(d in silver for d in ("localhost", "203.0.113.7", "bad_label.com"))


def test_bronze_stream_killed_is_restarted_by_the_operator_and_keeps_bronze_current(api: airflow.Airflow) -> None:
    before = stream_status()
    assert before["applicationState"]["state"] == "RUNNING"
    events = read_lake("stream-before")["bronze"]["events"]
    kube.kubectl("delete", "pod", before["driverInfo"]["podName"], "-n", airflow.TASKS_NAMESPACE, "--wait=false")

    def restarted() -> bool:
        now = stream_status()
        resubmitted = now["submissionAttempts"] > before["submissionAttempts"]
        return resubmitted and now["applicationState"]["state"] == "RUNNING"

    kube.wait_until("the Spark operator restarts the bronze stream", restarted, timeout=600, interval=5)
    # The next run's records reach bronze through the restarted stream (build_lake waits for them).
    run_id, run = api.run_dag("domain_ingestion_dag")
    states = api.task_states("domain_ingestion_dag", run_id)
    assert run["state"] == "success", states
    assert f"bronze stream {STREAM}: kept" in api.task_log("domain_ingestion_dag", run_id, "ensure_bronze_stream")
    assert read_lake("stream-after")["bronze"]["events"] > events


GOLD_LOG = "lake/gold/blocklist/_delta_log/"
BACKDATE = """
import boto3, json, os
e = os.environ
s3 = boto3.client("s3", endpoint_url=e["OBJECTSTORE_ENDPOINT"], aws_access_key_id=e["AWS_ACCESS_KEY_ID"],
                  aws_secret_access_key=e["AWS_SECRET_ACCESS_KEY"], region_name="us-east-1")
listing = s3.list_objects_v2(Bucket="domains", Prefix="%s")["Contents"]
keys = sorted(o["Key"] for o in listing if o["Key"].endswith(".json") and o["Key"][-25:-5].isdigit())
key = keys[-1]
lines = s3.get_object(Bucket="domains", Key=key)["Body"].read().decode().splitlines()
out = []
for line in lines:
    doc = json.loads(line)
    if "commitInfo" in doc:
        doc["commitInfo"]["timestamp"] += %d
    out.append(json.dumps(doc))
s3.put_object(Bucket="domains", Key=key, Body="\\n".join(out).encode())
print("BACKDATED", key)
"""


def test_monitoring_passes_when_fresh_and_alerts_when_gold_is_stale(api: airflow.Airflow) -> None:
    run_id, run = api.run_dag("monitoring_dag", timeout=900)
    states = api.task_states("monitoring_dag", run_id)
    assert run["state"] == "success", states
    assert states["alert_on_failure"] == "skipped"

    three_hours = 3 * 3600 * 1000
    kube.run_script(
        NS, "e2e-backdate-gold", BACKDATE % (GOLD_LOG, -three_hours), labels=CLIENT, env=user_env("domains")
    )
    try:
        run_id, run = api.run_dag("monitoring_dag", timeout=900)
        states = api.task_states("monitoring_dag", run_id)
        assert run["state"] == "failed", states
        assert states["data_quality.check_gold_freshness"] == "failed"
        assert states["data_quality.check_bronze_freshness"] == "success"
        assert states["alert_on_failure"] == "failed"  # alerted, then failed the run
        assert any("check_gold_freshness" in hook["body"] for hook in received_alerts())
    finally:
        kube.run_script(
            NS, "e2e-restore-gold", BACKDATE % (GOLD_LOG, three_hours), labels=CLIENT, env=user_env("domains")
        )


def backfill(
    api: airflow.Airflow, dag_id: str, start: str, end: str, behavior: str, max_active_runs: int = 1
) -> list[dict]:
    api.wait_for_dag(dag_id)
    body = {
        "dag_id": dag_id,
        "from_date": start,
        "to_date": end,
        "reprocess_behavior": behavior,
        "max_active_runs": max_active_runs,
    }
    created = api.request("POST", "/backfills", json=body)
    # Unpaused, the DAG also gets its latest daily run from the scheduler: left alone, because it
    # must not touch the lake (skip_scheduled_run; the test below checks it).
    api.set_paused(dag_id, False)
    try:
        deadline = time.monotonic() + 2400
        while time.monotonic() < deadline and not api.request("GET", f"/backfills/{created['id']}").get("completed_at"):
            time.sleep(10)
    finally:
        api.set_paused(dag_id, True)
    runs = api.request("GET", f"/dags/{dag_id}/dagRuns", params={"run_type": "backfill", "limit": 100})["dag_runs"]
    # Compare days: "2026-03-01T00:00:00Z" sorts after "2026-03-01".
    return [r for r in runs if start[:10] <= r["logical_date"][:10] <= end[:10]]


def lake_builds(run_id: str) -> tuple[str, str]:
    """When the run's (last) lake build was submitted and when it ended, from its SparkApplication."""
    label = hashlib.sha256(run_id.encode()).hexdigest()[:16]  # airyard.spark.applications.run_label
    selector = f"airyard.io/run={label}"
    listing = kube.kubectl("get", "sparkapplications", "-n", airflow.TASKS_NAMESPACE, "-l", selector, "-o", "json")
    apps = json.loads(listing)["items"]
    assert apps, f"no SparkApplication of {run_id}"
    status = max(apps, key=lambda a: a["metadata"]["creationTimestamp"])["status"]
    return status["lastSubmissionAttemptTime"], status["terminationTime"]


def test_backfill_of_two_days_is_idempotent(api: airflow.Airflow) -> None:
    dag_id = "domain_ingestion_backfill"
    # "completed": both days run even when an earlier session left runs of them.
    first = backfill(api, dag_id, "2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z", "completed")
    assert len(first) == 2
    assert {r["state"] for r in first} == {"success"}
    before = read_lake("backfill1")
    # Both days at once this time: their lake builds must still run one after the other.
    again = backfill(api, dag_id, "2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z", "completed", max_active_runs=2)
    assert {r["state"] for r in again} == {"success"}
    builds = sorted(lake_builds(r["dag_run_id"]) for r in again)
    assert builds[0][1] <= builds[1][0], f"two lake builds overlapped: {builds}"
    after = read_lake("backfill2")
    assert after == before
    # The scheduler's own run of the unpaused DAG ran alongside and ingested nothing.
    scheduled = api.request("GET", f"/dags/{dag_id}/dagRuns", params={"run_type": "scheduled", "state": "success"})
    assert scheduled["dag_runs"]
    for run in scheduled["dag_runs"]:
        states = api.task_states(dag_id, run["dag_run_id"])
        assert states["skip_scheduled_run"] == "success"
        assert states["run_full_ingestion"] == states["build_lake"] == "skipped"
    silver = {json.loads(r)["domain"]: json.loads(r) for r in after["silver"]}
    assert silver["login-paypa1.com"]["first_seen"].startswith("2026-03-01")


PREFS = """
import os, pymongo
db = pymongo.MongoClient(os.environ["MONGO_URI"]).get_default_database()
for i, (city, cc) in enumerate([("London", "GB"), ("Paris", "FR"), ("london", "gb")]):
    loc = {"city": city, "country": cc}
    db.user_preferences.update_one({"user_id": f"e2e-{i}"}, {"$set": {"location": loc}}, upsert=True)
print("PREFS", db.user_preferences.count_documents({}))
"""

S3_PROBE = """
import boto3, json, os
from botocore.exceptions import ClientError
e = os.environ
s3 = boto3.client("s3", endpoint_url=e["OBJECTSTORE_ENDPOINT"], aws_access_key_id=e["AWS_ACCESS_KEY_ID"],
                  aws_secret_access_key=e["AWS_SECRET_ACCESS_KEY"], region_name="us-east-1")
keys = [o["Key"] for o in s3.list_objects_v2(Bucket="weather", Prefix="raw/current/").get("Contents", [])]
refused = {}
for bucket in ("domains", "lake", "airflow-logs"):
    try:
        s3.put_object(Bucket=bucket, Key="weather-was-here.txt", Body=b"x")
        refused[bucket] = "WRITTEN"
    except ClientError as exc:
        refused[bucket] = exc.response["Error"]["Code"]
print("PROBE " + json.dumps({"keys": keys, "refused": refused}))
"""


def test_weather_lands_by_date_and_its_identity_writes_only_its_bucket(api: airflow.Airflow) -> None:
    mongo = [{"name": "MONGO_URI", "valueFrom": {"secretKeyRef": {"name": f"{REL}-mongodb-weather", "key": "uri"}}}]
    kube.run_script(NS, "e2e-weather-prefs", PREFS, labels=CLIENT, env=mongo)
    run_id, run = api.run_dag("weather_data_ingestion", timeout=900)
    assert run["state"] == "success", api.task_states("weather_data_ingestion", run_id)
    # A manual run has no data interval: the task lands its data at the run's run_after.
    landed = run["data_interval_start"] or run["run_after"]
    start = datetime.fromisoformat(landed.replace("Z", "+00:00")).astimezone(UTC)
    out = kube.run_script(NS, "e2e-weather-probe", S3_PROBE, labels=CLIENT, env=user_env("weather"))
    probe = json.loads(next(line for line in out.splitlines() if line.startswith("PROBE "))[6:])
    prefix = f"raw/current/date={start:%Y-%m-%d}/hour={start:%H}/"
    assert {f"{prefix}london-gb.json", f"{prefix}paris-fr.json"} <= set(probe["keys"])
    assert probe["refused"] == {"domains": "AccessDenied", "lake": "AccessDenied", "airflow-logs": "AccessDenied"}
