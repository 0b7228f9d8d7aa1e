"""Run the bench DAGs (bench/dags/bench_noop.py) through the REST API and time their task instances."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from bench.results import REPO
from devkit import kube
from devkit.airflow import Airflow

BENCH_IMAGE_NAME = "airflow-bench"
BENCH_IMAGE = kube.image(BENCH_IMAGE_NAME)
LATENCY_DAG = "bench_noop_latency"
MAPPED_DAG = "bench_noop_mapped"
POOL = "benchmark"


@contextmanager
def bench_dags() -> Iterator[None]:
    """The platform runs airyard/airflow-bench, the airflow image of this checkout plus bench/dags,
    for the time of the block, then the production image again (hack/up.sh both ways: a roll of
    Airflow's components each time). The production image holds no benchmark DAG."""
    print(f"==> {BENCH_IMAGE}: the airflow image plus bench/dags", flush=True)
    _run(REPO / "hack" / "images" / "bench-image.sh")
    repository = BENCH_IMAGE.split(":")[0]
    # The migration Job (airflow-bootstrap) runs the image the components run, as the umbrella checks.
    values = {
        "airflow": {
            "defaultAirflowRepository": repository,
            "images": {"airflow": {"repository": repository}, "pod_template": {"repository": repository}},
        },
        "airflow-bootstrap": {"image": {"repository": repository}},
    }
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        yaml.safe_dump(values, f)
        f.flush()
        _run(REPO / "hack" / "up.sh", env={**os.environ, "IMAGES": "airflow", "AIRYARD_VALUES": f.name})
    try:
        yield
    finally:
        print("==> the platform back on the production image", flush=True)
        _run(REPO / "hack" / "up.sh", env={**os.environ, "IMAGES": "airflow"})


def _run(*cmd: str | Path, env: dict[str, str] | None = None) -> None:
    subprocess.run([str(c) for c in cmd], env=env, check=True)


def parse(ts: str | None) -> datetime | None:
    return datetime.fromisoformat(ts) if ts else None


def set_pool(af: Airflow, name: str, slots: int) -> None:
    resp = af.session.get(f"{af.base_url}/api/v2/pools/{name}", timeout=30)
    body = {
        "name": name,
        "slots": slots,
        "description": "make bench (bench/dags/bench_noop.py)",
        "include_deferred": False,
    }
    if resp.status_code == 404:
        af.request("POST", "/pools", json=body)
    else:
        af.request("PATCH", f"/pools/{name}", json=body)


def delete_pool(af: Airflow, name: str) -> None:
    af.session.delete(f"{af.base_url}/api/v2/pools/{name}", timeout=30)


def task_instances(af: Airflow, dag_id: str, run_id: str) -> list[dict[str, Any]]:
    """Every task instance of the run, mapped ones included (the API pages by 100)."""
    out: list[dict[str, Any]] = []
    while True:
        page = af.request(
            "GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 100, "offset": len(out)}
        )
        out += page["task_instances"]
        if not page["task_instances"] or len(out) >= page["total_entries"]:
            return out


def run(af: Airflow, dag_id: str, timeout: float) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Unpause, trigger one run, wait for it, pause again; the finished run and its task instances."""
    af.wait_for_dag(dag_id, timeout=300)
    af.request("PATCH", f"/dags/{dag_id}", json={"is_paused": False})
    try:
        run_id = af.request("POST", f"/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": {}})["dag_run_id"]
        print(f"    {dag_id} run {run_id} triggered", flush=True)
        deadline = time.monotonic() + timeout
        while True:
            dag_run = af.run(dag_id, run_id)
            if dag_run["state"] in {"success", "failed"}:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{dag_id} {run_id} still {dag_run['state']} after {timeout:.0f} s")
            time.sleep(5)
    finally:
        af.request("PATCH", f"/dags/{dag_id}", json={"is_paused": True})
    tis = task_instances(af, dag_id, run_id)
    failed = [f"{t['task_id']}[{t['map_index']}]={t['state']}" for t in tis if t["state"] != "success"]
    if dag_run["state"] != "success" or failed:
        raise RuntimeError(f"{dag_id} {run_id} ended {dag_run['state']}; not successful: {failed[:10]}")
    return dag_run, tis


def durations(tis: list[dict[str, Any]]) -> dict[str, list[float]]:
    """Seconds per task instance: queued->running (worker pod start, task runner up), running->
    success (the task and its state calls), queued->success."""
    out: dict[str, list[float]] = {"queued_to_running": [], "running_to_success": [], "queued_to_success": []}
    for ti in tis:
        queued, start, end = parse(ti["queued_when"]), parse(ti["start_date"]), parse(ti["end_date"])
        if not (queued and start and end):
            raise RuntimeError(f"task instance without timestamps: {ti['task_id']} {ti}")
        out["queued_to_running"].append((start - queued).total_seconds())
        out["running_to_success"].append((end - start).total_seconds())
        out["queued_to_success"].append((end - queued).total_seconds())
    return out


def timeline(tis: list[dict[str, Any]], since: datetime) -> list[list[Any]]:
    """Per task instance [task, queued, running, done] in seconds after `since` (the run's start)."""
    rows = []
    for ti in sorted(tis, key=lambda t: (t["queued_when"], t["task_id"], t["map_index"])):
        name = ti["task_id"] if ti["map_index"] < 0 else f"{ti['task_id']}[{ti['map_index']}]"
        stamps = (parse(ti[k]) for k in ("queued_when", "start_date", "end_date"))
        rows.append([name, *(round((t - since).total_seconds(), 2) if t else None for t in stamps)])
    return rows


def peak_running(tis: list[dict[str, Any]]) -> int:
    """Most task instances running at the same moment."""
    events = []
    for ti in tis:
        events += [(parse(ti["start_date"]), 1), (parse(ti["end_date"]), -1)]
    running = peak = 0
    for _, step in sorted(events, key=lambda e: (e[0], e[1])):
        running += step
        peak = max(peak, running)
    return peak


def retried(tis: list[dict[str, Any]]) -> int:
    return sum(1 for t in tis if (t.get("try_number") or 1) > 1)
