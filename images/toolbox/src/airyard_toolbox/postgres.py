"""Create a PostgreSQL server's roles and databases from a chart's values, idempotently.

The postgresql chart runs this in a Job once its secrets Job has written the passwords. For each
database of the spec it makes sure that:

- the owner role exists, can log in, and has the password of the database's connection Secret
  (set again on every run, so a changed Secret is picked up by the next run),
- the database exists and belongs to that role,
- other roles cannot connect to it (CONNECT is revoked from PUBLIC),
- the listed extensions exist in it (created by the superuser, as most need to be).

Spec (JSON): {"databases": [{"name": "airflow", "user": "airflow", "extensions": ["pg_trgm"]}]}.
Passwords are files: <secrets>/postgres-password and <secrets>/<database>/password.

Passwords are sent as SCRAM-SHA-256 verifiers computed here, so the clear text never reaches the
server, its logs or pg_stat_activity.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

SCRAM_ITERATIONS = 4096  # PostgreSQL's default (scram_iterations)


@dataclass(frozen=True)
class Database:
    name: str
    user: str
    extensions: list[str] = field(default_factory=list)

    @classmethod
    def from_spec(cls, item: dict[str, Any]) -> Database:
        return cls(name=item["name"], user=item["user"], extensions=list(item.get("extensions", [])))


def scram_verifier(password: str, salt: bytes | None = None, iterations: int = SCRAM_ITERATIONS) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for a password (RFC 5802/7677, as in pg_authid).

    PostgreSQL runs SASLprep over the password first; for ASCII passwords that changes nothing, so
    callers send other passwords in clear text (see `password_literal`).
    """
    salt = salt if salt is not None else secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.digest(salted, b"Client Key", "sha256")
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.digest(salted, b"Server Key", "sha256")

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def password_literal(password: str) -> sql.Literal:
    """What to put after PASSWORD: a verifier for ASCII passwords, else the clear text (server-side SASLprep)."""
    return sql.Literal(scram_verifier(password) if password.isascii() else password)


def role_statement(db: Database, password: str, exists: bool) -> sql.Composed:
    verb = sql.SQL("ALTER ROLE") if exists else sql.SQL("CREATE ROLE")
    return sql.SQL("{} {} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD {}").format(
        verb, sql.Identifier(db.user), password_literal(password)
    )


def database_statements(db: Database, owner: str | None) -> list[sql.Composed]:
    """Statements that bring one database in line; `owner` is its current owner, None when missing."""
    name, user = sql.Identifier(db.name), sql.Identifier(db.user)
    statements = []
    if owner is None:
        statements.append(sql.SQL("CREATE DATABASE {} OWNER {} ENCODING 'UTF8'").format(name, user))
    elif owner != db.user:
        statements.append(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(name, user))
    statements.append(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(name))
    statements.append(sql.SQL("GRANT ALL ON DATABASE {} TO {}").format(name, user))
    return statements


def extension_statements(db: Database) -> list[sql.Composed]:
    return [sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(ext)) for ext in db.extensions]


def connect(conninfo: dict[str, Any], deadline: float) -> psycopg.Connection[Any]:
    """Connect, retrying until the deadline: the server may still be starting."""
    while True:
        try:
            return psycopg.connect(**conninfo, autocommit=True, connect_timeout=5)
        except psycopg.OperationalError as err:
            if time.monotonic() > deadline:
                raise
            print(f"waiting for PostgreSQL: {str(err).strip().splitlines()[0]}", flush=True)
            time.sleep(3)


def reconcile(conninfo: dict[str, Any], databases: list[Database], passwords: dict[str, str], wait: float) -> None:
    deadline = time.monotonic() + wait
    # CREATE DATABASE cannot run in a transaction: autocommit, one statement at a time.
    with connect({**conninfo, "dbname": "postgres"}, deadline) as conn:
        for db in databases:
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [db.user]).fetchone() is not None
            conn.execute(role_statement(db, passwords[db.name], exists))
            print(f"role {db.user}: {'updated' if exists else 'created'}")
            row = conn.execute(
                "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", [db.name]
            ).fetchone()
            for statement in database_statements(db, row[0] if row else None):
                conn.execute(statement)
            print(f"database {db.name}: {'created' if row is None else 'kept'}, owner {db.user}")
    for db in databases:
        if db.extensions:
            with connect({**conninfo, "dbname": db.name}, deadline) as conn:
                for statement in extension_statements(db):
                    conn.execute(statement)
            print(f"database {db.name}: extensions {', '.join(db.extensions)}")


def read_passwords(directory: Path, databases: list[Database]) -> tuple[str, dict[str, str]]:
    """Exactly as stored: clients use the Secret's value as it is, trailing whitespace included."""
    superuser = (directory / "postgres-password").read_text()
    return superuser, {db.name: (directory / db.name / "password").read_text() for db in databases}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--secrets", type=Path, required=True, help="directory of the mounted password files")
    parser.add_argument("--spec", required=True, help="the spec, as JSON")
    parser.add_argument("--wait", type=float, default=300, help="seconds to wait for the server")
    args = parser.parse_args(argv)
    databases = [Database.from_spec(item) for item in json.loads(args.spec)["databases"]]
    superuser, passwords = read_passwords(args.secrets, databases)
    conninfo = {"host": args.host, "port": args.port, "user": "postgres", "password": superuser}
    reconcile(conninfo, databases, passwords, args.wait)
    return 0


if __name__ == "__main__":
    sys.exit(main())
