"""charts/airflow-bootstrap: the Airflow secrets, connections, variables, pools and admin user."""

from __future__ import annotations

import json

from tests.chart.common import assert_deterministic, assert_rejects, assert_restricted, find, render, secrets_job_spec
from tests.chart.helm import search

CHART = "airflow-bootstrap"


def _secrets(values: dict | None = None, release: str = "airyard") -> dict[str, dict]:
    spec = secrets_job_spec(render(CHART, values, release=release))
    return {s["name"]: s for s in spec["secrets"]}


def test_airflow_secrets_are_generated_once_under_the_names_the_overlay_references() -> None:
    secrets = _secrets()
    assert secrets["airyard-airflow-fernet-key"]["generate"] == {"fernet-key": "fernet"}
    assert secrets["airyard-airflow-api-secret-key"]["generate"] == {"api-secret-key": 32}
    assert secrets["airyard-airflow-jwt-secret"]["generate"] == {"jwt-secret": 64}
    assert secrets["airyard-airflow-admin"] == {
        "name": "airyard-airflow-admin",
        "generate": {"password": 24},
        "values": {"username": "admin"},
    }


def test_platform_connections_come_from_the_service_charts_secrets() -> None:
    conn = _secrets()["airyard-airflow-connections"]
    assert "generate" not in conn, "derived only: re-derived when the platform changes"
    documents = {k: json.loads(json.dumps(v)) for k, v in conn["json"].items()}
    assert set(documents) == {
        "AIRFLOW_CONN_POSTGRES_MLSP",
        "AIRFLOW_CONN_POSTGRES_MLFLOW",
        "AIRFLOW_CONN_REDIS_DEFAULT",
        "AIRFLOW_CONN_KAFKA_DEFAULT",
        "AIRFLOW_CONN_MONGO_DEFAULT",
        "AIRFLOW_CONN_AWS_DEFAULT",
        "AIRFLOW_CONN_AIRYARD_LOGS",
        "AIRFLOW_CONN_MLFLOW_TRACKING",
        "AIRFLOW_CONN_BACKEND_API",
        "AIRFLOW_CONN_KUBERNETES_DEFAULT",
    }
    assert documents["AIRFLOW_CONN_POSTGRES_MLSP"] == {
        "conn_type": "postgres",
        "host": "airyard-postgresql.airyard.svc",
        "port": 5432,
        "login": "{pg_mlsp_user}",
        "password": "{pg_mlsp_password}",
        "schema": "mlsp",
    }
    assert conn["from"]["pg_mlsp_password"] == "airyard-postgresql-mlsp/password"
    assert conn["from"]["kafka_bootstrap"] == "airyard-kafka-connection/bootstrap-servers"
    assert conn["from"]["logs_access_key"] == "airyard-objectstore-user-airflow/access-key"
    assert documents["AIRFLOW_CONN_MLFLOW_TRACKING"] == {
        "conn_type": "http",
        "host": "{mlflow_tracking_uri}",
        "login": "{mlflow_username}",
        "password": "{mlflow_password}",
    }
    assert documents["AIRFLOW_CONN_BACKEND_API"]["host"] == "http://airyard-model-serving.airyard.svc:8000"
    assert documents["AIRFLOW_CONN_KUBERNETES_DEFAULT"]["extra"]["xcom_sidecar_container_image"] == (
        "airyard/toolbox:0.1.0"
    )


def test_disabled_services_get_no_connection() -> None:
    platform = {"kafka": False, "mongodb": False, "mlflow": False}
    conn = _secrets({"connections": {"platform": platform}})["airyard-airflow-connections"]
    assert not {"AIRFLOW_CONN_KAFKA_DEFAULT", "AIRFLOW_CONN_MONGO_DEFAULT", "AIRFLOW_CONN_MLFLOW_TRACKING"} & set(
        conn["json"]
    )
    assert not [ref for ref in conn["from"].values() if "kafka" in ref or "mongodb" in ref]


def test_variables_become_environment_of_every_airflow_pod() -> None:
    cm = find(render(CHART, {"variables": {"max_popular_pages": 5, "flag": True}}), "ConfigMap")
    assert cm["metadata"]["name"] == "test-airflow-variables"
    assert cm["data"] == {"AIRFLOW_VAR_MAX_POPULAR_PAGES": "5", "AIRFLOW_VAR_FLAG": "true"}


def test_bootstrap_job_applies_pools_and_reruns_only_when_they_change() -> None:
    pools = {"pools": {"spark": {"slots": 2, "description": "Spark"}}}
    job = next(
        d for d in render(CHART, pools) if d["metadata"]["labels"].get("app.kubernetes.io/component") == "bootstrap"
    )
    env = {e["name"]: e for e in search("spec.template.spec.containers[0].env", job)}
    assert json.loads(env["POOLS"]["value"]) == {
        "spark": {"slots": 2, "description": "Spark", "include_deferred": False}
    }
    assert env["ADMIN_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "test-airflow-admin", "key": "password"}
    other = next(
        d
        for d in render(CHART, {"pools": {"spark": {"slots": 3}}})
        if d["metadata"]["labels"].get("app.kubernetes.io/component") == "bootstrap"
    )
    assert other["metadata"]["name"] != job["metadata"]["name"]
    assert "helm.sh/hook" not in job["metadata"].get("annotations", {})


def test_worker_pods_may_run_task_pods_and_nothing_else() -> None:
    role = find(render(CHART), "Role", "test-airflow-worker-pods")
    rules = {tuple(r["resources"]): set(r["verbs"]) for r in role["rules"]}
    assert rules == {
        ("pods",): {"create", "get", "list", "watch", "delete", "patch"},
        ("pods/log",): {"get", "list"},
        ("pods/exec",): {"create", "get"},
        ("events",): {"list", "watch"},
    }


def test_pods_are_restricted_and_renders_identical() -> None:
    assert_restricted(render(CHART))
    assert_deterministic(CHART, {"pools": {"a": {"slots": 1}}, "variables": {"x": 1}})


def test_bad_values_are_rejected_naming_the_key() -> None:
    assert_rejects(CHART, {"pools": {"spark": {"slots": "two"}}}, "/pools/spark/slots")
    assert_rejects(CHART, {"variables": {"bad-name": 1}}, "bad-name")
    assert_rejects(CHART, {"connections": {"platform": {"kafak": True}}}, "kafak")
