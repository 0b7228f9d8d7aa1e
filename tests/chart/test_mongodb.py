"""charts/mongodb: render both engines, validate against Kubernetes 1.35, assert on the objects."""

from __future__ import annotations

import json
from typing import Any

import pytest

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

CHART = "mongodb"
DATABASES: dict[str, Any] = {
    "databases": [
        {
            "name": "analytics",
            "collections": [
                {
                    "name": "events",
                    "indexes": [
                        {"name": "event_id_unique", "keys": ["event_id"], "unique": True},
                        {"name": "user_time", "keys": ["user_id", "-ts"]},
                    ],
                }
            ],
        },
        {"name": "ml-features", "username": "features"},
    ]
}


def env_refs(container: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {
        e["name"]: (e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"])
        for e in container.get("env", [])
        if "valueFrom" in e
    }


def setup_job(docs: list[dict[str, Any]]) -> dict[str, Any]:
    jobs = [d for d in docs if d["kind"] == "Job"]
    (job,) = [j for j in jobs if j["metadata"]["labels"]["app.kubernetes.io/component"] == "setup"]
    return job


def setup_spec(job: dict[str, Any]) -> dict[str, Any]:
    args = search("spec.template.spec.containers[0].args", job)
    return json.loads(args[args.index("--spec") + 1])


def test_defaults_render_ferretdb_with_enforced_auth_on_a_retained_volume() -> None:
    docs = render(CHART)
    sts = find(docs, "StatefulSet", "test-mongodb")
    (container,) = search("spec.template.spec.containers", sts)
    assert container["image"] == "airyard/ferretdb:0.1.0"
    args = container["args"]
    for flag in (
        "--handler=sqlite",
        "--sqlite-url=file:/data/",
        "--test-enable-new-auth",
        "--setup-database=admin",
        "--setup-username=root",
        "--listen-addr=:27017",
        "--telemetry=disable",
    ):
        assert flag in args
    assert not [a for a in args if "password" in a.lower()], "a password on the command line shows in ps"
    assert env_refs(container) == {"FERRETDB_SETUP_PASSWORD": ("test-mongodb-auth", "password")}
    assert container["readinessProbe"]["httpGet"]["path"] == "/debug/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/debug/livez"
    assert sts["spec"]["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    assert search("spec.volumeClaimTemplates[0].spec.resources.requests.storage", sts) == "2Gi"
    assert search("spec.template.spec.securityContext.runAsUser", sts) == 1000
    assert container["resources"]["limits"]["memory"] == "384Mi"
    assert_restricted(docs)
    # No declared databases: nothing to set up, only the administrative password to generate.
    assert not [d for d in docs if d["kind"] == "Job" and "setup" in d["metadata"]["name"]]
    assert secrets_job_spec(docs)["secrets"] == [
        {"name": "test-mongodb-auth", "generate": {"password": 32}, "values": {"username": "root"}}
    ]
    service = find(docs, "Service", "test-mongodb")
    assert service["spec"]["ports"] == [{"name": "mongodb", "port": 27017, "targetPort": "mongodb"}]


def test_each_database_gets_a_generated_connection_secret() -> None:
    docs = render(CHART, DATABASES)
    assert not [d for d in docs if d["kind"] == "Secret"], "a rendered Secret would be re-rolled by every sync"
    _, analytics, features = secrets_job_spec(docs)["secrets"]
    host = "test-mongodb.airyard.svc"
    assert analytics == {
        "name": "test-mongodb-analytics",
        "generate": {"password": 32},
        "values": {"host": host, "port": "27017", "database": "analytics", "username": "analytics"},
        "template": {"uri": f"mongodb://{{username_q}}:{{password_q}}@{host}:27017/analytics?authSource=analytics"},
    }
    assert features["name"] == "test-mongodb-ml-features"
    assert features["values"]["username"] == "features"


def test_setup_job_creates_users_and_indexes_as_a_declared_client() -> None:
    docs = render(CHART, DATABASES)
    job = setup_job(docs)
    pod = job["spec"]["template"]
    assert pod["metadata"]["labels"]["airyard.io/mongodb-client"] == "true"
    assert "helm.sh/hook" not in job["metadata"].get("annotations", {})
    (container,) = pod["spec"]["containers"]
    assert container["command"] == ["python3", "-m", "airyard_toolbox.mongo"]
    assert env_refs(container) == {
        "ROOT_PASSWORD": ("test-mongodb-auth", "password"),
        "DB_PASSWORD_0": ("test-mongodb-analytics", "password"),
        "DB_PASSWORD_1": ("test-mongodb-ml-features", "password"),
    }
    spec = setup_spec(job)
    assert spec["engine"] == "ferretdb"
    assert (spec["host"], spec["port"], spec["rootUsername"]) == ("test-mongodb.airyard.svc", 27017, "root")
    analytics = spec["databases"][0]
    assert analytics["passwordEnv"] == "DB_PASSWORD_0"
    assert analytics["collections"][0]["indexes"] == DATABASES["databases"][0]["collections"][0]["indexes"]
    assert spec["databases"][1] == {
        "name": "ml-features",
        "username": "features",
        "passwordEnv": "DB_PASSWORD_1",
        "collections": [],
    }
    assert_restricted(docs)


def test_setup_job_name_follows_its_spec() -> None:
    name = setup_job(render(CHART, DATABASES))["metadata"]["name"]
    assert name.startswith("test-mongodb-setup-")
    assert setup_job(render(CHART, DATABASES))["metadata"]["name"] == name
    more = {"databases": [*DATABASES["databases"], {"name": "extra"}]}
    assert setup_job(render(CHART, more))["metadata"]["name"] != name


def test_existing_secrets_are_used_and_nothing_is_generated_for_them() -> None:
    values = {
        "auth": {"existingSecret": "admin-creds"},
        "databases": [{"name": "app", "existingSecret": "app-creds"}],
    }
    docs = render(CHART, values)
    sts = find(docs, "StatefulSet")
    assert env_refs(search("spec.template.spec.containers[0]", sts)) == {
        "FERRETDB_SETUP_PASSWORD": ("admin-creds", "password")
    }
    (conn,) = secrets_job_spec(docs)["secrets"]
    assert conn["from"] == {"password": "app-creds/password"}
    assert "generate" not in conn
    assert env_refs(search("spec.template.spec.containers[0]", setup_job(docs)))["ROOT_PASSWORD"] == (
        "admin-creds",
        "password",
    )


def test_mongodb_engine_renders_the_official_image_with_its_root_user() -> None:
    docs = render(CHART, {"engine": "mongodb", **DATABASES})
    sts = find(docs, "StatefulSet", "test-mongodb")
    (container,) = search("spec.template.spec.containers", sts)
    assert container["name"] == "mongod"
    assert container["image"] == "mongo:8.0.12"
    assert "--auth" in container["args"]
    assert container["args"][-2:] == ["--wiredTigerCacheSizeGB", "0.25"]
    env = {e["name"]: e for e in container["env"]}
    assert env["MONGO_INITDB_ROOT_USERNAME"]["value"] == "root"
    assert env_refs(container) == {"MONGO_INITDB_ROOT_PASSWORD": ("test-mongodb-auth", "password")}
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert {"/data/db", "/data/configdb", "/tmp"} <= mounts
    assert search("spec.template.spec.securityContext.runAsUser", sts) == 999
    assert search("spec.volumeClaimTemplates[0].metadata.name", sts) == "data"
    assert "exec" in container["readinessProbe"]
    assert "tcpSocket" in container["livenessProbe"]
    assert setup_spec(setup_job(docs))["engine"] == "mongodb"
    assert_restricted(docs)


def test_ferretdb_over_postgresql_reads_the_uri_from_a_secret_and_keeps_no_volume() -> None:
    values = {"ferretdb": {"backend": "postgresql", "postgresql": {"existingSecret": "pg-ferretdb"}}}
    sts = find(render(CHART, values), "StatefulSet")
    container = search("spec.template.spec.containers[0]", sts)
    assert "--handler=postgresql" in container["args"]
    assert not [a for a in container["args"] if a.startswith("--sqlite-url")]
    assert env_refs(container)["FERRETDB_POSTGRESQL_URL"] == ("pg-ferretdb", "uri")
    assert "volumeClaimTemplates" not in sts["spec"]
    assert_rejects(CHART, {"ferretdb": {"backend": "postgresql"}}, "ferretdb.postgresql.existingSecret")


def test_without_persistence_data_lives_in_an_emptydir() -> None:
    sts = find(render(CHART, {"persistence": {"enabled": False}}), "StatefulSet")
    assert "volumeClaimTemplates" not in sts["spec"]
    volumes = {v["name"]: v for v in search("spec.template.spec.volumes", sts)}
    assert volumes["data"] == {"name": "data", "emptyDir": {}}


def test_network_policy_admits_declared_clients_only() -> None:
    assert_network_policy(CHART, [27017])


@pytest.mark.parametrize("values", [{}, DATABASES, {"engine": "mongodb", **DATABASES}])
def test_renders_are_identical(values: dict[str, Any]) -> None:
    assert_deterministic(CHART, values)


def test_bad_values_are_rejected_naming_the_key() -> None:
    assert_rejects(CHART, {"engine": "mongo"}, "/engine")
    assert_rejects(CHART, {"enigne": "ferretdb"}, "enigne")
    assert_rejects(CHART, {"persistence": {"size": 3}}, "/persistence/size")
    assert_rejects(CHART, {"ferretdb": {"backend": "mysql"}}, "/ferretdb/backend")
    assert_rejects(CHART, {"mongodb": {"image": {"tag": 8}}}, "/mongodb/image/tag")
    assert_rejects(CHART, {"databases": [{"name": "My_DB"}]}, "/databases/0/name")
    assert_rejects(CHART, {"databases": [{"name": "app", "user": "x"}]}, "user")
    assert_rejects(CHART, {"databases": [{"name": "app"}, {"name": "app"}]}, 'databases[1].name: "app"')
    index = {"name": "i", "keys": "event_id"}
    assert_rejects(CHART, {"databases": [{"name": "a", "collections": [{"name": "c", "indexes": [index]}]}]}, "keys")
    index = {"name": "i", "keys": ["a"], "unique": "yes"}
    assert_rejects(
        CHART,
        {"databases": [{"name": "a", "collections": [{"name": "c", "indexes": [index]}]}]},
        "/databases/0/collections/0/indexes/0/unique",
    )
    system = {"databases": [{"name": "a", "collections": [{"name": "system.users"}]}]}
    assert_rejects(CHART, system, "/databases/0/collections/0/name")
