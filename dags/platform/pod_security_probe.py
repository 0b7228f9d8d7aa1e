"""pod_security_probe: a task whose pod asks to run as root.

The tasks namespace enforces the restricted Pod Security Standard: the API server refuses the pod,
and the task fails with the admission's message in its log (tests/e2e/test_isolation.py).
"""

from __future__ import annotations

# TaskPodOperator is a KubernetesPodOperator: naming the provider's module makes the DAG processor
# import it once, in its manager (parsing_pre_import_modules), not in every parse of this file.
import airflow.providers.cncf.kubernetes.operators.pod  # noqa: F401
import pendulum
from airflow.sdk import DAG
from airyard.operators.task_pod import TaskPodOperator
from kubernetes.client import models as k8s

with DAG(
    dag_id="pod_security_probe",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["platform", "security"],
    # The refusal is the outcome: the one retry every task has comes at once and is refused too.
    default_args={"owner": "airyard", "retries": 1, "retry_delay": pendulum.duration(seconds=5)},
):
    TaskPodOperator(
        task_id="root_pod",
        image_name="toolbox",
        cmds=["id"],
        security_context=k8s.V1PodSecurityContext(run_as_user=0, run_as_non_root=False),
    )
