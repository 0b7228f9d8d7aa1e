"""Checks every airyard service chart must pass; each chart's test module applies them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.chart.helm import HelmError, find, render, render_raw, search

WORKLOAD_KINDS = {"Deployment", "StatefulSet", "Job", "CronJob", "DaemonSet"}


def pod_specs(docs: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    specs = []
    for d in docs:
        if d["kind"] in WORKLOAD_KINDS:
            template = d["spec"]["jobTemplate"]["spec"]["template"] if d["kind"] == "CronJob" else d["spec"]["template"]
            specs.append((f"{d['kind']}/{d['metadata']['name']}", template["spec"]))
    return specs


def assert_restricted(docs: list[dict[str, Any]]) -> None:
    """Every pod meets the restricted Pod Security Standard and has resources."""
    for name, spec in pod_specs(docs):
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        for c in spec.get("initContainers", []) + spec["containers"]:
            sc = c["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False, f"{name}/{c['name']}"
            assert sc["capabilities"]["drop"] == ["ALL"], f"{name}/{c['name']}"
            assert c["resources"]["limits"]["memory"], f"{name}/{c['name']} has no memory limit"
            assert c["imagePullPolicy"] == "IfNotPresent", f"{name}/{c['name']}"


def assert_deterministic(chart: str, values: dict[str, Any] | None = None) -> None:
    assert render_raw(chart, values) == render_raw(chart, values)


def assert_rejects(chart: str, values: dict[str, Any], *fragments: str) -> None:
    """Helm refuses the values, and its message names what is wrong."""
    with pytest.raises(HelmError) as err:
        render(chart, values)
    for fragment in fragments:
        assert fragment in err.value.stderr, err.value.stderr


def assert_network_policy(chart: str, ports: list[int]) -> None:
    """The chart's NetworkPolicies (airyard.networkPolicy): the service's pods admit the client label,
    this release's pods and the declared peers on the service's ports only, and send only to each
    other; pods of the release namespace with the client label may send to it. All gone when
    disabled."""
    peer = {"namespaceSelector": {"matchLabels": {"team": "data"}}}
    docs = render(chart, {"networkPolicy": {"allowedClients": [peer]}})
    policy = find(docs, "NetworkPolicy", f"test-{chart}")
    client = {f"airyard.io/{chart}-client": "true"}
    tcp = [{"port": port, "protocol": "TCP"} for port in ports]
    sources = policy["spec"]["ingress"][0]["from"]
    assert sources[0] == {"podSelector": {"matchLabels": client}}
    assert peer in sources
    assert policy["spec"]["ingress"][0]["ports"] == tcp
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    selector = policy["spec"]["podSelector"]
    dns = {"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}
    # Installed on its own the chart still resolves names (DNS on port 53).
    assert policy["spec"]["egress"] == [{"to": [{"podSelector": selector}], "ports": tcp}, dns]
    # In the release namespace only: the tasks namespace's clients get theirs from airflow-bootstrap.
    (clients,) = [d for d in docs if d["kind"] == "NetworkPolicy" and d["metadata"]["name"] == f"test-{chart}-clients"]
    assert "namespace" not in clients["metadata"]
    spec = clients["spec"]
    assert spec["podSelector"] == {"matchLabels": client}
    assert spec["policyTypes"] == ["Egress"]
    rule, lookups = spec["egress"]
    assert lookups == dns
    assert rule["ports"] == tcp
    assert rule["to"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "airyard"}}, "podSelector": selector}
    ]
    assert not [d for d in render(chart, {"networkPolicy": {"enabled": False}}) if d["kind"] == "NetworkPolicy"]


def secrets_job_spec(docs: list[dict[str, Any]]) -> dict[str, Any]:
    import json

    job = next(
        d
        for d in docs
        if d["kind"] == "Job" and d["metadata"]["labels"].get("app.kubernetes.io/component") == "secrets"
    )
    args = search("spec.template.spec.containers[0].args", job)
    return json.loads(args[args.index("--spec") + 1])


def env_sources(container: dict[str, Any], *, optional: bool = False) -> dict[str, Any]:
    """env name -> literal value, or (secret, key) for secretKeyRef entries; (secret, key, optional)
    with `optional`, for containers that must start without some keys."""
    out: dict[str, Any] = {}
    for e in container.get("env", []):
        ref = search("valueFrom.secretKeyRef", e)
        if ref:
            out[e["name"]] = (
                (ref["name"], ref["key"], ref.get("optional", False)) if optional else (ref["name"], ref["key"])
            )
        else:
            out[e["name"]] = e["value"]
    return out


__all__ = [
    "assert_deterministic",
    "assert_network_policy",
    "assert_rejects",
    "assert_restricted",
    "env_sources",
    "find",
    "render",
    "secrets_job_spec",
]
