"""A second Airflow for comparison: the official chart with its default values, in its own namespace.

Only what running on this cluster needs differs from the chart's defaults: the executor under test
(KubernetesExecutor), our image (nothing can be pulled here, and the same image makes the figures
comparable), `airflowVersion` describing that image (the chart picks commands by it), and no
bundled Bitnami PostgreSQL or statsd (their images cannot be pulled): the metadata DB is our
PostgreSQL chart, installed next to it without persistence. Everything is removed afterwards.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
import yaml

from bench import dagruns
from bench.results import REPO
from devkit import kube
from devkit.airflow import Airflow

NAMESPACE = os.environ.get("BENCH_OFFICIAL_NAMESPACE", "bench-official")
RELEASE = "official"
PG_RELEASE = "bench-pg"


def chart() -> str | None:
    """$AIRFLOW_CHART (the chart/ folder, as `make up` takes it), else the archive `make chart-deps` packaged."""
    env = os.environ.get("AIRFLOW_CHART")
    if env and (Path(env) / "Chart.yaml").is_file():
        return env
    packaged = sorted((REPO / "charts" / "airyard" / "charts").glob("airflow-[0-9]*.tgz"))
    return str(packaged[-1]) if packaged else None


def values() -> dict[str, Any]:
    umbrella = yaml.safe_load((REPO / "charts" / "airyard" / "values.yaml").read_text())["airflow"]
    repository, tag = dagruns.BENCH_IMAGE.split(":")  # ours with the benchmark's DAGs
    return {
        "executor": "KubernetesExecutor",
        "airflowVersion": umbrella["airflowVersion"],
        "defaultAirflowRepository": repository,
        "defaultAirflowTag": tag,
        "postgresql": {"enabled": False},
        "data": {"metadataSecretName": f"{PG_RELEASE}-postgresql-airflow"},
        "statsd": {"enabled": False},
    }


def _run(*cmd: str, timeout: float = 900) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])} … failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")


def _api_healthy(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/api/v2/monitor/health", timeout=10).status_code == 200
    except requests.RequestException:
        return False


@contextmanager
def installed(chart_ref: str) -> Iterator[dict[str, Any]]:
    """Install the release (and its PostgreSQL), yield facts about it, uninstall everything."""
    info: dict[str, Any] = {"chart": chart_ref, "namespace": NAMESPACE, "values": values()}
    started = time.monotonic()
    kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    try:
        print(f"    installing our PostgreSQL chart as {NAMESPACE}/{PG_RELEASE}", flush=True)
        pg = {
            "databases": [{"name": "airflow", "user": "airflow"}],
            "persistence": {"enabled": False},
            "networkPolicy": {"enabled": False},
        }
        kube.helm_install("postgresql", PG_RELEASE, NAMESPACE, pg, timeout="10m")
        secret = f"{PG_RELEASE}-postgresql-airflow"
        kube.wait_until(
            f"Secret {secret}",
            lambda: bool(kube.kubectl("get", "secret", secret, "-n", NAMESPACE, "--ignore-not-found", "-o", "name")),
            timeout=300,
        )
        print(f"    installing the official chart ({chart_ref}) as {NAMESPACE}/{RELEASE}", flush=True)
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
            yaml.safe_dump(info["values"], f)
        # Without --wait: the chart's migration Job is a post-install hook its pods wait for.
        _run("helm", "install", RELEASE, chart_ref, "-n", NAMESPACE, "--timeout", "20m", "-f", f.name, timeout=1500)
        for kind in ("deployment", "statefulset"):
            kube.kubectl("rollout", "status", kind, "-n", NAMESPACE, "--timeout=900s", timeout=960)
        with kube.port_forward(f"service/{RELEASE}-api-server", NAMESPACE, 8080) as port:
            kube.wait_until("the official api-server", lambda: _api_healthy(port), timeout=300, interval=5)
        info["install_seconds"] = round(time.monotonic() - started, 1)
        print(f"    official release ready after {info['install_seconds']:.0f} s", flush=True)
        yield info
    finally:
        # The chart's default probes under a busy CPU: how often its components were restarted.
        pods = kube.get("pods", namespace=NAMESPACE).get("items", [])
        info["container_restarts"] = {
            p["metadata"]["name"]: sum(c.get("restartCount", 0) for c in p["status"].get("containerStatuses", []))
            for p in pods
            if p["metadata"]["name"].startswith(RELEASE)
        }
        if os.environ.get("BENCH_KEEP_OFFICIAL") == "1":
            print(f"    BENCH_KEEP_OFFICIAL=1: {NAMESPACE} left installed")
        else:
            print(f"    uninstalling {NAMESPACE}/{RELEASE} and {PG_RELEASE}, deleting the namespace", flush=True)
            for rel in (RELEASE, PG_RELEASE):
                subprocess.run(
                    ["helm", "uninstall", rel, "-n", NAMESPACE, "--wait", "--timeout", "5m"],
                    capture_output=True,
                    timeout=400,
                )
            kube.kubectl(
                "delete", "namespace", NAMESPACE, "--ignore-not-found", "--timeout=300s", check=False, timeout=360
            )


@contextmanager
def connect() -> Iterator[Airflow]:
    """The chart's default admin user (createUserJob.defaultUser: admin/admin)."""
    with kube.port_forward(f"service/{RELEASE}-api-server", NAMESPACE, 8080) as port:
        yield Airflow.login(f"http://127.0.0.1:{port}", "admin", "admin")
