"""The developer loop on kind: `skaffold dev` and a DAG edit that needs no image rebuild.

`skaffold dev` (which turns on the `dev` profile: dags/ and plugins/ from this checkout through
the node's hostPath) with profile `minimal` (Airflow with PostgreSQL, Redis and the object store
only) deploys into a namespace of its own, so the shared `airyard` install is left alone. While it
watches the checkout, a throw-away DAG file is written into dags/, edited, and removed: the edit
must show in the REST API within 30 s, the next task pod (KubernetesExecutor) must run the edited
code, and skaffold must neither rebuild nor redeploy anything for it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devkit import kube
from devkit.airflow import Airflow

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


# What skaffold dev prints once everything is deployed and stable, and when it starts another cycle.
WATCHING = "Watching for changes..."
NEW_CYCLE = ("Generating tags...", "Starting deploy...")


class SkaffoldDev:
    """A `skaffold dev` session in the background, its output in a file."""

    def __init__(self, log: Path) -> None:
        env = {**os.environ, "PATH": f"{REPO / '.bin'}:{REPO / '.venv' / 'bin'}:{os.environ['PATH']}"}
        assert env.get("AIRFLOW_CHART") or any((REPO / "charts" / "airyard" / "charts").glob("airflow-[0-9]*.tgz")), (
            "the official Airflow chart: set AIRFLOW_CHART to a local copy of its chart/ folder"
        )
        self.log = log
        # --cleanup=false: stopping the session leaves the install for the teardown (or for a look).
        cmd = ["skaffold", "dev", "-p", "minimal", "-n", NAMESPACE, "--port-forward=off", "--cleanup=false"]
        with log.open("w") as out:
            self.proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, text=True)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_watching(self, timeout: float) -> float:
        """Seconds until skaffold has built, deployed, seen everything stable and started watching."""
        start = time.monotonic()
        while WATCHING not in self.output():
            assert self.proc.poll() is None, f"skaffold dev exited ({self.proc.returncode}):\n{self.output()[-4000:]}"
            assert time.monotonic() - start < timeout, (
                f"skaffold dev not watching after {timeout} s:\n{self.output()[-4000:]}"
            )
            time.sleep(2)
        return time.monotonic() - start

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def skaffold(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SkaffoldDev]:
    session = SkaffoldDev(tmp_path_factory.mktemp("skaffold") / "dev.log")
    try:
        print(f"skaffold dev watching after {session.wait_watching(timeout=2400):.0f} s")
        yield session
    finally:
        session.stop()
        if not os.environ.get("AIRYARD_DEVLOOP_KEEP"):
            kube.helm("uninstall", "airyard", "-n", NAMESPACE, "--wait", "--timeout", "5m")
            kube.kubectl("delete", "namespace", NAMESPACE, "--wait=false", check=False)


@pytest.fixture(scope="module")
def airflow(skaffold: SkaffoldDev) -> Iterator[Airflow]:
    user = kube.secret_value("airyard-airflow-admin", "username", NAMESPACE)
    password = kube.secret_value("airyard-airflow-admin", "password", NAMESPACE)
    with kube.port_forward("service/airyard-api-server", NAMESPACE, 8080) as port:
        yield Airflow.login(f"http://127.0.0.1:{port}", user, password)


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


def test_a_dag_edit_reaches_the_api_and_the_next_task_pod_without_a_rebuild(
    skaffold: SkaffoldDev, airflow: Airflow, dag_file: Path
) -> None:
    image_before = kube.get("deployment", "airyard-dag-processor", NAMESPACE)["spec"]["template"]["spec"]
    watched_from = len(skaffold.output())
    # A kept install (AIRYARD_DEVLOOP_KEEP) remembers the DAG of an earlier run: start from none.
    resp = airflow.session.delete(f"{airflow.base_url}/api/v2/dags/{DAG_ID}", timeout=30)
    assert resp.status_code in (204, 404), resp.text
    # Cron expressions, not presets: the API reports a preset as its expression ("@daily" as "0 0 * * *").
    dag_file.write_text(_dag_source("0 6 * * *", "first"))
    first = _wait_for_schedule(airflow, "0 6 * * *", timeout=180)

    dag_file.write_text(_dag_source("30 7 * * 1", "edited"))
    edited = _wait_for_schedule(airflow, "30 7 * * 1", timeout=EDIT_BUDGET_S)
    print(f"new DAG visible after {first:.1f} s; edit visible after {edited:.1f} s")

    run_id = airflow.trigger(DAG_ID)
    run = airflow.wait_for_run(DAG_ID, run_id, timeout=600)
    assert run["state"] == "success", airflow.task_states(DAG_ID, run_id)
    # The log is read from the object store, where it lands just after the task has ended.
    kube.wait_until(
        "the probe's log in the object store",
        lambda: "devloop marker:" in airflow.task_log(DAG_ID, run_id, "probe"),
        timeout=180,
        interval=5,
    )
    log = airflow.task_log(DAG_ID, run_id, "probe")
    assert "devloop marker: edited" in log
    assert "devloop marker: first" not in log
    # Nothing was rebuilt or redeployed: skaffold kept watching, the same image serves.
    assert skaffold.proc.poll() is None, skaffold.output()[-4000:]
    since_edit = skaffold.output()[watched_from:]
    assert not [m for m in NEW_CYCLE if m in since_edit], since_edit[-4000:]
    image_after = kube.get("deployment", "airyard-dag-processor", NAMESPACE)["spec"]["template"]["spec"]
    assert [c["image"] for c in image_after["containers"]] == [c["image"] for c in image_before["containers"]]
