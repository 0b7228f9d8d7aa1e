"""charts/redis: render, validate against Kubernetes 1.35, assert on the objects."""

from __future__ import annotations

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

CHART = "redis"


def test_defaults_render_a_persistent_authenticated_redis() -> None:
    docs = render(CHART)
    sts = find(docs, "StatefulSet", "test-redis")
    command = search("spec.template.spec.containers[0].command[2]", sts)
    assert "--appendonly yes" in command
    assert "requirepass" in command
    assert search("spec.volumeClaimTemplates[0].spec.resources.requests.storage", sts) == "1Gi"
    assert sts["spec"]["persistentVolumeClaimRetentionPolicy"]["whenDeleted"] == "Retain"
    env = {
        e["name"]: e["valueFrom"]["secretKeyRef"]["name"] for e in search("spec.template.spec.containers[0].env", sts)
    }
    assert env == {"REDIS_PASSWORD": "test-redis-auth", "REDISCLI_AUTH": "test-redis-auth"}
    assert_restricted(docs)


def test_credentials_are_generated_once_by_a_job_not_by_the_template() -> None:
    docs = render(CHART)
    assert not [d for d in docs if d["kind"] == "Secret"], "a rendered Secret would be re-rolled by every sync"
    spec = secrets_job_spec(docs)
    auth, conn = spec["secrets"]
    assert auth == {"name": "test-redis-auth", "generate": {"password": 32}}
    assert conn["name"] == "test-redis-connection"
    assert conn["template"]["url"] == "redis://:{password_q}@test-redis.airyard.svc:6379/0"


def test_existing_secret_is_used_and_nothing_is_generated() -> None:
    docs = render(CHART, {"auth": {"existingSecret": "mine"}})
    sts = find(docs, "StatefulSet")
    assert {e["valueFrom"]["secretKeyRef"]["name"] for e in search("spec.template.spec.containers[0].env", sts)} == {
        "mine"
    }
    (conn,) = secrets_job_spec(docs)["secrets"]
    assert conn["from"] == {"password": "mine/password"}


def test_without_persistence_data_lives_in_an_emptydir() -> None:
    sts = find(render(CHART, {"persistence": {"enabled": False}}), "StatefulSet")
    assert "volumeClaimTemplates" not in sts["spec"]
    assert "--appendonly no" in search("spec.template.spec.containers[0].command[2]", sts)


def test_network_policy_admits_declared_clients_only() -> None:
    assert_network_policy(CHART, [6379])


def test_renders_are_identical() -> None:
    assert_deterministic(CHART)


def test_bad_values_are_rejected_naming_the_key() -> None:
    assert_rejects(CHART, {"persistence": {"size": 3}}, "/persistence/size")
    assert_rejects(CHART, {"persistance": {"enabled": True}}, "persistance")
    assert_rejects(CHART, {"image": {"pullPolicy": "Sometimes"}}, "/image/pullPolicy")
