"""The ingestion run: fetch each feed, parse, normalise, de-duplicate, produce to Kafka.

Runs inside the Airflow task (execution_mode "subprocess": `python -m airyard.domains.ingest`) or
in a pod of the airflow image ("pod"); either way it prints one JSON summary and writes it to
--result-file. A source that is down or unreadable fails alone: the others are still produced.

Messages are keyed by domain. Each carries an event id derived from (source, data interval,
domain), so re-running an interval (a retry, a backfill) produces the same ids and the bronze
table's merge keeps one row per event: the lake stays idempotent although Kafka is at-least-once.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from airyard import envconn
from airyard.domains import sources as feeds
from airyard.domains.parsers import FeedError, parse

OBSERVED_TOPIC = "domains.observed"
REJECTED_TOPIC = "domains.rejected"
#: The pipeline's Kafka identity: ACLs allow it the topics "domains.*" and the consumer groups
#: starting "airyard-domains" (charts/airyard/values.yaml, kafka.auth.users).
KAFKA_SERVICE, KAFKA_CONN = "kafka:domains", "kafka_domains"
RESULT_MARKER = "INGESTION_RESULT "


@dataclass
class SourceResult:
    source: str
    status: str = "ok"  # ok | failed
    entries: int = 0
    domains: int = 0
    duplicates: int = 0
    rejected: int = 0
    reject_reasons: dict[str, int] = field(default_factory=dict)
    error: str = ""
    seconds: float = 0.0


def event_id(source: str, interval_start: str, interval_end: str, domain: str) -> str:
    return hashlib.sha256(f"{source}|{interval_start}|{interval_end}|{domain}".encode()).hexdigest()[:32]


def _reason_kind(reason: str) -> str:
    return reason.split(":", 1)[0][:60]


def run(
    sources: list[feeds.Source],
    producer: Any,
    *,
    interval_start: str,
    interval_end: str,
    run_id: str,
    observed_topic: str = OBSERVED_TOPIC,
    rejected_topic: str = REJECTED_TOPIC,
    environ: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Ingest the sources through a confluent_kafka-like producer; returns the run summary."""
    results: list[SourceResult] = []
    all_domains: set[str] = set()
    delivery_errors: list[str] = []

    def on_delivery(err: Any, _msg: Any) -> None:
        if err is not None:
            delivery_errors.append(str(err))

    for source in sources:
        result, started = SourceResult(source.name), time.monotonic()
        try:
            text = feeds.fetch(source.resolve_url(environ), source.timeout)
            parsed = parse(text, source.format, source.options)
        except (OSError, FeedError, KeyError, ValueError) as exc:  # URLError and HTTPError are OSErrors
            result.status, result.error = "failed", f"{type(exc).__name__}: {exc}"
            results.append(result)
            print(f"source {source.name}: FAILED {result.error}", file=sys.stderr)
            continue
        common = {
            "source": source.name,
            "interval_start": interval_start,
            "interval_end": interval_end,
            "run_id": run_id,
        }
        for domain in parsed.domains:
            value = {
                "event_id": event_id(source.name, interval_start, interval_end, domain),
                "domain": domain,
                **common,
            }
            producer.produce(observed_topic, key=domain, value=json.dumps(value), on_delivery=on_delivery)
            producer.poll(0)
        for reject in parsed.rejects:
            value = {**common, "line": reject.line, "raw": reject.raw, "reason": reject.reason}
            producer.produce(rejected_topic, key=source.name, value=json.dumps(value), on_delivery=on_delivery)
            result.reject_reasons[_reason_kind(reject.reason)] = (
                result.reject_reasons.get(_reason_kind(reject.reason), 0) + 1
            )
            producer.poll(0)
        result.entries, result.domains = parsed.entries, len(parsed.domains)
        result.duplicates, result.rejected = parsed.duplicates, len(parsed.rejects)
        result.seconds = round(time.monotonic() - started, 3)
        all_domains.update(parsed.domains)
        results.append(result)
        print(f"source {source.name}: {result.domains} domains, {result.rejected} rejected, {result.duplicates} dupes")
    remaining = producer.flush(60)
    if remaining or delivery_errors:
        raise RuntimeError(f"Kafka delivery failed: {remaining} undelivered, errors: {delivery_errors[:5]}")
    return {
        "run_id": run_id,
        "interval_start": interval_start,
        "interval_end": interval_end,
        "unique_domains": len(all_domains),
        "produced": sum(r.domains for r in results),
        "rejected": sum(r.rejected for r in results),
        "failed_sources": [r.source for r in results if r.status == "failed"],
        "sources": [asdict(r) for r in results],
    }


def make_producer(kafka_conn_id: str) -> Any:
    from confluent_kafka import Producer

    # Idempotent producer: broker-side de-duplication of retried sends within the session.
    config = envconn.kafka_config(envconn.get(kafka_conn_id))
    return Producer({**config, "enable.idempotence": True, "linger.ms": 50, "compression.type": "gzip"})


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=str(feeds.DEFAULT_CONFIG))
    ap.add_argument("--source", default="", help="one source by name (default: all enabled)")
    ap.add_argument("--kafka-conn", default=KAFKA_CONN, help="the Kafka connection (AIRFLOW_CONN_<ID>)")
    ap.add_argument("--interval-start", required=True)
    ap.add_argument("--interval-end", required=True)
    ap.add_argument("--run-id", default=f"manual__{datetime.now().isoformat()}")
    ap.add_argument("--observed-topic", default=OBSERVED_TOPIC)
    ap.add_argument("--rejected-topic", default=REJECTED_TOPIC)
    ap.add_argument("--result-file", default="")
    args = ap.parse_args(argv)
    chosen = feeds.select(feeds.load(args.config), args.source or None)
    summary = run(
        chosen,
        make_producer(args.kafka_conn),
        interval_start=args.interval_start,
        interval_end=args.interval_end,
        run_id=args.run_id,
        observed_topic=args.observed_topic,
        rejected_topic=args.rejected_topic,
    )
    line = json.dumps(summary, sort_keys=True)
    if args.result_file:
        Path(args.result_file).parent.mkdir(parents=True, exist_ok=True)
        Path(args.result_file).write_text(line)
    print(RESULT_MARKER + line)
    # Failed sources are reported in the summary, not by the exit code: the operator decides.
    return 0


if __name__ == "__main__":
    sys.exit(main())
