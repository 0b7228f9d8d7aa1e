"""data_validation_dag: the day's observations checked for schema, then in parallel for quality,
distributions (drift against the champion's training data) and anomalies. Daily."""

from __future__ import annotations

from datetime import timedelta

# The airyard operators below are KubernetesPodOperators: naming the provider's module here makes
# the DAG processor import it once, in its manager (parsing_pre_import_modules), instead of in
# every parse of this file (~0.4 s: the Kubernetes clients).
import airflow.providers.cncf.kubernetes.operators.pod  # noqa: F401
import pendulum
from airflow.sdk import DAG
from airyard.operators.ml_step import MLStepOperator

# A manual run without a logical date (Airflow 3) has no interval (and no data_interval_* template
# variables at all): it checks the day before it.
WINDOW = (
    "'start': (dag_run.data_interval_start or dag_run.run_after - macros.timedelta(days=1)) | string, "
    "'end': (dag_run.data_interval_end or dag_run.run_after) | string"
)

with DAG(
    dag_id="data_validation_dag",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["ml", "data-quality"],
    default_args={"owner": "airyard", "retries": 1, "retry_delay": timedelta(minutes=1)},
):
    schema = MLStepOperator(task_id="validate_schema", step="quality.validate_schema")
    schema >> [
        MLStepOperator(
            task_id="check_data_quality",
            step="quality.check_data_quality",
            params_json="{{ {" + WINDOW + ", 'min_valid_fraction': var.value.get('quality_threshold', 0.8) | float}"
            " | tojson }}",
        ),
        MLStepOperator(
            task_id="check_distributions",
            step="quality.check_distributions",
            params_json="{{ {" + WINDOW + "} | tojson }}",
        ),
        MLStepOperator(
            task_id="detect_anomalies", step="quality.detect_anomalies", params_json="{{ {" + WINDOW + "} | tojson }}"
        ),
    ]
