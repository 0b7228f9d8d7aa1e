"""charts/mlflow: render, validate against Kubernetes 1.35, assert on the objects."""

from __future__ import annotations

import configparser
import os
import subprocess
from pathlib import Path
from typing import Any

from tests.chart.common import (
    assert_deterministic,
    assert_network_policy,
    assert_rejects,
    assert_restricted,
    env_sources,
    find,
    render,
    secrets_job_spec,
)
from tests.chart.helm import search

CHART = "mlflow"


def container(docs: list[dict[str, Any]]) -> dict[str, Any]:
    return search("spec.template.spec.containers[0]", find(docs, "Deployment", "test-mlflow"))


def run_start_script(c: dict[str, Any], tmp_path: Path, env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """Run the container's shell command with a stand-in `mlflow` that records its argv and environment."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "mlflow"
    fake.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {tmp_path}/argv\nenv > {tmp_path}/env\n')
    fake.chmod(0o755)
    literal = {k: v for k, v in env_sources(c).items() if isinstance(v, str)}
    literal["MLFLOW_AUTH_CONFIG_PATH"] = str(tmp_path / "basic_auth.ini")
    run_env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", **literal, **env}
    subprocess.run([*c["command"], *c.get("args", [])], env=run_env, check=True, timeout=30)
    argv = (tmp_path / "argv").read_text().splitlines()
    seen = dict(line.split("=", 1) for line in (tmp_path / "env").read_text().splitlines() if "=" in line)
    return argv, seen


def test_defaults_render_an_authenticated_server_on_postgresql_and_the_object_store(tmp_path: Path) -> None:
    docs = render(CHART)
    c = container(docs)
    env = env_sources(c)
    assert env["BACKEND_STORE_URI"] == ("test-postgresql-mlflow", "uri")
    for name, key in {
        "MLFLOW_S3_ENDPOINT_URL": "endpoint",
        "AWS_DEFAULT_REGION": "region",
        "AWS_ACCESS_KEY_ID": "access-key",
        "AWS_SECRET_ACCESS_KEY": "secret-key",
    }.items():
        assert env[name] == ("test-objectstore-user-mlflow", key)
    assert env["MLFLOW_AUTH_ADMIN_PASSWORD"] == ("test-mlflow-auth", "admin-password")
    assert env["MLFLOW_FLASK_SERVER_SECRET_KEY"] == ("test-mlflow-auth", "flask-secret-key")
    assert env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] == "false"
    assert env["MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE"] == "path"

    # The rendered start script, run for real: psycopg2 dialect, artifact proxy, basic-auth config.
    uri = "postgresql://mlflow:p%40ss%25w@test-postgresql.airyard.svc:5432/mlflow"
    argv, seen = run_start_script(c, tmp_path, {"BACKEND_STORE_URI": uri})
    backend = "postgresql+psycopg2://mlflow:p%40ss%25w@test-postgresql.airyard.svc:5432/mlflow"
    assert seen["MLFLOW_BACKEND_STORE_URI"] == backend
    assert backend not in argv, "credentials must not be on the command line"
    assert argv[:2] == ["server", "--host"]
    assert argv[argv.index("--artifacts-destination") + 1] == "s3://mlflow"
    assert "--serve-artifacts" in argv
    assert argv[argv.index("--app-name") + 1] == "basic-auth"
    assert argv[argv.index("--workers") + 1] == "1"
    ini = configparser.ConfigParser()
    ini.read(tmp_path / "basic_auth.ini")
    assert ini["mlflow"]["database_uri"] == backend
    assert ini["mlflow"]["default_permission"] == "READ"
    assert (tmp_path / "basic_auth.ini").stat().st_mode & 0o077 == 0

    hosts = argv[argv.index("--allowed-hosts") + 1].split(",")
    assert {"test-mlflow.airyard.svc", "test-mlflow.airyard.svc:*", "localhost:*"} <= set(hosts)

    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert c[probe]["httpGet"] == {"path": "/health", "port": "http"}
    labels = search("spec.template.metadata.labels", find(docs, "Deployment"))
    assert labels["airyard.io/postgresql-client"] == "true"
    assert labels["airyard.io/objectstore-client"] == "true"
    assert c["resources"]["limits"]["memory"] == "1Gi"
    service = find(docs, "Service", "test-mlflow")
    assert service["spec"]["ports"] == [{"name": "http", "port": 5000, "targetPort": "http"}]
    assert not [d for d in docs if d["kind"] in ("PersistentVolumeClaim", "StatefulSet")], "state lives elsewhere"
    assert_restricted(docs)


def test_schema_is_upgraded_before_the_server_starts(tmp_path: Path) -> None:
    docs = render(CHART)
    (init,) = search("spec.template.spec.initContainers", find(docs, "Deployment"))
    assert init["name"] == "db-upgrade"
    assert env_sources(init) == {"BACKEND_STORE_URI": ("test-postgresql-mlflow", "uri")}
    argv, _ = run_start_script(init, tmp_path, {"BACKEND_STORE_URI": "postgresql://u:p@h:5432/d"})
    assert argv == ["db", "upgrade", "postgresql+psycopg2://u:p@h:5432/d"]
    off = render(CHART, {"backendStore": {"upgradeSchema": False}})
    assert "initContainers" not in find(off, "Deployment")["spec"]["template"]["spec"]


def test_credentials_are_generated_once_by_a_job_not_by_the_template() -> None:
    docs = render(CHART)
    assert not [d for d in docs if d["kind"] == "Secret"], "a rendered Secret would be re-rolled by every sync"
    auth, conn = secrets_job_spec(docs)["secrets"]
    assert auth == {"name": "test-mlflow-auth", "generate": {"admin-password": 32, "flask-secret-key": 48}}
    assert conn == {
        "name": "test-mlflow-connection",
        "values": {"tracking-uri": "http://test-mlflow.airyard.svc:5000", "username": "admin"},
        "from": {"password": "test-mlflow-auth/admin-password"},
    }


def test_existing_secrets_bucket_and_prefix_are_used(tmp_path: Path) -> None:
    values = {
        "backendStore": {"existingSecret": "pg-ml", "uriKey": "connection"},
        "artifacts": {"existingSecret": "store-user-ml", "bucket": "models", "prefix": "/team-a/"},
        "auth": {"existingSecret": "ml-admin", "adminUsername": "root", "defaultPermission": "NO_PERMISSIONS"},
        "service": {"port": 80},
    }
    docs = render(CHART, values)
    c = container(docs)
    env = env_sources(c)
    assert env["BACKEND_STORE_URI"] == ("pg-ml", "connection")
    assert env["AWS_SECRET_ACCESS_KEY"] == ("store-user-ml", "secret-key")
    assert env["MLFLOW_AUTH_ADMIN_PASSWORD"] == ("ml-admin", "admin-password")
    assert env["MLFLOW_AUTH_ADMIN_USERNAME"] == "root"
    (conn,) = secrets_job_spec(docs)["secrets"]
    assert conn["from"] == {"password": "ml-admin/admin-password"}
    assert conn["values"] == {"tracking-uri": "http://test-mlflow.airyard.svc:80", "username": "root"}
    argv, _ = run_start_script(c, tmp_path, {"BACKEND_STORE_URI": "postgres://u:p@h:5432/d"})
    assert argv[argv.index("--artifacts-destination") + 1] == "s3://models/team-a"
    ini = configparser.ConfigParser()
    ini.read(tmp_path / "basic_auth.ini")
    assert ini["mlflow"]["database_uri"] == "postgresql+psycopg2://u:p@h:5432/d"
    assert ini["mlflow"]["default_permission"] == "NO_PERMISSIONS"


def test_without_auth_nothing_is_generated_and_the_connection_has_only_the_uri(tmp_path: Path) -> None:
    docs = render(CHART, {"auth": {"enabled": False}, "jobExecution": True, "workers": 2})
    c = container(docs)
    assert not [n for n in env_sources(c) if n.startswith("MLFLOW_AUTH") or "SECRET_KEY" in n]
    assert env_sources(c)["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] == "true"
    (conn,) = secrets_job_spec(docs)["secrets"]
    assert conn == {"name": "test-mlflow-connection", "values": {"tracking-uri": "http://test-mlflow.airyard.svc:5000"}}
    argv, _ = run_start_script(c, tmp_path, {"BACKEND_STORE_URI": "postgresql://u:p@h/d"})
    assert "--app-name" not in argv
    assert argv[argv.index("--workers") + 1] == "2"
    assert not (tmp_path / "basic_auth.ini").exists()


def test_extra_hosts_and_args_reach_the_server(tmp_path: Path) -> None:
    values = {"serverAllowedHosts": ["mlflow.example.org"], "extraArgs": ["--x-frame-options", "DENY"]}
    c = container(render(CHART, values))
    argv, _ = run_start_script(c, tmp_path, {"BACKEND_STORE_URI": "postgresql://u:p@h/d"})
    assert "mlflow.example.org" in argv[argv.index("--allowed-hosts") + 1].split(",")
    assert argv[-2:] == ["--x-frame-options", "DENY"]
    assert argv.count("--serve-artifacts") == 1


def test_peer_names_follow_the_release_naming_rule() -> None:
    # A release whose name contains a chart's name is that chart's fullname (airyard.fullname).
    docs = render(CHART, release="postgresql-ml")
    deployment = find(docs, "Deployment", "postgresql-ml-mlflow")
    labels = search("spec.template.metadata.labels", deployment)
    assert labels["airyard.io/postgresql-client"] == "true"
    assert labels["airyard.io/objectstore-client"] == "true"
    env = env_sources(search("spec.template.spec.containers[0]", deployment))
    assert env["BACKEND_STORE_URI"] == ("postgresql-ml-mlflow", "uri")
    assert env["AWS_ACCESS_KEY_ID"] == ("postgresql-ml-objectstore-user-mlflow", "access-key")


def test_network_policy_admits_declared_clients_only() -> None:
    assert_network_policy(CHART, [5000])


def test_renders_are_identical() -> None:
    assert_deterministic(CHART)
    assert_deterministic(CHART, {"auth": {"enabled": False}, "extraArgs": ["--x-frame-options", "DENY"]})


def test_bad_values_are_rejected_naming_the_key() -> None:
    assert_rejects(CHART, {"auth": {"defaultPermission": "ALL"}}, "/auth/defaultPermission")
    assert_rejects(CHART, {"artifacts": {"bucket": "Bad_Bucket"}}, "/artifacts/bucket")
    assert_rejects(CHART, {"workers": 0}, "/workers")
    assert_rejects(CHART, {"backendStore": {"uri": "postgresql://x"}}, "uri")
    assert_rejects(CHART, {"serverAllowedHosts": ["a,b"]}, "/serverAllowedHosts/0")
    assert_rejects(CHART, {"extraArgs": "--dev"}, "/extraArgs")
    assert_rejects(CHART, {"artifacts": {"addressingStyle": "host"}}, "/artifacts/addressingStyle")
    assert_rejects(CHART, {"image": {"pullPolicy": "Sometimes"}}, "/image/pullPolicy")


def test_non_admin_users_get_generated_passwords_set_before_the_server_starts(tmp_path: Path) -> None:
    docs = render(CHART, {"auth": {"users": [{"name": "ml"}, {"name": "team-b"}]}})
    users = {s["name"]: s for s in secrets_job_spec(docs)["secrets"] if "-user-" in s["name"]}
    assert users["test-mlflow-user-ml"] == {
        "name": "test-mlflow-user-ml",
        "generate": {"password": 32},
        "values": {"username": "ml", "tracking-uri": "http://test-mlflow.airyard.svc:5000"},
    }
    assert set(users) == {"test-mlflow-user-ml", "test-mlflow-user-team-b"}
    c = container(docs)
    env = env_sources(c)
    assert (env["MLFLOW_USER_0"], env["MLFLOW_USER_1"]) == ("ml", "team-b")
    assert env["MLFLOW_USER_1_PASSWORD"] == ("test-mlflow-user-team-b", "password")
    assert "is_admin=False" in env["ENSURE_USERS"]
    assert "is_admin=True" not in env["ENSURE_USERS"]
    # The users are ensured (a stand-in python3 records it) before the server is exec'd.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").write_text(f"#!/bin/sh\n[ ! -e {tmp_path}/argv ] && echo before > {tmp_path}/ensured\n")
    (bin_dir / "python3").chmod(0o755)
    run_start_script(c, tmp_path, {"BACKEND_STORE_URI": "postgresql://u:p@h/d"})
    assert (tmp_path / "ensured").read_text().strip() == "before"
    assert not [n for n in env_sources(container(render(CHART))) if n.startswith("MLFLOW_USER")]
