"""weather_data_ingestion: hourly current weather for every location in users' preferences.

ingest_task runs in a pod with the weather pipeline's own credentials only (airyard.weather.dags):
it reads the `weather` database's user_preferences, calls the weather API (connection weather_api:
AIRFLOW_CONN_WEATHER_API in the Secret airyard-airflow-external-connections) and lands each raw
response under s3://weather/raw/current/date=YYYY-MM-DD/hour=HH/.
"""

from __future__ import annotations

from datetime import timedelta

# The airyard operators below are KubernetesPodOperators: naming the provider's module here makes
# the DAG processor import it once, in its manager (parsing_pre_import_modules), instead of in
# every parse of this file (~0.4 s: the Kubernetes clients).
import airflow.providers.cncf.kubernetes.operators.pod  # noqa: F401
import pendulum
from airflow.sdk import DAG
from airyard import alerts
from airyard.weather.dags import ingest_task

with DAG(
    dag_id="weather_data_ingestion",
    schedule="0 * * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["weather", "reference"],
    doc_md=__doc__,
    default_args={
        "owner": "airyard",
        "retries": 2,
        "retry_delay": timedelta(minutes=2),
        "on_failure_callback": alerts.on_failure_callback,
    },
):
    ingest_task(task_id="ingest_task", execution_timeout=timedelta(minutes=15))
