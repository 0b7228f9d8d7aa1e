"""airyard_toolbox.exporter in the toolbox image against real PostgreSQL, Redis, Kafka, FerretDB and MinIO.

The exporter's container as the metrics chart runs it (its Python, its clients), on the host's
network, scraped over HTTP like the store scrapes it: each service's metrics say what was put into
it, and services that do not answer are down without hiding the others.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator

import psycopg
import pymongo
import pytest
import redis
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.toolbox import backup_env
from tests.services import TAG, Service, free_port, s3_client

BUCKET = "exp-backups"
TOPIC = "exp.events"
GROUP = "exp-etl"

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture(scope="module")
def platform(
    postgres_service: Service,
    redis_service: Service,
    kafka_service: Service,
    mongo_service: Service,
    s3_service: Service,
) -> dict[str, str]:
    """Something in every service, named apart from what the other integration tests make there."""
    with psycopg.connect(postgres_service.extra["dsn"], autocommit=True) as conn:
        conn.execute("CREATE DATABASE exp_app")
    redis.Redis(port=redis_service.port, password=redis_service.password, db=3).mset({"a": 1, "b": 2, "c": 3})
    _kafka_with_lag(kafka_service)
    pymongo.MongoClient(mongo_service.extra["uri"]).exp_movies.results.insert_many([{"n": i} for i in range(25)])
    s3_client(s3_service).create_bucket(Bucket=BUCKET)
    closed = free_port()
    return backup_env(postgres_service, mongo_service, s3_service, BUCKET) | {
        "REDIS_URL": f"redis://:{redis_service.password}@127.0.0.1:{redis_service.port}/0",
        "KAFKA_BOOTSTRAP_SERVERS": kafka_service.address,
        # Nothing listens there: these two must be down, and the others still up.
        "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{closed}",
        "MODEL_SERVING_URL": f"http://127.0.0.1:{closed}",
    }


def _kafka_with_lag(kafka: Service) -> None:
    """10 messages on each of 2 partitions; the group has committed 4 on partition 0, none on 1."""
    admin = AdminClient({"bootstrap.servers": kafka.address})
    for future in admin.create_topics([NewTopic(TOPIC, 2, 1)]).values():
        future.result()
    producer = Producer({"bootstrap.servers": kafka.address})
    for partition in (0, 1):
        for i in range(10):
            producer.produce(TOPIC, value=str(i).encode(), partition=partition)
    assert producer.flush(30) == 0
    consumer = Consumer({"bootstrap.servers": kafka.address, "group.id": GROUP, "enable.auto.commit": False})
    try:
        # A new broker answers "coordinator load in progress" or "not coordinator" until its
        # offsets topic is ready; librdkafka does not mark the latter retriable.
        deadline = time.monotonic() + 60
        while True:
            try:
                consumer.commit(offsets=[TopicPartition(TOPIC, 0, 4)], asynchronous=False)
                break
            except KafkaException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
    finally:
        consumer.close()


@pytest.fixture(scope="module")
def scrape(platform: dict[str, str]) -> Iterator[Callable[[], Samples]]:
    """The exporter's container, running; scrape() reads its /metrics."""
    port = free_port()
    cmd = ["docker", "run", "-d", "--rm", "--network", "host", "--user", "10001:10001", "--read-only"]
    for key, value in platform.items():
        cmd += ["-e", f"{key}={value}"]
    cmd += [f"airyard/toolbox:{TAG}", "python3", "-m", "airyard_toolbox.exporter", "--port", str(port)]
    cid = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=60).stdout.strip()

    def read() -> Samples:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as response:
            text = response.read().decode()
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }

    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    logs = subprocess.run(["docker", "logs", cid], capture_output=True, text=True).stderr
                    raise TimeoutError(f"the exporter never answered; its log:\n{logs}") from None
                time.sleep(1)
        yield read
    finally:
        subprocess.run(["docker", "rm", "-f", cid], capture_output=True)


def test_every_reachable_service_is_up_and_the_others_down(scrape: Callable[[], Samples]) -> None:
    up = {dict(labels)["service"]: v for (name, labels), v in scrape().items() if name == "airyard_up"}
    assert up == {
        "postgresql": 1,
        "redis": 1,
        "kafka": 1,
        "mongodb": 1,
        "objectstore": 1,
        "mlflow": 0,
        "model_serving": 0,
    }


def test_each_service_reports_what_it_holds(scrape: Callable[[], Samples]) -> None:
    got = scrape()
    assert got[("airyard_postgresql_database_size_bytes", (("database", "exp_app"),))] > 0
    assert ("airyard_postgresql_transactions_total", (("database", "postgres"),)) in got
    assert got[("airyard_postgresql_max_connections", ())] > 0
    assert got[("airyard_redis_keys", (("db", "3"),))] == 3
    assert got[("airyard_kafka_brokers", ())] == 1
    assert got[("airyard_kafka_topic_partitions", (("topic", TOPIC),))] == 2
    assert got[("airyard_kafka_topic_end_offset", (("topic", TOPIC),))] == 20
    # Partition 1 has nothing committed: only partition 0's 10 - 4 count.
    assert got[("airyard_kafka_consumergroup_lag", (("group", GROUP), ("topic", TOPIC)))] == 6
    assert not [labels for name, labels in got if dict(labels).get("topic", "").startswith("__")]
    documents = ("airyard_mongodb_collection_documents", (("collection", "results"), ("database", "exp_movies")))
    assert got[documents] == 25


def test_the_backup_age_is_zero_before_the_first_backup_and_then_its_end(
    scrape: Callable[[], Samples], s3_service: Service
) -> None:
    assert scrape()[("airyard_backup_last_timestamp_seconds", ())] == 0

    s3 = s3_client(s3_service)
    identifier = "20261207T021700Z-scheduled"
    latest = {"id": identifier, "completed": "2026-12-07T02:19:30+00:00", "bytes": 4096}
    s3.put_object(Bucket=BUCKET, Key=f"{identifier}/manifest.json", Body=json.dumps({"seconds": 142.5}).encode())
    s3.put_object(Bucket=BUCKET, Key="latest.json", Body=json.dumps(latest).encode())
    got = scrape()
    assert got[("airyard_backup_last_timestamp_seconds", ())] == 1796609970
    assert got[("airyard_backup_last_size_bytes", ())] == 4096
    assert got[("airyard_backup_last_duration_seconds", ())] == 142.5
