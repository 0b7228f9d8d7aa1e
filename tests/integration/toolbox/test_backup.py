"""airyard_toolbox.backup in the toolbox image against real PostgreSQL, FerretDB and MinIO.

The backup Job's container as the chart runs it (its pg_dump, its Python), on the host's network:
a backup restores what was there, and a restore that must be refused changes nothing.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import psycopg
import pymongo
import pytest

from tests.integration.toolbox import backup_env
from tests.services import TAG, Service, s3_client

BUCKET = "backups"
REVISION = "d2f4e1b3c5a7"


@pytest.fixture(scope="module")
def platform(postgres_service: Service, mongo_service: Service, s3_service: Service) -> dict[str, str]:
    """A platform's databases: Airflow's (with its schema revision) and MLflow's, each with its owner.

    Named apart from what the other integration tests make on the same servers.
    """
    with psycopg.connect(postgres_service.extra["dsn"], autocommit=True) as conn:
        for name in ("bk_airflow", "bk_mlflow"):
            conn.execute(f"CREATE ROLE {name} LOGIN PASSWORD 'secret-{name}'")
            conn.execute(f"CREATE DATABASE {name} OWNER {name}")
    with psycopg.connect(_dsn(postgres_service, "bk_airflow"), autocommit=True) as conn:
        conn.execute("SET ROLE bk_airflow")
        conn.execute("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)")
        conn.execute("INSERT INTO alembic_version VALUES (%s)", (REVISION,))
        conn.execute("CREATE TABLE variable (key text PRIMARY KEY, val text)")
        conn.execute("INSERT INTO variable VALUES ('threshold', '0.8')")
    s3_client(s3_service).create_bucket(Bucket=BUCKET)
    return backup_env(postgres_service, mongo_service, s3_service, BUCKET) | {
        "BACKUP_WORKDIR": "/tmp",
        "AIRFLOW_DATABASE": "bk_airflow",
    }


def _dsn(svc: Service, database: str) -> str:
    return svc.extra["dsn"].rsplit("/", 1)[0] + f"/{database}"


def _toolbox(env: dict[str, str], *args: str, schema: Path | None = None) -> tuple[int, dict | str]:
    cmd = ["docker", "run", "--rm", "--network", "host", "--tmpfs", "/tmp", "--user", "10001:10001", "--read-only"]
    for key, value in env.items():
        cmd += ["-e", f"{key}={value}"]
    if schema is not None:
        schema.chmod(0o755)  # the container's user reads it, as it reads the ConfigMap
        cmd += ["-v", f"{schema}:/schema:ro"]
    proc = subprocess.run(
        [*cmd, f"airyard/toolbox:{TAG}", "python3", "-m", "airyard_toolbox.backup", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return proc.returncode, json.loads(line.removeprefix("RESULT "))
    return proc.returncode, proc.stderr.strip()


def _variables(svc: Service) -> list[tuple[str, str]]:
    with psycopg.connect(_dsn(svc, "bk_airflow")) as conn:
        return conn.execute("SELECT key, val FROM variable ORDER BY key").fetchall()


def test_a_backup_restores_databases_roles_and_documents(
    platform: dict[str, str], postgres_service: Service, mongo_service: Service, tmp_path: Path
) -> None:
    mongo = pymongo.MongoClient(mongo_service.extra["uri"])
    movies = mongo.bk_movies.movies
    movies.insert_many([{"_id": i, "title": f"movie {i}"} for i in range(2500)])
    movies.create_index("title", name="title")

    code, created = _toolbox(platform, "create", "--reason", "integration")
    assert code == 0, created
    assert isinstance(created, dict)
    assert created["airflow_schema"] == REVISION
    code, listed = _toolbox(platform, "list")
    assert code == 0
    assert [b["id"] for b in listed] == [created["id"]]  # type: ignore[union-attr]

    # Everything changes after the backup: a variable, a document, and a role is dropped.
    with psycopg.connect(_dsn(postgres_service, "bk_airflow"), autocommit=True) as conn:
        conn.execute("UPDATE variable SET val = 'changed'")
        conn.execute("INSERT INTO variable VALUES ('later', 'x')")
    with psycopg.connect(postgres_service.extra["dsn"], autocommit=True) as conn:
        conn.execute("DROP DATABASE bk_mlflow WITH (FORCE)")
        conn.execute("DROP ROLE bk_mlflow")
    movies.delete_many({"_id": {"$lt": 1000}})

    (tmp_path / "revisions").write_text(f"{REVISION}\n0123456789ab\n")
    code, restored = _toolbox(platform, "restore", created["id"], schema=tmp_path)
    assert code == 0, restored
    assert _variables(postgres_service) == [("threshold", "0.8")]
    with psycopg.connect(postgres_service.extra["dsn"]) as conn:
        owner = conn.execute(
            "SELECT r.rolname FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba WHERE d.datname = 'bk_mlflow'"
        ).fetchone()
        staging = conn.execute("SELECT count(*) FROM pg_database WHERE datname LIKE '%__restore'").fetchone()
    assert owner == ("bk_mlflow",)
    assert staging == (0,)
    # The recreated role logs in with its password of the backup, and owns its tables again.
    dsn = f"postgresql://bk_mlflow:secret-bk_mlflow@127.0.0.1:{postgres_service.port}/bk_mlflow"
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("bk_mlflow",)
    assert movies.count_documents({}) == 2500
    assert "title" in movies.index_information()


def test_a_restore_that_must_be_refused_changes_nothing(
    platform: dict[str, str], postgres_service: Service, s3_service: Service, tmp_path: Path
) -> None:
    code, created = _toolbox(platform, "create", "--reason", "refusals")
    assert code == 0, created
    assert isinstance(created, dict)
    with psycopg.connect(_dsn(postgres_service, "bk_airflow"), autocommit=True) as conn:
        conn.execute("UPDATE variable SET val = 'after the backup'")
    before = _variables(postgres_service)

    (tmp_path / "revisions").write_text(f"{REVISION}\n")
    code, message = _toolbox(platform, "restore", "20200101T000000Z-nope", schema=tmp_path)
    assert code == 2
    assert "backup '20200101T000000Z-nope' does not exist" in str(message)

    older = tmp_path / "older"
    older.mkdir()
    (older / "revisions").write_text("0123456789ab\n")
    (older / "head").write_text("0123456789ab\n")
    code, message = _toolbox(platform, "restore", created["id"], schema=older)
    assert code == 2
    assert f"comes from a newer Airflow schema (revision {REVISION})" in str(message)

    s3 = s3_client(s3_service)
    s3.put_object(Bucket=BUCKET, Key=f"{created['id']}/postgresql/bk_airflow.dump", Body=b"not a dump")
    code, message = _toolbox(platform, "restore", created["id"], schema=tmp_path)
    assert code == 2
    assert f"backup {created['id']} is corrupt: postgresql/bk_airflow.dump has SHA-256" in str(message)

    assert _variables(postgres_service) == before
