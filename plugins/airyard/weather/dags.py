"""weather_data_ingestion's task: a pod holding only the weather pipeline's own credentials."""

from __future__ import annotations

from typing import Any

from kubernetes.client import models as k8s

from airyard import metrics
from airyard.operators.task_pod import TaskPodOperator
from airyard.weather import PIPELINE

#: The seed's IAM role as services: the `weather` object-store user (its bucket only), the
#: `weather` database user, and the weather API connection; no platform admin credentials.
SERVICES = ("objectstore:weather", "mongodb:weather", "external:weather_api")


class WeatherIngestOperator(TaskPodOperator):
    """The ingestion pod (`python -m airyard.weather.ingest`); its counts become the pipeline's metrics."""

    def execute(self, context: Any) -> Any:
        result = super().execute(context)
        if isinstance(result, dict):  # the pod's counts (airyard.weather.ingest.counts)
            report_ingestion(self.task_id, result)
        return result


@metrics.reporter
def report_ingestion(step: str, counts: dict[str, int]) -> None:
    """Locations asked for in, responses landed out; preferences set aside (no usable location)
    are the dead letters. A run with a failed location fails its pod and reports nothing: its
    retry reports the interval."""
    metrics.records(PIPELINE, step, records_in=counts["locations"], records_out=counts["landed"])
    metrics.dead_letters(PIPELINE, step, counts["rejected_preferences"])


def ingest_task(**kwargs: Any) -> TaskPodOperator:
    kwargs.setdefault("do_xcom_push", True)
    return WeatherIngestOperator(
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
