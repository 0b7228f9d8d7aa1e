"""The platform's Kafka hook and health check against a real Kafka broker (Docker)."""

from __future__ import annotations

import json
import uuid

import pytest
from airflow.sdk.exceptions import AirflowException
from airyard.kafka.hooks import KafkaHook
from airyard.kafka.operators import KafkaHealthCheckOperator
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

SERVICE, CONN = "kafka:domains", "kafka_domains"


@pytest.fixture
def topic(kafka_service) -> str:
    name = f"{uuid.uuid4().hex[:8]}.hook"
    admin = AdminClient({"bootstrap.servers": kafka_service.address})
    for f in admin.create_topics([NewTopic(name, 2, 1)]).values():
        f.result(30)
    return name


def connect(monkeypatch: pytest.MonkeyPatch, address: str) -> None:
    """kafka_domains as the catalog's Secret gives it to a task that declares "kafka:domains"."""
    conn = {"conn_type": "kafka", "extra": {"bootstrap.servers": address}}
    monkeypatch.setenv("AIRFLOW_CONN_KAFKA_DOMAINS", json.dumps(conn))


def test_health_check_names_missing_topics_and_an_unreachable_broker(kafka_service, topic, monkeypatch) -> None:
    connect(monkeypatch, kafka_service.address)
    ok = KafkaHealthCheckOperator(task_id="check", service=SERVICE, topics=[topic]).execute({})
    assert (ok["brokers"], ok["topics"]) == (1, {topic: 2})
    missing = KafkaHealthCheckOperator(task_id="check", service=SERVICE, topics=[topic, "no.such.topic"])
    with pytest.raises(AirflowException, match=r"missing: \['no\.such\.topic'\]"):
        missing.execute({})
    connect(monkeypatch, "127.0.0.1:1")
    down = KafkaHealthCheckOperator(task_id="check", service=SERVICE, timeout=3)
    with pytest.raises(AirflowException, match="unreachable"):
        down.execute({})


def test_offsets_lag_and_json_records(kafka_service, topic, monkeypatch) -> None:
    connect(monkeypatch, kafka_service.address)
    hook = KafkaHook(CONN)
    assert hook.end_offsets(topic, group="t-offsets") == {0: 0, 1: 0}
    producer = Producer({"bootstrap.servers": kafka_service.address})
    for i in range(5):
        producer.produce(topic, value=b"x", partition=i % 2)
    producer.flush(30)
    assert hook.end_offsets(topic, group="t-offsets") == {0: 3, 1: 2}
    group = f"t-{uuid.uuid4().hex[:8]}"
    assert hook.lag([topic], group=group) == (
        {f"{topic}:0": None, f"{topic}:1": None},
        {f"{topic}:0": 3, f"{topic}:1": 2},
    )
    consumer = Consumer({"bootstrap.servers": kafka_service.address, "group.id": group})
    consumer.commit(offsets=[TopicPartition(topic, 0, 3)], asynchronous=False)
    consumer.close()
    assert hook.lag([topic], group=group)[0] == {f"{topic}:0": 3, f"{topic}:1": None}
    hook.produce_json(topic, "k", {"n": 1})
    assert sum(hook.end_offsets(topic, group="t-offsets").values()) == 6
