"""Airflow on the cluster (issue: Airflow on Kubernetes): the platform as `make up` leaves it.

Components killed or restarted under a running DAG are fault scenarios: tests/e2e/test_faults.py.
"""

from __future__ import annotations

import subprocess
import time

import pytest
import requests

from devkit import airflow, kube
from devkit.airflow import NAMESPACE, RELEASE, TASKS_NAMESPACE

pytestmark = pytest.mark.shared_platform

DAG = "platform_check"


def _pods() -> dict[str, str]:
    """Long-running pods of the platform: name -> uid."""
    pods = kube.get("pods", namespace=NAMESPACE)["items"]
    return {
        p["metadata"]["name"]: p["metadata"]["uid"]
        for p in pods
        if p["metadata"].get("ownerReferences", [{}])[0].get("kind") in {"ReplicaSet", "StatefulSet"}
    }


def _run_pods(*, started_by_tasks: bool = False, phase: str = "") -> list[str]:
    """The run's worker and task pods, which run in the tasks namespace; with `started_by_tasks`,
    only the pods its tasks started (KubernetesPodOperator); with `phase`, only those in it."""
    selector = f"dag_id={DAG}" + (",kubernetes_pod_operator=True" if started_by_tasks else "")
    phases = ["--field-selector", f"status.phase={phase}"] if phase else []
    return kube.kubectl("get", "pods", "-n", TASKS_NAMESPACE, "-l", selector, *phases, "-o", "name").split()


def test_ui_answers_and_the_api_requires_the_generated_credentials() -> None:
    with kube.port_forward(f"service/{RELEASE}-api-server", NAMESPACE, 8080) as port:
        base = f"http://127.0.0.1:{port}"
        assert requests.get(f"{base}/", timeout=30).status_code == 200
        assert requests.get(f"{base}/api/v2/dags", timeout=30).status_code == 401
        bad = requests.post(f"{base}/auth/token", json={"username": "admin", "password": "admin"}, timeout=30)
        assert bad.status_code in {401, 403}
        af = airflow.Airflow.login(base, *airflow.admin_credentials())
        assert DAG in {d["dag_id"] for d in af.request("GET", "/dags")["dags"]}


def test_python_and_pod_tasks_succeed_and_logs_outlive_the_worker_pods() -> None:
    with airflow.connect() as af:
        started = time.monotonic()
        run_id = af.trigger(DAG)
        run = af.wait_for_run(DAG, run_id, timeout=600)
        elapsed = time.monotonic() - started
        assert run["state"] == "success", af.task_states(DAG, run_id)
        print(f"\n{DAG}: trigger -> success in {elapsed:.1f} s")
        kube.wait_until("the run's worker and task pods to be deleted", lambda: not _run_pods(), timeout=180)
        log = af.task_log(DAG, run_id, "task_in_pod")
        assert '{"pod": "task-in-pod-' in log, log[-2000:]


def test_a_deleted_runs_task_pod_goes_with_its_worker() -> None:
    """Deleting a running run (as the UI does) deletes its worker pod; the pod its task started
    goes too, instead of holding its CPU request until someone deletes it by hand."""
    with airflow.connect() as af:
        af.trigger(DAG, {"pod_sleep_seconds": 600})
        try:
            kube.wait_until(
                "the task's pod to run", lambda: bool(_run_pods(started_by_tasks=True, phase="Running")), timeout=300
            )
            (pod,) = _run_pods(started_by_tasks=True, phase="Running")
            af.drop_runs(DAG, run_type=None, watch=0)  # failed, then deleted, as from the UI
        finally:
            af.set_paused(DAG, True)
        kube.wait_until(f"{pod} to be deleted", lambda: pod not in _run_pods(), timeout=180)


def test_helm_upgrade_with_unchanged_values_restarts_no_pod() -> None:
    values = kube.helm("get", "values", RELEASE, "-n", NAMESPACE, "-o", "yaml")
    chart = str(kube.REPO / "charts" / "airyard")
    args = ["upgrade", RELEASE, chart, "-n", NAMESPACE, "--timeout", "10m", "-f", "-"]

    def upgrade() -> None:
        proc = subprocess.run(["helm", *args], input=values, capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, proc.stderr

    upgrade()  # converge on the chart as it is in this checkout
    kube.kubectl("rollout", "status", "-n", NAMESPACE, "deployment", "--timeout=600s")
    before = _pods()
    upgrade()
    time.sleep(20)
    assert _pods() == before
