"""Extraction task pods: TMDB -> Kafka. ``python -m airyard.movies.extract <kind> [options]``.

Kinds: trending_movies, popular_movies, trending_people (list endpoints, paged) and movie_details
(details, credits and reviews of the ids given with --ids, a JSON list or lists of ids). Every valid
record goes to its raw topic keyed by its id; an invalid record or a movie the API no longer knows
goes to the dead-letter topic with the reason, and the batch continues. The summary (counts, ids,
dead letters) is printed and written to /airflow/xcom/return.json for the next tasks.

Connections come from the environment as Airflow defines them: AIRFLOW_CONN_TMDB_DEFAULT
(password: API key; host: base URL, default the real API), AIRFLOW_CONN_KAFKA_DEFAULT,
AIRFLOW_CONN_REDIS_DEFAULT (optional: the rate limit shared by all pods).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from airyard import envconn as conn
from airyard.movies import KAFKA_CONN, TOPIC_DEADLETTER, TOPIC_MOVIES, TOPIC_PEOPLE, TOPIC_REVIEWS, records
from airyard.movies.tmdb import (
    DEFAULT_BASE_URL,
    DEFAULT_RATE_PER_SECOND,
    LocalRateLimiter,
    RedisRateLimiter,
    TMDBClient,
    TMDBError,
)

log = logging.getLogger("airyard.movies.extract")
XCOM_PATH = Path("/airflow/xcom/return.json")
KINDS = ("trending_movies", "popular_movies", "trending_people", "movie_details")


class Publisher:
    """Kafka producer with delivery tracking; idempotent so broker retries never duplicate."""

    def __init__(self, config: dict[str, Any]) -> None:
        from confluent_kafka import Producer

        self.producer = Producer({**config, "enable.idempotence": True, "acks": "all", "linger.ms": 20})
        self.errors: list[str] = []
        self.sent: dict[str, int] = {}

    def _done(self, err: Any, msg: Any) -> None:
        if err is not None:
            self.errors.append(str(err))
        else:
            self.sent[msg.topic()] = self.sent.get(msg.topic(), 0) + 1

    def send(self, topic: str, key: str, value: dict[str, Any]) -> None:
        self.producer.produce(
            topic, key=key.encode(), value=json.dumps(value, default=str).encode(), on_delivery=self._done
        )
        self.producer.poll(0)

    def flush(self, timeout: float = 60) -> None:
        remaining = self.producer.flush(timeout)
        if remaining or self.errors:
            raise RuntimeError(f"Kafka: {remaining} undelivered, errors: {self.errors[:5]}")


class Extractor:
    def __init__(self, client: TMDBClient, publisher: Publisher, run_id: str) -> None:
        self.client = client
        self.publisher = publisher
        self.run_id = run_id
        self.counts: dict[str, int] = {"movies": 0, "people": 0, "reviews": 0}
        self.dead_letters = 0
        self.reasons: list[str] = []
        self.ids: list[int] = []

    def dead(self, source: str, reason: str, raw: Any) -> None:
        self.dead_letters += 1
        if len(self.reasons) < 20:
            self.reasons.append(f"{source}: {reason}")
        ident = raw.get("id") if isinstance(raw, dict) else None
        # Whatever the id is (a lone surrogate, a huge object), the key must encode and stay small.
        key = f"{source}:{str(ident)[:200]}".encode("utf-8", "backslashreplace").decode()
        self.publisher.send(TOPIC_DEADLETTER, key, records.dead_letter(source, reason, raw, self.run_id))

    def publish(self, kind: str, source: str, data: dict[str, Any]) -> None:
        topic = {"movie": TOPIC_MOVIES, "person": TOPIC_PEOPLE, "review": TOPIC_REVIEWS}[kind]
        self.publisher.send(topic, records.key(kind, data), records.envelope(kind, source, data, self.run_id))
        self.counts[{"movie": "movies", "person": "people", "review": "reviews"}[kind]] += 1

    def each(self, kind: str, source: str, items: Iterable[Any], check: Callable[[Any], dict[str, Any]]) -> None:
        for raw in items:
            try:
                data = records.fitting(check(raw))
            except records.InvalidRecord as exc:
                self.dead(source, str(exc), raw)
                continue
            self.publish(kind, source, data)
            if kind == "movie" and data["tmdb_id"] not in self.ids:
                self.ids.append(data["tmdb_id"])

    def details(self, movie_ids: Iterable[int], review_pages: int) -> None:
        for mid in movie_ids:
            try:
                detail = self.client.movie(mid)
                credits = self.client.credits(mid)
                reviews = list(self.client.reviews(mid, review_pages))
            except TMDBError as exc:
                if exc.status in (404, 422):  # gone from TMDB: that record only, not the batch
                    self.dead("movie_details", str(exc), {"id": mid})
                    continue
                raise
            self.each("movie", "details", [detail], records.movie)
            for role in ("cast", "crew"):
                entries = credits.get(role) or []
                check = lambda r, role=role, mid=mid: records.credit(r, mid, role)  # noqa: E731
                self.each("person", f"credits_{role}", entries, check)
            self.each("review", "reviews", reviews, lambda r, mid=mid: records.review(r, mid))


def _flatten_ids(value: Any) -> list[int]:
    """Ids from --ids: a list of ints, or of XCom summaries / lists (the upstream tasks' results)."""
    out: list[int] = []
    stack = [value]
    while stack:
        item = stack.pop(0)
        if isinstance(item, dict):
            stack.append(item.get("ids", []))
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, int) and not isinstance(item, bool) and item not in out:
            out.append(item)
    return out


def build_client(environ: dict[str, str] | None = None) -> TMDBClient:
    env = os.environ if environ is None else environ
    tmdb = conn.get("tmdb_default", env)
    base_url = (
        tmdb.host if tmdb.host.startswith("http") else (f"https://{tmdb.host}" if tmdb.host else DEFAULT_BASE_URL)
    )
    if tmdb.port and base_url.count(":") < 2:
        base_url = f"{base_url}:{tmdb.port}"
    # A base URL ending in /3 (as the connection table of the docs shows it) is accepted too.
    base_url = base_url.rstrip("/").removesuffix("/3")
    rate = int(tmdb.extra.get("rate_per_second", DEFAULT_RATE_PER_SECOND))
    limiter: Any = LocalRateLimiter(rate)
    try:
        limiter = RedisRateLimiter(conn.redis_client(conn.get("redis_default", env)), rate)
    except conn.ConnectionMissing:
        log.warning("no redis_default connection: the rate limit is per pod only")
    api_key = tmdb.password or str(tmdb.extra.get("api_key", ""))
    return TMDBClient(api_key, base_url, limiter=limiter, max_retries=int(tmdb.extra.get("max_retries", 5)))


def run(
    kind: str, *, pages: int, run_id: str, ids: Any = None, review_pages: int = 1, environ: dict[str, str] | None = None
) -> dict[str, Any]:
    env = os.environ if environ is None else environ
    started = time.monotonic()
    client = build_client(env)
    publisher = Publisher(conn.kafka_config(conn.get(KAFKA_CONN, env)))
    ex = Extractor(client, publisher, run_id)
    if kind == "popular_movies":
        ex.each("movie", "popular", client.popular_movies(pages), records.movie)
    elif kind == "trending_movies":
        ex.each("movie", "trending", client.trending_movies(pages), records.movie)
    elif kind == "trending_people":
        ex.each("person", "trending", client.trending_people(pages), records.person)
    elif kind == "movie_details":
        ex.details(_flatten_ids(ids), review_pages)
    else:
        raise ValueError(f"unknown kind {kind!r}; one of {KINDS}")
    publisher.flush()
    return {
        "kind": kind,
        "run_id": run_id,
        "counts": ex.counts,
        "records": sum(ex.counts.values()),
        "dead_letters": ex.dead_letters,
        "dead_letter_reasons": ex.reasons,
        "ids": ex.ids,
        "api_requests": client.requests,
        "api_retries": client.retries,
        "seconds": round(time.monotonic() - started, 2),
    }


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="python -m airyard.movies.extract")
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("--pages", type=int, default=1)
    parser.add_argument("--review-pages", type=int, default=1)
    parser.add_argument("--run-id", default="manual")
    parser.add_argument("--ids", default="[]", help="JSON: ids, or upstream summaries with an 'ids' list")
    parser.add_argument("--xcom", default=str(XCOM_PATH))
    args = parser.parse_args(argv)
    summary = run(
        args.kind,
        pages=args.pages,
        run_id=args.run_id,
        ids=json.loads(args.ids or "[]"),
        review_pages=args.review_pages,
    )
    print(json.dumps(summary))
    xcom = Path(args.xcom)
    if xcom.parent.is_dir():
        xcom.write_text(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
