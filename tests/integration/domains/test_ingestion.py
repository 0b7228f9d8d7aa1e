"""IngestionOperator against a real Kafka and the fake feeds (loopback)."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowException
from airyard.domains.operators import IngestionOperator
from airyard.domains.sources import DEFAULT_CONFIG
from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient, NewTopic

from tests.fakes import threat_feeds


class FakeTI:
    def __init__(self) -> None:
        self.xcom: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value


def context(run_id: str = "scheduled__2026-03-01T10:00:00+00:00") -> dict[str, Any]:
    return {
        "run_id": run_id,
        "data_interval_start": datetime(2026, 3, 1, 10, tzinfo=UTC),
        "data_interval_end": datetime(2026, 3, 1, 11, tzinfo=UTC),
        "ti": FakeTI(),
    }


@pytest.fixture(scope="module")
def feeds() -> Iterator[str]:
    srv = threat_feeds.server(0)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


@pytest.fixture
def topics(kafka_service) -> tuple[str, str]:
    prefix = uuid.uuid4().hex[:8]
    names = (f"{prefix}.observed", f"{prefix}.rejected")
    admin = AdminClient({"bootstrap.servers": kafka_service.address})
    for f in admin.create_topics([NewTopic(n, 1, 1) for n in names]).values():
        f.result(30)
    return names


def consume(servers: str, topic: str, expected: int, timeout: float = 30) -> list[dict[str, Any]]:
    c = Consumer({"bootstrap.servers": servers, "group.id": uuid.uuid4().hex, "auto.offset.reset": "earliest"})
    c.subscribe([topic])
    out: list[dict[str, Any]] = []
    deadline = datetime.now().timestamp() + timeout
    try:
        while datetime.now().timestamp() < deadline:
            msg = c.poll(1)
            if msg is not None and msg.error() is None:
                out.append({"key": msg.key().decode(), **json.loads(msg.value())})
            elif msg is None and len(out) >= expected:
                break
    finally:
        c.close()
    return out


def kafka_connection(monkeypatch, address: str) -> None:
    """kafka_domains as the catalog's Secret gives it to a task that declares "kafka:domains"."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_KAFKA_DOMAINS", json.dumps({"conn_type": "kafka", "extra": {"bootstrap.servers": address}})
    )


def test_subprocess_mode_produces_the_normalised_domains(kafka_service, feeds, topics, monkeypatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_THREAT_FEEDS", feeds)
    kafka_connection(monkeypatch, kafka_service.address)
    observed, rejected = topics
    op = IngestionOperator(
        task_id="run_full_ingestion",
        config_path=str(DEFAULT_CONFIG),
        observed_topic=observed,
        rejected_topic=rejected,
        execution_mode="subprocess",
    )
    summary = op.execute(context())

    pairs = {(s, d) for s, domains in threat_feeds.EXPECTED.items() for d in domains}
    assert summary["failed_sources"] == []
    assert summary["unique_domains"] == len(threat_feeds.ALL_EXPECTED)
    assert summary["produced"] == len(pairs)
    assert summary["rejected"] == sum(threat_feeds.REJECTED.values())
    messages = consume(kafka_service.address, observed, len(pairs))
    assert {(m["source"], m["domain"]) for m in messages} == pairs
    assert len(messages) == len(pairs)  # de-duplicated within each source
    assert all(m["key"] == m["domain"] and m["interval_start"] == "2026-03-01T10:00:00+00:00" for m in messages)
    refused = consume(kafka_service.address, rejected, summary["rejected"])
    assert len(refused) == summary["rejected"]
    assert {r["raw"] for r in refused} >= {"0.0.0.0 203.0.113.7", "this is not a domain", "bad_label.com"}
    assert all(r["reason"] for r in refused)

    # The same interval again (a retry): the same event ids, which the bronze merge de-duplicates.
    op.execute(context())
    again = consume(kafka_service.address, observed, 2 * len(pairs))
    ids = [m["event_id"] for m in again]
    assert len(ids) == 2 * len(pairs)
    assert len(set(ids)) == len(pairs)


def test_a_feed_that_is_down_fails_alone(kafka_service, feeds, topics, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_THREAT_FEEDS", feeds)
    kafka_connection(monkeypatch, kafka_service.address)
    config = tmp_path / "sources.yaml"
    config.write_text(
        "defaults: {conn_id: threat_feeds, timeout: 5}\n"
        "sources:\n"
        "  - {name: down, format: plain, path: /down/feed.txt}\n"
        "  - {name: broken, format: json, path: /broken/feed.json}\n"
        "  - {name: urlhaus_hostfile, format: plain, path: /urlhaus/hostfile.txt}\n"
    )
    observed, rejected = topics
    ctx = context()
    op = IngestionOperator(
        task_id="run_full_ingestion",
        config_path=str(config),
        observed_topic=observed,
        rejected_topic=rejected,
    )
    with pytest.raises(AirflowException, match="down, broken"):
        op.execute(ctx)
    summary = ctx["ti"].xcom["summary"]
    by_source = {s["source"]: s for s in summary["sources"]}
    assert by_source["down"]["status"] == "failed"
    assert "503" in by_source["down"]["error"]
    assert by_source["broken"]["status"] == "failed"
    assert "not JSON" in by_source["broken"]["error"]
    assert by_source["urlhaus_hostfile"]["status"] == "ok"
    messages = consume(kafka_service.address, observed, 3)
    assert {m["domain"] for m in messages} == threat_feeds.EXPECTED["urlhaus_hostfile"]
