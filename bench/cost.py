"""Platform cost: `make up` time, image sizes, idle CPU and memory per component (and of the
built-in metrics stack), DAG parse times.

`make up` is timed warm (a converge on the running cluster; BENCH_UP=0 skips it). A cold `make up`
is timed by hand, because it needs the cluster and every build cache deleted: `make down`,
`docker rmi` of every image, `docker builder prune -af`, move ~/.cache/airyard away, then
`time make up` in a clean clone. Its figure is recorded in COLD_RECORDED and says how it was taken.
Idle: after BENCH_IDLE_SETTLE seconds (default 300) with no task or Spark pods (a stream's aside:
it never ends, and is named in the result) and no restarted platform container, CPU over
BENCH_IDLE_WINDOW seconds (default 60) and memory at its end.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from datetime import UTC, datetime
from typing import Any

from airyard.spark.applications import SPEC_ANNOTATION

from bench.cluster import (
    PLATFORM_NAMESPACE,
    SYSTEM_NAMESPACES,
    activity,
    cgroups,
    component,
    machine,
    pod_key,
    workload_pods,
)
from bench.results import REPO, activity_line, now, save_part, table, target, targets_table
from devkit import kube
from devkit.airflow import TASKS_NAMESPACE

#: The Spark operator's label of an application's driver and executor pods.
SPARK_APP_LABEL = "sparkoperator.k8s.io/app-name"
MIB = 2**20
GIB = 2**30
#: A cold `make up` deletes the cluster and every build cache, which a benchmark on a shared cluster
#: must not do, so it is timed by hand (see the module docstring) and recorded here.
COLD_RECORDED = {
    "measured": True,
    "seconds": 988,
    "how": (
        "first `make e2e` of a clean clone after `make down`, every Docker image and the BuildKit cache "
        "removed and ~/.cache/airyard moved away; the host's Go build cache was kept, so the Kubernetes "
        "binaries took 16 s instead of a cold compile's 255 s"
    ),
    "phases_seconds": {
        "Kubernetes binaries, base image, kind node image, cluster up": 125,
        "15 image builds": 571,
        "loading the images into kind": 215,
        "CRDs and chart dependencies": 10,
        "helm upgrade --install, wait until every workload is Ready": 67,
    },
    "measured_at": "2026-11-21",
}


def make_up() -> dict[str, Any]:
    if os.environ.get("BENCH_UP", "1") == "0":
        return {"measured": False, "why": "skipped: BENCH_UP=0"}
    log = REPO / "reports" / "bench-make-up.log"
    log.parent.mkdir(exist_ok=True)
    print(f"    make up (log: {log.relative_to(REPO)})", flush=True)
    started = time.monotonic()
    with log.open("w") as out:
        proc = subprocess.run(["make", "up"], cwd=REPO, stdout=out, stderr=subprocess.STDOUT, timeout=3600)
    seconds = round(time.monotonic() - started, 1)
    if proc.returncode != 0:
        raise RuntimeError(f"make up failed after {seconds} s; see {log}")
    text = log.read_text()
    return {
        "measured": True,
        "seconds": seconds,
        "airflow_chart": os.environ.get("AIRFLOW_CHART"),
        # Images whose content changed since the last load (hack/images/load.sh logs "load-<name>").
        "images_loaded": sorted(set(re.findall(r"load-([\w.-]+) \(log:", text))),
        "workloads_restarted": "restarting workloads whose image changed" in text,
    }


def image_sizes() -> dict[str, float]:
    """Image sizes in MB (10^6 bytes, as `docker image ls` prints them) of this version's images."""
    tag = kube.IMAGE_TAG
    refs = subprocess.run(
        ["docker", "image", "ls", "--filter", "reference=airyard/*", "--format", "{{.Repository}}:{{.Tag}}"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    sizes = {}
    for ref in sorted(r for r in refs if r.endswith(f":{tag}")):
        size = subprocess.run(
            ["docker", "image", "inspect", "--format", "{{.Size}}", ref], capture_output=True, text=True, check=True
        ).stdout.strip()
        sizes[ref] = round(int(size) / 1e6, 1)
    return sizes


def _streams() -> set[str]:
    """The long-running SparkApplications the pipelines keep (airyard.spark.applications.ensure):
    a stream never ends, so its pods are part of the idle platform rather than task work."""
    apps = kube.get("sparkapplications", namespace=TASKS_NAMESPACE)["items"]
    return {a["metadata"]["name"] for a in apps if SPEC_ANNOTATION in a["metadata"].get("annotations", {})}


def _busy_pods(streams: set[str]) -> list[str]:
    """Task work in the tasks namespace: KubernetesExecutor workers, task pods, Spark pods that are
    not a stream's."""
    pods = kube.get("pods", namespace=TASKS_NAMESPACE)["items"]
    busy = []
    for p in pods:
        labels = p["metadata"].get("labels", {})
        if p["status"].get("phase") not in {"Pending", "Running"} or labels.get(SPARK_APP_LABEL) in streams:
            continue
        if labels.get("kubernetes_executor") == "True" or "spark-role" in labels or "airflow_kpo_in_cluster" in labels:
            busy.append(p["metadata"]["name"])
    return busy


def _newest_start() -> float:
    """Seconds since the most recent start of a platform container."""
    newest = None
    for p in workload_pods(PLATFORM_NAMESPACE):
        for c in p["status"].get("containerStatuses", []):
            started = (c.get("state", {}).get("running") or {}).get("startedAt")
            if started:
                t = datetime.fromisoformat(started)
                newest = t if newest is None or t > newest else newest
    return (datetime.now(UTC) - newest).total_seconds() if newest else 1e9


def settle(seconds: float, limit: float = 3600) -> dict[str, Any]:
    """Wait until no task has run and no platform container started for `seconds`; the streams
    running meanwhile are named in the result."""
    started = time.monotonic()
    quiet_since = time.monotonic()
    while True:
        streams = _streams()
        busy = _busy_pods(streams)
        if busy:
            quiet_since = time.monotonic()
        quiet = min(time.monotonic() - quiet_since, _newest_start())
        waited = round(time.monotonic() - started)
        result: dict[str, Any] = {"settle_seconds": seconds, "waited_seconds": waited, "streams": sorted(streams)}
        if quiet >= seconds:
            return result
        if time.monotonic() - started > limit:
            return {**result, "not_quiet": busy}
        print(
            f"    settling: quiet for {quiet:.0f}/{seconds:.0f} s{'; busy: ' + ', '.join(busy[:3]) if busy else ''}",
            flush=True,
        )
        time.sleep(min(30, max(5, seconds - quiet)))


def idle(window: float) -> dict[str, Any]:
    groups = {"platform": [PLATFORM_NAMESPACE], "kubernetes": list(SYSTEM_NAMESPACES)}
    pods = {g: [p for ns in nss for p in workload_pods(ns)] for g, nss in groups.items()}
    first = cgroups()
    time.sleep(window)
    last = cgroups()
    out: dict[str, Any] = {"window_seconds": window}
    for group, members in pods.items():
        comps: dict[str, dict[str, float]] = {}
        for p in members:
            key = pod_key(p)
            if key not in first or key not in last:
                continue
            cpu = (last[key].cpu_ns - first[key].cpu_ns) / 1e9 / (last[key].at - first[key].at)
            c = comps.setdefault(component(p), {"cpu_millicores": 0.0, "memory_mib": 0.0})
            c["cpu_millicores"] += cpu * 1000
            c["memory_mib"] += last[key].memory_bytes / MIB
        for c in comps.values():
            c["cpu_millicores"] = round(c["cpu_millicores"], 1)
            c["memory_mib"] = round(c["memory_mib"], 1)
        out[group] = {
            "components": dict(sorted(comps.items())),
            "cpu_cores": round(sum(c["cpu_millicores"] for c in comps.values()) / 1000, 3),
            "memory_gib": round(sum(c["memory_mib"] for c in comps.values()) / 1024, 2),
        }
    node = (last["node"].cpu_ns - first["node"].cpu_ns) / 1e9 / (last["node"].at - first["node"].at)
    out["kind_node"] = {"cpu_cores": round(node, 3), "memory_gib": round(last["node"].memory_bytes / GIB, 2)}
    return out


def parse_times() -> dict[str, Any]:
    """The DAG processor's own per-file figures: the newest "DAG File Processing Stats" table in its log."""
    log = kube.kubectl(
        "logs", "-n", PLATFORM_NAMESPACE, f"deploy/{PLATFORM_NAMESPACE}-dag-processor", "-c", "dag-processor",
        "--tail=3000",
    )  # fmt: skip
    lines = log.splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip() == "DAG File Processing Stats"]
    if not starts:
        raise RuntimeError("no 'DAG File Processing Stats' table in the dag-processor's recent log")
    i = starts[-1] + 2
    header, dashes = lines[i], lines[i + 1]
    spans = [(m.start(), m.end()) for m in re.finditer(r"-+", dashes)]
    names = [header[a:b].strip() for a, b in spans]
    files: dict[str, dict[str, Any]] = {}
    for line in lines[i + 2 :]:
        if line.startswith("====="):
            break
        row = {n: line[a : (b if n != names[-1] else None)].strip() for n, (a, b) in zip(names, spans, strict=True)}
        duration = row.get("Last Duration", "").rstrip("s")
        files[row["File Path"]] = {
            "seconds": float(duration) if duration else None,
            "dags": int(row["# DAGs"] or 0),
            "errors": int(row["# Errors"] or 0),
            "last_run_at": row.get("Last Run At"),
        }
    timed = [f["seconds"] for f in files.values() if f["seconds"] is not None]
    return {
        "source": "dag-processor log, DAG File Processing Stats (Last Duration per file)",
        "files": dict(sorted(files.items(), key=lambda kv: -(kv[1]["seconds"] or 0))),
        "max_seconds": max(timed) if timed else None,
    }


def metrics_stack(components: dict[str, dict[str, float]]) -> dict[str, Any]:
    """The built-in metrics stack's share of the idle platform: the metrics chart's parts and
    Airflow's StatsD exporter."""
    prefix = f"{PLATFORM_NAMESPACE}-metrics-"
    parts = {n: c for n, c in components.items() if n.startswith(prefix) or n == f"{PLATFORM_NAMESPACE}-statsd"}
    return {
        "components": sorted(parts),
        "cpu_cores": round(sum(c["cpu_millicores"] for c in parts.values()) / 1000, 3),
        "memory_mib": round(sum(c["memory_mib"] for c in parts.values()), 1),
    }


def main() -> None:
    section: dict[str, Any] = {"measured_at": now(), "machine": machine()}
    print("==> cost: make up (warm)", flush=True)
    with activity(section):
        section["make_up_warm"] = make_up()
    section["make_up_cold"] = COLD_RECORDED
    print("==> cost: image sizes", flush=True)
    section["image_sizes_mb"] = image_sizes()
    settle_for = float(os.environ.get("BENCH_IDLE_SETTLE", "300"))
    window = float(os.environ.get("BENCH_IDLE_WINDOW", "60"))
    print(f"==> cost: idle CPU and memory (after {settle_for:.0f} s quiet, over {window:.0f} s)", flush=True)
    idle_activity: dict[str, Any] = {}
    section["idle"] = settle(settle_for)
    with activity(idle_activity):
        section["idle"].update(idle(window))
    section["idle"]["activity"] = idle_activity["activity"]
    print("==> cost: DAG parse times", flush=True)
    section["parse_times"] = parse_times()
    plat = section["idle"]["platform"]
    section["idle"]["metrics_stack"] = stack = metrics_stack(plat["components"])
    section["targets"] = [
        target("platform idle memory", plat["memory_gib"], 6, "GiB"),
        target("platform idle CPU", plat["cpu_cores"], 0.5, "cores"),
        target("metrics stack idle memory", stack["memory_mib"], 400, "MiB"),
        target("metrics stack idle CPU", stack["cpu_cores"], 0.1, "cores"),
        target("slowest DAG file parse", section["parse_times"]["max_seconds"], 0.2, "s"),
    ]
    print_section(section)
    save_part("cost", section)


def print_section(section: dict[str, Any]) -> None:
    up = section["make_up_warm"]
    print(
        table(
            "make up",
            ("", "seconds", "note"),
            [
                ("warm (converge, running cluster)", up.get("seconds"), "measured" if up["measured"] else up["why"]),
                ("cold", section["make_up_cold"]["seconds"], "timed by hand, recorded: make_up_cold.how in bench.json"),
            ],
        )
    )
    print(table("image sizes", ("image", "MB"), section["image_sizes_mb"].items()))
    rows = []
    for group in ("platform", "kubernetes"):
        g = section["idle"][group]
        rows += [(group, n, c["cpu_millicores"], c["memory_mib"]) for n, c in g["components"].items()]
        rows.append((group, "TOTAL", round(g["cpu_cores"] * 1000, 1), round(g["memory_gib"] * 1024, 1)))
    node = section["idle"]["kind_node"]
    rows.append(("node", "whole kind node", round(node["cpu_cores"] * 1000, 1), round(node["memory_gib"] * 1024, 1)))
    print(table("idle (working set memory, CPU over the window)", ("group", "component", "mCPU", "MiB"), rows))
    print(activity_line(section["idle"].get("activity")))
    if streams := section["idle"].get("streams"):
        print(f"streams running through the window (tasks namespace; in the kind node's figure): {', '.join(streams)}")
    files = section["parse_times"]["files"]
    print(
        table(
            "DAG file parse times",
            ("file", "s", "DAGs", "errors"),
            ((f, v["seconds"], v["dags"], v["errors"]) for f, v in files.items()),
        )
    )
    print(targets_table(section["targets"]))
