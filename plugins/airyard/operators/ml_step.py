"""MLStepOperator: one step of the ML pipelines (`python -m airyard_ml <step>`) in an ml-tasks pod."""

from __future__ import annotations

from typing import Any

from kubernetes.client import models as k8s

from airyard import ml_data
from airyard.operators.task_pod import TaskPodOperator

#: The model stack (pandas, scikit-learn, MLflow, Evidently) needs more than a plain task pod.
ML_RESOURCES = k8s.V1ResourceRequirements(requests={"cpu": "100m", "memory": "384Mi"}, limits={"memory": "1536Mi"})

#: What the ML steps use: their database, their MLflow user (not an admin), the lake bucket, the
#: serving API (airyard_ml.common reads the connections).
ML_SERVICES = ("postgresql:mlsp", "mlflow", "objectstore:ml", "model-serving")


class MLStepOperator(TaskPodOperator):
    """Runs `python -m airyard_ml <step> '<params>'` and pushes the step's JSON result to XCom.

    `params_json` is a Jinja template rendering to a JSON object (e.g. built from upstream XComs).
    """

    def __init__(self, *, step: str, params_json: str = "{}", **kwargs: Any) -> None:
        kwargs.setdefault("container_resources", ML_RESOURCES)
        kwargs.setdefault("do_xcom_push", True)
        kwargs.setdefault("services", ML_SERVICES)
        super().__init__(
            image_name="ml-tasks",
            arguments=[step, params_json],
            **kwargs,
        )
        self.step = step

    def execute(self, context: Any) -> Any:
        result = super().execute(context)
        ml_data.report_step(self.step, self.task_id, result)
        return result
