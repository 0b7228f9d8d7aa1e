"""weather_data_ingestion's task: a pod holding only the weather pipeline's own credentials."""

from __future__ import annotations

from typing import Any

from kubernetes.client import models as k8s

from airyard.operators.task_pod import TaskPodOperator

#: The seed's IAM role as services: the `weather` object-store user (its bucket only), the
#: `weather` database user, and the weather API connection; no platform admin credentials.
SERVICES = ("objectstore:weather", "mongodb:weather", "external:weather_api")


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
        services=SERVICES,
        env_vars=[k8s.V1EnvVar(name="PYTHONPATH", value="/opt/airflow/plugins")],
        **kwargs,
    )
