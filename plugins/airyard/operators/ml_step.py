"""MLStepOperator: one step of the ML pipelines (`python -m airyard_ml <step>`) in an ml-tasks pod."""

from __future__ import annotations

from typing import Any

from kubernetes.client import models as k8s

from airyard import cluster
from airyard.operators.task_pod import TaskPodOperator

#: The model stack (pandas, scikit-learn, MLflow, Evidently) needs more than a plain task pod.
ML_RESOURCES = k8s.V1ResourceRequirements(requests={"cpu": "100m", "memory": "384Mi"}, limits={"memory": "1536Mi"})

#: The backend API's address from the `backend_api` connection; empty means its in-cluster Service.
BACKEND_API_URL = "{% set c = conn.get('backend_api') %}{{ c.host if c and c.host else '' }}"


def _from_secret(name: str, secret: str, key: str, optional: bool = False) -> k8s.V1EnvVar:
    ref = k8s.V1SecretKeySelector(name=secret, key=key, optional=optional)
    return k8s.V1EnvVar(name=name, value_from=k8s.V1EnvVarSource(secret_key_ref=ref))


def ml_env() -> list[k8s.V1EnvVar]:
    """Credentials come straight from the services' connection Secrets into the pod: they never
    pass through Airflow (XCom, logs, rendered templates)."""
    rel = cluster.release()
    mlflow, store = f"{rel}-mlflow-user-ml", f"{rel}-objectstore-user-ml"
    return [
        _from_secret("MLSP_DATABASE_URI", f"{rel}-postgresql-mlsp", "uri"),
        # The pipelines' own MLflow user (not an admin) and object store user (the lake bucket).
        _from_secret("MLFLOW_TRACKING_URI", mlflow, "tracking-uri"),
        _from_secret("MLFLOW_TRACKING_USERNAME", mlflow, "username"),
        _from_secret("MLFLOW_TRACKING_PASSWORD", mlflow, "password"),
        _from_secret("S3_ENDPOINT_URL", store, "endpoint"),
        _from_secret("AWS_DEFAULT_REGION", store, "region"),
        _from_secret("AWS_ACCESS_KEY_ID", store, "access-key"),
        _from_secret("AWS_SECRET_ACCESS_KEY", store, "secret-key"),
        k8s.V1EnvVar(name="BACKEND_API_URL", value=BACKEND_API_URL),
        k8s.V1EnvVar(name="AIRYARD_RELEASE", value=rel),
    ]


class MLStepOperator(TaskPodOperator):
    """Runs `python -m airyard_ml <step> '<params>'` and pushes the step's JSON result to XCom.

    `params_json` is a Jinja template rendering to a JSON object (e.g. built from upstream XComs).
    """

    def __init__(self, *, step: str, params_json: str = "{}", **kwargs: Any) -> None:
        kwargs.setdefault("container_resources", ML_RESOURCES)
        kwargs.setdefault("do_xcom_push", True)
        labels = {f"{cluster.release()}-model-serving-client": "true", **kwargs.pop("labels", {})}
        super().__init__(
            image_name="ml-tasks",
            arguments=[step, params_json],
            env_vars=ml_env(),
            labels=labels,
            **kwargs,
        )
