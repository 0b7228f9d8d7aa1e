"""The kind cluster itself: what every other e2e test stands on (issue: make cluster)."""

from __future__ import annotations

import urllib.request

from devkit import kube


def test_node_ready_and_system_pods_running() -> None:
    nodes = kube.get("nodes")["items"]
    assert len(nodes) == 1
    conditions = {c["type"]: c["status"] for c in nodes[0]["status"]["conditions"]}
    assert conditions["Ready"] == "True"
    pods = kube.get("pods", namespace="kube-system")["items"]
    components = {p["metadata"]["labels"].get("component") or p["metadata"]["labels"].get("k8s-app") for p in pods}
    assert {
        "etcd",
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "kube-dns",
        "kube-proxy",
    } <= components
    not_running = [p["metadata"]["name"] for p in pods if p["status"]["phase"] != "Running"]
    assert not_running == []


def test_pod_from_locally_built_image_completes(namespace: str) -> None:
    kube.apply(kube.pod("hello", ["python3", "-c", "print('hello from', 6 * 7)"]), namespace=namespace)
    assert kube.wait_pod_phase("hello", namespace, {"Succeeded", "Failed"}) == "Succeeded"
    assert kube.logs("hello", namespace).strip() == "hello from 42"


def _web(namespace: str) -> None:
    kube.apply(
        kube.pod("web", ["python3", "-m", "http.server", "8080", "-d", "/etc"], restart="Always", ports=[8080]),
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]},
        },
        namespace=namespace,
    )
    kube.kubectl("wait", "-n", namespace, "--for=condition=Ready", "pod/web", "--timeout=180s")


def test_service_reachable_by_dns_name_from_another_pod(namespace: str) -> None:
    _web(namespace)
    # kube-proxy programs a new Service's rules a moment after its endpoint is ready: retry briefly.
    fetch = f"""
import time, urllib.request
for attempt in range(30):
    try:
        print(urllib.request.urlopen("http://web.{namespace}.svc.cluster.local/hostname", timeout=5).read().decode())
        break
    except OSError:
        time.sleep(1)
else:
    raise SystemExit("web not reachable by its DNS name")
"""
    kube.apply(kube.pod("client", ["python3", "-c", fetch]), namespace=namespace)
    assert kube.wait_pod_phase("client", namespace, {"Succeeded", "Failed"}) == "Succeeded"
    assert kube.logs("client", namespace).strip() == "web"


def test_pvc_data_survives_its_pod(namespace: str) -> None:
    kube.apply(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "data"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "64Mi"}}},
        },
        namespace=namespace,
    )
    volume = [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]
    mount = [{"name": "data", "mountPath": "/data"}]
    kube.apply(
        kube.pod("writer", ["sh", "-c", "echo kept > /data/file"], volumes=volume, mounts=mount), namespace=namespace
    )
    assert kube.wait_pod_phase("writer", namespace, {"Succeeded", "Failed"}) == "Succeeded"
    assert kube.get("pvc", "data", namespace)["status"]["phase"] == "Bound"
    kube.kubectl("delete", "pod", "writer", "-n", namespace)
    kube.apply(kube.pod("reader", ["cat", "/data/file"], volumes=volume, mounts=mount), namespace=namespace)
    assert kube.wait_pod_phase("reader", namespace, {"Succeeded", "Failed"}) == "Succeeded"
    assert kube.logs("reader", namespace).strip() == "kept"


def test_port_forward_to_service_answers_from_host(namespace: str) -> None:
    _web(namespace)
    with kube.port_forward("service/web", namespace, 80) as port:
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/hostname", timeout=10).read().decode()
    assert body.strip() == "web"
