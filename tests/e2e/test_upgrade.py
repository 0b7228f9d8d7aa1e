"""Upgrade drill: the platform as built from the commit before backups and the new migration Job
(issue 32), upgraded with plain `helm upgrade` to this checkout and another Airflow image tag.

It runs in a namespace of its own, with the services Airflow needs (PostgreSQL, Redis, the object
store) and the others off; CPU requests are cut to fit beside the installed platform on a 2-core
node. The new tag is the same image under another name (tagged in the node's containerd), so the
upgrade changes the image reference and nothing else of Airflow.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
import uuid
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest

from devkit import airflow, kube

RELEASE = "airyard"
NEW_TAG = "0.1.0-upgrade-drill"
SMALL = {"requests": {"cpu": "5m", "memory": "64Mi"}}


def base_commit() -> str:
    """The parent of the first commit of issue 32."""
    first = subprocess.run(
        ["git", "-C", str(kube.REPO), "log", "--reverse", "--format=%H", "--grep=(#32)"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert first, "no commit of issue 32 in this checkout's history"
    return f"{first[0]}^"


def old_chart(workdir: Path) -> Path:
    """charts/airyard of the base commit, with its dependencies packaged as `make chart-deps` does."""
    archive = subprocess.run(
        ["git", "-C", str(kube.REPO), "archive", "--format=tar", base_commit(), "charts"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(workdir, filter="data")
    charts = workdir / "charts"
    umbrella = charts / "airyard" / "charts"
    umbrella.mkdir(exist_ok=True)
    for chart in sorted(p for p in charts.iterdir() if p.is_dir() and p.name != "airyard"):
        if "dependencies:" in (chart / "Chart.yaml").read_text():
            kube.helm("dependency", "build", "--skip-refresh", str(chart))
        kube.helm("package", str(chart), "-d", str(umbrella))
    for official in (kube.REPO / "charts" / "airyard" / "charts").glob("airflow-[0-9]*.tgz"):
        shutil.copy(official, umbrella)
    return charts / "airyard"


def values(tag: str, *, new: bool) -> dict[str, Any]:
    """Airflow with the services it needs, the others off, small CPU requests."""
    off = {"enabled": False}
    # Only Airflow's image changes: the task images (AIRYARD_IMAGE_TAG) keep theirs.
    airflow_values: dict[str, Any] = {"images": {"airflow": {"tag": tag}, "pod_template": {"tag": tag}}}
    for component in ("apiServer", "scheduler", "dagProcessor", "triggerer"):
        airflow_values[component] = {"resources": SMALL}
    bootstrap: dict[str, Any] = {
        "image": {"tag": tag},
        "resources": SMALL,
        "connections": {
            "platform": {"kafka": False, "mongodb": False, "mlflow": False, "modelServing": False},
            "postgresDatabases": [],
            "objectstoreUsers": [],
            "mongoUsers": [],
            "kafkaUsers": [],
            "mlflowUser": "",
        },
    }
    out: dict[str, Any] = {
        "global": {"workers": {"resources": SMALL}},
        "airflow": airflow_values,
        "airflow-bootstrap": bootstrap,
        "postgresql": {"resources": SMALL, "setupResources": SMALL, "persistence": {"size": "1Gi"}},
        "redis": {"resources": SMALL},
        "objectstore": {"resources": SMALL, "setupResources": SMALL, "persistence": {"size": "1Gi"}},
        **{name: off for name in ("kafka", "mongodb", "spark-operator", "mlflow", "model-serving")},
    }
    if new:
        bootstrap["migrations"] = {"resources": SMALL}
        out["backup"] = {"resources": SMALL, "mongodb": {"enabled": False}}
        # The exporter probes what this release runs (each probe reads its service's Secrets).
        probes = dict.fromkeys(("kafka", "mongodb", "mlflow", "model-serving"), False)
        out["metrics"] = {"exporter": {"services": probes}}
    else:
        airflow_values["migrateDatabaseJob"] = {"resources": SMALL}
    return out


def upgrade(chart: Path, namespace: str, tag: str, *, new: bool, release: str = RELEASE) -> None:
    """Plain `helm upgrade --install`, no step before or after it. It waits for the Jobs too: the
    admin user the tests log in as is made by one, which may still run when the api-server is ready."""
    kube.helm(
        "upgrade", "--install", release, str(chart), "-n", namespace, "--timeout", "20m", "--wait", "--wait-for-jobs",
        *kube._values_args(values(tag, new=new)), timeout=1500,
    )  # fmt: skip


def tag_image(tag: str) -> None:
    """The Airflow image under another tag in the node's image store."""
    node = f"{os.environ.get('AIRYARD_CLUSTER', 'airyard')}-control-plane"
    subprocess.run(
        ["docker", "exec", node, "ctr", "-n", "k8s.io", "images", "tag", "--force",
         "docker.io/airyard/airflow:0.1.0", f"docker.io/airyard/airflow:{tag}"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip


@pytest.fixture
def drill_namespace(namespace: str) -> Iterator[str]:
    yield namespace
    kube.helm("uninstall", RELEASE, "-n", namespace, "--wait", "--timeout", "5m", timeout=400)
    kube.kubectl("delete", "namespace", f"{namespace}-tasks", "--wait=false", check=False)


def migration_jobs(namespace: str) -> list[dict[str, Any]]:
    """The official chart's migration Job and airflow-bootstrap's."""
    return [
        j
        for j in kube.get("jobs", namespace=namespace)["items"]
        if j["metadata"]["name"].endswith("run-airflow-migrations")
        or j["metadata"]["labels"].get("app.kubernetes.io/component") == "migrations"
    ]


@pytest.mark.timeout(3600)
def test_plain_helm_upgrade_from_the_previous_release_keeps_data_and_migrates_once(drill_namespace: str) -> None:
    """Upgrade drill: the previous release, with state, upgraded by plain `helm upgrade` to this
    checkout with another Airflow image tag: data kept, the migration ran once, no manual step."""
    ns = drill_namespace
    stamp = uuid.uuid4().hex[:8]
    with tempfile.TemporaryDirectory() as tmp:
        upgrade(old_chart(Path(tmp)), ns, "0.1.0", new=False)
    old_jobs = [j["metadata"]["name"] for j in migration_jobs(ns)]
    assert old_jobs == [f"{RELEASE}-run-airflow-migrations"], old_jobs

    with airflow.connect(ns, RELEASE) as af:
        run_id, run = af.run_dag("platform_check")
        assert run["state"] == "success"
        af.request("POST", "/variables", json={"key": f"drill_{stamp}", "value": stamp})

    tag_image(NEW_TAG)
    chart = kube.REPO / "charts" / "airyard"
    upgrade(chart, ns, NEW_TAG, new=True)

    jobs = migration_jobs(ns)
    assert [j["metadata"]["name"] for j in jobs if j["metadata"]["name"].endswith("run-airflow-migrations")] == []
    (job,) = jobs
    assert (job["status"].get("succeeded"), job["status"].get("failed", 0)) == (1, 0)
    assert NEW_TAG in job["spec"]["template"]["spec"]["containers"][0]["image"]
    pods = kube.get("pods", namespace=ns, selector=f"job-name={job['metadata']['name']}")["items"]
    assert len(pods) == 1
    assert sum(c.get("restartCount", 0) for c in pods[0]["status"]["containerStatuses"]) == 0
    schema = kube.get("configmap", "airyard-airflow-schema", ns)["data"]
    assert schema["head"].strip() in schema["revisions"].split()

    with airflow.connect(ns, RELEASE) as af:
        assert af.run("platform_check", run_id)["state"] == "success"
        assert af.request("GET", f"/variables/drill_{stamp}")["value"] == stamp
        again_id, again = af.run_dag("platform_check")
        assert again["state"] == "success", af.task_states("platform_check", again_id)
    scheduler = kube.get("deployment", f"{RELEASE}-scheduler", ns)
    assert NEW_TAG in scheduler["spec"]["template"]["spec"]["containers"][0]["image"]

    # The same upgrade again (a GitOps re-sync): the finished Job is left alone, nothing migrates.
    upgrade(chart, ns, NEW_TAG, new=True)
    assert [j["metadata"]["uid"] for j in migration_jobs(ns)] == [job["metadata"]["uid"]]
