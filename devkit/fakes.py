"""The outside world of the e2e tests: fakes (tests/fakes/*.py) served by toolbox pods with a
Service each, in a namespace of the platform, from one ConfigMap of their scripts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from devkit import kube

FAKES = kube.REPO / "tests" / "fakes"


def alert_receivers(namespace: str, prefix: str) -> dict[str, dict[str, Any]]:
    """The pipelines' alert connections (smtp_default, slack_webhook) to the SMTP sink and webhook
    receiver served as <prefix>-smtp and <prefix>-webhook: `serving(..., receiver_specs(prefix))`."""
    return {
        "AIRFLOW_CONN_SMTP_DEFAULT": {
            "conn_type": "smtp",
            "host": f"{prefix}-smtp.{namespace}.svc",
            "port": 2525,
            # The sink speaks plain SMTP: the provider's SSL and STARTTLS (on by default) are off.
            "extra": {
                "from_email": "airyard@example.org",
                "to": "oncall@example.org",
                "disable_ssl": True,
                "disable_tls": True,
            },
        },
        "AIRFLOW_CONN_SLACK_WEBHOOK": {
            "conn_type": "slackwebhook",
            "host": f"http://{prefix}-webhook.{namespace}.svc:8080/services",
            "password": "T0/B0/e2e",
        },
    }


def receiver_specs(prefix: str) -> dict[str, tuple[list[str], dict[str, int]]]:
    """The SMTP sink and the webhook receiver as `serving` runs them."""
    return {
        f"{prefix}-smtp": (["python3", "/fake/smtp_sink.py"], {"smtp": 2525, "http": 8025}),
        f"{prefix}-webhook": (["python3", "/fake/webhook.py", "--port", "8080"], {"http": 8080}),
    }


def _service(name: str, ports: dict[str, int]) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {
            "selector": {"app": name},
            "ports": [{"name": k, "port": v, "targetPort": v} for k, v in ports.items()],
        },
    }


@contextmanager
def serving(
    namespace: str,
    configmap: str,
    specs: dict[str, tuple[list[str], dict[str, int]]],
    files: dict[str, str] | None = None,
) -> Iterator[None]:
    """Run each fake as `name: (command, {port name: port})` until the block ends. Commands name
    the scripts under /fake/ (every tests/fakes/*.py is mounted there, with `files`, e.g. fixtures)."""
    scripts = {p.name: p.read_text() for p in sorted(FAKES.glob("*.py")) if p.name != "__init__.py"}
    files = scripts | (files or {})
    kube.apply(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": configmap}, "data": files}, namespace=namespace
    )
    mounts = [{"name": "fakes", "mountPath": "/fake"}]
    volumes = [{"name": "fakes", "configMap": {"name": configmap}}]
    for name, (command, ports) in specs.items():
        kube.kubectl("delete", "pod", name, "-n", namespace, "--ignore-not-found", "--wait=true")
        pod = kube.pod(
            name,
            command,
            volumes=volumes,
            mounts=mounts,
            ports=list(ports.values()),
            restart="Always",
            labels={"app": name, **kube.FAKE},
        )
        kube.apply(pod, _service(name, ports), namespace=namespace)
    for name in specs:
        kube.wait_pod_phase(name, namespace, {"Running"}, timeout=120)
    try:
        yield
    finally:
        for name in specs:
            kube.kubectl(
                "delete", "pod,service", name, "-n", namespace, "--ignore-not-found", "--wait=false", check=False
            )
