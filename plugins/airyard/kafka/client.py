"""Kafka queries over a librdkafka configuration, without Airflow.

Task pods and Spark drivers build the configuration from their AIRFLOW_CONN_<ID> variable
(airyard.envconn.kafka_config); in the worker, airyard.kafka.hooks.KafkaHook builds it from the
Airflow connection. Both then call these functions, so a query has one implementation.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any


class KafkaUnhealthy(RuntimeError):
    """No broker answered, or a topic the caller needs is missing or has a partition without a leader."""


@contextmanager
def consumer(config: Mapping[str, Any], group: str) -> Iterator[Any]:
    """A consumer of `group` that commits nothing by itself; closed on exit."""
    from confluent_kafka import Consumer

    c = Consumer({**config, "group.id": group, "enable.auto.commit": False})
    try:
        yield c
    finally:
        c.close()


def partitions(c: Any, topic: str, timeout: float = 30) -> list[int]:
    """The topic's partitions, sorted; KafkaUnhealthy if the topic does not exist."""
    meta = c.list_topics(topic, timeout=timeout).topics.get(topic)
    if meta is None or meta.error is not None:
        raise KafkaUnhealthy(f"topic {topic} is missing: {meta.error if meta else 'not in the metadata'}")
    return sorted(meta.partitions)


def end_offsets(c: Any, topic: str, timeout: float = 30) -> dict[int, int]:
    """The offset each partition of `topic` will give its next record."""
    from confluent_kafka import TopicPartition

    return {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout)[1] for p in partitions(c, topic)}


def committed_offsets(c: Any, topic: str, timeout: float = 30) -> dict[int, int | None]:
    """The consumer's group's committed offset per partition of `topic` (None: nothing committed).

    A group's coordinator may be moving or still loading (a broker restarted, a new group):
    Kafka answers that as a retriable error, so it is asked again until `timeout`.
    """
    from confluent_kafka import KafkaError, KafkaException, TopicPartition

    moving = {KafkaError.NOT_COORDINATOR, KafkaError.COORDINATOR_LOAD_IN_PROGRESS, KafkaError.COORDINATOR_NOT_AVAILABLE}
    wanted = [TopicPartition(topic, p) for p in partitions(c, topic, timeout)]
    deadline = time.monotonic() + timeout
    while True:
        try:
            got = c.committed(wanted, timeout=timeout)
            break
        except KafkaException as exc:
            err = exc.args[0]
            if not (err.retriable() or err.code() in moving) or time.monotonic() >= deadline:
                raise
            time.sleep(1)
    return {tp.partition: tp.offset if tp.offset >= 0 else None for tp in got}


def health(admin: Any, topics: Sequence[str] = (), timeout: float = 15) -> dict[str, Any]:
    """Brokers and the partition counts of `topics`; KafkaUnhealthy unless a broker answers and
    every topic exists with a leader on each partition."""
    try:
        meta = admin.list_topics(timeout=timeout)
    except Exception as exc:
        raise KafkaUnhealthy(f"Kafka unreachable: {exc}") from exc
    if not meta.brokers:
        raise KafkaUnhealthy("Kafka answered with no brokers")
    missing = [t for t in topics if t not in meta.topics or meta.topics[t].error is not None]
    leaderless = [
        t for t in topics if t not in missing and any(p.leader < 0 for p in meta.topics[t].partitions.values())
    ]
    if missing or leaderless:
        raise KafkaUnhealthy(f"Kafka topics missing: {missing}; without a leader: {leaderless}")
    return {
        "brokers": len(meta.brokers),
        "controller_id": meta.controller_id,
        "topics": {t: len(meta.topics[t].partitions) for t in topics},
    }


def produce_json(config: Mapping[str, Any], topic: str, key: str, value: Any, timeout: float = 30) -> None:
    """Deliver one JSON record, idempotently and acknowledged by every in-sync replica, or raise."""
    from confluent_kafka import Producer

    producer = Producer({**config, "enable.idempotence": True, "acks": "all"})
    errors: list[str] = []
    producer.produce(
        topic,
        key=key.encode(),
        value=json.dumps(value, default=str).encode(),
        on_delivery=lambda err, _msg: err and errors.append(str(err)),
    )
    if producer.flush(timeout) or errors:
        raise RuntimeError(f"Kafka: {topic} not delivered: {errors or 'timed out'}")
