"""charts/postgresql: render, validate against Kubernetes 1.35, assert on the objects."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from airyard_toolbox import secrets

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

CHART = "postgresql"
DATABASES = {
    "databases": [
        {"name": "airflow", "user": "airflow"},
        {"name": "ml_flow", "user": "mlflow", "extensions": ["pg_trgm", "uuid-ossp"]},
    ]
}


def jobs(docs: list[dict[str, Any]], component: str) -> list[dict[str, Any]]:
    return [
        d
        for d in docs
        if d["kind"] == "Job" and d["metadata"]["labels"].get("app.kubernetes.io/component") == component
    ]


def databases_job_spec(job: dict[str, Any]) -> dict[str, Any]:
    args = search("spec.template.spec.containers[0].args", job)
    return json.loads(args[args.index("--spec") + 1])


def postgresql_conf(docs: list[dict[str, Any]]) -> dict[str, str]:
    conf = find(docs, "ConfigMap", "test-postgresql")["data"]["postgresql.conf"]
    lines = [line.split("=", 1) for line in conf.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return {k.strip(): v.strip() for k, v in lines}


def test_defaults_render_a_persistent_authenticated_postgresql() -> None:
    docs = render(CHART)
    sts = find(docs, "StatefulSet", "test-postgresql")
    container = search("spec.template.spec.containers[0]", sts)
    assert container["image"] == "airyard/postgresql:0.1.0"
    assert container["args"] == ["-c", "config_file=/etc/postgresql/postgresql.conf"]
    assert container["env"] == [
        {
            "name": "POSTGRES_PASSWORD",
            "valueFrom": {"secretKeyRef": {"name": "test-postgresql-auth", "key": "postgres-password"}},
        }
    ]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["exec"]["command"][0] == "pg_isready", probe
    assert search("spec.template.spec.securityContext.runAsUser", sts) == 999
    assert search("spec.volumeClaimTemplates[0].spec.resources.requests.storage", sts) == "2Gi"
    assert sts["spec"]["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts["data"] == "/var/lib/postgresql/data"
    assert container["resources"]["limits"]["memory"] == "768Mi"
    assert find(docs, "Service", "test-postgresql")["spec"]["ports"][0]["port"] == 5432
    assert jobs(docs, "databases") == [], "no databases declared, nothing to create"
    assert_restricted(docs)


def test_postgresql_conf_is_tuned_for_a_small_machine() -> None:
    docs = render(CHART, {"config": {"maxConnections": 50}, "extraConfig": {"log_min_duration_statement": 500}})
    conf = postgresql_conf(docs)
    assert conf["max_connections"] == "50"
    assert conf["shared_buffers"] == "'128MB'"
    assert conf["jit"] == "off"
    assert conf["unix_socket_directories"] == "'/tmp'"
    assert conf["log_min_duration_statement"] == "500"
    hba = find(docs, "ConfigMap")["data"]["pg_hba.conf"]
    assert "host    all       all       all      scram-sha-256" in hba
    assert " trust" not in hba


def test_extra_config_values_are_quoted_by_type() -> None:
    extra = {"log_connections": True, "application_name": "it's", "random_page_cost": 1.5}
    conf = postgresql_conf(render(CHART, {"extraConfig": extra}))
    assert conf["log_connections"] == "on"
    assert conf["application_name"] == "'it''s'"
    assert conf["random_page_cost"] == "1.5"


def test_a_changed_config_rolls_the_pod() -> None:
    def checksum(values: dict[str, Any]) -> str:
        sts = find(render(CHART, values), "StatefulSet")
        return sts["spec"]["template"]["metadata"]["annotations"]["checksum/config"]

    assert checksum({}) == checksum({})
    assert checksum({}) != checksum({"config": {"maxConnections": 60}})


def test_credentials_are_generated_once_by_a_job_not_by_the_template() -> None:
    docs = render(CHART, DATABASES)
    assert not [d for d in docs if d["kind"] == "Secret"], "a rendered Secret would be re-rolled by every sync"
    auth, airflow, ml_flow = secrets_job_spec(docs)["secrets"]
    assert auth == {"name": "test-postgresql-auth", "generate": {"postgres-password": 32}}
    assert airflow["name"] == "test-postgresql-airflow"
    assert ml_flow["name"] == "test-postgresql-ml-flow", "Secret names cannot hold underscores"
    assert ml_flow["generate"] == {"password": 32}


def test_connection_secret_has_the_documented_keys() -> None:
    """What the secrets Job writes from the chart's spec, computed by the Job's own code."""
    ml_flow = secrets_job_spec(render(CHART, DATABASES))["secrets"][2]
    data = secrets.build_data(ml_flow, lambda name, key: "")
    assert set(data) == {"host", "port", "database", "username", "password", "uri", "connection"}
    assert data["host"] == "test-postgresql.airyard.svc"
    assert (data["port"], data["database"], data["username"]) == ("5432", "ml_flow", "mlflow")
    uri = urlsplit(data["uri"])
    assert (uri.scheme, uri.hostname, uri.port, uri.path) == (
        "postgresql",
        "test-postgresql.airyard.svc",
        5432,
        "/ml_flow",
    )
    assert (uri.username, uri.password) == ("mlflow", data["password"])
    assert data["connection"] == data["uri"], "the Airflow chart's metadataSecretName reads `connection`"


def test_databases_job_creates_what_values_declare() -> None:
    docs = render(CHART, DATABASES)
    (job,) = jobs(docs, "databases")
    assert databases_job_spec(job) == {
        "databases": [
            {"name": "airflow", "user": "airflow", "extensions": [], "secret": "test-postgresql-airflow"},
            {
                "name": "ml_flow",
                "user": "mlflow",
                "extensions": ["pg_trgm", "uuid-ossp"],
                "secret": "test-postgresql-ml-flow",
            },
        ]
    }
    pod = job["spec"]["template"]
    assert pod["metadata"]["labels"]["airyard.io/postgresql-client"] == "true", "the NetworkPolicy must let it in"
    assert search("spec.containers[0].command", pod)[:3] == ["python3", "-m", "airyard_toolbox.postgres"]
    sources = search("spec.volumes[0].projected.sources[].secret", pod)
    assert [(s["name"], s["items"][0]["path"]) for s in sources] == [
        ("test-postgresql-auth", "postgres-password"),
        ("test-postgresql-airflow", "airflow/password"),
        ("test-postgresql-ml-flow", "ml_flow/password"),
    ]
    assert_restricted(docs)


def test_databases_job_name_follows_its_spec() -> None:
    def name(values: dict[str, Any]) -> str:
        return jobs(render(CHART, values), "databases")[0]["metadata"]["name"]

    assert name(DATABASES) == name(DATABASES)
    assert name(DATABASES).startswith("test-postgresql-databases-")
    more = {"databases": [*DATABASES["databases"], {"name": "mlsp", "user": "mlsp"}]}
    assert name(more) != name(DATABASES)


def test_existing_secrets_are_used_and_nothing_is_generated() -> None:
    values = {
        "auth": {"existingSecret": "pg-admin"},
        "databases": [{"name": "airflow", "user": "airflow", "existingSecret": "airflow-db"}],
    }
    docs = render(CHART, values)
    sts = find(docs, "StatefulSet")
    assert search("spec.template.spec.containers[0].env[0].valueFrom.secretKeyRef.name", sts) == "pg-admin"
    (conn,) = secrets_job_spec(docs)["secrets"]
    assert conn["from"] == {"password": "airflow-db/password"}
    assert "generate" not in conn
    (job,) = jobs(docs, "databases")
    assert search("spec.template.spec.volumes[0].projected.sources[0].secret.name", job) == "pg-admin"
    # Nothing to generate at all: no secrets Job, so no Role that could read every Secret.
    bare = render(CHART, {"auth": {"existingSecret": "pg-admin"}})
    assert not [d for d in bare if d["kind"] in {"Job", "Role", "RoleBinding", "ServiceAccount"}]


def test_without_persistence_data_lives_in_an_emptydir() -> None:
    sts = find(render(CHART, {"persistence": {"enabled": False}}), "StatefulSet")
    assert "volumeClaimTemplates" not in sts["spec"]
    assert {"name": "data", "emptyDir": {}} in sts["spec"]["template"]["spec"]["volumes"]


def test_network_policy_admits_declared_clients_only() -> None:
    assert_network_policy(CHART, [5432])


def test_renders_are_identical() -> None:
    assert_deterministic(CHART)
    assert_deterministic(CHART, DATABASES)


def test_bad_values_are_rejected_naming_the_key() -> None:
    assert_rejects(CHART, {"persistence": {"size": 3}}, "/persistence/size")
    assert_rejects(CHART, {"persistance": {"enabled": True}}, "persistance")
    assert_rejects(CHART, {"config": {"maxConnections": "100"}}, "/config/maxConnections")
    assert_rejects(CHART, {"config": {"sharedBuffers": "128M"}}, "/config/sharedBuffers")
    assert_rejects(CHART, {"extraConfig": {"Bad-Key": 1}}, "Bad-Key")
    assert_rejects(CHART, {"databases": [{"name": "airflow"}]}, "/databases/0", "user")
    assert_rejects(CHART, {"databases": [{"name": "Air-flow", "user": "a"}]}, "/databases/0/name")
    assert_rejects(CHART, {"databases": [{"name": "postgres", "user": "a"}]}, "/databases/0/name")
    assert_rejects(CHART, {"databases": [{"name": "a", "user": "pg_monitor"}]}, "/databases/0/user")
    assert_rejects(CHART, {"databases": [{"name": "a", "user": "a", "owner": "b"}]}, "owner")


def test_databases_sharing_a_user_or_a_secret_are_rejected() -> None:
    shared_user = {"databases": [{"name": "a", "user": "u"}, {"name": "b", "user": "u"}]}
    assert_rejects(CHART, shared_user, 'the user "u" owns two databases')
    same_secret = {"databases": [{"name": "a_b", "user": "u"}, {"name": "a_b", "user": "v"}]}
    assert_rejects(CHART, same_secret, 'the name "a_b" appears twice')
