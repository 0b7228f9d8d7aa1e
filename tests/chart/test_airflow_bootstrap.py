"""charts/airflow-bootstrap: the Airflow secrets, connections, variables, pools and admin user."""

from __future__ import annotations

import json

from tests.chart.common import (
    assert_deterministic,
    assert_rejects,
    assert_restricted,
    env_sources,
    find,
    render,
    secrets_job_spec,
)
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


CONNECTIONS = {
    "connections": {
        "mlflowUser": "ml",
        "objectstoreUsers": ["domains"],
        "mongoUsers": ["weather"],
        "kafkaUsers": ["movies"],
    }
}


def test_platform_connections_come_from_the_service_charts_secrets() -> None:
    conn = _secrets(CONNECTIONS)["airyard-airflow-connections"]
    assert "generate" not in conn, "derived only: re-derived when the platform changes"
    documents = {k: json.loads(json.dumps(v)) for k, v in conn["json"].items()}
    assert set(documents) == {
        "AIRFLOW_CONN_POSTGRES_MLSP",
        "AIRFLOW_CONN_REDIS_DEFAULT",
        "AIRFLOW_CONN_KAFKA_MOVIES",
        "AIRFLOW_CONN_MONGO_DEFAULT",
        "AIRFLOW_CONN_MONGO_WEATHER",
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
    # Read to fill the documents in, never written beside them (the Secret holds connections only).
    assert "from" not in conn
    inputs = conn["inputs"]
    assert inputs["pg_mlsp_password"] == "airyard-postgresql-mlsp/password"
    assert inputs["kafka_bootstrap"] == "airyard-kafka-connection/bootstrap-servers"
    # Scoped identities only: bucket-limited object store users, a non-admin MLflow user, the
    # weather database's own user.
    assert inputs["s3_airflow_access_key"] == "airyard-objectstore-user-airflow/access-key"
    assert inputs["s3_domains_secret_key"] == "airyard-objectstore-user-domains/secret-key"
    assert inputs["mlflow_password"] == "airyard-mlflow-user-ml/password"
    assert inputs["mongo_weather_password"] == "airyard-mongodb-weather/password"
    assert documents["AIRFLOW_CONN_MONGO_WEATHER"]["schema"] == "weather"
    # Kafka with authentication: the pipeline's SCRAM user, limited by ACLs; no kafka_default.
    assert documents["AIRFLOW_CONN_KAFKA_MOVIES"]["extra"] == {
        "bootstrap.servers": "{kafka_bootstrap}",
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "{kafka_movies_mechanism}",
        "sasl.username": "{kafka_movies_username}",
        "sasl.password": "{kafka_movies_password}",
    }
    assert inputs["kafka_movies_password"] == "airyard-kafka-user-movies/password"
    assert not [
        ref
        for ref in inputs.values()
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
    assert not [ref for ref in conn["inputs"].values() if "kafka" in ref or "mongodb" in ref]


def test_variables_become_environment_of_every_airflow_pod_and_every_worker() -> None:
    docs = render(CHART, {"variables": {"max_popular_pages": 5, "flag": True}})
    maps = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].endswith("-variables")]
    assert {(cm["metadata"]["namespace"], cm["metadata"]["name"]) for cm in maps} == {
        ("airyard", "airyard-airflow-variables"),
        ("airyard-tasks", "airyard-airflow-variables"),
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
    assert env["ADMIN_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "airyard-airflow-admin", "key": "password"}
    other = next(
        d
        for d in render(CHART, {"pools": {"spark": {"slots": 3}}})
        if d["metadata"]["labels"].get("app.kubernetes.io/component") == "bootstrap"
    )
    assert other["metadata"]["name"] != job["metadata"]["name"]
    assert "helm.sh/hook" not in job["metadata"].get("annotations", {})


def _rules(role: dict) -> dict[tuple[str, ...], set[str]]:
    rules: dict[tuple[str, ...], set[str]] = {}
    for rule in role["rules"]:
        rules.setdefault(tuple(rule["resources"]), set()).update(rule["verbs"])
    return rules


def test_task_code_may_manage_pods_in_the_tasks_namespace_and_nothing_else() -> None:
    docs = render(CHART)
    account = find(docs, "ServiceAccount", "airyard-airflow-worker-pods")
    assert account["metadata"]["namespace"] == "airyard-tasks"
    role = find(docs, "Role", "airyard-airflow-worker-pods")
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
        if d["kind"] == "RoleBinding" and any(s["name"] == "airyard-airflow-worker-pods" for s in d["subjects"])
    ]
    assert [(b["metadata"]["namespace"], b["roleRef"]["name"]) for b in bound] == [
        ("airyard-tasks", "airyard-airflow-worker-pods")
    ]


def test_the_official_charts_components_get_their_pod_rights_in_the_tasks_namespace() -> None:
    docs = render(CHART)
    subjects = {
        d["roleRef"]["name"]: {(s["namespace"], s["name"]) for s in d["subjects"]}
        for d in docs
        if d["kind"] == "RoleBinding" and d["metadata"]["namespace"] == "airyard-tasks"
    }
    assert subjects["airyard-airflow-launcher"] == {
        ("airyard", "test-airflow-scheduler"),
        ("airyard", "test-airflow-triggerer"),
    }
    assert subjects["airyard-airflow-log-reader"] == {("airyard", "test-airflow-api-server")}
    assert subjects["airyard-airflow-cleaner"] == {("airyard", "test-airflow-cleanup")}
    assert _rules(find(docs, "Role", "airyard-airflow-cleaner")) == {("pods",): {"get", "list", "watch", "delete"}}
    namespace = find(docs, "Namespace")
    assert namespace["metadata"]["name"] == "airyard-tasks"
    assert not [d for d in render(CHART, {"tasks": {"createNamespace": False}}) if d["kind"] == "Namespace"]


def test_the_tasks_namespace_gets_each_connection_alone_and_no_platform_credential() -> None:
    values = {**CONNECTIONS, "tasks": {"secrets": ["{{ .Release.Name }}-objectstore-user-weather"]}}
    tasks = _secrets(values, release="test", namespace="airyard-tasks")
    platform = _secrets(values, release="test")["airyard-airflow-connections"]
    connections = {n: s for n, s in tasks.items() if n.startswith("airyard-airflow-conn-")}
    assert set(tasks) == {*connections, "test-objectstore-user-weather"}
    assert tasks["test-objectstore-user-weather"]["copy"] == "test-objectstore-user-weather"
    assert all("generate" not in s for s in tasks.values())
    # One Secret per connection, holding its document and reading only that connection's credentials.
    assert {k: v for s in connections.values() for k, v in s["json"].items()} == platform["json"]
    weather = connections["airyard-airflow-conn-mongo-weather"]
    assert list(weather["json"]) == ["AIRFLOW_CONN_MONGO_WEATHER"]
    assert weather["inputs"] == {
        "mongo_weather_user": "test-mongodb-weather/username",
        "mongo_weather_password": "test-mongodb-weather/password",
    }
    assert all("from" not in s for s in connections.values())
    # The secrets Job may write there the Secrets it makes, and nothing else.
    docs = render(CHART, values, release="test")
    (names,) = [
        r["resourceNames"]
        for r in find_in(docs, "Role", "test-airflow-bootstrap-secrets", "airyard-tasks")["rules"]
        if "resourceNames" in r
    ]
    assert sorted(names) == sorted(tasks)
    # What an upgrade stops naming there is deleted; the release namespace is never pruned.
    assert secrets_job_spec(docs)["prune"] == ["airyard-tasks"]
    pruning = [
        r for ns in ("airyard", "airyard-tasks")
        for r in find_in(docs, "Role", "test-airflow-bootstrap-secrets", ns)["rules"]
        if "delete" in r["verbs"]
    ]  # fmt: skip
    assert pruning == [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["list", "delete"]}]


def test_the_service_catalog_names_each_declarable_service_in_both_namespaces() -> None:
    docs = render(CHART, CONNECTIONS, release="test")
    maps = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "airyard-airflow-services"]
    assert {m["metadata"]["namespace"] for m in maps} == {"airyard", "airyard-tasks"}
    catalog = json.loads(maps[0]["data"]["AIRYARD_SERVICES"])
    assert sorted(catalog) == [
        "kafka:movies",
        "mlflow",
        "model-serving",
        "mongodb:movies",
        "mongodb:weather",
        "objectstore:domains",
        "postgresql:mlsp",
        "redis",
    ]
    assert catalog["objectstore:domains"] == {
        "connection": "objectstore_domains",
        "secret": "airyard-airflow-conn-objectstore-domains",
        "network": "objectstore",
    }
    assert catalog["mongodb:movies"]["connection"] == "mongo_default"


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


def _policies(values: dict | None = None) -> dict[tuple[str, str], dict]:
    docs = render(CHART, values, release="airyard")
    return {
        (d["metadata"].get("namespace", "airyard"), d["metadata"]["name"]): d["spec"]
        for d in docs
        if d["kind"] == "NetworkPolicy"
    }


def test_both_namespaces_deny_everything_but_dns_and_the_kubernetes_api_for_its_clients() -> None:
    policies = _policies({"networkPolicy": {"kubeAPI": {"cidrs": ["172.18.0.2/32"]}}})
    for ns in ("airyard", "airyard-tasks"):
        deny = policies[(ns, "airyard-airflow-default-deny")]
        assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
        dns = policies[(ns, "airyard-airflow-dns")]
        assert dns["podSelector"] == {}
        assert dns["egress"][0]["ports"] == [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]
        assert dns["egress"][0]["to"][0]["podSelector"] == {"matchLabels": {"k8s-app": "kube-dns"}}
        api = policies[(ns, "airyard-airflow-kube-api")]
        assert api["podSelector"] == {"matchLabels": {"airyard.io/kube-api-client": "true"}}
        assert api["egress"] == [
            {
                "to": [{"ipBlock": {"cidr": "172.18.0.2/32"}}],
                "ports": [{"port": 443, "protocol": "TCP"}, {"port": 6443, "protocol": "TCP"}],
            }
        ]
        # No alerts egress unless its destinations are listed.
        assert (ns, "airyard-airflow-alerts") not in policies
    # helm template cannot look the API server up: its ports, at any address.
    assert _policies()[("airyard", "airyard-airflow-kube-api")]["egress"][0]["to"] == [
        {"ipBlock": {"cidr": "0.0.0.0/0"}}
    ]
    assert not _policies({"networkPolicy": {"enabled": False}})


def test_only_pods_that_declare_an_outside_system_leave_the_cluster_and_only_to_public_addresses() -> None:
    external = _policies()[("airyard-tasks", "airyard-airflow-external")]
    assert external["podSelector"] == {"matchLabels": {"airyard.io/external-client": "true"}}
    (rule,) = external["egress"]
    assert rule["ports"] == [{"port": 443, "protocol": "TCP"}]
    block = rule["to"][0]["ipBlock"]
    assert block["cidr"] == "0.0.0.0/0"
    assert {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"} <= set(block["except"])
    relay = {"ipBlock": {"cidr": "192.0.2.25/32"}}
    alerts = _policies({"networkPolicy": {"alerts": {"to": [relay], "ports": [587]}}})
    assert alerts[("airyard-tasks", "airyard-airflow-alerts")]["egress"] == [
        {"to": [relay], "ports": [{"port": 587, "protocol": "TCP"}]}
    ]


def test_workers_reach_the_execution_api_and_spark_pods_each_other_in_the_tasks_namespace() -> None:
    policies = _policies()
    workers = policies[("airyard-tasks", "airyard-airflow-workers")]
    assert workers["podSelector"] == {"matchLabels": {"tier": "airflow", "component": "worker"}}
    (rule,) = workers["egress"]
    assert rule["ports"] == [{"port": 8080, "protocol": "TCP"}]
    assert rule["to"][0]["podSelector"]["matchLabels"]["component"] == "api-server"
    assert rule["to"][0]["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "airyard"}}
    api = policies[("airyard", "airyard-airflow-execution-api")]
    assert api["podSelector"]["matchLabels"]["component"] == "api-server"
    assert api["ingress"] == [
        {
            "from": [
                {
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "airyard-tasks"}},
                    "podSelector": {"matchLabels": {"tier": "airflow", "component": "worker"}},
                }
            ],
            "ports": [{"port": 8080, "protocol": "TCP"}],
        }
    ]
    # Task pods reach each service a task may declare (the catalog), by its client label, and every
    # worker the object store (task logs).
    catalog = json.loads(
        find_in(render(CHART, release="airyard"), "ConfigMap", "airyard-airflow-services", "airyard-tasks")["data"][
            "AIRYARD_SERVICES"
        ]
    )
    networks = {s["network"] for s in catalog.values() if s.get("network")} | {"objectstore"}
    assert len(networks) > 1
    for network in networks:
        clients = policies[("airyard-tasks", f"airyard-airflow-{network}-clients")]
        assert clients["podSelector"] == {"matchLabels": {f"airyard.io/{network}-client": "true"}}
        (to,) = clients["egress"][0]["to"]
        assert to["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == network
    spark = policies[("airyard-tasks", "airyard-airflow-spark")]
    assert spark["policyTypes"] == ["Ingress", "Egress"]


def test_egress_open_to_everything_needs_the_explicit_switch() -> None:
    everywhere = {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [443]}
    assert_rejects(CHART, {"networkPolicy": {"external": everywhere}}, "networkPolicy.external.to", "allowOpenEgress")
    any_port = {"to": [{"ipBlock": {"cidr": "192.0.2.0/24"}}], "ports": []}
    assert_rejects(CHART, {"networkPolicy": {"alerts": any_port}}, "networkPolicy.alerts", "every port")
    opened = _policies({"networkPolicy": {"external": everywhere, "allowOpenEgress": True}})
    assert opened[("airyard", "airyard-airflow-external")]["egress"][0]["to"] == everywhere["to"]
    assert_rejects(CHART, {"networkPolicy": {"kubeAPI": {"cidrs": ["apiserver"]}}}, "cidrs")


def _migrations(values: dict | None = None) -> tuple[dict, list[dict]]:
    docs = render(CHART, values)
    job = next(
        d for d in docs if d["kind"] == "Job" and d["metadata"]["labels"]["app.kubernetes.io/component"] == "migrations"
    )
    return job, docs


def test_migrations_run_once_per_image_after_a_backup_of_a_database_they_would_change() -> None:
    job, docs = _migrations()
    pod = job["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["initContainers"]] == ["schema", "backup-first"]
    # The image's revisions pass from the Airflow container to the toolbox one through a volume.
    schema, backup_first_container = pod["initContainers"]
    assert {"name": "schema", "mountPath": "/schema-out"} in schema["volumeMounts"]
    assert {"name": "schema", "mountPath": "/schema-out", "readOnly": True} in backup_first_container["volumeMounts"]
    assert pod["containers"][0]["command"] == ["airflow", "db", "migrate"]
    backup_first = env_sources(pod["initContainers"][1])
    assert backup_first["BACKUP_CRONJOB"] == "test-backup"
    assert backup_first["SCHEMA_CONFIGMAP"] == "airyard-airflow-schema"
    assert backup_first["PGPASSWORD"] == ("test-postgresql-airflow", "password")
    # Only the container that talks to the Kubernetes API holds a token.
    assert pod["automountServiceAccountToken"] is False
    with_token = [
        c["name"] for c in pod["initContainers"] + pod["containers"] if "kube-api" in str(c.get("volumeMounts"))
    ]
    assert with_token == ["backup-first"]
    role = find(docs, "Role", "test-airflow-bootstrap-migrations")
    assert _rules(role) == {
        ("configmaps",): {"create", "get", "update"},
        ("cronjobs",): {"get"},
        ("jobs",): {"create", "get"},
    }
    # Another image is another Job (a Job's pod template is immutable); the same image, the same Job.
    same, _ = _migrations()
    other, _ = _migrations({"image": {"tag": "0.2.0"}})
    assert same["metadata"]["name"] == job["metadata"]["name"] != other["metadata"]["name"]
    assert "helm.sh/hook" not in job["metadata"].get("annotations", {})


def test_migrations_without_a_backup_need_no_rights_on_jobs() -> None:
    job, docs = _migrations({"migrations": {"backupFirst": False}})
    assert env_sources(job["spec"]["template"]["spec"]["initContainers"][1])["BACKUP_CRONJOB"] == ""
    assert _rules(find(docs, "Role", "test-airflow-bootstrap-migrations")) == {
        ("configmaps",): {"create", "get", "update"}
    }
