"""weather_data_ingestion's task: a pod holding only the weather pipeline's own credentials."""

from __future__ import annotations

from typing import Any

from kubernetes.client import models as k8s

from airyard import cluster
from airyard.operators.task_pod import TaskPodOperator


def _secret_env(name: str, secret: str, key: str, optional: bool = False) -> k8s.V1EnvVar:
    ref = k8s.V1SecretKeySelector(name=secret, key=key, optional=optional)
    return k8s.V1EnvVar(name=name, value_from=k8s.V1EnvVarSource(secret_key_ref=ref))


def weather_env() -> list[k8s.V1EnvVar]:
    """The seed's IAM role as Secret references: the `weather` object-store user (its bucket only),
    the `weather` database user, and the weather API connection; no platform admin credentials."""
    rel = cluster.release()
    store = f"{rel}-objectstore-user-weather"
    return [
        k8s.V1EnvVar(name="PYTHONPATH", value="/opt/airflow/plugins"),
        _secret_env("OBJECTSTORE_ENDPOINT", store, "endpoint"),
        _secret_env("OBJECTSTORE_REGION", store, "region"),
        _secret_env("OBJECTSTORE_BUCKET", store, "bucket"),
        _secret_env("AWS_ACCESS_KEY_ID", store, "access-key"),
        _secret_env("AWS_SECRET_ACCESS_KEY", store, "secret-key"),
        _secret_env("MONGO_URI", f"{rel}-mongodb-weather", "uri"),
        _secret_env(
            "AIRFLOW_CONN_WEATHER_API", f"{rel}-airflow-external-connections", "AIRFLOW_CONN_WEATHER_API", optional=True
        ),
    ]


def ingest_task(**kwargs: Any) -> TaskPodOperator:
    return TaskPodOperator(
        image_name="airflow",
        cmds=["python", "-m", "airyard.weather.ingest"],
        # A manual run without a logical date (Airflow 3) has no interval (and no data_interval_*
        # template variables at all): it lands where it ran.
        arguments=[
            "--date",
            "{{ (dag_run.data_interval_start or dag_run.run_after) | ds }}",
            "--hour",
            "{{ (dag_run.data_interval_start or dag_run.run_after).hour }}",
        ],
        env_vars=weather_env(),
        **kwargs,
    )
