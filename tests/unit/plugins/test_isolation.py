"""airyard.isolation: what the probe tries with, and how it reads the platform's layout."""

from __future__ import annotations

import json

import pytest
from airyard import cluster, isolation


def test_every_connection_with_a_login_is_a_credential_to_try() -> None:
    env = {
        "AIRFLOW_CONN_POSTGRES_MLSP": json.dumps({"conn_type": "postgres", "login": "mlsp", "password": "p1"}),
        "AIRFLOW_CONN_OBJECTSTORE_DOMAINS": "aws://AKIA:s%2Fecret@",
        "AIRFLOW_CONN_KAFKA_DEFAULT": json.dumps({"conn_type": "kafka", "extra": {"bootstrap.servers": "k:9092"}}),
        "AIRFLOW_CONN_KAFKA_DOMAINS": json.dumps(
            {
                "conn_type": "kafka",
                "extra": {"bootstrap.servers": "k:9092", "sasl.username": "domains", "sasl.password": "p2"},
            }
        ),
        "AIRFLOW_CONN_EMPTY": "",
        "OTHER": "x",
    }
    assert list(isolation.held_credentials(env)) == [
        ("kafka_domains", "domains", "p2"),
        ("objectstore_domains", "AKIA", "s/ecret"),
        ("postgres_mlsp", "mlsp", "p1"),
    ]


def test_a_refusal_is_an_outcome_not_an_error() -> None:
    def refused() -> str:
        raise PermissionError("(403) Forbidden")

    outcome = isolation._attempt("read it", isolation.REFUSED, refused)
    assert outcome.ok
    assert outcome.observed == "refused"
    assert "403" in outcome.detail
    allowed = isolation._attempt("read it", isolation.REFUSED, lambda: "read")
    assert not allowed.ok
    assert allowed.observed == "allowed"


@pytest.mark.parametrize(
    ("url", "namespace"),
    [
        ("http://airyard-api-server.platform.svc:8080/execution/", "platform"),
        ("http://airyard-api-server:8080/execution/", "fallback"),
    ],
)
def test_the_platform_namespace_is_read_from_the_execution_api_address(
    monkeypatch: pytest.MonkeyPatch, url: str, namespace: str
) -> None:
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTION_API_SERVER_URL", url)
    monkeypatch.setenv("AIRYARD_NAMESPACE", "fallback")
    assert cluster.platform_namespace() == namespace


def test_a_services_refusal_keeps_its_status_first() -> None:
    def mlflow_says_no() -> str:
        raise isolation.Refused("HTTP 403: Permission denied")

    outcome = isolation._attempt("manage users", isolation.REFUSED, mlflow_says_no)
    assert outcome.detail == "HTTP 403: Permission denied"
