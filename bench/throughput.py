"""Throughput: bench_noop_mapped (one no-op task mapped over 200 items) on the platform.

Wall time is the DAG run's start to end; the settings that bound concurrency are read from the
scheduler's configuration as it runs (airflow.cfg from the chart plus environment overrides).
"""

from __future__ import annotations

import json
from typing import Any

from bench import dagruns
from bench.cluster import activity, machine
from bench.results import activity_line, now, save_part, summary, table, target, targets_table
from devkit import airflow, kube

SETTINGS = (
    ("core", "parallelism"),
    ("core", "max_active_tasks_per_dag"),
    ("kubernetes_executor", "worker_pods_creation_batch_size"),
    ("scheduler", "max_tis_per_query"),
    ("scheduler", "scheduler_heartbeat_sec"),
)
_READ = (
    "import json; from airflow.configuration import conf; "
    f"print(json.dumps({{f'{{s}}.{{k}}': conf.get(s, k, fallback=None) for s, k in {list(SETTINGS)!r}}}))"
)


def settings(af: airflow.Airflow) -> dict[str, Any]:
    out = kube.kubectl(
        "exec", "-n", airflow.NAMESPACE, f"deploy/{airflow.RELEASE}-scheduler", "-c", "scheduler", "--",
        "python", "-c", _READ,
    )  # fmt: skip
    found: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    found["pool.default_pool.slots"] = af.request("GET", "/pools/default_pool")["slots"]
    dag = af.request("GET", f"/dags/{dagruns.MAPPED_DAG}")
    found["dag.max_active_tasks"] = dag.get("max_active_tasks")
    return found


def main() -> None:
    section: dict[str, Any] = {"measured_at": now(), "machine": machine()}
    with dagruns.bench_dags():
        print(f"==> throughput: {dagruns.MAPPED_DAG} on the platform", flush=True)
        with activity(section), airflow.connect() as af:
            af.wait_for_dag(dagruns.MAPPED_DAG, timeout=300)
            section["settings"] = settings(af)
            dag_run, tis = dagruns.run(af, dagruns.MAPPED_DAG, timeout=3600)
    start, end = dagruns.parse(dag_run["start_date"]), dagruns.parse(dag_run["end_date"])
    if start is None or end is None:
        raise RuntimeError(f"run without start or end: {dag_run}")
    wall = (end - start).total_seconds()
    first_queued = min(dagruns.parse(t["queued_when"]) for t in tis)
    last_end = max(dagruns.parse(t["end_date"]) for t in tis)
    per_task = dagruns.durations(tis)
    section.update(
        run_id=dag_run["dag_run_id"],
        tasks=len(tis),
        wall_seconds=round(wall, 1),
        tasks_per_minute=round(len(tis) / wall * 60, 1),
        first_queued_to_last_end_seconds=round((last_end - first_queued).total_seconds(), 1),
        peak_running=dagruns.peak_running(tis),
        retried_tasks=dagruns.retried(tis),
        queued_to_running=summary(per_task["queued_to_running"]),
        queued_to_success=summary(per_task["queued_to_success"]),
        timeline=dagruns.timeline(tis, start),
    )
    # CPU the task pods cost: what the node spent outside the long-running pods (pods that came
    # and went, with kubelet's and containerd's work for them), per task.
    short = section["activity"]["cpu_cores_by_namespace"].get("(short-lived pods, kubelet, containerd)")
    if short is not None:
        section["cpu_seconds_per_task"] = round(short * section["activity"]["seconds"] / len(tis), 2)
    section["targets"] = [target("200 mapped no-op tasks, wall time", round(wall, 1), 240, "s")]
    print_section(section)
    save_part("throughput", section)


def print_section(section: dict[str, Any]) -> None:
    q2r, q2s = section["queued_to_running"], section["queued_to_success"]
    rows = [
        ("tasks", section["tasks"]),
        ("wall time (run start → end), s", section["wall_seconds"]),
        ("tasks per minute", section["tasks_per_minute"]),
        ("first queued → last done, s", section["first_queued_to_last_end_seconds"]),
        ("peak running at once", section["peak_running"]),
        ("CPU per task (task pods, kubelet, containerd), s", section.get("cpu_seconds_per_task")),
        ("per task queued→running p50 / p95, s", f"{q2r['p50']} / {q2r['p95']}"),
        ("per task queued→success p50 / p95, s", f"{q2s['p50']} / {q2s['p95']}"),
        *((f"setting {k}", v) for k, v in section["settings"].items()),
    ]
    print(table("throughput: 200 mapped no-op tasks", ("", "value"), rows))
    print(targets_table(section["targets"]))
    print(activity_line(section.get("activity")))
