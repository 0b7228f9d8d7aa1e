"""Lake helpers and operator wiring that need no services: SparkApplication spec, job health, env connections."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from airyard import cluster, envconn
from airyard.domains import lake, operators
from airyard.domains.operators import IngestionOperator
from airyard.spark.applications import JOB_LABEL, RUN_LABEL, run_label

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def app(name: str, minutes_ago: int, state: str) -> dict:
    created = (NOW - timedelta(minutes=minutes_ago)).isoformat().replace("+00:00", "Z")
    return {"metadata": {"name": name, "creationTimestamp": created}, "status": {"applicationState": {"state": state}}}


def test_latest_finished_application_decides() -> None:
    ok = lake.assess_applications([app("a", 50, "COMPLETED"), app("b", 120, "FAILED"), app("c", 1, "RUNNING")], NOW, 90)
    assert ok["healthy"]
    assert ok["latest"]["name"] == "a"
    assert ok["running"] == ["c"]
    failed = lake.assess_applications([app("a", 50, "FAILED"), app("b", 120, "COMPLETED")], NOW, 90)
    assert not failed["healthy"]
    assert "FAILED" in failed["reason"]
    old = lake.assess_applications([app("a", 200, "COMPLETED")], NOW, 90)
    assert not old["healthy"]
    assert "200 min" in old["reason"]
    assert not lake.assess_applications([], NOW, 90)["healthy"]


def test_spark_application_is_small_restricted_and_labelled(monkeypatch) -> None:
    monkeypatch.setenv("AIRYARD_RELEASE", "airyard")
    body = lake.spark_application("domains-lake-x", run_id="r1", topic="t", active_days=7)
    assert body["metadata"]["labels"] == {JOB_LABEL: lake.SPARK_JOB, RUN_LABEL: run_label("r1")}
    spec = body["spec"]
    assert spec["image"] == "airyard/domains-spark:0.1.0"
    for role in ("driver", "executor"):
        pod = spec[role]
        assert pod["cores"] == 1
        assert pod["coreRequest"] == "100m"
        assert pod["labels"]["airyard-kafka-client"] == "true"
        assert pod["labels"][JOB_LABEL] == lake.SPARK_JOB
        assert pod["labels"]["airyard-objectstore-client"] == "true"
        # The pipeline's own identities, not the admin's: one connection per declared service.
        refs = {e["secretRef"]["name"] for e in pod["envFrom"]}
        assert refs == {"airyard-airflow-conn-kafka-domains", "airyard-airflow-conn-objectstore-domains"}
        assert pod["env"] == []
    assert spec["executor"]["instances"] == 1
    # Only the driver calls the Kubernetes API (to start its executors), as the Spark account.
    assert spec["driver"]["labels"]["airyard-kube-api-client"] == "true"
    assert "airyard-kube-api-client" not in spec["executor"]["labels"]
    assert spec["driver"]["serviceAccount"] == "airyard-spark-operator-spark"
    # Small Delta tables: their state is rebuilt in 2 partitions, not 50; JVMs sized for short jobs.
    assert spec["sparkConf"]["spark.databricks.delta.snapshotPartitions"] == "2"
    assert spec["sparkConf"]["spark.driver.extraJavaOptions"] == cluster.SPARK_JAVA_OPTIONS
    assert spec["sparkConf"]["spark.executor.extraJavaOptions"] == cluster.SPARK_JAVA_OPTIONS
    assert lake.application_name("r1", 1) != lake.application_name("r1", 2)


def test_split_s3() -> None:
    assert lake.split_s3("s3a://domains/lake/bronze/") == ("domains", "lake/bronze")
    with pytest.raises(ValueError, match="not an s3"):
        lake.split_s3("/local/path")


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
