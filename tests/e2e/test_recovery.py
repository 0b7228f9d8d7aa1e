"""Backup, restore and key rotation on the installed platform, as an operator runs them
(`make backup`, `make restore`, `make rotate-fernet-key`, i.e. hack/backup.sh and
hack/rotate-fernet-key.sh).

The disaster drill loses PostgreSQL for real: its StatefulSet and its volume are deleted while the
platform runs. What comes back must be what the backup held.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from typing import Any

import pytest
import requests

from devkit import airflow, kube
from tests.e2e.test_faults import helm_up, run_check, wait_platform_ready

pytestmark = pytest.mark.shared_platform

NS, REL = airflow.NAMESPACE, airflow.RELEASE
MODEL = "e2e-recovery"


def operate(script: str, *args: str, timeout: float = 1800) -> dict[str, Any]:
    """Run hack/<script> as `make` does; returns the RESULT its Job printed."""
    proc = subprocess.run(
        [str(kube.REPO / "hack" / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "AIRYARD_NAMESPACE": NS, "AIRYARD_RELEASE": REL},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = [line.removeprefix("RESULT ") for line in proc.stderr.splitlines() if line.startswith("RESULT ")]
    return json.loads(results[-1]) if results else {}


def airflow_cli(*args: str) -> str:
    return kube.kubectl("exec", "-n", NS, f"deployment/{REL}-scheduler", "-c", "scheduler", "--", "airflow", *args)


def airflow_json(*args: str) -> Any:
    """An `airflow … -o json` command's document, without the log lines Airflow prints before it."""
    lines = airflow_cli(*args, "-o", "json").splitlines()
    return json.loads(next(line for line in lines if line.startswith(("[", "{"))))


class MLflow:
    """The platform's MLflow registry over its REST API, as the admin."""

    def __init__(self, base_url: str) -> None:
        self.base = f"{base_url}/api/2.0/mlflow"
        self.auth = ("admin", kube.secret_value(f"{REL}-mlflow-auth", "admin-password", NS))

    def call(self, method: str, path: str, **body: Any) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"params": body} if method == "GET" else {"json": body}
        resp = requests.request(method, f"{self.base}/{path}", auth=self.auth, timeout=60, **kwargs)
        assert resp.status_code < 400, f"{method} {path}: {resp.status_code} {resp.text[:300]}"
        return resp.json() if resp.content else {}

    def champion(self) -> str:
        alias = self.call("GET", "registered-models/alias", name=MODEL, alias="champion")
        return alias["model_version"]["version"]


def make_state(stamp: str) -> dict[str, Any]:
    """A DAG run, a connection and a variable made through the API, a user, an MLflow champion."""
    with airflow.connect() as af:
        run_id, run = af.run_dag("platform_check")
        assert run["state"] == "success"
        af.request(
            "POST",
            "/connections",
            json={"connection_id": f"e2e_{stamp}", "conn_type": "http", "host": "example.org", "password": stamp},
        )
        af.request("POST", "/variables", json={"key": f"e2e_{stamp}", "value": f"value-{stamp}"})
    airflow_cli(
        "users", "create", "--role", "Viewer", "--username", f"e2e-{stamp}", "--password", uuid.uuid4().hex,
        "--email", f"e2e-{stamp}@example.org", "--firstname", "E2E", "--lastname", "Recovery",
    )  # fmt: skip
    with kube.port_forward(f"service/{REL}-mlflow", NS, 5000) as port:
        mlflow = MLflow(f"http://127.0.0.1:{port}")
        if not mlflow.call("GET", "registered-models/search", filter=f"name='{MODEL}'").get("registered_models"):
            mlflow.call("POST", "registered-models/create", name=MODEL)
        version = mlflow.call("POST", "model-versions/create", name=MODEL, source=f"s3://mlflow/e2e/{stamp}")
        number = version["model_version"]["version"]
        mlflow.call("POST", "registered-models/alias", name=MODEL, alias="champion", version=number)
    return {"run_id": run_id, "champion": number}


def assert_state(stamp: str, made: dict[str, Any]) -> None:
    with airflow.connect() as af:
        assert af.run("platform_check", made["run_id"])["state"] == "success"
        assert af.request("GET", f"/variables/e2e_{stamp}")["value"] == f"value-{stamp}"
    # Decrypted with the Fernet key: the password comes back as it was given.
    connection = airflow_json("connections", "get", f"e2e_{stamp}")
    assert connection[0]["password"] == stamp
    users = airflow_json("users", "list")
    assert f"e2e-{stamp}" in {u["username"] for u in users}
    with kube.port_forward(f"service/{REL}-mlflow", NS, 5000) as port:
        assert MLflow(f"http://127.0.0.1:{port}").champion() == made["champion"]


@pytest.mark.timeout(3600)
def test_disaster_drill_postgresql_lost_and_restored_from_a_backup() -> None:
    """Disaster drill: PostgreSQL's StatefulSet and volume are deleted; `make restore` brings back
    run history, connections, variables, users and the MLflow registry, and DAGs run again."""
    stamp = uuid.uuid4().hex[:8]
    made = make_state(stamp)

    backed_up = operate("backup.sh", "create", "disaster-drill")
    print(f"\nbackup {backed_up['id']}: {backed_up['bytes'] / 1e6:.1f} MB in {backed_up['seconds']} s")
    listed = subprocess.run(
        [str(kube.REPO / "hack" / "backup.sh"), "list"], capture_output=True, text=True, timeout=600, check=True
    ).stdout
    assert backed_up["id"] in listed

    # Made after the backup: gone after the restore.
    with airflow.connect() as af:
        af.request("POST", "/variables", json={"key": f"e2e_{stamp}_late", "value": "after the backup"})

    kube.kubectl("delete", "statefulset", f"{REL}-postgresql", "-n", NS, "--wait=true")
    kube.kubectl("delete", "pvc", f"data-{REL}-postgresql-0", "-n", NS, "--wait=true")
    lost = time.monotonic()
    # The operator's first step: the chart recreates PostgreSQL, empty, with the same Secrets.
    helm_up()
    kube.wait_until("PostgreSQL back", lambda: kube.pod_ready(f"{REL}-postgresql-0", NS), timeout=600, interval=5)
    restored = operate("backup.sh", "restore", backed_up["id"])
    wait_platform_ready()
    print(
        f"restore of {backed_up['id']}: {restored['seconds']} s ({restored['check_seconds']} s fetching and "
        f"checking); platform Ready {time.monotonic() - lost:.0f} s after the loss"
    )

    assert_state(stamp, made)
    with airflow.connect() as af:
        late = af.session.get(f"{af.base_url}/api/v2/variables/e2e_{stamp}_late", timeout=30)
        assert late.status_code == 404
    run_check()


def test_a_restore_that_cannot_be_trusted_is_refused_and_changes_nothing() -> None:
    """A restore of a backup that does not exist fails before it touches anything, naming it."""
    stamp = uuid.uuid4().hex[:8]
    with airflow.connect() as af:
        af.request("POST", "/variables", json={"key": f"e2e_{stamp}", "value": "kept"})
    proc = subprocess.run(
        [str(kube.REPO / "hack" / "backup.sh"), "restore", "20200101T000000Z-missing"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode != 0
    assert "backup '20200101T000000Z-missing' does not exist" in proc.stderr
    with airflow.connect() as af:
        assert af.request("GET", f"/variables/e2e_{stamp}")["value"] == "kept"


@pytest.mark.timeout(2400)
def test_fernet_key_rotation_keeps_connections_and_drops_the_old_key() -> None:
    """Fernet drill: after `make rotate-fernet-key` connections still decrypt, with the new key
    alone; the old key decrypts nothing any more."""
    stamp = uuid.uuid4().hex[:8]
    with airflow.connect() as af:
        af.request(
            "POST",
            "/connections",
            json={"connection_id": f"e2e_{stamp}", "conn_type": "http", "host": "example.org", "password": stamp},
        )
    secret = "airyard-airflow-fernet-key"
    old = kube.secret_value(secret, "fernet-key", NS)
    encrypted_before = stored_password(stamp)

    operate("rotate-fernet-key.sh", timeout=2400)

    new = kube.secret_value(secret, "fernet-key", NS)
    assert "," not in new
    assert new != old
    connection = airflow_json("connections", "get", f"e2e_{stamp}")
    assert connection[0]["password"] == stamp
    encrypted_after = stored_password(stamp)
    assert encrypted_after != encrypted_before
    # The stored value opens with the new key only.
    assert fernet_decrypts(new, encrypted_after)
    assert not fernet_decrypts(old, encrypted_after)
    run_check()


def stored_password(conn_id: str) -> str:
    """The connection's password as the metadata database holds it (encrypted)."""
    return kube.kubectl(
        "exec", "-n", NS, f"{REL}-postgresql-0", "--", "psql", "-U", "postgres", "-d", "airflow", "-Atc",
        f"SELECT password FROM connection WHERE conn_id = 'e2e_{conn_id}'",
    ).strip()  # fmt: skip


def fernet_decrypts(key: str, token: str) -> bool:
    script = (
        "import sys\nfrom cryptography.fernet import Fernet, InvalidToken\n"
        "try:\n    Fernet(sys.argv[1]).decrypt(sys.argv[2].encode())\nexcept InvalidToken:\n    sys.exit(3)\n"
    )
    proc = subprocess.run(
        ["kubectl", "exec", "-n", NS, f"deployment/{REL}-scheduler", "-c", "scheduler", "--",
         "python3", "-c", script, key, token],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode in (0, 3), proc.stderr
    return proc.returncode == 0
