"""data_quality_monitoring: schema, freshness, volume and Kafka lag checks every 6 hours.

The report is stored in MongoDB (quality_reports, shown on /movie_pipeline/dashboard); when its
score is below the quality_threshold variable (default 0.8) an alert goes out by e-mail
(smtp_default) and webhook (slack_webhook).
"""

from __future__ import annotations

from datetime import timedelta

# airyard.movies.operators defines KubernetesPodOperators and SparkKubernetesOperators: naming the
# provider's Spark module here (it imports the pod operator's) makes the DAG processor import them
# once, in its manager (parsing_pre_import_modules), instead of in every parse of this file
# (~0.4 s: the Kubernetes clients).
import airflow.providers.cncf.kubernetes.operators.spark_kubernetes  # noqa: F401
import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG
from airyard.mongo.operators import MongoFreshnessCheckOperator
from airyard.movies import MOVIES, PIPELINE
from airyard.movies.operators import (
    DEFAULT_ARGS,
    MONGODB,
    DataQualityBranchOperator,
    KafkaLagCheckOperator,
    MongoDBValidationOperator,
    QualityAlertOperator,
    QualityReportOperator,
    VolumeCheckOperator,
)

CHECKS = ("validate_data_schema", "check_data_freshness", "check_data_volume", "check_kafka_lag")

with DAG(
    dag_id="data_quality_monitoring",
    description="Monitor data quality and system health",
    schedule="0 */6 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["movies", "quality"],
):
    start = EmptyOperator(task_id="start_quality_monitoring")
    checks = [
        MongoDBValidationOperator(task_id="validate_data_schema", collections=["movies", "people", "reviews"]),
        MongoFreshnessCheckOperator(
            task_id="check_data_freshness",
            service=MONGODB,
            collection=MOVIES,
            field="last_seen_at",
            max_age=timedelta(hours=26),
            pipeline=PIPELINE,
            layer=MOVIES,
            fail_when_stale=False,  # the report scores it with the other checks
        ),
        VolumeCheckOperator(task_id="check_data_volume"),
        KafkaLagCheckOperator(task_id="check_kafka_lag"),
    ]
    report = QualityReportOperator(
        task_id="generate_quality_report",
        check_task_ids=CHECKS,
        threshold="{{ var.value.get('quality_threshold', 0.8) }}",
    )
    gate = DataQualityBranchOperator(
        task_id="check_quality_threshold",
        report_task_id="generate_quality_report",
        alert_task_id="send_quality_alert",
        ok_task_id="end_quality_monitoring",
    )
    alert = QualityAlertOperator(task_id="send_quality_alert", report_task_id="generate_quality_report")
    end = EmptyOperator(task_id="end_quality_monitoring", trigger_rule="none_failed_min_one_success")

    start >> checks >> report >> gate >> [alert, end]
    alert >> end
