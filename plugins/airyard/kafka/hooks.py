"""The platform's Kafka hook: the official provider's, with the queries the pipelines need."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.providers.apache.kafka.hooks.base import KafkaBaseHook

from airyard.kafka import client


class KafkaHook(KafkaBaseHook):
    """A Kafka connection whose extra is the librdkafka configuration, as the provider reads it
    (``get_conn`` is its AdminClient), plus health, offsets and a JSON producer."""

    hook_name = "Kafka (airyard)"

    def config(self) -> dict[str, Any]:
        """The connection's librdkafka configuration, callbacks resolved as the provider does."""
        return self._build_config()

    def health(self, topics: Sequence[str] = (), timeout: float = 15) -> dict[str, Any]:
        return client.health(self.get_conn, topics, timeout)

    def end_offsets(self, topic: str, *, group: str) -> dict[int, int]:
        """End offsets per partition, asked as `group` (a consumer that joins nothing and commits nothing)."""
        with client.consumer(self.config(), group) as c:
            return client.end_offsets(c, topic)

    def lag(self, topics: Sequence[str], *, group: str) -> tuple[dict[str, int | None], dict[str, int]]:
        """Committed offsets of `group` and end offsets, keyed "topic:partition"."""
        committed: dict[str, int | None] = {}
        end: dict[str, int] = {}
        with client.consumer(self.config(), group) as c:
            for topic in topics:
                committed.update({f"{topic}:{p}": o for p, o in client.committed_offsets(c, topic).items()})
                end.update({f"{topic}:{p}": o for p, o in client.end_offsets(c, topic).items()})
        return committed, end

    def produce_json(self, topic: str, key: str, value: Any) -> None:
        client.produce_json(self.config(), topic, key, value)
