"""Airflow hooks of the movie pipeline: TMDB, Kafka (health and consumer lag), MongoDB."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook

from airyard import envconn as connenv
from airyard.movies.tmdb import (
    DEFAULT_BASE_URL,
    DEFAULT_RATE_PER_SECOND,
    LocalRateLimiter,
    RedisRateLimiter,
    TMDBClient,
)


def to_conn(c: Any) -> connenv.EnvConnection:
    """An Airflow Connection as the pod-side EnvConnection, so both sides build clients the same way."""
    return connenv.EnvConnection(
        c.conn_id,
        conn_type=c.conn_type or "",
        host=c.host or "",
        port=c.port,
        login=c.login or "",
        password=c.password or "",
        schema=c.schema or "",
        extra=c.extra_dejson,
    )


class TMDBHook(BaseHook):
    """TMDB API from the ``tmdb_default`` connection: password = API key (v3 key or v4 read token),
    host = base URL (empty: the real API). Extra: ``rate_per_second``, ``max_retries``. The rate
    limit is shared through Redis (``redis_default``) when that connection exists."""

    conn_name_attr = "tmdb_conn_id"
    default_conn_name = "tmdb_default"
    conn_type = "http"
    hook_name = "TMDB"

    def __init__(self, tmdb_conn_id: str = default_conn_name, redis_conn_id: str | None = "redis_default") -> None:
        super().__init__()
        self.tmdb_conn_id = tmdb_conn_id
        self.redis_conn_id = redis_conn_id

    def get_conn(self) -> TMDBClient:
        c = to_conn(self.get_connection(self.tmdb_conn_id))
        base = c.host if c.host.startswith("http") else (f"https://{c.host}" if c.host else DEFAULT_BASE_URL)
        if c.port and base.count(":") < 2:
            base = f"{base}:{c.port}"
        rate = int(c.extra.get("rate_per_second", DEFAULT_RATE_PER_SECOND))
        limiter: Any = LocalRateLimiter(rate)
        if self.redis_conn_id:
            try:
                r = to_conn(self.get_connection(self.redis_conn_id))
                limiter = RedisRateLimiter(connenv.redis_client(r), rate)
            except Exception:  # noqa: BLE001 - no Redis connection: a per-process limit
                self.log.warning("no %s connection: TMDB rate limit is per process", self.redis_conn_id)
        api_key = c.password or str(c.extra.get("api_key", ""))
        return TMDBClient(
            api_key,
            base.rstrip("/").removesuffix("/3"),
            limiter=limiter,
            max_retries=int(c.extra.get("max_retries", 5)),
        )


class KafkaHook(BaseHook):
    """Kafka admin and consumer-offset queries from ``kafka_default`` (extra = librdkafka config)."""

    conn_name_attr = "kafka_conn_id"
    default_conn_name = "kafka_default"
    conn_type = "kafka"
    hook_name = "Kafka (airyard)"

    def __init__(self, kafka_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.kafka_conn_id = kafka_conn_id

    def config(self) -> dict[str, Any]:
        return connenv.kafka_config(to_conn(self.get_connection(self.kafka_conn_id)))

    def health(self, topics: tuple[str, ...] = (), timeout: float = 10) -> dict[str, Any]:
        """Brokers and the state of `topics`; raises if no broker answers or a topic is missing."""
        from confluent_kafka.admin import AdminClient

        md = AdminClient(self.config()).list_topics(timeout=timeout)
        if not md.brokers:
            raise RuntimeError("Kafka: no broker in the cluster metadata")
        missing = [t for t in topics if t not in md.topics or md.topics[t].error is not None]
        if missing:
            raise RuntimeError(f"Kafka: topics missing or in error: {missing}")
        return {
            "brokers": len(md.brokers),
            "controller_id": md.controller_id,
            "topics": {t: len(md.topics[t].partitions) for t in topics},
        }

    def lag(
        self, group: str, topics: tuple[str, ...], timeout: float = 10
    ) -> tuple[dict[str, int | None], dict[str, int]]:
        """Committed offsets of `group` and high watermarks, keyed "topic:partition"."""
        from confluent_kafka import Consumer, TopicPartition

        consumer = Consumer({**self.config(), "group.id": group, "enable.auto.commit": False})
        try:
            md = consumer.list_topics(timeout=timeout)
            parts = [TopicPartition(t, p) for t in topics if t in md.topics for p in md.topics[t].partitions]
            committed: dict[str, int | None] = {}
            for tp in consumer.committed(parts, timeout=timeout):
                committed[f"{tp.topic}:{tp.partition}"] = tp.offset if tp.offset >= 0 else None
            high = {}
            for tp in parts:
                _, hw = consumer.get_watermark_offsets(tp, timeout=timeout)
                high[f"{tp.topic}:{tp.partition}"] = hw
            return committed, high
        finally:
            consumer.close()

    def produce_json(self, topic: str, key: str, value: Any) -> None:
        import json

        from confluent_kafka import Producer

        producer = Producer({**self.config(), "enable.idempotence": True, "acks": "all"})
        errors: list[str] = []
        producer.produce(
            topic,
            key=key.encode(),
            value=json.dumps(value, default=str).encode(),
            on_delivery=lambda e, m: e and errors.append(str(e)),
        )
        if producer.flush(30) or errors:
            raise RuntimeError(f"Kafka: {topic} not delivered: {errors}")


class MongoDBHook(BaseHook):
    """pymongo client for ``mongo_default`` (schema = database, extra authSource)."""

    conn_name_attr = "mongo_conn_id"
    default_conn_name = "mongo_default"
    conn_type = "mongo"
    hook_name = "MongoDB (airyard)"

    def __init__(self, mongo_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.mongo_conn_id = mongo_conn_id

    def get_conn(self) -> Any:
        import pymongo

        return pymongo.MongoClient(
            connenv.mongo_uri(to_conn(self.get_connection(self.mongo_conn_id))),
            serverSelectionTimeoutMS=20000,
            tz_aware=True,
        )

    def database(self, client: Any) -> Any:
        from airyard.movies import DATABASE

        return client[self.get_connection(self.mongo_conn_id).schema or DATABASE]
