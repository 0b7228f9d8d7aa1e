"""charts/airyard: the whole platform in one chart.

Everything we own renders without the official Airflow chart (CI cannot fetch it). With
AIRFLOW_CHART pointing at a local copy of the official chart, the full umbrella is rendered too:
it must pass the official chart's values schema and validate against Kubernetes 1.35.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.chart import umbrella
from tests.chart.common import assert_restricted
from tests.chart.helm import HelmError, render, render_raw


@pytest.fixture(scope="module")
def ours(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return umbrella.assemble(tmp_path_factory.mktemp("ours"), with_official=False)


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> Path:
    umbrella.needs_official()
    return umbrella.assemble(tmp_path_factory.mktemp("full"), with_official=True)


def _names(docs: list[dict]) -> set[str]:
    return {f"{d['kind']}/{d['metadata']['name']}" for d in docs}


def test_everything_we_own_renders_and_validates_without_the_official_chart(ours: Path) -> None:
    docs = render(ours, release="airyard")
    names = _names(docs)
    for workload in ("postgresql", "redis", "kafka", "mongodb", "objectstore"):
        assert f"StatefulSet/airyard-{workload}" in names
    assert "Deployment/airyard-mlflow" in names
    assert "ServiceAccount/airyard-airflow-worker-pods" in names
    assert_restricted([d for d in docs if d["kind"] != "Deployment" or "spark" not in d["metadata"]["name"]])


# Credentials are generated once by Jobs; a template renders only Secrets that hold none.
CREDENTIAL_FREE_SECRETS = {"airyard-kafka-connection"}


def test_renders_are_identical_and_hold_no_credentials(ours: Path) -> None:
    first = render_raw(ours, release="airyard")
    assert first == render_raw(ours, release="airyard")
    secrets = {d["metadata"]["name"] for d in yaml.safe_load_all(first) if d and d["kind"] == "Secret"}
    assert secrets <= CREDENTIAL_FREE_SECRETS


def _pod_templates(doc: dict) -> list[dict]:
    spec = doc.get("spec", {})
    if doc["kind"] == "CronJob":
        return [spec["jobTemplate"]["spec"]["template"]]
    return [spec["template"]] if "spec" in spec.get("template", {}) else []


def _references(pod: dict) -> set[tuple[str, str]]:
    """The ServiceAccount, Secrets and ConfigMaps a pod cannot start without."""
    # "default" and the ConfigMap kube-root-ca.crt are every namespace's own.
    refs = {("ServiceAccount", pod["serviceAccountName"])} if pod.get("serviceAccountName") else set()
    for c in pod.get("initContainers", []) + pod["containers"]:
        for src in c.get("envFrom", []):
            for kind, key in (("Secret", "secretRef"), ("ConfigMap", "configMapRef")):
                if key in src and not src[key].get("optional"):
                    refs.add((kind, src[key]["name"]))
        for env in c.get("env", []):
            for kind, key in (("Secret", "secretKeyRef"), ("ConfigMap", "configMapKeyRef")):
                ref = env.get("valueFrom", {}).get(key)
                if ref and not ref.get("optional"):
                    refs.add((kind, ref["name"]))
    for volume in pod.get("volumes", []):
        for src in [volume, *volume.get("projected", {}).get("sources", [])]:
            if "secret" in src and not src["secret"].get("optional"):
                refs.add(("Secret", src["secret"].get("secretName") or src["secret"]["name"]))
            if "configMap" in src and not src["configMap"].get("optional"):
                refs.add(("ConfigMap", src["configMap"]["name"]))
    return refs - {("ConfigMap", "kube-root-ca.crt")}


@pytest.mark.parametrize(("release", "namespace"), [("airyard", "airyard"), ("lake", "data-platform")])
def test_any_release_name_renders_a_platform_whose_references_all_resolve(
    full: Path, release: str, namespace: str
) -> None:
    """Every ServiceAccount, Secret and ConfigMap a pod needs is rendered or written by a secrets
    Job of the same release (the official chart's values name airflow-bootstrap's Secrets
    literally), and every client label a pod carries is one a NetworkPolicy admits."""
    from airyard import cluster

    docs = render(full, release=release, namespace=namespace)
    tasks = f"{namespace}-tasks"
    made = {(d["kind"], d["metadata"].get("namespace", namespace), d["metadata"]["name"]) for d in docs}
    pods = []  # (where, namespace, pod template)
    for d in docs:
        ns = d["metadata"].get("namespace", namespace)
        for template in _pod_templates(d):
            pods.append((f"{d['kind']}/{d['metadata']['name']}", ns, template))
            args = template["spec"]["containers"][0].get("args", [])
            if d["kind"] == "Job" and args[:1] == ["--spec"]:
                made |= {("Secret", s.get("namespace", ns), s["name"]) for s in json.loads(args[1]).get("secrets", [])}
    config = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == f"{release}-config")
    pods.append(("worker pod template", tasks, yaml.safe_load(config["data"]["pod_template_file.yaml"])))

    missing = sorted(
        f"{where}: {kind} {ns}/{name}"
        for where, ns, pod in pods
        for kind, name in _references(pod["spec"])
        if (kind, ns, name) not in made
    )
    assert not missing
    # What task code names literally (plugins/airyard/cluster.py) exists for this release too.
    assert ("ServiceAccount", tasks, cluster.SPARK_SERVICE_ACCOUNT) in made
    assert ("Secret", tasks, cluster.EXTERNAL_CONNECTIONS) not in made, "the user's own Secret"
    assert f"'{cluster.EXTERNAL_CONNECTIONS}'" in str(next(d for d in docs if d["kind"] == "ValidatingAdmissionPolicy"))

    admitted = set()
    for policy in (d for d in docs if d["kind"] == "NetworkPolicy"):
        admitted |= set(policy["spec"]["podSelector"].get("matchLabels", {}))
        for rule in policy["spec"].get("ingress", []):
            admitted |= {k for peer in rule.get("from", []) for k in peer.get("podSelector", {}).get("matchLabels", {})}
    clients = {k for _, _, pod in pods for k in pod["metadata"].get("labels", {}) if k.endswith("-client")}
    assert {"airyard.io/kube-api-client", "airyard.io/postgresql-client"} <= clients
    assert clients <= admitted, clients - admitted


def test_two_migration_jobs_are_refused(ours: Path) -> None:
    with pytest.raises(HelmError) as err:
        render(ours, {"airflow": {"migrateDatabaseJob": {"enabled": True}}}, release="airyard")
    assert "airflow.migrateDatabaseJob.enabled and airflow-bootstrap.migrations.enabled" in err.value.stderr
    values = {
        "airflow": {"migrateDatabaseJob": {"enabled": True}},
        "airflow-bootstrap": {"migrations": {"enabled": False}},
    }
    assert not [d for d in render(ours, values, release="airyard") if "migrations" in d["metadata"]["name"]]


def test_the_migration_job_runs_the_image_the_components_run(ours: Path) -> None:
    new = {"airflow": {"images": {"airflow": {"tag": "0.2.0"}}}}
    with pytest.raises(HelmError) as err:
        render(ours, new, release="airyard")
    assert "airflow.images.airflow (airyard/airflow:0.2.0) and airflow-bootstrap.image (airyard/airflow:0.1.0)" in (
        err.value.stderr
    )
    both = {**new, "airflow-bootstrap": {"image": {"tag": "0.2.0"}}}
    jobs = [d for d in render(ours, both, release="airyard") if "migrations-" in d["metadata"]["name"]]
    assert [c["image"] for c in jobs[0]["spec"]["template"]["spec"]["containers"]] == ["airyard/airflow:0.2.0"]


def test_disabled_services_are_not_installed(ours: Path) -> None:
    # Each service's connections are switched off with it (airflow-bootstrap.connections.platform):
    # the tasks namespace's policies towards it follow them.
    values = {
        "kafka": {"enabled": False},
        "mongodb": {"enabled": False},
        "airflow-bootstrap": {"connections": {"platform": {"kafka": False, "mongodb": False}}},
    }
    docs = render(ours, values, release="airyard")
    assert not [n for n in _names(docs) if "kafka" in n or "mongodb" in n]


def test_full_umbrella_renders_validates_and_is_deterministic(full: Path) -> None:
    first = render_raw(full, release="airyard")
    assert first == render_raw(full, release="airyard")
    docs = render(full, release="airyard")
    names = _names(docs)
    for component in ("api-server", "scheduler", "dag-processor", "triggerer"):
        assert f"Deployment/airyard-{component}" in names
    # airflow-bootstrap's migration Job, named by a hash, replaces the official chart's.
    assert not [n for n in names if "run-airflow-migrations" in n or "migrate-database" in n]
    assert [n for n in names if n.startswith("Job/airyard-airflow-bootstrap-migrations-")]
    assert "CronJob/airyard-backup" in names
    assert {d["metadata"]["name"] for d in docs if d["kind"] == "Secret"} <= CREDENTIAL_FREE_SECRETS
    hooks = [
        f"{d['kind']}/{d['metadata']['name']}" for d in docs if "helm.sh/hook" in d["metadata"].get("annotations", {})
    ]
    assert hooks == []
    assert not [d for d in docs if d["kind"] == "PersistentVolumeClaim"], "no 100Gi triggerer or logs volume"


def test_upgrades_keep_the_api_server_up_and_replace_the_other_components(full: Path) -> None:
    """Running tasks heartbeat to the api-server, so it surges; the others fit a full node by replacing."""
    docs = render(full, release="airyard")
    rolling = {
        d["metadata"]["name"]: d["spec"]["strategy"]["rollingUpdate"]
        for d in docs
        if d["kind"] == "Deployment"
        and d["metadata"]["labels"].get("tier") == "airflow"
        # StatsD holds no task state: the Deployment default replaces it.
        and d["metadata"]["labels"].get("component") != "statsd"
    }
    assert rolling.pop("airyard-api-server") == {"maxSurge": 1, "maxUnavailable": 0}
    assert set(rolling) == {"airyard-scheduler", "airyard-dag-processor", "airyard-triggerer"}
    assert all(r == {"maxSurge": 0, "maxUnavailable": 1} for r in rolling.values())


def test_worker_pod_template_is_ours(full: Path) -> None:
    docs = render(full, release="airyard")
    config = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "airyard-config")
    pod = yaml.safe_load(config["data"]["pod_template_file.yaml"])
    container = pod["spec"]["containers"][0]
    assert pod["spec"]["serviceAccountName"] == "airyard-airflow-worker-pods"
    assert container["name"] == "base"
    assert pod["spec"]["restartPolicy"] == "Never"
    assert container["image"] == "airyard/airflow:0.1.0"
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert not {
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
        "AIRFLOW__API_AUTH__JWT_SECRET",
        "AIRFLOW__CORE__FERNET_KEY",
    } & set(env)
    # No Secret of the platform namespace: the only values read at start are the pod's own, which
    # make it the owner of the pods its task starts (TaskPodOperator).
    refs = {e["name"]: e["valueFrom"] for e in container["env"] if "valueFrom" in e}
    assert refs == {
        "AIRYARD_POD_NAME": {"fieldRef": {"fieldPath": "metadata.name"}},
        "AIRYARD_POD_UID": {"fieldRef": {"fieldPath": "metadata.uid"}},
    }
    # No platform service's connection: a task gets those it declares (executor_config).
    assert container["envFrom"] == [
        {"configMapRef": {"name": "airyard-airflow-variables"}},
        {"configMapRef": {"name": "airyard-airflow-services"}},
        {"secretRef": {"name": "airyard-airflow-conn-kubernetes-default"}},
        {"secretRef": {"name": "airyard-airflow-conn-airyard-logs"}},
        {"secretRef": {"name": "airyard-airflow-external-connections", "optional": True}},
    ]
    # airflow.cfg's ConfigMap stays in the platform namespace: workers get the same settings as env.
    assert "remote_logging = True" in config["data"]["airflow.cfg"]
    assert env["AIRFLOW__LOGGING__REMOTE_LOGGING"] == "True"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airyard-api-server.airyard.svc:8080/execution/"
    assert "config" not in {v["name"] for v in pod["spec"]["volumes"]}
    clients = {k for k in pod["metadata"]["labels"] if k.endswith("-client")}
    # The task-log store, and the Kubernetes API (a worker starts its task's pods); the rest is declared.
    assert clients == {"airyard.io/objectstore-client", "airyard.io/kube-api-client"}


def test_task_code_runs_in_the_tasks_namespace_and_the_platform_grants_no_pod_rights(full: Path) -> None:
    docs = render(full, release="airyard")
    config = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "airyard-config")
    assert "namespace = airyard-tasks" in config["data"]["airflow.cfg"]
    (cleanup,) = [d for d in docs if d["kind"] == "CronJob" and d["metadata"]["name"] == "airyard-cleanup"]
    assert "--namespace=airyard-tasks" in str(cleanup["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"])
    platform_pod_rights = [
        d["metadata"]["name"]
        for d in docs
        if d["kind"] in {"Role", "ClusterRole"}
        and d["metadata"].get("namespace", "airyard") == "airyard"
        and any("pods" in r.get("resources", []) and {"create", "*"} & set(r["verbs"]) for r in d["rules"])
    ]
    assert platform_pod_rights == []
    readers = [d["metadata"]["name"] for d in docs if d["kind"] == "Role" and "pods/log" in str(d["rules"])]
    assert [n for n in readers if "log-reader" in n] == ["airyard-airflow-log-reader"], "only in the tasks namespace"
    submit = next(
        d for d in docs if d["kind"] == "RoleBinding" and d["metadata"]["name"] == "airyard-spark-operator-submit"
    )
    assert submit["subjects"] == [
        {"kind": "ServiceAccount", "name": "airyard-airflow-worker-pods", "namespace": "airyard-tasks"}
    ]
    spark = next(
        d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "airyard-spark-operator-controller"
    )
    assert "--namespaces=airyard-tasks" in spark["spec"]["template"]["spec"]["containers"][0]["args"]


def test_invalid_overlay_values_are_rejected_by_the_official_schema(full: Path) -> None:
    with pytest.raises(HelmError) as err:
        render_raw(full, {"airflow": {"scheduler": {"replicas": "two"}}}, release="airyard")
    assert "replicas" in err.value.stderr


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"kafak": {"enabled": False}}, "additional properties 'kafak' not allowed"),
        ({"global": {"toolbox": "x"}}, "at '/global': additional properties 'toolbox' not allowed"),
        ({"global": {"tasks": {"namespace": "Tasks_NS"}}}, "/global/tasks/namespace"),
        ({"redis": {"enabled": "no"}}, "got string, want boolean"),
    ],
    ids=["typo at the top", "typo in global", "namespace not a DNS label", "switch not a boolean"],
)
def test_the_umbrella_schema_rejects_what_it_owns(ours: Path, values: dict, message: str) -> None:
    with pytest.raises(HelmError) as err:
        render_raw(ours, values, release="airyard")
    assert message in err.value.stderr


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"airflow-bootstrap": {"connections": {"kafkaUsers": ["movies", "sports"]}}},
            'connections.kafkaUsers names "sports", which kafka.auth.users does not define',
        ),
        (
            {"airflow-bootstrap": {"connections": {"logsUser": "nobody"}}},
            'connections.logsUser names "nobody", which objectstore.users does not define',
        ),
        (
            {"airflow-bootstrap": {"connections": {"mongoUsers": ["sports"]}}},
            'connections.mongoUsers names "sports", which mongodb.databases does not define',
        ),
        (
            {"airflow-bootstrap": {"connections": {"mlflowUser": "data"}}},
            'connections.mlflowUser names "data", which mlflow.auth.users does not define',
        ),
    ],
    ids=["a Kafka identity", "the task-log writer", "a MongoDB database", "an MLflow user"],
)
def test_a_connection_to_an_identity_its_service_lacks_fails_early(ours: Path, values: dict, message: str) -> None:
    with pytest.raises(HelmError) as err:
        render_raw(ours, values, release="airyard")
    assert message in err.value.stderr


def test_airflow_metrics_go_to_our_statsd_exporter_from_every_component_and_worker(full: Path) -> None:
    """StatsD from the scheduler, dag-processor, triggerer and worker pods (tags as labels, no legacy
    names with DAG and task names in them), read by the metrics chart's store, with the pipelines'
    own mappings."""
    docs = render(full, release="airyard")
    statsd = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "airyard-statsd")
    container = statsd["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "airyard/metrics:0.1.0"
    assert container["args"][0] == "statsd_exporter"
    mappings = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "airyard-statsd")
    by_match = {m["match"]: m for m in yaml.safe_load(mappings["data"]["mappings.yml"])["mappings"]}
    names = {m["name"] for m in by_match.values()}
    assert {"airyard_pipeline_records_total", "airyard_freshness_age_seconds"} <= names
    # Durations as histograms: their quantiles hold over any window and sum across pods.
    for timer in ("airflow.task.duration", "airflow.dagrun.duration.*"):
        assert by_match[timer]["observer_type"] == "histogram", by_match[timer]
    config = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "airyard-config")
    pod = yaml.safe_load(config["data"]["pod_template_file.yaml"])
    env = {e["name"]: e.get("value") for e in pod["spec"]["containers"][0]["env"]}
    assert env["AIRFLOW__METRICS__STATSD_ON"] == "True"
    assert env["AIRFLOW__METRICS__STATSD_HOST"] == "airyard-statsd.airyard.svc"
    assert env["AIRFLOW__METRICS__STATSD_INFLUXDB_ENABLED"] == "True"
    assert env["AIRFLOW__METRICS__LEGACY_NAMES_ON"] == "False"
    policy = next(d for d in docs if d["kind"] == "NetworkPolicy" and d["metadata"]["name"] == "airyard-airflow-statsd")
    (workers, scrapers) = policy["spec"]["ingress"]
    assert workers["ports"] == [{"port": 9125, "protocol": "UDP"}]
    assert scrapers["from"] == [{"podSelector": {"matchLabels": {"airyard.io/metrics-client": "true"}}}]
    store = next(d for d in docs if d["kind"] == "StatefulSet" and d["metadata"]["name"] == "airyard-metrics-store")
    assert store["spec"]["template"]["metadata"]["labels"]["airyard.io/metrics-client"] == "true"
