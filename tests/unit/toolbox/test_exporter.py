"""airyard_toolbox.exporter: the metrics each probe makes of what the services answer, and a scrape
that survives any service failing.

The clients here are fakes that answer as the real ones do; the probes against real PostgreSQL,
Redis, Kafka, FerretDB and MinIO run in tests/integration/toolbox/test_exporter.py.
"""

from __future__ import annotations

import io
import json
import logging
import threading
import urllib.error
from collections.abc import Iterable, Mapping
from concurrent.futures import Future
from datetime import UTC, datetime
from email.message import Message
from types import SimpleNamespace
from typing import Any

import pytest
from airyard_toolbox import exporter
from airyard_toolbox.backup import Store
from confluent_kafka import OFFSET_INVALID, ConsumerGroupTopicPartitions, TopicPartition
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric

Labels = tuple[tuple[str, str], ...]


def samples(families: Iterable[Metric]) -> dict[tuple[str, Labels], float]:
    """Every sample by its exposed name (counters with _total) and its labels."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families for s in f.samples}


def names(families: Iterable[Metric]) -> set[str]:
    return {s.name for f in families for s in f.samples}


def done(value: Any) -> Future[Any]:
    future: Future[Any] = Future()
    future.set_result(value)
    return future


# --- PostgreSQL -----------------------------------------------------------------------------------


class FakePostgres:
    """Answers the exporter's two queries as pg_stat_database and current_setting would."""

    def __init__(self, databases: list[tuple[str, int, int, int, int]], max_connections: int) -> None:
        self.databases = databases
        self.max_connections = max_connections

    def __enter__(self) -> FakePostgres:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def execute(self, query: str) -> Any:
        if "pg_stat_database" in query:
            return SimpleNamespace(fetchall=lambda: self.databases)
        assert "max_connections" in query
        return SimpleNamespace(fetchone=lambda: (self.max_connections,))


def test_postgresql_reports_each_database_and_the_connection_limit() -> None:
    conn = FakePostgres([("airflow", 12, 5400, 1, 9_000_000), ("postgres", 1, 30, 0, 7_500_000)], 200)
    got = samples(exporter.postgresql_metrics(conn))
    assert got == {
        ("airyard_postgresql_connections", (("database", "airflow"),)): 12,
        ("airyard_postgresql_connections", (("database", "postgres"),)): 1,
        ("airyard_postgresql_database_size_bytes", (("database", "airflow"),)): 9_000_000,
        ("airyard_postgresql_database_size_bytes", (("database", "postgres"),)): 7_500_000,
        ("airyard_postgresql_transactions_total", (("database", "airflow"),)): 5400,
        ("airyard_postgresql_transactions_total", (("database", "postgres"),)): 30,
        ("airyard_postgresql_deadlocks_total", (("database", "airflow"),)): 1,
        ("airyard_postgresql_deadlocks_total", (("database", "postgres"),)): 0,
        ("airyard_postgresql_max_connections", ()): 200,
    }


def test_the_database_query_leaves_templates_out_and_sums_commits_and_rollbacks() -> None:
    assert "NOT d.datistemplate" in exporter.PG_DATABASES
    assert "xact_commit + s.xact_rollback" in exporter.PG_DATABASES


# --- Redis ----------------------------------------------------------------------------------------


def test_redis_reports_clients_memory_commands_and_keys_per_database() -> None:
    info = {
        "redis_version": "7.2.4",
        "connected_clients": 4,
        "used_memory": 1_048_576,
        "total_commands_processed": 987,
        "db0": {"keys": 12, "expires": 3, "avg_ttl": 1000},
        "db10": {"keys": 1, "expires": 0, "avg_ttl": 0},
        "db2": {"keys": 5, "expires": 0, "avg_ttl": 0},
    }
    families = exporter.redis_metrics(info)
    assert samples(families) == {
        ("airyard_redis_connected_clients", ()): 4,
        ("airyard_redis_used_memory_bytes", ()): 1_048_576,
        ("airyard_redis_commands_processed_total", ()): 987,
        ("airyard_redis_keys", (("db", "0"),)): 12,
        ("airyard_redis_keys", (("db", "2"),)): 5,
        ("airyard_redis_keys", (("db", "10"),)): 1,
    }
    keys = next(f for f in families if f.name == "airyard_redis_keys")
    assert [s.labels["db"] for s in keys.samples] == ["0", "2", "10"]


# --- Kafka ----------------------------------------------------------------------------------------


class FakeKafka:
    """One cluster's metadata, end offsets, groups and committed offsets, as AdminClient and
    Consumer return them (futures, TopicPartitions, OFFSET_INVALID where nothing is committed)."""

    def __init__(
        self,
        ends: Mapping[str, list[int]],
        groups: Mapping[str, tuple[int, list[tuple[str, int, int]]]],
        brokers: int = 1,
    ) -> None:
        self.ends = ends
        self.groups = groups
        self.brokers = brokers
        self.watermark_reads: list[tuple[str, int]] = []

    # AdminClient
    def list_topics(self, timeout: float) -> Any:
        topics = {
            name: SimpleNamespace(partitions=dict.fromkeys(range(len(ends))), error=None)
            for name, ends in self.ends.items()
        }
        return SimpleNamespace(brokers=dict.fromkeys(range(self.brokers)), topics=topics)

    def list_consumer_groups(self, request_timeout: float) -> Future[Any]:
        return done(SimpleNamespace(valid=[SimpleNamespace(group_id=g) for g in self.groups], errors=[]))

    def describe_consumer_groups(self, group_ids: list[str], request_timeout: float) -> dict[str, Future[Any]]:
        assert group_ids, "describing no group is an error of the real client"
        return {g: done(SimpleNamespace(group_id=g, members=[object()] * self.groups[g][0])) for g in group_ids}

    def list_consumer_group_offsets(
        self, requests: list[ConsumerGroupTopicPartitions], request_timeout: float
    ) -> dict[str, Future[Any]]:
        assert len(requests) == 1, "the real client takes one group per request"
        group = requests[0].group_id
        partitions = [TopicPartition(t, p, offset) for t, p, offset in self.groups[group][1]]
        return {group: done(ConsumerGroupTopicPartitions(group, partitions))}

    # Consumer
    def get_watermark_offsets(self, partition: TopicPartition, timeout: float, cached: bool) -> tuple[int, int]:
        assert not cached, "cached watermarks are only as new as the last fetch"
        self.watermark_reads.append((partition.topic, partition.partition))
        return 0, self.ends[partition.topic][partition.partition]


def kafka_samples(cluster: FakeKafka) -> dict[tuple[str, Labels], float]:
    return samples(exporter.kafka_metrics(cluster, cluster, timeout=5))


def test_kafka_lag_sums_end_minus_committed_over_the_partitions_of_each_topic() -> None:
    cluster = FakeKafka(
        ends={"movies.raw": [10, 20, 30], "weather.raw": [4]},
        groups={
            "etl": (2, [("movies.raw", 0, 7), ("movies.raw", 1, 20), ("movies.raw", 2, 25), ("weather.raw", 0, 1)])
        },
        brokers=3,
    )
    got = kafka_samples(cluster)
    assert got[("airyard_kafka_brokers", ())] == 3
    assert got[("airyard_kafka_topic_partitions", (("topic", "movies.raw"),))] == 3
    assert got[("airyard_kafka_topic_end_offset", (("topic", "movies.raw"),))] == 60
    assert got[("airyard_kafka_topic_end_offset", (("topic", "weather.raw"),))] == 4
    assert got[("airyard_kafka_consumergroup_lag", (("group", "etl"), ("topic", "movies.raw")))] == 3 + 0 + 5
    assert got[("airyard_kafka_consumergroup_lag", (("group", "etl"), ("topic", "weather.raw")))] == 3
    assert got[("airyard_kafka_consumergroup_members", (("group", "etl"),))] == 2


def test_partitions_without_a_committed_offset_add_no_lag() -> None:
    cluster = FakeKafka(
        ends={"events": [100, 50]},
        groups={
            "half": (1, [("events", 0, 90), ("events", 1, OFFSET_INVALID)]),
            "never-committed": (0, [("events", 0, OFFSET_INVALID), ("events", 1, OFFSET_INVALID)]),
            "nothing-listed": (0, []),
        },
    )
    got = kafka_samples(cluster)
    assert got[("airyard_kafka_consumergroup_lag", (("group", "half"), ("topic", "events")))] == 10
    lag_groups = {dict(labels)["group"] for name, labels in got if name == "airyard_kafka_consumergroup_lag"}
    assert lag_groups == {"half"}
    # A group with nothing committed still exists: its members are reported.
    assert got[("airyard_kafka_consumergroup_members", (("group", "never-committed"),))] == 0
    assert got[("airyard_kafka_consumergroup_members", (("group", "nothing-listed"),))] == 0


def test_internal_and_vanished_topics_are_left_out() -> None:
    cluster = FakeKafka(
        ends={"__consumer_offsets": [5] * 50, "events": [8]},
        groups={"etl": (1, [("events", 0, 8), ("deleted.topic", 0, 3), ("__consumer_offsets", 7, 1)])},
    )
    got = kafka_samples(cluster)
    topics = {dict(labels).get("topic") for _, labels in got} - {None}
    assert topics == {"events"}
    assert all(topic == "events" for topic, _ in cluster.watermark_reads)
    assert got[("airyard_kafka_consumergroup_lag", (("group", "etl"), ("topic", "events")))] == 0


def test_a_commit_ahead_of_an_older_end_offset_is_no_negative_lag() -> None:
    lag = exporter.consumer_lag({("t", 0): 10, ("t", 1): 10}, {"g": {("t", 0): 12, ("t", 1): 4}})
    assert lag == {("g", "t"): 6}


def test_a_cluster_without_groups_describes_none() -> None:
    got = kafka_samples(FakeKafka(ends={"events": [3]}, groups={}))
    assert not [name for name, _ in got if name.startswith("airyard_kafka_consumergroup")]


def test_kafka_logs_in_with_sasl_only_when_a_user_is_given() -> None:
    assert exporter.kafka_config({"KAFKA_BOOTSTRAP_SERVERS": "k:9092"}) == {
        "bootstrap.servers": "k:9092",
        "log_level": "2",
    }
    user = {"KAFKA_BOOTSTRAP_SERVERS": "k:9092", "KAFKA_USERNAME": "monitor", "KAFKA_PASSWORD": "pw"}
    assert exporter.kafka_config(user) == {
        "bootstrap.servers": "k:9092",
        "log_level": "2",
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "monitor",
        "sasl.password": "pw",
    }
    admin = {**user, "KAFKA_USERNAME": "admin", "KAFKA_MECHANISM": "PLAIN"}
    assert exporter.kafka_config(admin)["sasl.mechanism"] == "PLAIN"


# --- MongoDB --------------------------------------------------------------------------------------


class FakeCollection:
    """Only the estimate: a real count (count_documents) is missing, so calling it fails the test."""

    def __init__(self, documents: int) -> None:
        self.documents = documents

    def estimated_document_count(self) -> int:
        return self.documents


class FakeMongo(dict):
    """A server (databases by name) or a database (collections by name), as pymongo indexes them."""

    def list_database_names(self) -> list[str]:
        return list(self)

    def list_collection_names(self) -> list[str]:
        return list(self)


def test_mongodb_estimates_each_collection_of_the_application_databases() -> None:
    databases = {
        "movies": {"results": 120, "system.views": 1},
        "weather": {"preferences": 7},
        "admin": {"system.users": 2},
        "local": {"startup_log": 1},
        "config": {"settings": 1},
    }
    client = FakeMongo(
        {name: FakeMongo({c: FakeCollection(n) for c, n in colls.items()}) for name, colls in databases.items()}
    )
    assert samples(exporter.mongodb_metrics(client)) == {
        ("airyard_mongodb_collection_documents", (("collection", "results"), ("database", "movies"))): 120,
        ("airyard_mongodb_collection_documents", (("collection", "preferences"), ("database", "weather"))): 7,
    }


# --- object store: the newest backup --------------------------------------------------------------


class NoSuchKey(Exception):
    pass


class FakeS3:
    """A bucket's objects; a missing key raises as boto3's client does (client.exceptions.NoSuchKey)."""

    exceptions = SimpleNamespace(NoSuchKey=NoSuchKey)

    def __init__(self, objects: dict[str, dict[str, Any]]) -> None:
        self.objects = {key: json.dumps(doc).encode() for key, doc in objects.items()}
        self.reads: list[tuple[str, str]] = []

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        self.reads.append((Bucket, Key))
        if Key not in self.objects:
            raise NoSuchKey(Key)
        return {"Body": io.BytesIO(self.objects[Key])}


COMPLETED = datetime(2026, 12, 7, 2, 19, 30, tzinfo=UTC)


def test_the_newest_backup_is_read_from_latest_json_and_its_manifest() -> None:
    s3 = FakeS3(
        {
            "nightly/latest.json": {
                "id": "20261207T021700Z-scheduled",
                "completed": COMPLETED.isoformat(),
                "bytes": 4096,
            },
            "nightly/20261207T021700Z-scheduled/manifest.json": {"id": "20261207T021700Z-scheduled", "seconds": 142.5},
        }
    )
    got = samples(exporter.backup_metrics(Store(s3, "backups", "nightly/")))
    assert got == {
        ("airyard_backup_last_timestamp_seconds", ()): COMPLETED.timestamp(),
        ("airyard_backup_last_size_bytes", ()): 4096,
        ("airyard_backup_last_duration_seconds", ()): 142.5,
    }
    assert s3.reads[0] == ("backups", "nightly/latest.json")


def test_without_any_backup_the_last_one_is_at_time_zero_so_the_age_alert_fires() -> None:
    got = samples(exporter.backup_metrics(Store(FakeS3({}), "backups", "")))
    assert got == {("airyard_backup_last_timestamp_seconds", ()): 0}


def test_the_backup_store_is_found_where_the_backup_job_writes_it() -> None:
    env = {
        "S3_ENDPOINT": "http://minio:9000",
        "BACKUP_PREFIX": "/platform/",
        "AWS_ACCESS_KEY_ID": "a",
        "AWS_SECRET_ACCESS_KEY": "s",
    }
    store = exporter.connect_s3(env, timeout=2)
    assert (store.bucket, store.prefix) == ("backups", "platform/")
    assert exporter.connect_s3({**env, "BACKUP_BUCKET": "dr", "BACKUP_PREFIX": ""}, 2).prefix == ""


# --- MLflow ---------------------------------------------------------------------------------------


def test_mlflow_reports_the_version_behind_each_alias_of_every_model_over_all_pages() -> None:
    pages = {
        "": {
            "registered_models": [
                {
                    "name": "movie-ratings",
                    "aliases": [{"alias": "champion", "version": "3"}, {"alias": "challenger", "version": "4"}],
                },
                {"name": "no-alias-yet", "latest_versions": [{"version": "1"}]},
            ],
            "next_page_token": "p2",
        },
        "p2": {"registered_models": [{"name": "weather-demand", "aliases": [{"alias": "champion", "version": "12"}]}]},
    }
    asked: list[str] = []

    def get_json(path: str) -> dict[str, Any]:
        asked.append(path)
        token = path.partition("page_token=")[2]
        return pages[token]

    got = samples(exporter.mlflow_metrics(get_json))
    assert got == {
        ("airyard_mlflow_registered_models", ()): 3,
        ("airyard_mlflow_model_version", (("alias", "champion"), ("model", "movie-ratings"))): 3,
        ("airyard_mlflow_model_version", (("alias", "challenger"), ("model", "movie-ratings"))): 4,
        ("airyard_mlflow_model_version", (("alias", "champion"), ("model", "weather-demand"))): 12,
    }
    assert asked == [
        "registered-models/search?max_results=1000",
        "registered-models/search?max_results=1000&page_token=p2",
    ]


def test_mlflow_is_asked_with_basic_auth_at_its_rest_api(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, str, str]] = []

    def http_get(url: str, timeout: float, username: str = "", password: str = "") -> bytes:
        calls.append((url, username, password))
        return b'{"registered_models": []}'

    monkeypatch.setattr(exporter, "http_get", http_get)
    env = {
        "MLFLOW_TRACKING_URI": "http://mlflow:5000/",
        "MLFLOW_TRACKING_USERNAME": "u",
        "MLFLOW_TRACKING_PASSWORD": "p",
    }
    assert samples(exporter.probe_mlflow(env, 5)) == {("airyard_mlflow_registered_models", ()): 0}
    assert calls == [("http://mlflow:5000/api/2.0/mlflow/registered-models/search?max_results=1000", "u", "p")]


# --- the scrape -----------------------------------------------------------------------------------


def gauge(name: str, value: float) -> list[Metric]:
    return [GaugeMetricFamily(name, "test", value=value)]


def up(families: Iterable[Metric]) -> dict[str, float]:
    return {dict(labels)["service"]: v for (name, labels), v in samples(families).items() if name == "airyard_up"}


def test_a_failing_service_is_down_and_logged_while_the_others_still_report(caplog: pytest.LogCaptureFixture) -> None:
    def refused() -> list[Metric]:
        raise ConnectionError("connection refused\nIs the server running on that host?")

    probes = {
        "postgresql": lambda: gauge("airyard_postgresql_max_connections", 100),
        "redis": refused,
        "mongodb": lambda: gauge("airyard_mongodb_collection_documents", 3),
    }
    with caplog.at_level(logging.WARNING, logger="airyard_toolbox.exporter"):
        families = list(exporter.PlatformCollector(probes, timeout=5).collect())
    assert up(families) == {"postgresql": 1, "redis": 0, "mongodb": 1}
    assert {"airyard_postgresql_max_connections", "airyard_mongodb_collection_documents"} <= names(families)
    assert not [n for n in names(families) if n.startswith("airyard_redis")]
    durations = {
        dict(labels)["service"] for name, labels in samples(families) if name == "airyard_scrape_duration_seconds"
    }
    assert durations == {"postgresql", "redis", "mongodb"}
    assert [r.getMessage() for r in caplog.records] == ["redis: down: ConnectionError: connection refused"]


def test_a_service_that_does_not_answer_in_time_is_down_without_holding_up_the_scrape() -> None:
    release = threading.Event()

    def hangs() -> list[Metric]:
        release.wait(10)
        return gauge("airyard_kafka_brokers", 1)

    collector = exporter.PlatformCollector(
        {"kafka": hangs, "redis": lambda: gauge("airyard_redis_connected_clients", 2)}, 0.2
    )
    try:
        families = list(collector.collect())
    finally:
        release.set()
    assert up(families) == {"kafka": 0, "redis": 1}
    assert samples(families)[("airyard_scrape_duration_seconds", (("service", "kafka"),))] == 0.2
    assert "airyard_kafka_brokers" not in names(families)


def test_only_the_configured_services_are_probed(monkeypatch: pytest.MonkeyPatch) -> None:
    contacted: list[str] = []

    def never(*args: object) -> Any:
        raise AssertionError("a service without its variable was contacted")

    def postgres(env: Mapping[str, str], timeout: float) -> FakePostgres:
        contacted.append(f"postgresql {env['PGHOST']}")
        return FakePostgres([("airflow", 3, 10, 0, 100)], 100)

    def health(url: str, timeout: float, username: str = "", password: str = "") -> bytes:
        contacted.append(url)
        return b'{"status": "ok"}'

    monkeypatch.setattr(exporter, "connect_postgresql", postgres)
    monkeypatch.setattr(exporter, "connect_s3", lambda env, timeout: Store(FakeS3({}), "backups", ""))
    monkeypatch.setattr(exporter, "http_get", health)
    for unused in ("connect_redis", "connect_kafka", "connect_mongodb"):
        monkeypatch.setattr(exporter, unused, never)
    env = {
        "PGHOST": "pg",
        "S3_ENDPOINT": "http://minio:9000",
        "MODEL_SERVING_URL": "http://serving:8000/",
        "MONGO_HOST": "",
    }

    probes = exporter.probes_from_env(env, timeout=5)
    assert list(probes) == ["postgresql", "objectstore", "model_serving"]
    families = list(exporter.PlatformCollector(probes, timeout=5).collect())
    assert up(families) == {"postgresql": 1, "objectstore": 1, "model_serving": 1}
    assert sorted(contacted) == ["http://serving:8000/healthz", "postgresql pg"]
    assert samples(families)[("airyard_backup_last_timestamp_seconds", ())] == 0


def test_model_serving_is_down_when_its_health_check_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    def unavailable(url: str, timeout: float, username: str = "", password: str = "") -> bytes:
        raise urllib.error.HTTPError(url, 503, "Service Unavailable", Message(), None)

    monkeypatch.setattr(exporter, "http_get", unavailable)
    probes = exporter.probes_from_env({"MODEL_SERVING_URL": "http://serving:8000"}, timeout=5)
    assert up(exporter.PlatformCollector(probes, timeout=5).collect()) == {"model_serving": 0}


def test_without_any_service_configured_a_scrape_still_answers() -> None:
    registry = CollectorRegistry()
    registry.register(exporter.PlatformCollector(exporter.probes_from_env({}, 5), timeout=5))
    assert "# TYPE airyard_up gauge" in generate_latest(registry).decode()


def test_the_exposition_carries_the_names_dashboards_and_alerts_use() -> None:
    conn = FakePostgres([("airflow", 12, 5400, 1, 9_000_000)], 200)
    info = {"connected_clients": 4, "used_memory": 10, "total_commands_processed": 987, "db0": {"keys": 12}}
    probes = {"postgresql": lambda: exporter.postgresql_metrics(conn), "redis": lambda: exporter.redis_metrics(info)}
    registry = CollectorRegistry()
    registry.register(exporter.PlatformCollector(probes, timeout=5))
    lines = generate_latest(registry).decode().splitlines()
    for line in (
        'airyard_up{service="postgresql"} 1.0',
        'airyard_postgresql_transactions_total{database="airflow"} 5400.0',
        'airyard_postgresql_deadlocks_total{database="airflow"} 1.0',
        "airyard_postgresql_max_connections 200.0",
        "airyard_redis_commands_processed_total 987.0",
        'airyard_redis_keys{db="0"} 12.0',
    ):
        assert line in lines
    assert len([line for line in lines if line.startswith("# TYPE airyard_up ")]) == 1
