"""Lake helpers and operator wiring that need no services: SparkApplication spec, job health, env connections."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from airyard import envconn
from airyard.domains import lake, operators
from airyard.domains.operators import IngestionOperator
from airyard.objectstore.delta import split_s3
from airyard.spark import spec as spark_spec
from airyard.spark.applications import JOB_LABEL, RUN_LABEL, assess_running, run_label


class Checkpoint:
    """The S3 client calls bronze_offsets makes, over a dict of keys under the domains bucket."""

    def __init__(self, objects: dict[str, str]) -> None:
        self.objects = objects

    def get_paginator(self, _: str) -> Any:
        objects = self.objects

        class Pages:
            def paginate(self, Bucket: str, Prefix: str) -> list[dict]:
                assert Bucket == "domains"
                return [{"Contents": [{"Key": k} for k in sorted(objects) if k.startswith(Prefix)]}]

        return Pages()

    def get_object(self, Bucket: str, Key: str) -> dict:
        return {"Body": io.BytesIO(self.objects[Key].encode())}


def offsets_file(offsets: dict[str, dict[str, int]]) -> str:
    return "\n".join(["v1", json.dumps({"batchWatermarkMs": 0, "batchTimestampMs": 1}), json.dumps(offsets)])


def test_bronze_progress_is_the_newest_committed_batch_of_the_stream() -> None:
    cp = "checkpoints/bronze"
    assert lake.bronze_offsets(Checkpoint({}), "t") == {}
    store = Checkpoint(
        {
            f"{cp}/offsets/0": offsets_file({"t": {"0": 5, "1": 7}}),
            f"{cp}/offsets/1": offsets_file({"t": {"0": 9, "1": 7}}),
            # batch 2 is planned, not written: it has no commit file yet
            f"{cp}/offsets/2": offsets_file({"t": {"0": 12, "1": 8}}),
            f"{cp}/commits/0": "v1",
            f"{cp}/commits/1": "v1",
            f"{cp}/commits/.1.crc": "",
        }
    )
    written = lake.bronze_offsets(store, "t")
    assert written == {0: 9, 1: 7}
    assert lake.bronze_behind(written, {0: 9, 1: 7}) == {}
    assert lake.bronze_behind(written, {0: 12, 1: 7, 2: 0}) == {0: (9, 12)}
    # A partition the stream has not read yet is behind as soon as it holds a record.
    assert lake.bronze_behind(written, {0: 9, 1: 7, 2: 3}) == {2: (0, 3)}


def test_stream_health_is_its_application_running() -> None:
    def stream(state: str) -> dict:
        return {
            "metadata": {"name": lake.STREAM_JOB},
            "status": {"applicationState": {"state": state}, "submissionAttempts": 3},
        }

    assert assess_running(stream("RUNNING"), lake.STREAM_JOB) == {
        "state": "RUNNING",
        "attempts": 3,
        "healthy": True,
        "reason": "ok",
    }
    restarting = assess_running(stream("PENDING_RERUN"), lake.STREAM_JOB)
    assert not restarting["healthy"]
    assert restarting["reason"] == f"{lake.STREAM_JOB} is PENDING_RERUN"
    missing = assess_running(None, lake.STREAM_JOB)
    assert not missing["healthy"]
    assert "no SparkApplication" in missing["reason"]


def test_stream_application_runs_bronze_alone_and_is_restarted_by_the_operator(monkeypatch) -> None:
    monkeypatch.setenv("AIRYARD_RELEASE", "airyard")
    body = lake.stream_application("domains.observed")
    assert body["metadata"] == {"name": lake.STREAM_JOB, "labels": {JOB_LABEL: lake.STREAM_JOB}}
    spec = body["spec"]
    args = spec["arguments"]
    assert args[args.index("--layers") + 1] == "bronze"
    assert args[args.index("--topic") + 1] == "domains.observed"
    assert spec["restartPolicy"]["type"] == "Always"
    # Idle most of the time and there all day: it must leave room for the builds' pods.
    assert spec["driver"]["coreRequest"] == spec["executor"]["coreRequest"] == "25m"
    assert "timeToLiveSeconds" not in spec
    # A build never writes bronze: each Delta table has one writer.
    build = lake.spark_application("domains-lake-x", run_id="r1", active_days=7)["spec"]
    assert build["arguments"][build["arguments"].index("--layers") + 1] == "silver,gold"
    assert build["restartPolicy"] == {"type": "Never"}


def test_spark_application_is_small_restricted_and_labelled(monkeypatch) -> None:
    monkeypatch.setenv("AIRYARD_RELEASE", "airyard")
    body = lake.spark_application("domains-lake-x", run_id="r1", active_days=7)
    assert body["metadata"]["labels"] == {JOB_LABEL: lake.SPARK_JOB, RUN_LABEL: run_label("r1")}
    spec = body["spec"]
    assert spec["image"] == "airyard/domains-spark:0.1.0"
    for role in ("driver", "executor"):
        pod = spec[role]
        assert pod["cores"] == 1
        assert pod["coreRequest"] == "100m"
        assert pod["labels"]["airyard.io/kafka-client"] == "true"
        assert pod["labels"][JOB_LABEL] == lake.SPARK_JOB
        assert pod["labels"]["airyard.io/objectstore-client"] == "true"
        # The pipeline's own identities, not the admin's: one connection per declared service.
        refs = {e["secretRef"]["name"] for e in pod["envFrom"]}
        assert refs == {"airyard-airflow-conn-kafka-domains", "airyard-airflow-conn-objectstore-domains"}
        assert pod["env"] == []
    assert spec["executor"]["instances"] == 1
    # Only the driver calls the Kubernetes API (to start its executors), as the Spark account.
    assert spec["driver"]["labels"]["airyard.io/kube-api-client"] == "true"
    assert "airyard.io/kube-api-client" not in spec["executor"]["labels"]
    assert spec["driver"]["serviceAccount"] == "airyard-spark"
    # Small Delta tables: their state is rebuilt in 2 partitions, not 50; JVMs sized for short jobs.
    assert spec["sparkConf"]["spark.databricks.delta.snapshotPartitions"] == "2"
    assert spec["sparkConf"]["spark.driver.extraJavaOptions"] == spark_spec.JAVA_OPTIONS
    assert spec["sparkConf"]["spark.executor.extraJavaOptions"] == spark_spec.JAVA_OPTIONS
    assert lake.application_name("r1", 1) != lake.application_name("r1", 2)


def test_split_s3() -> None:
    assert split_s3("s3a://domains/lake/bronze/") == ("domains", "lake/bronze")
    with pytest.raises(ValueError, match="not an s3"):
        split_s3("/local/path")


def test_env_connections_json_and_uri() -> None:
    env = {
        "AIRFLOW_CONN_A": '{"conn_type": "http", "host": "feeds.svc", "port": 8080, "password": "k"}',
        "AIRFLOW_CONN_B": "https://user:s%40cret@api.example.com:8443/v1?appid=x",
    }
    a, b = envconn.get("a", env), envconn.get("b", env)
    assert a.base_url == "http://feeds.svc:8080"
    assert a.password == "k"
    assert b.base_url == "https://api.example.com:8443/v1"
    assert b.password == "s@cret"
    assert b.extra == {"appid": "x"}
    with pytest.raises(KeyError, match="AIRFLOW_CONN_C"):
        envconn.get("c", env)


def test_ingestion_operator_rejects_unknown_mode() -> None:
    with pytest.raises(ValueError, match="execution_mode"):
        IngestionOperator(task_id="x", execution_mode="docker")


def test_interval_of_scheduled_and_manual_runs() -> None:
    start, end = datetime(2026, 3, 1, 10, tzinfo=UTC), datetime(2026, 3, 1, 11, tzinfo=UTC)
    scheduled = {"data_interval_start": start, "data_interval_end": end, "logical_date": start}
    assert operators.interval(scheduled) == (start.isoformat(), end.isoformat())
    # Airflow 3 manual runs may have no logical date and no data interval at all.
    manual = {"logical_date": None, "dag_run": SimpleNamespace(run_after=end)}
    assert operators.interval(manual) == (end.isoformat(), end.isoformat())
