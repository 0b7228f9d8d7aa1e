"""platform_check: a Python task in a worker pod, then a task in a pod of a platform image.

`sleep_seconds` keeps the Python task running for a while (the e2e tests restart components
under a running DAG with it); `pod_sleep_seconds` does the same for the pod task.
"""

from __future__ import annotations

# The airyard operators below are KubernetesPodOperators: naming the provider's module here makes
# the DAG processor import it once, in its manager (parsing_pre_import_modules), instead of in
# every parse of this file (~0.4 s: the Kubernetes clients).
import airflow.providers.cncf.kubernetes.operators.pod  # noqa: F401
import pendulum
from airflow.sdk import DAG, Param, task
from airyard.operators.task_pod import TaskPodOperator

with DAG(
    dag_id="platform_check",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["example", "platform"],
    # A check answers quickly: a task lost with its pod is tried again after 30 s, not 5 min.
    default_args={"owner": "airyard", "retries": 1, "retry_delay": pendulum.duration(seconds=30)},
    params={
        "sleep_seconds": Param(0, type="integer", minimum=0, maximum=600),
        "pod_sleep_seconds": Param(0, type="integer", minimum=0, maximum=600),
    },
):

    @task
    def python_in_worker(params: dict | None = None) -> dict[str, str]:
        import platform
        import time

        time.sleep(int((params or {}).get("sleep_seconds", 0)))
        return {"python": platform.python_version(), "node": platform.node()}

    pod = TaskPodOperator(
        task_id="task_in_pod",
        image_name="toolbox",
        cmds=["python3", "-c"],
        arguments=[
            "import json, socket, time; time.sleep({{ params.pod_sleep_seconds }});"
            " print(json.dumps({'pod': socket.gethostname()}))"
        ],
    )
    python_in_worker() >> pod
