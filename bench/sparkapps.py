"""SparkApplications of the benchmark, built by the platform's one spec (airyard.spark.spec), so
the benchmark runs Spark pods sized and secured exactly as the pipelines'; only the job file (from
a ConfigMap), its arguments, the image and extra environment differ.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from devkit import kube
from devkit.airflow import RELEASE, TASKS_NAMESPACE

#: Where the Spark operator runs applications, and their connections' Secrets are: the tasks namespace.
NAMESPACE = TASKS_NAMESPACE
DONE = {"COMPLETED", "FAILED", "SUBMISSION_FAILED"}


def application(
    name: str,
    *,
    configmap: str,
    job: str,
    arguments: list[str],
    image: str = "movies-spark",
    env: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The SparkApplication of a bench job (a file of ConfigMap `configmap`), built as the platform
    builds the movie pipeline's (airyard.spark.spec), with that pipeline's services."""
    # The catalog of services the spec's pods declare, as Airflow's pods get it from its ConfigMap.
    catalog = kube.get("configmap", f"{RELEASE}-airflow-services", NAMESPACE)["data"]["AIRYARD_SERVICES"]
    os.environ.setdefault("AIRYARD_SERVICES", catalog)
    from airyard.movies import SPARK_SERVICES
    from airyard.spark import spec

    app = spec.application(
        name=name,
        image=image,
        main_file=f"local:///opt/bench/{job}",
        arguments=arguments,
        uses=SPARK_SERVICES,
        labels={"app.kubernetes.io/part-of": "airyard-bench"},
        spark_conf={"spark.sql.shuffle.partitions": "4"},
        volumes=[{"name": "bench", "configMap": {"name": configmap}}],
    )
    for role in ("driver", "executor"):
        app["spec"][role]["volumeMounts"] = [{"name": "bench", "mountPath": "/opt/bench"}]
        if env:
            app["spec"][role]["env"] = env
    return app


def state(name: str) -> str:
    app = kube.get("sparkapplication", name, NAMESPACE)
    return app.get("status", {}).get("applicationState", {}).get("state", "")


def submit(app: dict[str, Any]) -> float:
    """Create the application (retrying while the operator's webhook is unreachable); monotonic time."""
    name = app["metadata"]["name"]
    kube.kubectl("delete", "sparkapplication", name, "-n", NAMESPACE, "--ignore-not-found", "--wait=true")
    deadline = time.monotonic() + 90
    while True:
        started = time.monotonic()
        try:
            kube.kubectl("create", "-n", NAMESPACE, "-f", "-", input=json.dumps(app))
            return started
        except RuntimeError as err:
            if "failed calling webhook" not in str(err) or time.monotonic() > deadline:
                raise
            time.sleep(2)


def run(app: dict[str, Any], timeout: float = 1800) -> dict[str, Any]:
    """Submit, wait for the end; times (submit -> driver running, -> done) and the driver's log."""
    name = app["metadata"]["name"]
    submitted = submit(app)
    driver_running = None
    deadline = submitted + timeout
    while (st := state(name)) not in DONE:
        if driver_running is None and kube.pod_phase(f"{name}-driver", NAMESPACE) in {"Running", "Succeeded"}:
            driver_running = time.monotonic() - submitted
        if time.monotonic() > deadline:
            raise TimeoutError(f"SparkApplication {name} still {st!r} after {timeout:.0f} s")
        time.sleep(1)
    total = time.monotonic() - submitted
    log = kube.kubectl("logs", f"{name}-driver", "-n", NAMESPACE, check=False)
    if st != "COMPLETED":
        progress = "\n".join(line for line in log.splitlines() if line.startswith(("BENCH ", "RESULT ")))
        raise RuntimeError(f"SparkApplication {name} ended {st} after:\n{progress}\n…\n{log[-3000:]}")
    return {
        "submit_to_driver_running_seconds": round(driver_running, 1) if driver_running else None,
        "submit_to_completed_seconds": round(total, 1),
        "log": log,
    }


def delete(name: str) -> None:
    kube.kubectl("delete", "sparkapplication", name, "-n", NAMESPACE, "--ignore-not-found", "--wait=false", check=False)


def marked(log: str, mark: str) -> list[dict[str, Any]]:
    """The JSON documents a job printed after `mark` (e.g. "BENCH ", process.py's "RESULT ")."""
    return [json.loads(line[len(mark) :]) for line in log.splitlines() if line.startswith(mark)]
