"""Small kubectl and helm wrapper: the tests and the benchmark drive the cluster the way a user does."""

from __future__ import annotations

import base64
import json
import subprocess
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
IMAGE_TAG = (REPO / "VERSION").read_text().strip()


#: The label of the fakes that stand for the internet (TMDB, the feeds, the weather and sports APIs,
#: SMTP, webhooks): the session's NetworkPolicies (conftest.outside_world) let the pods that declare
#: an outside system, and Airflow's pods sending alerts, reach them, as they would reach the real ones.
FAKE = {"airyard-e2e-fake": "true"}


def image(name: str) -> str:
    """The reference of an image built from images/<name>/."""
    return f"airyard/{name}:{IMAGE_TAG}"


def kubectl(*args: str, input: str | None = None, check: bool = True, timeout: float = 300) -> str:
    proc = subprocess.run(["kubectl", *args], input=input, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout


def get(kind: str, name: str = "", namespace: str | None = None, selector: str = "") -> dict[str, Any]:
    ns = ["-n", namespace] if namespace else []
    sel = ["-l", selector] if selector else []
    return json.loads(kubectl("get", kind, *([name] if name else []), *ns, *sel, "-o", "json"))


def apply(*objects: dict[str, Any], namespace: str | None = None) -> None:
    ns = ["-n", namespace] if namespace else []
    kubectl("apply", *ns, "-f", "-", input=yaml.safe_dump_all(objects))


def wait_until(what: str, predicate: Callable[[], bool], timeout: float = 180, interval: float = 2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


def pod_phase(name: str, namespace: str) -> str:
    out = kubectl("get", "pod", name, "-n", namespace, "-o", "jsonpath={.status.phase}", check=False)
    return out.strip()


def wait_pod_phase(name: str, namespace: str, phases: set[str], timeout: float = 180) -> str:
    wait_until(f"pod {namespace}/{name} in {sorted(phases)}", lambda: pod_phase(name, namespace) in phases, timeout)
    return pod_phase(name, namespace)


def pod_ready(name: str, namespace: str) -> bool:
    out = kubectl(
        "get",
        "pod",
        name,
        "-n",
        namespace,
        "-o",
        "jsonpath={.status.conditions[?(@.type=='Ready')].status}",
        check=False,
    )
    return out.strip() == "True"


def pod_uid(name: str, namespace: str) -> str:
    """The pod's uid, or "" while there is no pod of that name."""
    return kubectl("get", "pod", name, "-n", namespace, "-o", "jsonpath={.metadata.uid}", check=False).strip()


def replace_pod(name: str, namespace: str, timeout: float = 300) -> float:
    """Delete a controller-owned pod and wait until its replacement is Ready; returns the seconds that took.

    Waiting on the name alone races the controller: right after the delete there is no pod of that
    name (`kubectl wait` answers NotFound), or still the old one.
    """
    before, start = pod_uid(name, namespace), time.monotonic()
    kubectl("delete", "pod", name, "-n", namespace, "--wait=false")
    wait_until(
        f"a new {name} Ready",
        lambda: pod_uid(name, namespace) not in ("", before) and pod_ready(name, namespace),
        timeout=timeout,
    )
    elapsed = time.monotonic() - start
    print(f"{name} replaced and Ready in {elapsed:.0f} s")
    return elapsed


def seconds_to_ready(pod: dict[str, Any]) -> float:
    """From a pod's creation to its Ready condition."""
    created = datetime.fromisoformat(pod["metadata"]["creationTimestamp"])
    ready = next(c for c in pod["status"]["conditions"] if c["type"] == "Ready")
    return (datetime.fromisoformat(ready["lastTransitionTime"]) - created).total_seconds()


def memory_bytes(namespace: str, pod: str, container: str | None = None) -> int:
    """A container's memory use, from its cgroup (v2 on current kind nodes, v1 on hosts like ours)."""
    script = "cat /sys/fs/cgroup/memory.current 2>/dev/null || cat /sys/fs/cgroup/memory/memory.usage_in_bytes"
    target = ["-c", container] if container else []
    return int(kubectl("exec", "-n", namespace, pod, *target, "--", "sh", "-c", script).strip())


def logs(name: str, namespace: str, container: str | None = None) -> str:
    return kubectl("logs", name, "-n", namespace, *(["-c", container] if container else []))


def pod(
    name: str,
    command: list[str],
    *,
    image_name: str = "toolbox",
    restart: str = "Never",
    volumes: list[dict[str, Any]] | None = None,
    mounts: list[dict[str, Any]] | None = None,
    labels: dict[str, str] | None = None,
    ports: list[int] | None = None,
) -> dict[str, Any]:
    """A restricted-PSS pod running one command from one of our images.

    With `ports`, the pod is Ready once its first port accepts connections: without a probe it is
    Ready as soon as the process starts, before it listens, and a port-forward or a Service then
    meets a refused connection.
    """
    container: dict[str, Any] = {
        "name": "main",
        "image": image(image_name),
        "imagePullPolicy": "IfNotPresent",
        "command": command,
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "runAsNonRoot": True,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": mounts or [],
        "ports": [{"containerPort": p} for p in ports or []],
    }
    if ports:
        container["readinessProbe"] = {"tcpSocket": {"port": ports[0]}, "periodSeconds": 1}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels or {"app": name}},
        "spec": {"restartPolicy": restart, "containers": [container], "volumes": volumes or []},
    }


@contextmanager
def port_forward(target: str, namespace: str, remote_port: int) -> Iterator[int]:
    """kubectl port-forward to a free local port; yields the local port."""
    proc = subprocess.Popen(
        ["kubectl", "port-forward", "-n", namespace, target, f":{remote_port}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # "Forwarding from 127.0.0.1:NNNNN -> 8080"
        if "Forwarding from" not in line:
            raise RuntimeError(f"port-forward failed: {line}{proc.stderr.read() if proc.stderr else ''}")
        # kubectl prints a line per connection: unread, the pipe fills up after a few thousand and
        # kubectl, blocked on writing, stops forwarding (a module's API client then times out).
        for stream in (proc.stdout, proc.stderr):
            threading.Thread(target=deque, args=(stream, 0), daemon=True).start()
        yield int(line.split(":")[1].split()[0])
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def helm(*args: str, timeout: float = 900) -> str:
    proc = subprocess.run(["helm", *args], capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"helm {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout


def helm_install(
    chart: str, release: str, namespace: str, values: dict[str, Any] | None = None, timeout: str = "10m"
) -> None:
    """`helm upgrade --install --wait` of charts/<chart> with the given values."""
    helm("dependency", "build", "--skip-refresh", str(REPO / "charts" / chart))
    helm(
        "upgrade",
        "--install",
        release,
        str(REPO / "charts" / chart),
        "-n",
        namespace,
        "--wait",
        "--timeout",
        timeout,
        *_values_args(values),
    )


def _values_args(values: dict[str, Any] | None) -> list[str]:
    if not values:
        return []
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        yaml.safe_dump(values, f)
    return ["-f", f.name]


def secret_value(name: str, key: str, namespace: str) -> str:
    return base64.b64decode(get("secret", name, namespace)["data"][key]).decode()


@contextmanager
def secret_keys(name: str, namespace: str, values: dict[str, str]) -> Iterator[None]:
    """Add keys to a Secret (created if absent) the way a user edits it, keeping the keys others
    put there; remove ours afterwards."""
    if kubectl("get", "secret", name, "-n", namespace, "--ignore-not-found", "-o", "name").strip():
        kubectl("patch", "secret", name, "-n", namespace, "--type=merge", "-p", json.dumps({"stringData": values}))
    else:
        apply(
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "stringData": values},
            namespace=namespace,
        )
    try:
        yield
    finally:
        patch = [{"op": "remove", "path": f"/data/{key}"} for key in values]
        kubectl("patch", "secret", name, "-n", namespace, "--type=json", "-p", json.dumps(patch), check=False)


# Runs the script in argv[1] and copies its output to the termination log as well: the node's
# containerd (1.6) can lose the whole stdout of a container that exits within a second while the
# node is busy ("Failed to pipe stdout ... file already closed"), while the kubelet reads the
# termination log from a file and keeps its last 4 KiB, enough for the result line.
def kafka_env(secret: str) -> list[dict[str, Any]]:
    """A client pod's Kafka identity from a Secret of charts/kafka (its admin or a user): the
    variables KAFKA_CLIENT reads."""
    keys = {"BOOTSTRAP": "bootstrap-servers", "KAFKA_MECHANISM": "mechanism"}
    keys |= {"KAFKA_USERNAME": "username", "KAFKA_PASSWORD": "password"}
    return [{"name": n, "valueFrom": {"secretKeyRef": {"name": secret, "key": k}}} for n, k in keys.items()]


#: Prepended to the scripts of client pods: kafka_config() is their librdkafka configuration;
#: read_topic(topic) gives every retained message of a topic as (key, JSON object). Records that
#: are not JSON objects are skipped: the movies test puts some on the raw topics on purpose, and
#: Kafka keeps them for days.
KAFKA_CLIENT = """
import json as _json
import os as _os


def kafka_config() -> dict:
    config = {"bootstrap.servers": _os.environ["BOOTSTRAP"]}
    if _os.environ.get("KAFKA_USERNAME"):
        config |= {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": _os.environ["KAFKA_MECHANISM"],
                   "sasl.username": _os.environ["KAFKA_USERNAME"], "sasl.password": _os.environ["KAFKA_PASSWORD"]}
    return config


def read_topic(topic: str) -> list:
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({**kafka_config(), "group.id": "e2e-read", "enable.auto.commit": False})
    parts = c.list_topics(topic, timeout=30).topics[topic].partitions
    ends = {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=30) for p in parts}
    c.assign([TopicPartition(topic, p, low) for p, (low, _) in ends.items()])
    todo, out = {p for p, (low, high) in ends.items() if high > low}, []
    while todo:
        m = c.poll(5)
        if m is None or m.error():
            continue
        try:
            value = _json.loads(m.value())
        except ValueError:
            value = None
        if isinstance(value, dict):
            out.append((m.key().decode() if m.key() else "", value))
        if m.offset() + 1 >= ends[m.partition()][1]:
            todo.discard(m.partition())
    c.close()
    return out
"""

_SCRIPT_RUNNER = """
import contextlib, io, os, socket, sys, time
# The services this pod's labels admit it to refuse it until the enforcer has programmed its
# address, a second or two after it started: wait for them as any client retries (at most 30 s).
for target in filter(None, os.environ.get("E2E_ADMITTED", "").split(",")):
    host, port = target.rsplit(":", 1)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, int(port)), timeout=3).close()
            break
        except OSError:
            time.sleep(0.2)
script = sys.argv.pop(1)  # the script sees the argv of `python3 -c script`
out = io.StringIO()
try:
    with contextlib.redirect_stdout(out):
        exec(compile(script, "<script>", "exec"), {"__name__": "__main__"})
finally:
    sys.stdout.write(out.getvalue())
    with open("/dev/termination-log", "w") as log:
        log.write(out.getvalue())
"""


def admitted_services(namespace: str, labels: dict[str, str]) -> list[str]:
    """host:port of each service a pod in `namespace` is a declared client of: label
    `airyard.io/<service>-client`, the service's Service in the pod's namespace or, from a tasks
    namespace, its platform's."""
    found = []
    for label in labels:
        service = label.removeprefix("airyard.io/").removesuffix("-client")
        if not label.startswith("airyard.io/") or service in {"external", "kube-api"}:
            continue
        for ns in dict.fromkeys((namespace, namespace.removesuffix("-tasks"))):
            out = get("services", namespace=ns, selector=f"app.kubernetes.io/name={service}")
            # The Service with an address, not the StatefulSet's headless one.
            ports = [
                f"{s['metadata']['name']}.{ns}.svc:{s['spec']['ports'][0]['port']}"
                for s in out["items"]
                if s["spec"].get("clusterIP") != "None"
            ]
            if ports:
                found.append(ports[0])
                break
    return found


def run_script(
    namespace: str,
    name: str,
    script: str,
    *,
    labels: dict[str, str] | None = None,
    env: list[dict[str, Any]] | None = None,
    image_name: str = "toolbox",
    timeout: float = 300,
) -> str:
    """Run a Python script in a pod of our image to completion; returns its output, raises on failure."""
    command = ["python3", "-c", _SCRIPT_RUNNER, script]
    manifest = pod(name, command, image_name=image_name, labels={"app": name, **(labels or {})})
    admitted = {"name": "E2E_ADMITTED", "value": ",".join(admitted_services(namespace, labels or {}))}
    manifest["spec"]["containers"][0]["env"] = [*(env or []), admitted]
    apply(manifest, namespace=namespace)
    phase = wait_pod_phase(name, namespace, {"Succeeded", "Failed"}, timeout)
    out = logs(name, namespace) or termination_message(name, namespace)
    kubectl("delete", "pod", name, "-n", namespace, "--wait=false", check=False)
    if phase != "Succeeded":
        raise AssertionError(f"pod {name} failed:\n{out}")
    return out


def termination_message(name: str, namespace: str) -> str:
    """The termination message of the pod's first container, "" if it has none."""
    path = "jsonpath={.status.containerStatuses[0].state.terminated.message}"
    return kubectl("get", "pod", name, "-n", namespace, "-o", path)


@contextmanager
def outside_world() -> Iterator[None]:
    """The fakes (FAKE) are the outside world: they accept anyone, and in the platform and tasks
    namespaces the pods that may leave the cluster (declared outside systems, Airflow's alerts,
    airflow-bootstrap's networkPolicy.external and .alerts) may reach them."""
    from devkit.airflow import NAMESPACE, TASKS_NAMESPACE

    fakes = {"namespaceSelector": {}, "podSelector": {"matchLabels": FAKE}}
    senders = {"external": {"airyard.io/external-client": "true"}, "alerts": {"tier": "airflow"}}
    # In the platform namespace the tests' own pods read what the fakes received (mails, webhooks).
    readers = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "e2e-fakes-readers", "namespace": NAMESPACE},
        "spec": {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"to": [fakes]}]},
    }
    policies = [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "e2e-fakes", "namespace": NAMESPACE},
            "spec": {"podSelector": {"matchLabels": FAKE}, "policyTypes": ["Ingress"], "ingress": [{}]},
        },
        *(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": {"name": f"e2e-fakes-{who}", "namespace": ns},
                "spec": {
                    "podSelector": {"matchLabels": labels},
                    "policyTypes": ["Egress"],
                    "egress": [{"to": [fakes]}],
                },
            }
            for ns in (NAMESPACE, TASKS_NAMESPACE)
            for who, labels in senders.items()
        ),
        readers,
    ]
    apply(*policies)
    try:
        yield
    finally:
        for p in policies:
            kubectl("delete", "networkpolicy", p["metadata"]["name"], "-n", p["metadata"]["namespace"], check=False)
