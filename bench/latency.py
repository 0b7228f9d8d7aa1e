"""Task latency under KubernetesExecutor: bench_noop_latency (50 no-op tasks) on the platform, then
the same DAG on a release of the official chart with its default values, same cluster and image.

The pool `benchmark` sets how many tasks run at once (BENCH_CONCURRENCY, default 1: each task has
the platform to itself, so the figures are the latency of one task, not queueing behind others).
"""

from __future__ import annotations

import os
from typing import Any

from bench import dagruns, official
from bench.cluster import activity, machine
from bench.results import activity_line, now, save_part, summary, table, target, targets_table
from devkit import airflow

METRICS = ("queued_to_running", "running_to_success", "queued_to_success")
STATS = ("p50", "p95", "max")


def measure(af: airflow.Airflow, concurrency: int) -> dict[str, Any]:
    dagruns.set_pool(af, dagruns.POOL, concurrency)
    try:
        dag_run, tis = dagruns.run(af, dagruns.LATENCY_DAG, timeout=3600)
    finally:
        dagruns.delete_pool(af, dagruns.POOL)
    start, end = dagruns.parse(dag_run["start_date"]), dagruns.parse(dag_run["end_date"])
    if start is None or end is None:
        raise RuntimeError(f"run without start or end: {dag_run}")
    return {
        "run_id": dag_run["dag_run_id"],
        "tasks": len(tis),
        "concurrency": concurrency,
        "peak_running": dagruns.peak_running(tis),
        "retried_tasks": dagruns.retried(tis),
        "run_seconds": round((end - start).total_seconds(), 1),
        **{k: summary(v) for k, v in dagruns.durations(tis).items()},
        "timeline": dagruns.timeline(tis, start),
    }


def ratio(ours: dict[str, Any], theirs: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Ours as a fraction of the official chart's (0.5 = twice as fast)."""
    return {m: {s: round(ours[m][s] / theirs[m][s], 2) if theirs[m][s] else None for s in STATS} for m in METRICS}


def print_section(section: dict[str, Any]) -> None:
    rows = []
    for m in METRICS:
        for label, key in (("airyard", "ours"), ("official defaults", "official")):
            fig = section.get(key) or {}
            if m in fig:
                rows.append((m.replace("_", "→").replace("→to→", "→"), label, *(fig[m][s] for s in STATS)))
        if section.get("ratio"):
            rows.append(("", "airyard / official", *(section["ratio"][m][s] for s in STATS)))
    print(table(f"task latency, seconds (concurrency {section['concurrency']})", ("", "", *STATS), rows))
    for key in ("ours", "official"):
        fig = section.get(key)
        if fig:
            print(f"    {key}: {fig['tasks']} tasks, run {fig['run_seconds']} s, peak {fig['peak_running']} running")
            if key == "official":
                print(activity_line(fig.get("activity"), "the official run"))
    if section.get("official_skipped"):
        print(f"    official chart comparison: {section['official_skipped']}")
    print(targets_table(section["targets"]))
    print(activity_line(section.get("activity")))


def main() -> None:
    concurrency = int(os.environ.get("BENCH_CONCURRENCY", "1"))
    section: dict[str, Any] = {"measured_at": now(), "machine": machine(), "concurrency": concurrency}
    with dagruns.bench_dags():
        print(f"==> latency: {dagruns.LATENCY_DAG} on the platform (concurrency {concurrency})", flush=True)
        with activity(section), airflow.connect() as af:
            section["ours"] = measure(af, concurrency)
        chart = official.chart()
        if os.environ.get("BENCH_OFFICIAL", "1") == "0":
            section["official_skipped"] = "skipped: BENCH_OFFICIAL=0"
        elif chart is None:
            section["official_skipped"] = (
                "not run: the official Airflow chart is absent (set AIRFLOW_CHART to its chart/ folder, "
                "or run `make chart-deps` with network access)"
            )
        else:
            print(f"==> latency: the same DAG on the official chart's defaults ({official.NAMESPACE})", flush=True)
            try:
                with official.installed(chart) as info:
                    official_activity: dict[str, Any] = {}
                    with activity(official_activity), official.connect() as af:
                        section["official"] = measure(af, concurrency)
                    section["official"].update(install=info, activity=official_activity["activity"])
                section["ratio"] = ratio(section["ours"], section["official"])
            except Exception as err:  # noqa: BLE001 - our figures stand; the failed comparison is reported
                section.pop("official", None)
                section["official_skipped"] = f"failed: {type(err).__name__}: {str(err)[-1500:]}"
    ours = section["ours"]["queued_to_success"]
    speedup = None
    if section.get("official"):
        speedup = round(section["official"]["queued_to_success"]["p50"] / ours["p50"], 2)
    section["speedup_p50_official_over_ours"] = speedup
    section["targets"] = [
        target("no-op task queued→success p50", ours["p50"], 4, "s"),
        target("no-op task queued→success p95", ours["p95"], 8, "s"),
        target("faster than the official chart's defaults (p50)", speedup, 2, "x", at_most=False),
    ]
    print_section(section)
    # One section per concurrency: the default (1) and, e.g., a burst of 16 side by side.
    save_part("latency" if concurrency == 1 else f"latency_concurrency_{concurrency}", section)
