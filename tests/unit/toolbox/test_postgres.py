"""airyard_toolbox.postgres: SCRAM verifiers and the statements that reconcile roles and databases."""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path

from airyard_toolbox import postgres

# RFC 7677 section 3: a SCRAM-SHA-256 exchange for the password "pencil".
RFC_SALT = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
RFC_AUTH_MESSAGE = (
    b"n=user,r=rOprNGfwEbeRWgbNEkqO,"
    b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,"
    b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
)
RFC_CLIENT_PROOF = base64.b64decode("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
RFC_SERVER_SIGNATURE = base64.b64decode("6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")


def test_verifier_authenticates_the_rfc_7677_exchange() -> None:
    """A server holding our verifier accepts the RFC's client proof and answers its server signature."""
    verifier = postgres.scram_verifier("pencil", RFC_SALT)
    assert verifier.startswith("SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$")
    stored_key, server_key = (base64.b64decode(k) for k in verifier.split("$")[2].split(":"))
    client_signature = hmac.digest(stored_key, RFC_AUTH_MESSAGE, "sha256")
    client_key = bytes(a ^ b for a, b in zip(RFC_CLIENT_PROOF, client_signature, strict=True))
    assert hashlib.sha256(client_key).digest() == stored_key
    assert hmac.digest(server_key, RFC_AUTH_MESSAGE, "sha256") == RFC_SERVER_SIGNATURE


def test_verifiers_are_salted_afresh() -> None:
    assert postgres.scram_verifier("same") != postgres.scram_verifier("same")


def test_non_ascii_passwords_go_to_the_server_for_saslprep() -> None:
    assert postgres.password_literal("pässword").as_string() == "'pässword'"
    assert postgres.password_literal("password").as_string().startswith("'SCRAM-SHA-256$4096:")


def test_role_is_created_then_altered_and_never_gets_privileges() -> None:
    db = postgres.Database("ml_flow", "mlflow")
    create = postgres.role_statement(db, "secret", exists=False).as_string()
    alter = postgres.role_statement(db, "secret", exists=True).as_string()
    assert create.startswith('CREATE ROLE "mlflow" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD ')
    assert alter.startswith('ALTER ROLE "mlflow" WITH LOGIN')
    assert "secret" not in create + alter


def test_database_is_created_owned_and_closed_to_others() -> None:
    db = postgres.Database("ml_flow", "mlflow")
    assert [s.as_string() for s in postgres.database_statements(db, None)] == [
        'CREATE DATABASE "ml_flow" OWNER "mlflow" ENCODING \'UTF8\'',
        'REVOKE ALL ON DATABASE "ml_flow" FROM PUBLIC',
        'GRANT ALL ON DATABASE "ml_flow" TO "mlflow"',
    ]
    kept = [s.as_string() for s in postgres.database_statements(db, "mlflow")]
    assert not [s for s in kept if "CREATE" in s or "OWNER" in s]
    moved = postgres.database_statements(db, "someone_else")[0].as_string()
    assert moved == 'ALTER DATABASE "ml_flow" OWNER TO "mlflow"'


def test_identifiers_are_quoted_not_interpolated() -> None:
    db = postgres.Database('x"; DROP DATABASE y; --', "u", ["uuid-ossp"])
    assert postgres.database_statements(db, None)[0].as_string().startswith('CREATE DATABASE "x""; DROP')
    assert postgres.extension_statements(db)[0].as_string() == 'CREATE EXTENSION IF NOT EXISTS "uuid-ossp"'


def test_passwords_are_read_exactly_as_mounted(tmp_path: Path) -> None:
    (tmp_path / "postgres-password").write_text("su")
    (tmp_path / "airflow").mkdir()
    (tmp_path / "airflow" / "password").write_text("pw ")
    superuser, passwords = postgres.read_passwords(tmp_path, [postgres.Database("airflow", "airflow")])
    assert (superuser, passwords) == ("su", {"airflow": "pw "})


def test_spec_items_default_to_no_extensions() -> None:
    assert postgres.Database.from_spec({"name": "a", "user": "b"}) == postgres.Database("a", "b", [])
