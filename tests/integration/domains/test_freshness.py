"""DeltaFreshnessCheckOperator reads a Delta table's last commit from a real object store."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from airflow.sdk.exceptions import AirflowException
from airyard.maintenance import delete_older_than
from airyard.objectstore.delta import last_commit
from airyard.objectstore.operators import DeltaFreshnessCheckOperator

from tests import services


class FakeTI:
    def __init__(self) -> None:
        self.xcom: dict = {}

    def xcom_push(self, key: str, value: object) -> None:
        self.xcom[key] = value


@pytest.fixture
def s3(s3_service, monkeypatch):
    endpoint = s3_service.extra["endpoint"]
    conn = {
        "conn_type": "aws",
        "login": s3_service.username,
        "password": s3_service.password,
        "extra": {"endpoint_url": endpoint, "region_name": "us-east-1"},
    }
    monkeypatch.setenv("AIRFLOW_CONN_OBJECTSTORE_DOMAINS", json.dumps(conn))  # service "objectstore:domains"
    client = services.s3_client(s3_service)
    bucket = f"lake-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=bucket)
    return client, bucket


def commit(client, bucket: str, table: str, version: int, when: datetime, operation: str = "MERGE") -> None:
    """A commit file as Delta writes it: one JSON action a line, commitInfo among them."""
    lines = [
        {"commitInfo": {"timestamp": int(when.timestamp() * 1000), "operation": operation, "isBlindAppend": False}},
        {"add": {"path": f"part-{version}.parquet", "size": 1, "modificationTime": 0, "dataChange": True}},
    ]
    body = "\n".join(json.dumps(x) for x in lines)
    client.put_object(Bucket=bucket, Key=f"{table}/_delta_log/{version:020d}.json", Body=body.encode())


def test_latest_version_and_age(s3) -> None:
    client, bucket = s3
    now = datetime.now(tz=UTC)
    for v, minutes in enumerate([90, 40, 5]):
        commit(client, bucket, "lake/bronze", v, now - timedelta(minutes=minutes))
    last = last_commit(client, f"s3a://{bucket}/lake/bronze")
    assert last.version == 2
    assert (now - last.committed_at).total_seconds() / 60 == pytest.approx(5, abs=0.1)
    assert last.operation == "MERGE"


def test_operator_passes_fresh_and_fails_stale_or_missing(s3) -> None:
    client, bucket = s3
    commit(client, bucket, "lake/silver", 0, datetime.now(tz=UTC) - timedelta(minutes=45))
    ti = FakeTI()
    ok = check(f"s3://{bucket}/lake/silver", minutes=60).execute({"ti": ti})
    assert ok["passed"] is True
    assert ti.xcom["freshness"]["details"]["version"] == 0
    stale = check(f"s3://{bucket}/lake/silver", minutes=30)
    with pytest.raises(AirflowException, match="stale"):
        stale.execute({"ti": ti})
    assert ti.xcom["freshness"]["details"]["age_minutes"] == pytest.approx(45, abs=1)  # still told
    missing = check(f"s3://{bucket}/lake/gold", minutes=30)
    with pytest.raises(AirflowException, match="no Delta table"):
        missing.execute({"ti": FakeTI()})


def check(path: str, minutes: int) -> DeltaFreshnessCheckOperator:
    return DeltaFreshnessCheckOperator(
        task_id="f",
        delta_path=path,
        service="objectstore:domains",
        max_age=timedelta(minutes=minutes),
        pipeline="domains",
        layer="bronze",
    )


def test_log_retention_deletes_only_old_objects(s3) -> None:
    client, bucket = s3
    client.put_object(Bucket=bucket, Key="dag_id=x/run_id=y/task_id=z/attempt=1.log", Body=b"log")
    assert delete_older_than(client, bucket, 1) == {"kept": 1, "deleted": 0}
    # MinIO stamps LastModified itself: "older than 0 days" is everything written before now.
    assert delete_older_than(client, bucket, 0, dry_run=True) == {"kept": 0, "deleted": 1}
    assert delete_older_than(client, bucket, 0) == {"kept": 0, "deleted": 1}
    assert client.list_objects_v2(Bucket=bucket).get("KeyCount") == 0
