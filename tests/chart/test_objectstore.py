"""charts/objectstore: render, validate against Kubernetes 1.35, assert on the objects."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.chart.common import (
    assert_deterministic,
    assert_network_policy,
    assert_rejects,
    assert_restricted,
    find,
    render,
    secrets_job_spec,
)
from tests.chart.helm import search

CHART = "objectstore"
ENDPOINT = "http://test-objectstore.airyard.svc:9000"


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def _setup_job(docs: list[dict[str, Any]]) -> dict[str, Any]:
    return next(
        d for d in docs if d["kind"] == "Job" and d["metadata"]["labels"]["app.kubernetes.io/component"] == "setup"
    )


def _setup_spec(docs: list[dict[str, Any]]) -> dict[str, Any]:
    args = search("spec.template.spec.containers[0].args", _setup_job(docs))
    return json.loads(args[args.index("--spec") + 1])


def test_defaults_render_a_persistent_minio_with_generated_root_credentials() -> None:
    docs = render(CHART)
    sts = find(docs, "StatefulSet", "test-objectstore")
    container = search("spec.template.spec.containers[0]", sts)
    assert container["image"] == "airyard/minio:0.1.0"
    assert container["args"][:2] == ["server", "/data"]
    env = _env(container)
    assert env["MINIO_ROOT_USER"] == {"secretKeyRef": {"name": "test-objectstore-auth", "key": "access-key"}}
    assert env["MINIO_ROOT_PASSWORD"] == {"secretKeyRef": {"name": "test-objectstore-auth", "key": "secret-key"}}
    assert env["MINIO_SITE_REGION"] == "us-east-1"
    assert env["MINIO_BROWSER"] == "off"
    assert env["GOMEMLIMIT"] == {"resourceFieldRef": {"resource": "requests.memory"}}
    assert container["readinessProbe"]["httpGet"] == {"path": "/minio/health/ready", "port": "s3"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/minio/health/live", "port": "s3"}
    assert search("spec.template.spec.securityContext.runAsUser", sts) == 1000
    assert search("spec.volumeClaimTemplates[0].spec.resources.requests.storage", sts) == "10Gi"
    assert sts["spec"]["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    # The Service must not pick the Jobs' pods, which carry the chart's selector labels too.
    service = find(docs, "Service", "test-objectstore")
    assert service["spec"]["selector"]["app.kubernetes.io/component"] == "server"
    assert [p["port"] for p in service["spec"]["ports"]] == [9000]
    assert_restricted(docs)


def test_credentials_and_connection_secrets_are_generated_once_by_a_job() -> None:
    docs = render(CHART)
    assert not [d for d in docs if d["kind"] == "Secret"], "a rendered Secret would be re-rolled by every sync"
    secrets = {s["name"]: s for s in secrets_job_spec(docs)["secrets"]}
    assert list(secrets) == [
        "test-objectstore-auth",
        "test-objectstore-connection",
        "test-objectstore-user-mlflow",
        "test-objectstore-user-airflow",
    ]
    assert secrets["test-objectstore-auth"]["generate"] == {"access-key": 20, "secret-key": 40}
    conn = secrets["test-objectstore-connection"]
    assert conn["from"] == {
        "access-key": "test-objectstore-auth/access-key",
        "secret-key": "test-objectstore-auth/secret-key",
    }
    assert conn["values"] == {"endpoint": ENDPOINT, "region": "us-east-1"}
    user = secrets["test-objectstore-user-mlflow"]
    assert user["generate"] == {"access-key": 20, "secret-key": 40}
    assert user["values"] == {"endpoint": ENDPOINT, "region": "us-east-1", "bucket": "mlflow"}


def test_setup_job_creates_the_declared_buckets_users_and_policies() -> None:
    values = {
        "region": "eu-west-1",
        "buckets": ["lake", "raw"],
        "users": [{"name": "etl", "bucket": "raw", "readBuckets": ["lake"]}],
    }
    docs = render(CHART, values)
    assert _setup_spec(docs) == {
        "buckets": ["lake", "raw"],
        "users": [{"name": "etl", "bucket": "raw", "readBuckets": ["lake"]}],
    }
    job = _setup_job(docs)
    container = search("spec.template.spec.containers[0]", job)
    assert container["command"][:3] == ["python3", "-m", "airyard_toolbox.objectstore"]
    assert "test-objectstore.airyard.svc:9000" in container["command"]
    assert "eu-west-1" in container["command"]
    assert _env(container)["OBJECTSTORE_SECRET_KEY"] == {
        "secretKeyRef": {"name": "test-objectstore-auth", "key": "secret-key"}
    }
    (source,) = search("spec.template.spec.volumes[0].projected.sources", job)
    assert source["secret"]["name"] == "test-objectstore-user-etl"
    assert {i["path"] for i in source["secret"]["items"]} == {"etl/access-key", "etl/secret-key"}
    assert job["metadata"]["name"].startswith("test-objectstore-setup-")


def test_setup_job_name_changes_with_its_spec_only() -> None:
    name = _setup_job(render(CHART))["metadata"]["name"]
    assert _setup_job(render(CHART, {"persistence": {"size": "20Gi"}}))["metadata"]["name"] == name
    assert _setup_job(render(CHART, {"buckets": ["lake", "mlflow", "airflow-logs"]}))["metadata"]["name"] != name


def test_without_users_the_job_mounts_nothing() -> None:
    job = _setup_job(render(CHART, {"users": []}))
    assert "volumes" not in job["spec"]["template"]["spec"]
    assert [s["name"] for s in secrets_job_spec(render(CHART, {"users": []}))["secrets"]] == [
        "test-objectstore-auth",
        "test-objectstore-connection",
    ]


def test_existing_secret_is_used_and_nothing_is_generated_for_the_admin() -> None:
    docs = render(CHART, {"auth": {"existingSecret": "mine"}})
    env = _env(search("spec.template.spec.containers[0]", find(docs, "StatefulSet")))
    assert env["MINIO_ROOT_USER"]["secretKeyRef"]["name"] == "mine"
    secrets = secrets_job_spec(docs)["secrets"]
    assert "test-objectstore-auth" not in [s["name"] for s in secrets]
    assert secrets[0]["from"] == {"access-key": "mine/access-key", "secret-key": "mine/secret-key"}


def test_without_persistence_data_lives_in_an_emptydir() -> None:
    sts = find(render(CHART, {"persistence": {"enabled": False}}), "StatefulSet")
    assert "volumeClaimTemplates" not in sts["spec"]
    assert {"name": "data", "emptyDir": {}} in sts["spec"]["template"]["spec"]["volumes"]


def test_console_is_off_unless_asked_for() -> None:
    docs = render(CHART, {"console": {"enabled": True}})
    assert _env(search("spec.template.spec.containers[0]", find(docs, "StatefulSet")))["MINIO_BROWSER"] == "on"
    assert [p["port"] for p in find(docs, "Service", "test-objectstore")["spec"]["ports"]] == [9000, 9001]
    assert [p["port"] for p in find(docs, "NetworkPolicy", "test-objectstore")["spec"]["ingress"][0]["ports"]] == [
        9000,
        9001,
    ]


def test_network_policy_admits_declared_clients_only() -> None:
    assert_network_policy(CHART, [9000])


def test_label_values_are_valid() -> None:
    """The API server rejects what the offline schemas accept here (appVersion is a label)."""
    label_value = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
    for doc in render(CHART):
        for labels in search("[metadata.labels, spec.template.metadata.labels][]", doc) or []:
            bad = {k: v for k, v in labels.items() if len(v) > 63 or not label_value.match(v)}
            assert not bad, f"{doc['kind']}/{doc['metadata']['name']}: {bad}"


def test_renders_are_identical() -> None:
    assert_deterministic(CHART)
    assert_deterministic(CHART, {"users": [{"name": "a", "bucket": "lake", "readBuckets": ["mlflow"]}]})


def test_bad_values_are_rejected_naming_the_key() -> None:
    assert_rejects(CHART, {"persistence": {"size": 3}}, "/persistence/size")
    assert_rejects(CHART, {"persistance": {"enabled": True}}, "persistance")
    assert_rejects(CHART, {"image": {"pullPolicy": "Sometimes"}}, "/image/pullPolicy")
    assert_rejects(CHART, {"buckets": ["Not_A_Bucket"]}, "/buckets/0")
    assert_rejects(CHART, {"buckets": "lake"}, "/buckets")
    assert_rejects(CHART, {"region": "moon"}, "/region")
    assert_rejects(CHART, {"users": [{"name": "x"}]}, "/users/0", "bucket")
    assert_rejects(CHART, {"users": [{"name": "x", "bucket": "lake", "write": True}]}, "/users/0", "write")
    assert_rejects(CHART, {"console": {"enabled": "yes"}}, "/console/enabled")


def test_users_must_name_declared_buckets_once() -> None:
    assert_rejects(CHART, {"users": [{"name": "x", "bucket": "nowhere"}]}, "users[0]", '"nowhere" is not in buckets')
    assert_rejects(CHART, {"users": [{"name": "x", "bucket": "lake", "readBuckets": ["gone"]}]}, "users[0]", '"gone"')
    assert_rejects(
        CHART, {"users": [{"name": "x", "bucket": "lake"}, {"name": "x", "bucket": "mlflow"}]}, "users[1].name"
    )
