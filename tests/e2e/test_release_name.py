"""Any release name: the platform installed as `lake` in a namespace of its own runs a DAG.

The chart test renders it under two names and resolves every reference; this installs it for
real, with the small footprint of the upgrade drill (tests/e2e/test_upgrade.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devkit import airflow, kube
from tests.e2e.test_upgrade import upgrade

RELEASE = "lake"


@pytest.fixture
def lake(namespace: str) -> Iterator[str]:
    yield namespace
    kube.helm("uninstall", RELEASE, "-n", namespace, "--wait", "--timeout", "5m", timeout=400)
    kube.kubectl("delete", "namespace", f"{namespace}-tasks", "--wait=false", check=False)


@pytest.mark.timeout(2400)
def test_the_platform_installs_and_runs_a_dag_under_another_release_name(lake: str) -> None:
    """Installed as `lake` in another namespace, the platform comes up and runs a DAG whose task
    runs in its own tasks namespace."""
    upgrade(kube.REPO / "charts" / "airyard", lake, "0.1.0", new=True, release=RELEASE)
    for kind, name in (
        ("statefulset", "lake-postgresql"),
        ("deployment", "lake-scheduler"),
        ("cronjob", "lake-backup"),
    ):
        assert kube.get(kind, name, lake)["metadata"]["name"] == name
    with airflow.connect(lake, RELEASE) as af:
        run_id, run = af.run_dag("platform_check")
        assert run["state"] == "success", af.task_states("platform_check", run_id)
        worker = af.task_log("platform_check", run_id, "python_in_worker")
    assert worker  # served from the object store of this release, once the worker pod is gone
