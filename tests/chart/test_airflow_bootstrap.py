"""charts/airflow-bootstrap: the Airflow secrets, connections, variables, pools and admin user."""

from __future__ import annotations

import json

from tests.chart.common import assert_deterministic, assert_rejects, assert_restricted, find, render, secrets_job_spec
from tests.chart.helm import search

CHART = "airflow-bootstrap"


def _secrets(values: dict | None = None, release: str = "airyard", namespace: str | None = None) -> dict[str, dict]:
    """The secrets Job's Secrets of one namespace (None: the release namespace)."""
    spec = secrets_job_spec(render(CHART, values, release=release))
    return {s["name"]: s for s in spec["secrets"] if s.get("namespace") == namespace}


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


CONNECTIONS = {"connections": {"mlflowUser": "ml", "objectstoreUsers": ["domains"]}}


def test_platform_connections_come_from_the_service_charts_secrets() -> None:
    conn = _secrets(CONNECTIONS)["airyard-airflow-connections"]
    assert "generate" not in conn, "derived only: re-derived when the platform changes"
    documents = {k: json.loads(json.dumps(v)) for k, v in conn["json"].items()}
    assert set(documents) == {
        "AIRFLOW_CONN_POSTGRES_MLSP",
        "AIRFLOW_CONN_REDIS_DEFAULT",
        "AIRFLOW_CONN_KAFKA_DEFAULT",
        "AIRFLOW_CONN_MONGO_DEFAULT",
        "AIRFLOW_CONN_OBJECTSTORE_DOMAINS",
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
    # Scoped identities only: bucket-limited object store users, a non-admin MLflow user.
    assert conn["from"]["s3_airflow_access_key"] == "airyard-objectstore-user-airflow/access-key"
    assert conn["from"]["s3_domains_secret_key"] == "airyard-objectstore-user-domains/secret-key"
    assert conn["from"]["mlflow_password"] == "airyard-mlflow-user-ml/password"
    assert not [
        ref
        for ref in conn["from"].values()
        if ref.startswith(("airyard-objectstore-connection/", "airyard-mlflow-connection/"))
    ]
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


def test_variables_become_environment_of_every_airflow_pod_and_every_worker() -> None:
    docs = render(CHART, {"variables": {"max_popular_pages": 5, "flag": True}})
    maps = [d for d in docs if d["kind"] == "ConfigMap"]
    assert {(cm["metadata"]["namespace"], cm["metadata"]["name"]) for cm in maps} == {
        ("airyard", "test-airflow-variables"),
        ("airyard-tasks", "test-airflow-variables"),
    }
    assert all(cm["data"] == {"AIRFLOW_VAR_MAX_POPULAR_PAGES": "5", "AIRFLOW_VAR_FLAG": "true"} for cm in maps)


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


def _rules(role: dict) -> dict[tuple[str, ...], set[str]]:
    return {tuple(r["resources"]): set(r["verbs"]) for r in role["rules"]}


def test_task_code_may_manage_pods_in_the_tasks_namespace_and_nothing_else() -> None:
    docs = render(CHART)
    account = find(docs, "ServiceAccount", "test-airflow-worker-pods")
    assert account["metadata"]["namespace"] == "airyard-tasks"
    role = find(docs, "Role", "test-airflow-worker-pods")
    assert role["metadata"]["namespace"] == "airyard-tasks"
    assert _rules(role) == {
        ("pods",): {"create", "get", "list", "watch", "delete", "patch"},
        ("pods/log",): {"get", "list"},
        ("pods/exec",): {"create", "get"},
        ("events",): {"list", "watch"},
    }
    bound = [
        d
        for d in docs
        if d["kind"] == "RoleBinding" and any(s["name"] == "test-airflow-worker-pods" for s in d["subjects"])
    ]
    assert [(b["metadata"]["namespace"], b["roleRef"]["name"]) for b in bound] == [
        ("airyard-tasks", "test-airflow-worker-pods")
    ]


def test_the_official_charts_components_get_their_pod_rights_in_the_tasks_namespace() -> None:
    docs = render(CHART)
    subjects = {
        d["roleRef"]["name"]: {(s["namespace"], s["name"]) for s in d["subjects"]}
        for d in docs
        if d["kind"] == "RoleBinding" and d["metadata"]["namespace"] == "airyard-tasks"
    }
    assert subjects["test-airflow-launcher"] == {
        ("airyard", "test-airflow-scheduler"),
        ("airyard", "test-airflow-triggerer"),
    }
    assert subjects["test-airflow-log-reader"] == {("airyard", "test-airflow-api-server")}
    assert subjects["test-airflow-cleaner"] == {("airyard", "test-airflow-cleanup")}
    assert _rules(find(docs, "Role", "test-airflow-cleaner")) == {("pods",): {"get", "list", "watch", "delete"}}
    namespace = find(docs, "Namespace")
    assert namespace["metadata"]["name"] == "airyard-tasks"
    assert not [d for d in render(CHART, {"tasks": {"createNamespace": False}}) if d["kind"] == "Namespace"]


def test_no_platform_credential_is_written_into_the_tasks_namespace() -> None:
    values = {"tasks": {"secrets": ["{{ .Release.Name }}-objectstore-user-weather"]}}
    tasks = _secrets(values, release="test", namespace="airyard-tasks")
    assert set(tasks) == {"test-airflow-connections", "test-objectstore-user-weather"}
    assert tasks["test-objectstore-user-weather"]["copy"] == "test-objectstore-user-weather"
    assert all("generate" not in s for s in tasks.values())
    assert tasks["test-airflow-connections"]["json"] == _secrets(release="test")["test-airflow-connections"]["json"]
    # The secrets Job may write there the Secrets it copies, and read only their sources here.
    docs = render(CHART, values, release="test")
    (names,) = [
        r["resourceNames"]
        for r in find_in(docs, "Role", "test-airflow-bootstrap-secrets", "airyard-tasks")["rules"]
        if "resourceNames" in r
    ]
    assert sorted(names) == ["test-airflow-connections", "test-objectstore-user-weather"]


def test_pods_started_by_task_code_may_reference_only_the_secrets_kept_for_tasks() -> None:
    values = {"tasks": {"secrets": ["{{ .Release.Name }}-objectstore-user-weather"]}}
    docs = render(CHART, values, release="test")
    policy = find(docs, "ValidatingAdmissionPolicy", "airyard-tasks-pods")
    allowed = search("spec.variables[?name=='allowed'].expression | [0]", policy)
    assert set(json.loads(allowed.replace("'", '"'))) == {
        "test-airflow-connections",
        "test-airflow-external-connections",
        "test-objectstore-user-weather",
    }
    condition = policy["spec"]["matchConditions"][0]["expression"]
    assert "'test-airflow-worker-pods'" in condition
    assert "'test-spark-operator-spark'" in condition
    assert "system:serviceaccount:airyard-tasks:" in condition
    binding = find(docs, "ValidatingAdmissionPolicyBinding", "airyard-tasks-pods")
    assert binding["spec"]["validationActions"] == ["Deny"]
    assert binding["spec"]["matchResources"]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "airyard-tasks"
    }


def find_in(docs: list[dict], kind: str, name: str, namespace: str) -> dict:
    (doc,) = [
        d
        for d in docs
        if d["kind"] == kind and d["metadata"]["name"] == name and d["metadata"].get("namespace") == namespace
    ]
    return doc


def test_pods_are_restricted_and_renders_identical() -> None:
    assert_restricted(render(CHART))
    assert_deterministic(CHART, {"pools": {"a": {"slots": 1}}, "variables": {"x": 1}})


def test_bad_values_are_rejected_naming_the_key() -> None:
    assert_rejects(CHART, {"pools": {"spark": {"slots": "two"}}}, "/pools/spark/slots")
    assert_rejects(CHART, {"variables": {"bad-name": 1}}, "bad-name")
    assert_rejects(CHART, {"connections": {"platform": {"kafak": True}}}, "kafak")
