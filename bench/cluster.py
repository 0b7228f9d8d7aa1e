"""The machine, the kind node's cgroups, and what else ran while a part measured.

No metrics-server on the kind cluster: CPU and memory come from the node's cgroups (read with
`docker exec` in the node container), per pod, the way kubelet's summary API computes them
(memory = working set: usage minus inactive file cache; CPU = cpuacct usage over a window).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from devkit import kube

NODE = os.environ.get("BENCH_NODE", "airyard-control-plane")
PLATFORM_NAMESPACE = "airyard"
SYSTEM_NAMESPACES = ("kube-system", "local-path-storage")

# One line per pod cgroup: "<uid> <cpu ns> <memory usage bytes> <inactive file bytes>", then the
# node's own cgroup (the container: kubelet, containerd and every pod). cgroup v2 or v1.
_CGROUP_SCRIPT = r"""
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  b=/sys/fs/cgroup
  for d in $(find $b/kubelet.slice/kubelet-kubepods.slice -maxdepth 2 -name '*-pod*.slice'); do
    s=${d##*/}; u=${s##*-pod}; u=${u%.slice}
    echo "$u $(awk '$1=="usage_usec"{printf "%d", $2*1000}' $d/cpu.stat) $(cat $d/memory.current)" \
      "$(awk '$1=="inactive_file"{print $2}' $d/memory.stat)"
  done
  echo "node $(awk '$1=="usage_usec"{printf "%d", $2*1000}' $b/cpu.stat)" \
    "$(cat $b/memory.current 2>/dev/null || echo 0) $(awk '$1=="inactive_file"{print $2}' $b/memory.stat)"
else
  for d in $(find /sys/fs/cgroup/cpuacct/kubelet.slice/kubelet-kubepods.slice -maxdepth 2 -name '*-pod*.slice'); do
    s=${d##*/}; u=${s##*-pod}; u=${u%.slice}; m=/sys/fs/cgroup/memory${d#/sys/fs/cgroup/cpuacct}
    echo "$u $(cat $d/cpuacct.usage) $(cat $m/memory.usage_in_bytes)" \
      "$(awk '$1=="total_inactive_file"{print $2}' $m/memory.stat)"
  done
  m=/sys/fs/cgroup/memory
  echo "node $(cat /sys/fs/cgroup/cpuacct/cpuacct.usage) $(cat $m/memory.usage_in_bytes)" \
    "$(awk '$1=="total_inactive_file"{print $2}' $m/memory.stat)"
fi
"""


@dataclass(frozen=True)
class CgroupSample:
    at: float
    cpu_ns: int
    memory_bytes: int  # working set


def cgroups() -> dict[str, CgroupSample]:
    """Pod cgroups of the node by pod uid (mirror pods by their config hash), and "node"."""
    out = subprocess.run(
        ["docker", "exec", "-i", NODE, "sh"], input=_CGROUP_SCRIPT, capture_output=True, text=True, timeout=60
    )
    if out.returncode != 0:
        raise RuntimeError(f"reading the cgroups of {NODE} failed: {out.stderr.strip()}")
    at = time.monotonic()
    samples = {}
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) != 4:
            continue
        uid, cpu, usage, inactive = parts
        samples[uid.replace("_", "-")] = CgroupSample(at, int(cpu), max(0, int(usage) - int(inactive or 0)))
    return samples


def pod_key(pod: dict[str, Any]) -> str:
    """The id of a pod's cgroup: its uid, or for static (mirror) pods the kubelet's config hash."""
    return pod["metadata"].get("annotations", {}).get("kubernetes.io/config.hash") or pod["metadata"]["uid"]


def component(pod: dict[str, Any]) -> str:
    """A pod's workload: Deployment and DaemonSet pods without their suffixes, others as they are."""
    meta = pod["metadata"]
    name = meta["name"]
    if "pod-template-hash" in meta.get("labels", {}):
        return name.rsplit("-", 2)[0]
    if (meta.get("ownerReferences") or [{}])[0].get("kind") == "DaemonSet":
        return name.rsplit("-", 1)[0]
    return name


def workload_pods(namespace: str) -> list[dict[str, Any]]:
    """Running pods of Deployments, StatefulSets and DaemonSets (not Jobs, task pods or bare pods)."""
    owners = {"ReplicaSet", "StatefulSet", "DaemonSet", "Node"}
    return [
        p
        for p in kube.get("pods", namespace=namespace)["items"]
        if p["status"].get("phase") == "Running"
        and (p["metadata"].get("ownerReferences") or [{}])[0].get("kind") in owners
    ]


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


def machine() -> dict[str, Any]:
    meminfo = dict(line.split(":", 1) for line in _read("/proc/meminfo").splitlines() if ":" in line)
    os_release = dict(
        line.split("=", 1) for line in _read("/etc/os-release").splitlines() if "=" in line and line[0] != "#"
    )
    try:
        server = json.loads(kube.kubectl("version", "-o", "json"))["serverVersion"]["gitVersion"]
    except Exception:  # noqa: BLE001 - the version is a label of the results, not a requirement
        server = None
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(int(meminfo["MemTotal"].split()[0]) / 2**20, 1),
        "os": os_release.get("PRETTY_NAME", "").strip('"'),
        "kernel": platform.release(),
        "cluster": f"kind, single node {NODE}",
        "kubernetes": server,
    }


def _host_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine."""
    fields = [int(x) for x in _read("/proc/stat").splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def other_pods() -> list[str]:
    """Running pods that are not the platform's workloads: e2e namespaces, fakes, task pods."""
    mine = {p["metadata"]["uid"] for ns in (PLATFORM_NAMESPACE, *SYSTEM_NAMESPACES) for p in workload_pods(ns)}
    pods = json.loads(kube.kubectl("get", "pods", "-A", "-o", "json"))
    return sorted(
        f"{p['metadata']['namespace']}/{p['metadata']['name']}"
        for p in pods["items"]
        if p["status"].get("phase") == "Running" and p["metadata"]["uid"] not in mine
    )


def _millicores(value: str) -> float:
    return float(value[:-1]) if value.endswith("m") else float(value) * 1000


def free_cpu_requests() -> float:
    """Millicores of the node's allocatable CPU that no pod has requested: worker pods (50m each)
    beyond it wait in Pending until the kube-scheduler retries them."""
    node = kube.get("node", NODE)
    pods = json.loads(kube.kubectl("get", "pods", "-A", "-o", "json"))["items"]
    requested = sum(
        _millicores(c.get("resources", {}).get("requests", {}).get("cpu", "0"))
        for p in pods
        if p["status"].get("phase") in {"Pending", "Running"}
        for c in p["spec"]["containers"]
    )
    return round(_millicores(node["status"]["allocatable"]["cpu"]) - requested)


def _pods_by_cgroup() -> dict[str, str]:
    pods = json.loads(kube.kubectl("get", "pods", "-A", "-o", "json"))["items"]
    return {pod_key(p): p["metadata"]["namespace"] for p in pods}


@contextmanager
def activity(record: dict[str, Any]) -> Iterator[None]:
    """Note in `record` how busy the machine was around a measurement: CPU used outside the kind
    node (other people's builds and tests share these 2 cores), CPU per namespace inside it, and
    the pods that were not the platform's."""
    host0, total0 = _host_cpu()
    pods0 = _pods_by_cgroup()
    cg0 = cgroups()
    before = other_pods()
    free = free_cpu_requests()
    load0 = os.getloadavg()[0]
    try:
        yield
    finally:
        host1, total1 = _host_cpu()
        cg1 = cgroups()
        node0, node1 = cg0["node"], cg1["node"]
        cores = os.cpu_count() or 1
        seconds = node1.at - node0.at
        host_cores = (host1 - host0) / max(1, total1 - total0) * cores
        node_cores = (node1.cpu_ns - node0.cpu_ns) / 1e9 / max(seconds, 1e-9)
        # Pods that lived through the whole measurement, per namespace; the rest of the node's
        # CPU is pods that came and went (task pods) and kubelet/containerd.
        per_ns: dict[str, float] = {}
        for key, ns in pods0.items():
            if key in cg0 and key in cg1:
                per_ns[ns] = per_ns.get(ns, 0.0) + (cg1[key].cpu_ns - cg0[key].cpu_ns) / 1e9 / max(seconds, 1e-9)
        per_ns["(short-lived pods, kubelet, containerd)"] = node_cores - sum(per_ns.values())
        record["activity"] = {
            "seconds": round(seconds, 1),
            "host_cpu_cores_busy": round(host_cores, 2),
            "kind_node_cpu_cores": round(node_cores, 2),
            "outside_cluster_cpu_cores": round(max(0.0, host_cores - node_cores), 2),
            "cpu_cores_by_namespace": {k: round(v, 2) for k, v in sorted(per_ns.items(), key=lambda kv: -kv[1])},
            "loadavg_1m_before": round(load0, 2),
            "other_pods_running_before": before,
            "free_cpu_requests_millicores_before": free,
        }
