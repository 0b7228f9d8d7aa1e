"""charts/metrics: render, validate against Kubernetes 1.35 (and the Prometheus Operator's CRDs),
assert on the objects."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from tests.chart.common import assert_deterministic, assert_rejects, assert_restricted, env_sources
from tests.chart.helm import find, render, search

CHART = "metrics"
#: The alerts the platform promises (README, "Metrics"): one rule each.
ALERTS = {
    "AirflowSchedulerNotHeartbeating",
    "AirflowDagProcessorNotHeartbeating",
    "AirflowTriggererNotHeartbeating",
    "AirflowTaskFailureRate",
    "AirflowImportErrors",
    "KafkaConsumerLag",
    "LayerFreshnessBreached",
    "VolumeFillingUp",
    "NodeFilesystemFillingUp",
    "PodCrashLooping",
    "NoRecentBackup",
}


def _config(docs: list[dict[str, Any]]) -> dict[str, str]:
    return find(docs, "ConfigMap", "test-metrics")["data"]


def _rules(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    groups = yaml.safe_load(_config(docs)["rules.yml"])["groups"]
    return {r.get("alert") or r["record"]: r for g in groups for r in g["rules"]}


def _dashboard_queries(docs: list[dict[str, Any]]) -> dict[str, list[str]]:
    dashboards = find(docs, "ConfigMap", "test-metrics-dashboards")["data"]
    return {
        name: [e for row in json.loads(text)["rows"] for panel in row["panels"] for e in panel["expr"]]
        for name, text in dashboards.items()
    }


def test_the_store_scrapes_every_exporter_of_the_release_and_the_nodes() -> None:
    docs = render(CHART)
    store = find(docs, "StatefulSet", "test-metrics-store")
    args = search("spec.template.spec.containers[0].command", store)
    assert args[0] == "victoria-metrics"
    assert "-retentionPeriod=15d" in args
    assert "-vmui.customDashboardsPath=/etc/metrics/dashboards" in args
    scrape = yaml.safe_load(_config(docs)["scrape.yml"])
    jobs = {j["job_name"]: j for j in scrape["scrape_configs"]}
    assert set(jobs) == {
        "alerting",
        "alertmanager",
        "kube-state-metrics",
        "services",
        "airflow",
        "objectstore",
        "kubelet",
        "cadvisor",
    }
    # Airflow's StatsD exporter is the official chart's pod, found by its labels and port.
    keeps = {
        tuple(r["source_labels"]): r["regex"] for r in jobs["airflow"]["relabel_configs"] if r.get("action") == "keep"
    }
    assert keeps[("__meta_kubernetes_pod_label_component",)] == "statsd"
    assert keeps[("__meta_kubernetes_pod_container_port_number",)] == "9102"
    assert jobs["objectstore"]["metrics_path"] == "/minio/v2/metrics/cluster"
    assert jobs["cadvisor"]["relabel_configs"][1]["replacement"] == "/api/v1/nodes/$1/proxy/metrics/cadvisor"
    labels = search("spec.template.metadata.labels", store)
    assert labels["airyard.io/kube-api-client"] == "true"
    assert labels["airyard.io/metrics-client"] == "true"
    assert_restricted(docs)
    assert_deterministic(CHART)


def test_cadvisor_keeps_the_release_containers_and_the_nodes_filesystems_only() -> None:
    """On kind (local-path) the kubelet measures no volume: the node filesystems holding them are
    what fills up, and the only other series cAdvisor writes that the rules read."""
    scrape = yaml.safe_load(_config(render(CHART))["scrape.yml"])
    (keep, drop) = next(j for j in scrape["scrape_configs"] if j["job_name"] == "cadvisor")["metric_relabel_configs"]
    assert keep["source_labels"] == ["__name__", "namespace", "container", "id", "device"]
    assert drop["source_labels"] == ["device"]
    kept = {
        "container_memory_working_set_bytes;airyard;scheduler;/kubepods/x;": True,
        "container_memory_working_set_bytes;airyard;;/kubepods/x;": False,  # the pod's cgroup
        "container_memory_working_set_bytes;kube-system;etcd;/kubepods/y;": False,
        "container_fs_usage_bytes;;;/;/dev/vda": True,
        "container_fs_limit_bytes;;;/;/dev/nvme0n1p1": True,
        "container_fs_usage_bytes;;;/;/run": False,  # tmpfs
        "container_fs_usage_bytes;;;/;/dev/shm": False,
        "container_fs_usage_bytes;airyard;scheduler;/kubepods/x;/dev/vda": False,
        "container_fs_reads_total;;;/;/dev/vda": False,
    }

    def is_kept(series: str) -> bool:
        device = series.rsplit(";", 1)[1]
        return re.fullmatch(keep["regex"], series) is not None and re.fullmatch(drop["regex"], device) is None

    assert {series: is_kept(series) for series in kept} == kept


def test_every_promised_alert_has_a_rule_with_the_thresholds_written_in() -> None:
    rules = _rules(render(CHART, {"alerting": {"thresholds": {"backupAgeHours": 30, "kafkaLag": 500}}}))
    assert set(rules) >= ALERTS
    assert "${" not in json.dumps(rules)
    assert "> 108000" in rules["NoRecentBackup"]["expr"]
    assert "> 500" in rules["KafkaConsumerLag"]["expr"]
    for name in ALERTS:
        assert rules[name]["labels"]["severity"] in {"warning", "critical"}, name
        assert rules[name]["annotations"]["summary"], name


def test_groups_can_be_dropped_and_added() -> None:
    extra = {
        "name": "team",
        "rules": [{"alert": "TooManyMovies", "expr": "sum(airyard_mongodb_collection_documents) > 1e6"}],
    }
    rules = _rules(render(CHART, {"alerting": {"disabledGroups": ["kubernetes"], "extraGroups": [extra]}}))
    assert "TooManyMovies" in rules
    assert "PodCrashLooping" not in rules
    assert "AirflowImportErrors" in rules


def test_vmalert_parses_every_rule_and_dashboard_query_before_it_starts() -> None:
    docs = render(CHART)
    alerting = find(docs, "Deployment", "test-metrics-alerting")
    (check,) = search("spec.template.spec.initContainers", alerting)
    assert check["command"][:2] == ["vmalert", "-dryRun"]
    assert "-rule=/etc/metrics/dashboard-queries.yml" in check["command"]
    queries = yaml.safe_load(_config(docs)["dashboard-queries.yml"])
    checked = {r["expr"] for g in queries["groups"] for r in g["rules"]}
    assert checked == {e for exprs in _dashboard_queries(docs).values() for e in exprs}
    command = search("spec.template.spec.containers[0].command", alerting)
    assert "-notifier.url=http://test-metrics-alertmanager:9093" in command


def test_a_malformed_rule_or_dashboard_query_fails_the_render_naming_it() -> None:
    assert_rejects(CHART, {"alerting": {"extraGroups": [{"name": "team", "rules": [{"alert": "NoExpr"}]}]}}, "expr")
    assert_rejects(
        CHART,
        {"alerting": {"extraGroups": [{"name": "team", "rules": [{"alert": "Bad Name", "expr": "up"}]}]}},
        "/alerting/extraGroups/0/rules/0",
    )
    broken = {"name": "team", "rules": [{"alert": "Unbalanced", "expr": "sum(rate(up[5m]) > 1"}]}
    assert_rejects(CHART, {"alerting": {"extraGroups": [broken]}}, "rule Unbalanced of group team", "unbalanced ()")
    panel = {"title": "Lag", "expr": ['max(airyard_kafka_consumergroup_lag{group="x)']}
    dashboard = {"title": "Team", "rows": [{"panels": [panel]}]}
    assert_rejects(CHART, {"dashboards": {"extra": {"team.json": dashboard}}}, 'panel "Lag" of dashboard team.json')


def test_alertmanager_follows_the_pipelines_connections_and_may_read_only_that_secret() -> None:
    docs = render(CHART)
    manager = find(docs, "Deployment", "test-metrics-alertmanager")
    sidecar = search("spec.template.spec.containers[?name=='receivers'] | [0]", manager)
    command = sidecar["command"]
    assert command[:3] == ["python3", "-m", "airyard_toolbox.alert_receivers"]
    assert command[command.index("--namespace") + 1] == "airyard-tasks"
    assert command[command.index("--secret") + 1] == "airyard-airflow-external-connections"
    assert command[command.index("--reload-url") + 1] == "http://127.0.0.1:9093/-/reload"
    role = find(docs, "Role", "test-metrics-alertmanager")
    assert role["metadata"]["namespace"] == "airyard-tasks"
    assert role["rules"] == [
        {
            "apiGroups": [""],
            "resources": ["secrets"],
            "resourceNames": ["airyard-airflow-external-connections"],
            "verbs": ["get"],
        }
    ]


def test_no_part_may_read_the_platforms_secrets() -> None:
    docs = render(CHART)
    for role in (d for d in docs if d["kind"] in {"Role", "ClusterRole"}):
        for rule in role["rules"]:
            if "secrets" in rule["resources"]:
                assert rule.get("resourceNames") == ["airyard-airflow-external-connections"], role["metadata"]
    store = find(docs, "ClusterRole", "airyard-test-metrics-store")
    assert {r for rule in store["rules"] for r in rule["resources"]} == {"nodes", "nodes/proxy", "nodes/metrics"}
    crds = find(docs, "ClusterRole", "airyard-test-metrics-kube-state-metrics")
    assert crds["rules"] == [
        {"apiGroups": ["apiextensions.k8s.io"], "resources": ["customresourcedefinitions"], "verbs": ["list", "watch"]}
    ]
    ksm = find(docs, "Deployment", "test-metrics-kube-state-metrics")
    command = search("spec.template.spec.containers[0].command", ksm)
    assert "--namespaces=airyard,airyard-tasks" in command


def test_the_exporter_reads_each_enabled_service_with_its_own_secret() -> None:
    docs = render(CHART, {"exporter": {"services": {"mongodb": False}}})
    exporter = find(docs, "Deployment", "test-metrics-exporter")
    container = search("spec.template.spec.containers[0]", exporter)
    env = env_sources(container)
    assert env["PGPASSWORD"] == ("test-postgresql-auth", "postgres-password")
    assert env["REDIS_URL"] == ("test-redis-connection", "url")
    assert env["KAFKA_PASSWORD"] == ("test-kafka-admin", "password")
    assert env["AWS_SECRET_ACCESS_KEY"] == ("test-objectstore-user-backup", "secret-key")
    assert env["MLFLOW_TRACKING_PASSWORD"] == ("test-mlflow-connection", "password")
    assert env["MODEL_SERVING_URL"] == "http://test-model-serving:8000"
    assert not [k for k in env if k.startswith("MONGO_")]
    labels = search("spec.template.metadata.labels", exporter)
    assert labels["airyard.io/postgresql-client"] == "true"
    assert "airyard.io/mongodb-client" not in labels


def test_prometheus_operator_and_grafana_objects_are_off_by_default_and_carry_the_same_rules_and_queries() -> None:
    assert not [d for d in render(CHART) if d["kind"] in {"PodMonitor", "PrometheusRule"}]
    values = {
        "prometheusOperator": {"podMonitors": True, "prometheusRule": True, "labels": {"release": "prometheus"}},
        "grafana": {"dashboards": True},
    }
    docs = render(CHART, values)
    monitors = {d["metadata"]["name"]: d for d in docs if d["kind"] == "PodMonitor"}
    assert set(monitors) == {
        f"test-metrics-{j}"
        for j in ("alerting", "alertmanager", "kube-state-metrics", "services", "airflow", "objectstore")
    }
    assert monitors["test-metrics-airflow"]["metadata"]["labels"]["release"] == "prometheus"
    rule = find(docs, "PrometheusRule")
    assert rule["spec"] == yaml.safe_load(_config(docs)["rules.yml"])
    vmui = _dashboard_queries(docs)
    for name, queries in vmui.items():
        stem = name.removesuffix(".json")
        grafana = find(docs, "ConfigMap", f"test-metrics-grafana-{stem}")
        assert grafana["metadata"]["labels"]["grafana_dashboard"] == "1"
        dashboard = json.loads(grafana["data"][name])
        exprs = [t["expr"] for p in dashboard["panels"] if p["type"] != "row" for t in p["targets"]]
        assert exprs == queries
        assert all(p["gridPos"]["x"] + p["gridPos"]["w"] <= 24 for p in dashboard["panels"])


def test_parts_can_be_switched_off() -> None:
    docs = render(
        CHART, {"alerting": {"enabled": False}, "kubeStateMetrics": {"enabled": False}, "exporter": {"enabled": False}}
    )
    assert {d["metadata"]["name"] for d in docs if d["kind"] in {"Deployment", "StatefulSet"}} == {"test-metrics-store"}
    assert not [d for d in docs if d["kind"] == "Role" and d["metadata"]["name"] != "test-metrics-store"]


def test_bad_values_are_rejected_naming_the_key() -> None:
    assert_rejects(CHART, {"store": {"retention": "forever"}}, "/store/retention")
    assert_rejects(CHART, {"alerting": {"thresholds": {"volumeUsedRatio": 85}}}, "/alerting/thresholds/volumeUsedRatio")
    assert_rejects(CHART, {"scrapeInterval": "often"}, "/scrapeInterval")
    assert_rejects(CHART, {"grafana": {"datasourceUid": ""}}, "/grafana/datasourceUid")
