"""The cluster enforces the platform's NetworkPolicies (kube-router, make cluster): each service admits
its declared clients and no stranger, and a task pod leaves the cluster only when it declares an
outside system. The isolation probe (test_isolation.py) tries the same from inside a real task.
"""

from __future__ import annotations

import json

import pytest

from devkit import kube
from devkit.airflow import NAMESPACE, RELEASE, TASKS_NAMESPACE

pytestmark = pytest.mark.shared_platform

SERVICES = {
    "postgresql": 5432,
    "redis": 6379,
    "kafka": 9092,
    "mongodb": 27017,
    "objectstore": 9000,
    "mlflow": 5000,
    "model-serving": 8000,
}
CLIENT = {f"airyard.io/{s}-client": "true" for s in SERVICES}
EXTERNAL = {"airyard.io/external-client": "true"}
OUTSIDE = ("pypi.org", 443)

# Every target is tried for 8 s, TCP only (the service's own protocol is not spoken): the first
# connection ends the tries ("connected"), else the last error is the outcome. A new pod's policies
# take the enforcer a second or two to program; a stranger must stay refused throughout.
CONNECT = """
import json, socket, time
time.sleep(SETTLE)
out = {}
for host, port in json.loads(TARGETS):
    deadline = time.monotonic() + 8
    while True:
        try:
            socket.create_connection((host, port), timeout=4).close()
            out[f"{host}:{port}"] = "connected"
            break
        except OSError as exc:
            out[f"{host}:{port}"] = f"{type(exc).__name__}: {exc}"
            if time.monotonic() > deadline:
                break
            time.sleep(0.5)
print(json.dumps(out))
"""
# A policy's refusal: kube-router rejects (port unreachable), Calico and Cilium drop (a time-out).
# The same ports accept declared clients, so neither means a closed port.
REFUSED = ("Connection refused", "timed out")


def connect(
    namespace: str, name: str, targets: list[tuple[str, int]], labels: dict[str, str], settle: float = 0
) -> dict[str, str]:
    """What a pod with `labels` in `namespace` gets when it connects to each target, `settle` s after it starts."""
    script = f"TARGETS = {json.dumps(json.dumps(targets))}\nSETTLE = {settle}\n{CONNECT}"
    out = kube.run_script(namespace, name, script, labels=labels, timeout=240)
    return json.loads(out.strip().splitlines()[-1])


def service_targets() -> list[tuple[str, int]]:
    return [(f"{RELEASE}-{s}.{NAMESPACE}.svc", port) for s, port in SERVICES.items()]


@pytest.mark.parametrize(
    ("where", "labels", "admitted"),
    [
        ("platform", CLIENT, True),
        ("tasks", CLIENT, True),
        ("platform", {}, False),
        ("elsewhere", CLIENT, False),
    ],
    ids=[
        "declared-client",
        "declared-client-in-tasks-namespace",
        "no-client-label",
        "client-label-from-another-namespace",
    ],
)
def test_each_service_admits_its_declared_clients_and_refuses_strangers(
    where: str, labels: dict[str, str], admitted: bool, namespace: str
) -> None:
    ns = {"platform": NAMESPACE, "tasks": TASKS_NAMESPACE, "elsewhere": namespace}[where]
    outcomes = connect(ns, f"netpol-{where}-{'client' if labels else 'stranger'}", service_targets(), labels)
    print(json.dumps(outcomes, indent=1))
    assert len(outcomes) == len(SERVICES)
    for target, outcome in outcomes.items():
        if admitted:
            assert outcome == "connected", (target, outcome)
        else:
            # Refused by a policy, not a name that does not resolve.
            assert any(r in outcome for r in REFUSED), (target, outcome)


def test_a_task_pod_leaves_the_cluster_only_when_it_declares_an_outside_system() -> None:
    # kube-router programs a pod's chains a second or two after the pod has its address, and until
    # then its egress is not filtered (a CNI such as Calico programs them before the pod starts):
    # the undeclared pod tries once it is programmed.
    undeclared = connect(TASKS_NAMESPACE, "netpol-task-inside", [OUTSIDE], {}, settle=5)
    declared = connect(TASKS_NAMESPACE, "netpol-task-outside", [OUTSIDE], EXTERNAL)
    print(undeclared, declared)
    assert any(r in undeclared[f"{OUTSIDE[0]}:{OUTSIDE[1]}"] for r in REFUSED), undeclared
    assert declared[f"{OUTSIDE[0]}:{OUTSIDE[1]}"] == "connected", declared


def test_both_namespaces_enforce_the_restricted_pod_security_standard() -> None:
    for ns in (NAMESPACE, TASKS_NAMESPACE):
        labels = kube.get("namespace", ns)["metadata"]["labels"]
        assert labels.get("pod-security.kubernetes.io/enforce") == "restricted", (ns, labels)
    # An attempt, not only the label: a root pod is refused with the admission message.
    root = kube.pod("netpol-root", ["true"])
    root["spec"]["containers"][0]["securityContext"] = {"runAsUser": 0}
    with pytest.raises(RuntimeError, match='violates PodSecurity "restricted:latest"'):
        kube.kubectl("apply", "--dry-run=server", "-n", TASKS_NAMESPACE, "-f", "-", input=json.dumps(root))
