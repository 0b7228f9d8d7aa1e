"""charts/spark-operator: render, validate against Kubernetes 1.35 and the operator's CRD schemas, assert."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.chart.common import assert_deterministic, assert_rejects, assert_restricted, find, render
from tests.chart.helm import CRD_SCHEMAS, SchemaError, search, validate

CHART = "spark-operator"
FULL = "test-spark-operator"


def args(docs: list[dict[str, Any]], component: str) -> list[str]:
    deployment = find(docs, "Deployment", f"{FULL}-{component}")
    return search("spec.template.spec.containers[0].args", deployment)


def roles(docs: list[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    return {
        (d["metadata"].get("namespace", ""), d["metadata"]["name"]): d["rules"] for d in docs if d["kind"] == "Role"
    }


def spark_application(**spec: Any) -> dict[str, Any]:
    """A SparkApplication as the platform's DAGs submit it."""
    pod = {"serviceAccount": f"{FULL}-spark", "cores": 1, "memory": "512m"}
    return {
        "apiVersion": "sparkoperator.k8s.io/v1beta2",
        "kind": "SparkApplication",
        "metadata": {"name": "bronze", "namespace": "airyard"},
        "spec": {
            "type": "Python",
            "mode": "cluster",
            "image": "airyard/spark:0.1.0",
            "imagePullPolicy": "IfNotPresent",
            "mainApplicationFile": "local:///opt/app/job.py",
            "sparkVersion": "4.0.4",
            "restartPolicy": {"type": "Never"},
            "driver": {**pod, "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False}},
            "executor": {**pod, "instances": 1},
            **spec,
        },
    }


def test_defaults_run_controller_and_webhook_for_the_release_namespace() -> None:
    docs = render(CHART)
    controller, webhook = args(docs, "controller"), args(docs, "webhook")
    assert controller[:2] == ["controller", "start"]
    assert webhook[:2] == ["webhook", "start"]
    for a in (controller, webhook):
        assert "--namespaces=airyard" in a
        assert "--leader-election=true" in a
    assert "--controller-threads=2" in controller
    # Self-generated certificate: the webhook is told where its Secret, Service and configurations are.
    assert f"--webhook-secret-name={FULL}-webhook-certs" in webhook
    assert f"--webhook-svc-name={FULL}-webhook" in webhook
    assert f"--mutating-webhook-name={FULL}-airyard" in webhook
    assert not [d for d in docs if d["kind"] == "Certificate"]
    for component in ("controller", "webhook"):
        spec = find(docs, "Deployment", f"{FULL}-{component}")["spec"]["template"]["spec"]
        assert spec["securityContext"]["runAsUser"] == 185
        assert spec["containers"][0]["image"] == "airyard/spark-operator:0.1.0"
        assert spec["containers"][0]["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert spec["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True
    ready = search("spec.template.spec.containers[0].readinessProbe", find(docs, "Deployment", f"{FULL}-webhook"))
    assert ready["tcpSocket"] == {"port": "webhook"}, "ready must mean the webhook server listens"
    assert_restricted(docs)


def test_crds_are_installed_kept_on_uninstall_and_optional() -> None:
    crds = {d["metadata"]["name"]: d for d in render(CHART) if d["kind"] == "CustomResourceDefinition"}
    assert sorted(crds) == [
        "scheduledsparkapplications.sparkoperator.k8s.io",
        "sparkapplications.sparkoperator.k8s.io",
        "sparkconnects.sparkoperator.k8s.io",
    ]
    for crd in crds.values():
        assert crd["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    unkept = [d for d in render(CHART, {"crds": {"keep": False}}) if d["kind"] == "CustomResourceDefinition"]
    assert unkept
    assert all("helm.sh/resource-policy" not in d["metadata"]["annotations"] for d in unkept)
    assert not [d for d in render(CHART, {"crds": {"install": False}}) if d["kind"] == "CustomResourceDefinition"]


def test_stored_sparkapplication_schema_is_the_installed_crds() -> None:
    crd = find(render(CHART), "CustomResourceDefinition", "sparkapplications.sparkoperator.k8s.io")
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1beta2"]
    stored = json.loads((CRD_SCHEMAS / "sparkoperator.k8s.io" / "sparkapplication_v1beta2.json").read_text())
    assert stored["properties"]["spec"] == version["schema"]["openAPIV3Schema"]["properties"]["spec"]


def test_sparkapplications_validate_against_the_crd_schema() -> None:
    validate(spark_application())
    with pytest.raises(SchemaError, match="mode"):
        validate(spark_application(mode="sideways"))
    with pytest.raises(SchemaError, match="type"):
        validate(spark_application(type="Perl"))


def test_webhook_intercepts_only_operator_pods_in_job_namespaces() -> None:
    docs = render(CHART, {"spark": {"jobNamespaces": ["jobs-a", "jobs-b"]}})
    mutating = find(docs, "MutatingWebhookConfiguration", f"{FULL}-airyard")
    validating = find(docs, "ValidatingWebhookConfiguration", f"{FULL}-airyard")
    for hook in mutating["webhooks"] + validating["webhooks"]:
        assert hook["failurePolicy"] == "Fail"
        assert hook["clientConfig"]["service"] == {
            "name": f"{FULL}-webhook",
            "namespace": "airyard",
            "port": 9443,
            "path": "/" + hook["name"].removesuffix(".sparkoperator.k8s.io"),
        }
        assert hook["namespaceSelector"]["matchExpressions"][0]["values"] == ["jobs-a", "jobs-b"]
    pods = mutating["webhooks"][0]
    assert pods["rules"][0]["resources"] == ["pods"]
    assert pods["objectSelector"] == {"matchLabels": {"sparkoperator.k8s.io/launched-by-spark-operator": "true"}}
    assert "--namespaces=jobs-a,jobs-b" in args(docs, "controller")


def test_each_job_namespace_gets_driver_account_and_operator_roles() -> None:
    docs = render(CHART, {"spark": {"jobNamespaces": ["jobs-a", "jobs-b"]}})
    for ns in ("jobs-a", "jobs-b"):
        for role in ("controller", "webhook", "spark"):
            assert (ns, f"{FULL}-{role}") in roles(docs)
    accounts = [
        d["metadata"]["namespace"]
        for d in docs
        if (d["kind"], d["metadata"]["name"]) == ("ServiceAccount", f"{FULL}-spark")
    ]
    assert accounts == ["jobs-a", "jobs-b"]
    # Nothing is bound in the release namespace but the operator's own Role.
    assert ("airyard", f"{FULL}-controller") not in roles(docs)


def test_operator_cluster_rights_are_its_own_webhook_configurations_only() -> None:
    (cluster_role,) = [d for d in render(CHART) if d["kind"] == "ClusterRole"]
    assert {g for r in cluster_role["rules"] for g in r["apiGroups"]} == {"admissionregistration.k8s.io"}
    named = [r for r in cluster_role["rules"] if "resourceNames" in r]
    assert named == [
        {
            "apiGroups": ["admissionregistration.k8s.io"],
            "resources": ["mutatingwebhookconfigurations", "validatingwebhookconfigurations"],
            "resourceNames": [f"{FULL}-airyard"],
            "verbs": ["get", "update"],
        }
    ]


def test_submitters_may_submit_and_watch_sparkapplications_and_nothing_more() -> None:
    values = {"spark": {"submitters": [{"name": "airflow-worker"}, {"name": "ci", "namespace": "tools"}]}}
    docs = render(CHART, values)
    binding = find(docs, "RoleBinding", f"{FULL}-submit")
    assert binding["metadata"]["namespace"] == "airyard"
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "airflow-worker", "namespace": "airyard"},
        {"kind": "ServiceAccount", "name": "ci", "namespace": "tools"},
    ]
    rules = {
        (r["apiGroups"][0], res): set(r["verbs"])
        for r in roles(docs)[("airyard", f"{FULL}-submit")]
        for res in r["resources"]
    }
    assert rules == {
        ("sparkoperator.k8s.io", "sparkapplications"): {"get", "list", "watch", "create", "patch", "delete"},
        ("sparkoperator.k8s.io", "sparkapplications/status"): {"get", "list", "watch"},
        ("", "pods"): {"get", "list", "watch", "patch"},
        ("", "pods/log"): {"get", "list", "watch"},
        ("coordination.k8s.io", "leases"): {"get", "create", "update", "delete"},
    }
    # Without submitters there is no submitter Role at all.
    assert ("airyard", f"{FULL}-submit") not in roles(render(CHART))


def test_job_namespaces_and_submitter_namespaces_may_be_templates() -> None:
    namespace = "{{ .Release.Namespace }}-tasks"
    values = {"spark": {"jobNamespaces": [namespace], "submitters": [{"name": "worker", "namespace": namespace}]}}
    docs = render(CHART, values)
    binding = find(docs, "RoleBinding", f"{FULL}-submit")
    assert binding["metadata"]["namespace"] == "airyard-tasks"
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "worker", "namespace": "airyard-tasks"}]
    controller = find(docs, "Deployment", f"{FULL}-controller")
    assert "--namespaces=airyard-tasks" in controller["spec"]["template"]["spec"]["containers"][0]["args"]


def test_network_policies_open_only_probe_and_webhook_ports() -> None:
    docs = render(CHART)
    ports = {
        d["metadata"]["name"]: [p["port"] for p in d["spec"]["ingress"][0]["ports"]]
        for d in docs
        if d["kind"] == "NetworkPolicy"
    }
    assert ports == {f"{FULL}-controller": [8081], f"{FULL}-webhook": [8081, 9443]}
    assert not [d for d in render(CHART, {"networkPolicy": {"enabled": False}}) if d["kind"] == "NetworkPolicy"]


def test_renders_are_identical() -> None:
    assert_deterministic(CHART)
    assert_deterministic(CHART, {"spark": {"jobNamespaces": ["b", "a"], "submitters": [{"name": "x"}]}})


def test_bad_values_are_rejected_naming_the_key() -> None:
    assert_rejects(CHART, {"spark": {"jobNamespaces": ["Not_A_Namespace"]}}, "/spark/jobNamespaces/0")
    assert_rejects(CHART, {"spark": {"submitters": [{"namespace": "x"}]}}, "/spark/submitters/0", "name")
    assert_rejects(CHART, {"webhook": {"failurePolicy": "Sometimes"}}, "/webhook/failurePolicy")
    assert_rejects(CHART, {"controller": {"workers": 0}}, "/controller/workers")
    assert_rejects(CHART, {"crd": {"install": True}}, "crd")
