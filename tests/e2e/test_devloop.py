"""The developer loop on kind: `skaffold run -p dev` and a DAG edit that needs no image rebuild.

The platform is deployed by skaffold itself (profile `dev`: dags/ and plugins/ from this checkout
through the node's hostPath; profile `minimal`: Airflow with PostgreSQL, Redis and the object
store only) into a namespace of its own, so the shared `airyard` install is left alone. A
throw-away DAG file is written into dags/, edited, and removed: the edit must show in the REST API
within 30 s, and the next task pod (KubernetesExecutor) must run the edited code.
"""

from __future__ import annotations

import os
import subprocess
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e import kube
from tests.e2e.airflow import Airflow

REPO = Path(__file__).resolve().parents[2]
NAMESPACE = "airyard-devloop"
DAG_ID = "devloop_probe"
DAG_FILE = REPO / "dags" / f"{DAG_ID}.py"
# The edit must be visible this fast (dev: the folder is listed every 5 s, a changed file parsed at once).
EDIT_BUDGET_S = 30


def _dag_source(schedule: str, marker: str) -> str:
    return textwrap.dedent(
        f'''\
        """Throw-away DAG of tests/e2e/test_devloop.py (removed by the test)."""

        from datetime import datetime

        from airflow.sdk import DAG, task

        with DAG(
            dag_id="{DAG_ID}",
            schedule="{schedule}",
            start_date=datetime(2024, 1, 1),
            catchup=False,
            tags=["test"],
            default_args={{"owner": "airyard", "retries": 0}},
        ):

            @task
            def probe() -> str:
                print("devloop marker: {marker}")
                return "{marker}"

            probe()
        '''
    )


def _skaffold_run() -> None:
    """`skaffold run` with the dev profile; images are rebuilt only where their inputs changed."""
    env = {**os.environ, "PATH": f"{REPO / '.bin'}:{REPO / '.venv' / 'bin'}:{os.environ['PATH']}"}
    assert env.get("AIRFLOW_CHART") or any((REPO / "charts" / "airyard" / "charts").glob("airflow-*.tgz")), (
        "the official Airflow chart: set AIRFLOW_CHART to a local copy of its chart/ folder"
    )
    cmd = ["skaffold", "run", "-p", "dev,minimal", "-n", NAMESPACE, "--port-forward=off"]
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=2400)
    assert proc.returncode == 0, f"skaffold run failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    print(f"skaffold run took {time.monotonic() - start:.0f} s")


@pytest.fixture(scope="module")
def airflow() -> Iterator[Airflow]:
    _skaffold_run()
    user = kube.secret_value("airyard-airflow-admin", "username", NAMESPACE)
    password = kube.secret_value("airyard-airflow-admin", "password", NAMESPACE)
    try:
        with kube.port_forward("service/airyard-api-server", NAMESPACE, 8080) as port:
            yield Airflow.login(f"http://127.0.0.1:{port}", user, password)
    finally:
        if not os.environ.get("AIRYARD_DEVLOOP_KEEP"):
            kube.helm("uninstall", "airyard", "-n", NAMESPACE, "--wait", "--timeout", "5m")
            kube.kubectl("delete", "namespace", NAMESPACE, "--wait=false", check=False)


@pytest.fixture
def dag_file() -> Iterator[Path]:
    yield DAG_FILE
    DAG_FILE.unlink(missing_ok=True)


def _wait_for_schedule(af: Airflow, schedule: str, timeout: float) -> float:
    """Seconds until GET /dags/<id> reports the schedule."""
    start = time.monotonic()
    seen = None
    while time.monotonic() - start < timeout:
        resp = af.session.get(f"{af.base_url}/api/v2/dags/{DAG_ID}", timeout=30)
        if resp.status_code == 200:
            seen = resp.json().get("timetable_summary")
            if seen == schedule:
                return time.monotonic() - start
        time.sleep(1)
    raise AssertionError(f"{DAG_ID}: schedule {schedule!r} not shown after {timeout} s (last seen {seen!r})")


def test_a_dag_edit_reaches_the_api_and_the_next_task_pod_without_a_rebuild(airflow: Airflow, dag_file: Path) -> None:
    image_before = kube.get("deployment", "airyard-dag-processor", NAMESPACE)["spec"]["template"]["spec"]
    # Cron expressions, not presets: the API reports a preset as its expression ("@daily" as "0 0 * * *").
    dag_file.write_text(_dag_source("0 6 * * *", "first"))
    first = _wait_for_schedule(airflow, "0 6 * * *", timeout=180)

    dag_file.write_text(_dag_source("30 7 * * 1", "edited"))
    edited = _wait_for_schedule(airflow, "30 7 * * 1", timeout=EDIT_BUDGET_S)
    print(f"new DAG visible after {first:.1f} s; edit visible after {edited:.1f} s")

    run_id = airflow.trigger(DAG_ID)
    run = airflow.wait_for_run(DAG_ID, run_id, timeout=600)
    assert run["state"] == "success", airflow.task_states(DAG_ID, run_id)
    log = airflow.task_log(DAG_ID, run_id, "probe")
    assert "devloop marker: edited" in log
    assert "devloop marker: first" not in log
    # Nothing was rebuilt or rolled: the same pods serve, from the same image.
    image_after = kube.get("deployment", "airyard-dag-processor", NAMESPACE)["spec"]["template"]["spec"]
    assert [c["image"] for c in image_after["containers"]] == [c["image"] for c in image_before["containers"]]
