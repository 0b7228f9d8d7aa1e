"""The domain pipelines' DAG shapes, shared by the 15-minute DAG and its daily backfill twin (thin DAG files)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import DAG, task

from airyard import alerts, metrics
from airyard.domains import PIPELINE, ingest, lake
from airyard.domains.operators import (
    BronzeStreamOperator,
    DomainsLakeOperator,
    FailedChecksAlertOperator,
    IngestionOperator,
)
from airyard.kafka.operators import KafkaHealthCheckOperator
from airyard.objectstore.operators import DeltaFreshnessCheckOperator
from airyard.spark.operators import SparkJobCheckOperator

START = pendulum.datetime(2026, 1, 1, tz="UTC")
TOPICS = [ingest.OBSERVED_TOPIC, ingest.REJECTED_TOPIC]
ALERT_CONN_ID = "domains_alerts"


def default_args(retry_delay: timedelta = timedelta(minutes=2)) -> dict[str, Any]:
    return {
        "owner": "airyard",
        "retries": 1,
        "retry_delay": retry_delay,
        "on_failure_callback": alerts.on_failure_callback,
    }


def ingestion_dag(
    dag_id: str, schedule: str, doc: str, execution_mode: str = "pod", backfill_only: bool = False
) -> DAG:
    """check_kafka_health → ensure_bronze_stream and run_full_ingestion → build_lake → send_success_notification.

    The bronze stream carries what ingestion produces to bronze continuously; build_lake waits
    until it has, then builds silver and gold. build_lake runs even when a feed failed (trigger
    rule all_done): the other sources were produced and belong in the lake; the failed source
    shows as the failed ingestion task.
    backfill_only: the scheduler's runs stop at a first task, skip_scheduled_run. A backfill needs
    its DAG unpaused, and unpaused the DAG also gets its latest interval from the scheduler, again
    and again; those runs would ingest the feeds beside the regular DAG, with other event ids.
    """
    with DAG(
        dag_id=dag_id,
        schedule=schedule,
        start_date=START,
        catchup=False,
        max_active_runs=1,
        dagrun_timeout=timedelta(hours=1),
        tags=["domains", "reference"],
        doc_md=doc,
        default_args=default_args(),
    ) as dag:
        health = KafkaHealthCheckOperator(task_id="check_kafka_health", service=ingest.KAFKA_SERVICE, topics=TOPICS)
        ingestion = IngestionOperator(
            task_id="run_full_ingestion", execution_mode=execution_mode, execution_timeout=timedelta(minutes=20)
        )
        build = DomainsLakeOperator(
            task_id="build_lake", pool="spark", trigger_rule="all_done", execution_timeout=timedelta(minutes=40)
        )

        @task
        def send_success_notification(summary: dict[str, Any], lake_run: dict[str, Any]) -> dict[str, Any]:
            body = (
                f"{summary['unique_domains']} unique domains ({summary['produced']} produced, "
                f"{summary['rejected']} lines rejected) for {summary['interval_start']} to {summary['interval_end']}; "
                f"lake built by {lake_run['application']}"
            )
            result = alerts.notify(f"{dag_id} succeeded", body, severity="info", slack_conn_id=ALERT_CONN_ID)
            return {"body": body, "email": result.email, "slack": result.slack}

        stream = BronzeStreamOperator(task_id="ensure_bronze_stream")

        health >> [stream, ingestion] >> build
        send_success_notification(ingestion.output, build.output)
        if backfill_only:
            skip_scheduled_run() >> health
    return dag


@task.short_circuit
def skip_scheduled_run(dag_run: Any = None) -> bool:
    """True (go on) for backfill and manual runs; False skips the rest of a scheduled run."""
    return dag_run.run_type != "scheduled"


def monitoring_dag(dag_id: str = "monitoring_dag") -> DAG:
    """Infrastructure (Kafka, Spark job) and data quality (layer freshness) checks every 15 minutes."""
    from airflow.sdk import TaskGroup

    with DAG(
        dag_id=dag_id,
        schedule="*/15 * * * *",
        start_date=START,
        catchup=False,
        max_active_runs=1,
        dagrun_timeout=timedelta(minutes=14),
        tags=["domains", "monitoring", "reference"],
        doc_md=__doc__,
        # Quick retry: a check that fails twice 30 s apart is a real finding, not a blip.
        default_args={"owner": "airyard", "retries": 1, "retry_delay": timedelta(seconds=30)},
    ) as dag:
        with TaskGroup("infrastructure_health") as infra:
            KafkaHealthCheckOperator(task_id="check_kafka", service=ingest.KAFKA_SERVICE, topics=TOPICS)
            SparkJobCheckOperator(task_id="check_spark", job_name=lake.STREAM_JOB)
        with TaskGroup("data_quality") as quality:
            for layer, key in lake.LAYERS.items():
                DeltaFreshnessCheckOperator(
                    task_id=f"check_{layer}_freshness",
                    delta_path=f"s3://{lake.BUCKET}/{key}",
                    service=lake.STORE_SERVICE,
                    max_age=timedelta(minutes=lake.MAX_AGE_MINUTES[layer]),
                    pipeline=PIPELINE,
                    layer=layer,
                )

        @task(trigger_rule="all_done")
        def collect_metrics(**context: Any) -> dict[str, Any]:
            return monitoring_metrics(context["ti"])

        alert = FailedChecksAlertOperator(task_id="alert_on_failure", slack_conn_id=ALERT_CONN_ID)
        [infra, quality] >> collect_metrics()
        [infra, quality] >> alert
    return dag


def monitoring_metrics(ti: Any) -> dict[str, Any]:
    """The monitoring run's findings (layer ages, Kafka and Spark checks), logged and returned.

    Each freshness check reports its own metrics; a layer whose check read nothing (the store
    unreachable) is reported here as not known to be fresh, so its gauge does not keep an earlier,
    fresh value while the monitoring DAG alerts.
    """
    findings: dict[str, Any] = {}
    for layer in lake.LAYERS:
        fresh = ti.xcom_pull(task_ids=f"data_quality.check_{layer}_freshness", key="freshness")
        findings[f"{layer}_age_minutes"] = fresh["details"]["age_minutes"] if fresh else None
        findings[f"{layer}_fresh"] = bool(fresh and fresh["passed"])
        if not fresh:
            max_age = lake.MAX_AGE_MINUTES[layer] * 60
            metrics.freshness(PIPELINE, layer, age_seconds=None, max_age_seconds=max_age)
    findings["kafka"] = ti.xcom_pull(task_ids="infrastructure_health.check_kafka")
    findings["spark"] = ti.xcom_pull(task_ids="infrastructure_health.check_spark")
    print("METRICS", findings)
    return findings
