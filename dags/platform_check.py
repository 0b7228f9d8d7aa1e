"""platform_check: a Python task in a worker pod, then a task in a pod of a platform image."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, task
from airyard.operators.task_pod import TaskPodOperator

with DAG(
    dag_id="platform_check",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["example", "platform"],
    default_args={"owner": "airyard", "retries": 1},
):

    @task
    def python_in_worker() -> dict[str, str]:
        import platform

        return {"python": platform.python_version(), "node": platform.node()}

    pod = TaskPodOperator(
        task_id="task_in_pod",
        image_name="toolbox",
        cmds=["python3", "-c"],
        arguments=["import json, socket; print(json.dumps({'pod': socket.gethostname()}))"],
    )
    python_in_worker() >> pod
