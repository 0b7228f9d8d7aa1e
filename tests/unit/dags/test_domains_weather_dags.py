"""The domain, monitoring, weather and maintenance DAGs have the seed's shape."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from airflow.models import DagBag

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def dags() -> DagBag:
    files = ["domains", "weather"]
    bag = DagBag(dag_folder=str(REPO / "dags" / "platform" / "airflow_log_retention.py"))
    for name in files:
        bag.collect_dags(str(REPO / "dags" / name))
    assert bag.import_errors == {}
    return bag


def downstream(dag, task_id: str) -> set[str]:
    return set(dag.get_task(task_id).downstream_task_ids)


@pytest.mark.parametrize(
    ("dag_id", "schedule"), [("domain_ingestion_dag", "*/15 * * * *"), ("domain_ingestion_backfill", "@daily")]
)
def test_ingestion_chain(dags: DagBag, dag_id: str, schedule: str) -> None:
    dag = dags.dags[dag_id]
    assert dag.schedule == schedule
    assert dag.max_active_runs == 1
    assert downstream(dag, "check_kafka_health") == {"ensure_bronze_stream", "run_full_ingestion"}
    assert downstream(dag, "ensure_bronze_stream") == {"build_lake"}
    assert downstream(dag, "run_full_ingestion") == {"build_lake", "send_success_notification"}
    assert downstream(dag, "build_lake") == {"send_success_notification"}
    assert dag.get_task("build_lake").pool == "spark"
    assert dag.get_task("build_lake").trigger_rule == "all_done"
    assert dag.get_task("run_full_ingestion").execution_mode == "pod"


def test_only_the_backfill_twin_skips_scheduled_runs(dags: DagBag) -> None:
    assert "skip_scheduled_run" not in dags.dags["domain_ingestion_dag"].task_ids
    dag = dags.dags["domain_ingestion_backfill"]
    gate = dag.get_task("skip_scheduled_run")
    assert gate.upstream_task_ids == set()
    assert downstream(dag, "skip_scheduled_run") == {"check_kafka_health"}
    go_on = {t: gate.python_callable(dag_run=SimpleNamespace(run_type=t)) for t in ("scheduled", "backfill", "manual")}
    assert go_on == {"scheduled": False, "backfill": True, "manual": True}


def test_monitoring_groups_and_gate(dags: DagBag) -> None:
    dag = dags.dags["monitoring_dag"]
    assert dag.schedule == "*/15 * * * *"
    checks = {
        "infrastructure_health.check_kafka",
        "infrastructure_health.check_spark",
        "data_quality.check_bronze_freshness",
        "data_quality.check_silver_freshness",
        "data_quality.check_gold_freshness",
    }
    assert checks <= set(dag.task_ids)
    ages = {t: dag.get_task(f"data_quality.check_{t}_freshness").max_age for t in ("bronze", "silver", "gold")}
    assert ages == {"bronze": timedelta(minutes=30), "silver": timedelta(minutes=60), "gold": timedelta(minutes=120)}
    for check in checks:
        assert downstream(dag, check) == {"collect_metrics", "alert_on_failure"}
    assert dag.get_task("alert_on_failure").trigger_rule == "one_failed"
    assert dag.get_task("collect_metrics").trigger_rule == "all_done"


def test_weather_task_gets_only_its_own_credentials(dags: DagBag) -> None:
    task = dags.dags["weather_data_ingestion"].get_task("ingest_task")
    whole = {e.secret_ref.name for e in task.env_from}
    assert whole == {"airyard-airflow-conn-objectstore-weather", "airyard-airflow-conn-mongo-weather"}
    keys = {(e.value_from.secret_key_ref.name, e.name) for e in task.env_vars if e.value_from}
    assert keys == {("airyard-airflow-external-connections", "AIRFLOW_CONN_WEATHER_API")}
    assert {k for k, v in task.labels.items() if k.endswith("-client")} == {
        "airyard.io/objectstore-client",
        "airyard.io/mongodb-client",
        "airyard.io/external-client",  # the weather API is outside the cluster
    }
    assert task.image == "airyard/airflow:0.1.0"


def test_log_retention_dag(dags: DagBag) -> None:
    dag = dags.dags["airflow_log_retention"]
    assert dag.params["retention_days"] == 30


def test_weather_manual_run_lands_in_the_hour_it_ran(dags: DagBag, manual_run_context: dict) -> None:
    task = dags.dags["weather_data_ingestion"].get_task("ingest_task")
    args = task.render_template(task.arguments, manual_run_context)
    assert args == ["--date", "2026-03-02", "--hour", "7"]
