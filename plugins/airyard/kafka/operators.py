"""Kafka operators of the platform layer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException

from airyard import services
from airyard.kafka import client


class KafkaHealthCheckOperator(BaseOperator):
    """Fail unless a broker answers and every topic in `topics` exists with a leader on each partition.

    :param service: the pipeline's Kafka identity ("kafka:movies"); its connection is the one used.
    """

    def __init__(self, *, service: str, topics: Sequence[str] = (), timeout: float = 15, **kwargs: Any) -> None:
        kwargs.setdefault("executor_config", services.executor_config(service))
        super().__init__(**kwargs)
        self.kafka_conn_id = services.connection(service)
        self.topics = tuple(topics)
        self.timeout = timeout

    def execute(self, context: Any) -> dict[str, Any]:
        from airyard.kafka.hooks import KafkaHook

        try:
            result = KafkaHook(self.kafka_conn_id).health(self.topics, self.timeout)
        except client.KafkaUnhealthy as exc:
            raise AirflowException(str(exc)) from exc
        self.log.info("Kafka healthy: %s", result)
        return result
