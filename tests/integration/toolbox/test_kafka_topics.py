"""airyard_toolbox.kafka_topics against a real broker: declared topics converge, runs are idempotent."""

from __future__ import annotations

from airyard_toolbox import kafka_topics
from confluent_kafka.admin import AdminClient

from tests.services import Service


def test_topics_are_created_grown_and_then_left_alone(kafka_service: Service) -> None:
    admin = AdminClient({"bootstrap.servers": kafka_service.address})
    declared = [kafka_topics.Topic("movies.raw", partitions=2, config={"retention.ms": "86400000"})]
    first = kafka_topics.ensure(admin, declared, timeout=60)
    assert [t.name for t in first.create] == ["movies.raw"]
    existing = kafka_topics.describe(admin, ["movies.raw"])["movies.raw"]
    assert existing.partitions == 2
    assert existing.config["retention.ms"] == "86400000"

    again = kafka_topics.ensure(admin, declared, timeout=60)
    assert again.create == []
    assert again.grow == {}
    assert again.set_config == {}

    grown = kafka_topics.ensure(admin, [kafka_topics.Topic("movies.raw", partitions=3)], timeout=60)
    assert grown.grow == {"movies.raw": 3}
    assert kafka_topics.describe(admin, ["movies.raw"])["movies.raw"].partitions == 3
