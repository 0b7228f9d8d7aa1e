"""charts/postgresql on the kind cluster: databases from values, real psycopg clients, data that outlives its pod."""

from __future__ import annotations

import json
import time
from typing import Any

import psycopg
import pytest

from devkit import kube

RELEASE = "pg"
FULLNAME = "pg-postgresql"
CLIENT_LABEL = {"airyard.io/postgresql-client": "true"}
DATABASES = [
    {"name": "app", "user": "app", "extensions": ["pg_trgm"]},
    {"name": "ml_flow", "user": "mlflow"},
]

# Runs in a pod of the toolbox image with the connection Secret's `uri` (and the other database's
# name) in its environment: the way a platform client connects.
CLIENT = """
import os, sys, time
import psycopg

uri, note = os.environ["URI"], os.environ["NOTE"]
for attempt in range(30):  # kube-proxy programs a new Service a moment after its endpoint is ready
    try:
        conn = psycopg.connect(uri, connect_timeout=5)
        break
    except psycopg.OperationalError as err:
        last = err
        time.sleep(2)
else:
    sys.exit(f"cannot connect: {last}")
with conn:
    conn.execute("CREATE TABLE IF NOT EXISTS kept (id int PRIMARY KEY, note text)")
    conn.execute("INSERT INTO kept VALUES (1, %s) ON CONFLICT (id) DO UPDATE SET note = excluded.note", [note])
    conn.commit()
    print("read:", conn.execute("SELECT note FROM kept WHERE id = 1").fetchone()[0])
    extensions = "SELECT string_agg(extname, ',' ORDER BY extname) FROM pg_extension"
    print("extensions:", conn.execute(extensions).fetchone()[0])
    owner = "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
    print("owner:", conn.execute(owner).fetchone()[0])
other = psycopg.conninfo.make_conninfo(uri, dbname=os.environ["OTHER_DB"])
try:
    psycopg.connect(other, connect_timeout=5).close()
    print("other database: connected")
except psycopg.OperationalError as err:
    print("other database: refused:", " ".join(str(err).split()))
"""


def uri_env(secret: str) -> dict[str, Any]:
    return {"name": "URI", "valueFrom": {"secretKeyRef": {"name": secret, "key": "uri"}}}


def run_client(namespace: str, name: str, database: str, note: str, other_db: str) -> dict[str, str]:
    secret = f"{FULLNAME}-{database.replace('_', '-')}"
    env = [uri_env(secret), {"name": "NOTE", "value": note}, {"name": "OTHER_DB", "value": other_db}]
    out = kube.run_script(namespace, name, CLIENT, labels=CLIENT_LABEL, env=env)
    return dict(line.split(": ", 1) for line in out.strip().splitlines())


def wait_job_complete(namespace: str, selector: str, timeout: int = 300) -> None:
    kube.kubectl("wait", "-n", namespace, "--for=condition=complete", "job", "-l", selector, f"--timeout={timeout}s")


def databases_jobs(namespace: str) -> list[str]:
    items = kube.get("jobs", namespace=namespace)["items"]
    return sorted(
        j["metadata"]["name"]
        for j in items
        if j["metadata"]["labels"].get("app.kubernetes.io/component") == "databases"
    )


def superuser_query(namespace: str, port: int, sql: str) -> list[tuple[Any, ...]]:
    password = kube.secret_value(f"{FULLNAME}-auth", "postgres-password", namespace)
    with psycopg.connect(host="127.0.0.1", port=port, user="postgres", password=password, dbname="postgres") as conn:
        return conn.execute(sql).fetchall()


@pytest.mark.timeout(1500)
def test_databases_are_served_isolated_and_kept(namespace: str) -> None:
    started = time.monotonic()
    kube.helm_install("postgresql", RELEASE, namespace, {"databases": DATABASES})
    install_seconds = time.monotonic() - started
    pod = kube.get("pod", f"{FULLNAME}-0", namespace)
    wait_job_complete(namespace, "app.kubernetes.io/component=databases")
    print(f"\nhelm install --wait: {install_seconds:.0f} s; pod created -> Ready: {kube.seconds_to_ready(pod):.0f} s")

    # The connection Secret carries what other charts read.
    secret = kube.get("secret", f"{FULLNAME}-ml-flow", namespace)
    assert set(secret["data"]) == {"host", "port", "database", "username", "password", "uri", "connection"}
    assert kube.secret_value(f"{FULLNAME}-ml-flow", "connection", namespace) == kube.secret_value(
        f"{FULLNAME}-ml-flow", "uri", namespace
    )
    app_password = kube.secret_value(f"{FULLNAME}-app", "password", namespace)

    # A real client writes and reads through the Service with the Secret's URI; the extension is
    # there; another database's owner is kept out.
    result = run_client(namespace, "client-app", "app", "written before restart", other_db="ml_flow")
    assert result["read"] == "written before restart"
    assert result["extensions"] == "pg_trgm,plpgsql"
    assert result["owner"] == "app"
    assert result["other database"].endswith("User does not have CONNECT privilege."), result
    result = run_client(namespace, "client-mlflow", "ml_flow", "mlflow row", other_db="app")
    assert (result["read"], result["owner"], result["extensions"]) == ("mlflow row", "mlflow", "plpgsql")
    assert result["other database"].endswith("User does not have CONNECT privilege."), result

    # Data survives deleting the pod (the claim is reattached to the new one).
    kube.replace_pod(f"{FULLNAME}-0", namespace)
    with kube.port_forward(f"pod/{FULLNAME}-0", namespace, 5432) as port:
        with psycopg.connect(host="127.0.0.1", port=port, user="app", password=app_password, dbname="app") as conn:
            assert conn.execute("SELECT note FROM kept WHERE id = 1").fetchone() == ("written before restart",)
        # Idle figures for the report: no client but this one.
        time.sleep(10)
        rss = kube.memory_bytes(namespace, f"{FULLNAME}-0")
        print(f"idle memory of {FULLNAME}-0: {rss / 2**20:.0f} MiB")
        assert rss < 256 * 2**20
        roles = superuser_query(
            namespace, port, "SELECT rolname, rolsuper FROM pg_roles WHERE rolname IN ('app','mlflow')"
        )
        assert sorted(roles) == [("app", False), ("mlflow", False)]

    # An upgrade with the same values changes nothing: same Job, same passwords.
    jobs_before = databases_jobs(namespace)
    kube.helm_install("postgresql", RELEASE, namespace, {"databases": DATABASES})
    assert databases_jobs(namespace) == jobs_before
    assert kube.secret_value(f"{FULLNAME}-app", "password", namespace) == app_password

    # Declaring one more database runs a new Job that creates it and leaves the others alone.
    more = [*DATABASES, {"name": "mlsp", "user": "mlsp"}]
    kube.helm_install("postgresql", RELEASE, namespace, {"databases": more})
    new_jobs = sorted(set(databases_jobs(namespace)) - set(jobs_before))
    assert len(new_jobs) == 1
    kube.kubectl("wait", "-n", namespace, "--for=condition=complete", f"job/{new_jobs[0]}", "--timeout=300s")
    assert run_client(namespace, "client-mlsp", "mlsp", "third", other_db="app")["read"] == "third"
    assert kube.secret_value(f"{FULLNAME}-app", "password", namespace) == app_password
    result = run_client(namespace, "client-app-again", "app", "written before restart", other_db="mlsp")
    assert result["read"] == "written before restart"

    # The claim outlives the release.
    kube.helm("uninstall", RELEASE, "-n", namespace, "--wait")
    claims = [c["metadata"]["name"] for c in kube.get("pvc", namespace=namespace)["items"]]
    assert claims == [f"data-{FULLNAME}-0"]


PROBE = """
import socket, time
deadline = time.monotonic() + 8
while True:
    try:
        socket.create_connection((HOST, 5432), timeout=4).close()
        print("connected")
        break
    except OSError as exc:
        if time.monotonic() > deadline:
            print(f"{type(exc).__name__}: {exc}")
            break
        time.sleep(0.5)
"""


def test_network_policy_admits_only_declared_clients(namespace: str) -> None:
    """Installed on its own, PostgreSQL admits its labelled clients, on its port only, and refuses
    any other pod (the kind cluster enforces NetworkPolicies)."""
    kube.helm_install("postgresql", RELEASE, namespace, {"persistence": {"enabled": False}})
    script = f"HOST = {f'{FULLNAME}.{namespace}.svc'!r}\n{PROBE}"
    assert kube.run_script(namespace, "pg-client", script, labels=CLIENT_LABEL).strip() == "connected"
    stranger = kube.run_script(namespace, "pg-stranger", script).strip()
    assert "Connection refused" in stranger or "timed out" in stranger, stranger
    policy = kube.get("networkpolicy", FULLNAME, namespace)
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert policy["spec"]["podSelector"]["matchLabels"] == {
        "app.kubernetes.io/name": "postgresql",
        "app.kubernetes.io/instance": RELEASE,
    }
    (rule,) = policy["spec"]["ingress"]
    assert rule["ports"] == [{"port": 5432, "protocol": "TCP"}]
    assert {"podSelector": {"matchLabels": CLIENT_LABEL}} in rule["from"]
    # Client pods of the installation's tasks namespace, and no other namespace or address.
    tasks = {"kubernetes.io/metadata.name": f"{namespace}-tasks"}
    assert {"namespaceSelector": {"matchLabels": tasks}, "podSelector": {"matchLabels": CLIENT_LABEL}} in rule["from"]
    assert all(
        "ipBlock" not in peer and peer.get("namespaceSelector", {"matchLabels": tasks}) == {"matchLabels": tasks}
        for peer in rule["from"]
    ), json.dumps(rule)


def test_existing_superuser_secret_is_the_source_of_truth(namespace: str) -> None:
    """With auth.existingSecret the user owns the password: a rotated Secret applies at the next start."""

    def admin_secret(password: str) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "pg-admin"},
            "stringData": {"postgres-password": password},
        }

    def superuser_can_log_in(password: str) -> bool:
        with kube.port_forward(f"pod/{FULLNAME}-0", namespace, 5432) as port:
            try:
                with psycopg.connect(host="127.0.0.1", port=port, user="postgres", password=password) as conn:
                    return conn.execute("SELECT current_user").fetchone() == ("postgres",)
            except psycopg.OperationalError as err:
                if "password authentication failed" not in str(err):
                    raise
                return False

    kube.apply(admin_secret("first-Pa55word"), namespace=namespace)
    values = {"auth": {"existingSecret": "pg-admin"}, "databases": [{"name": "app", "user": "app"}]}
    kube.helm_install("postgresql", RELEASE, namespace, values)
    wait_job_complete(namespace, "app.kubernetes.io/component=databases")
    assert not [s for s in kube.get("secrets", namespace=namespace)["items"] if s["metadata"]["name"].endswith("-auth")]
    assert superuser_can_log_in("first-Pa55word")

    kube.apply(admin_secret("second 'quoted' Pa55word"), namespace=namespace)
    kube.replace_pod(f"{FULLNAME}-0", namespace)
    assert superuser_can_log_in("second 'quoted' Pa55word")
    assert not superuser_can_log_in("first-Pa55word")
