"""The movie pipeline's pod code, hooks and operators against real Kafka, MongoDB and Redis.

TMDB is the fake (tests/fakes/tmdb.py); everything else is the platform's own service images.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pymongo
import pytest
import redis
from airyard.kafka.hooks import KafkaHook
from airyard.mongo.hooks import MongoHook
from airyard.mongo.operators import MongoFreshnessCheckOperator
from airyard.movies import (
    ALL_TOPICS,
    KAFKA_CONN,
    PROCESSING_GROUP,
    RAW_TOPICS,
    TOPIC_DEADLETTER,
    TOPIC_MOVIES,
    TOPIC_PEOPLE,
    TOPIC_REVIEWS,
    extract,
    quality,
    store,
)
from airyard.movies.hooks import TMDBHook
from airyard.movies.operators import (
    DataQualityBranchOperator,
    ExtractionMetricsOperator,
    KafkaLagCheckOperator,
    MongoDBValidationOperator,
    QualityReportOperator,
    VolumeCheckOperator,
)
from airyard.movies.tmdb import RedisRateLimiter
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from tests.fakes import tmdb as fake_tmdb
from tests.services import Service


@pytest.fixture(scope="module")
def tmdb() -> Iterator[str]:
    srv, _ = fake_tmdb.serve()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()


@pytest.fixture(scope="module")
def topics(kafka_service: Service) -> None:
    admin = AdminClient({"bootstrap.servers": kafka_service.address})
    futures = admin.create_topics([NewTopic(t, num_partitions=3 if t in RAW_TOPICS else 1) for t in ALL_TOPICS])
    for f in futures.values():
        try:
            f.result(30)
        except Exception as exc:
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise


@pytest.fixture
def env(
    monkeypatch: pytest.MonkeyPatch,
    tmdb: str,
    kafka_service: Service,
    redis_service: Service,
    mongo_service: Service,
    topics: None,
) -> dict[str, str]:
    """AIRFLOW_CONN_* as the platform defines them (bootstrap chart), pointing at the test services."""
    values = {
        "AIRFLOW_CONN_TMDB_DEFAULT": json.dumps({"conn_type": "http", "host": tmdb, "password": "test-key"}),
        "AIRFLOW_CONN_KAFKA_MOVIES": json.dumps(
            {"conn_type": "kafka", "extra": {"bootstrap.servers": kafka_service.address}}
        ),
        "AIRFLOW_CONN_REDIS_DEFAULT": json.dumps(
            {
                "conn_type": "redis",
                "host": "127.0.0.1",
                "port": redis_service.port,
                "password": redis_service.password,
                "extra": {"db": 0},
            }
        ),
        "AIRFLOW_CONN_MONGO_DEFAULT": json.dumps(
            {
                "conn_type": "mongo",
                "host": "127.0.0.1",
                "port": mongo_service.port,
                "login": mongo_service.username,
                "password": mongo_service.password,
                "schema": "movies",
                "extra": {"authSource": "admin"},
            }
        ),
    }
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    return values


@pytest.fixture
def db(mongo_service: Service) -> Iterator[Any]:
    client = pymongo.MongoClient(mongo_service.extra["uri"], tz_aware=True)
    client.drop_database("movies")
    yield client["movies"]
    client.close()


def read_topic(address: str, topic: str, run_id: str | None = None) -> list[tuple[str, dict[str, Any]]]:
    """Every message of a topic (optionally of one run) as (key, value)."""
    consumer = Consumer({"bootstrap.servers": address, "group.id": f"t-{uuid.uuid4()}", "enable.auto.commit": False})
    parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, 0) for p in parts])
    ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p))[1] for p in parts}
    out, done = [], {p for p, end in ends.items() if end == 0}
    deadline = time.monotonic() + 30
    while len(done) < len(parts) and time.monotonic() < deadline:
        msg = consumer.poll(1)
        if msg is None or msg.error():
            continue
        value = json.loads(msg.value())
        if run_id is None or value.get("run_id") == run_id:
            out.append((msg.key().decode(), value))
        if msg.offset() + 1 >= ends[msg.partition()]:
            done.add(msg.partition())
    consumer.close()
    return out


def test_popular_extraction_publishes_valid_records_and_dead_letters(
    env: dict[str, str], kafka_service: Service
) -> None:
    run = f"it-{uuid.uuid4()}"
    summary = extract.run("popular_movies", pages=5, run_id=run, environ=env)
    assert summary["records"] == 58
    assert summary["dead_letters"] == 2
    assert summary["api_requests"] == 3  # 3 pages exist
    movies = read_topic(kafka_service.address, TOPIC_MOVIES, run)
    assert len(movies) == 58
    assert {k for k, _ in movies} == {f"movie:{i}" for i in summary["ids"]}
    assert all(v["source"] == "popular" and v["data"]["title"] for _, v in movies)
    dead = read_topic(kafka_service.address, TOPIC_DEADLETTER, run)
    assert sorted(v["reason"] for _, v in dead) == [
        "id must be a positive integer, got 'tt-not-a-number'",
        "title is missing or empty",
    ]
    assert all(v["raw"] for _, v in dead)

    # Re-running the interval publishes the same keys: consumers upsert by them.
    again = extract.run("popular_movies", pages=5, run_id=run + "-b", environ=env)
    assert again["ids"] == summary["ids"]


def test_details_extraction_with_unknown_movie(env: dict[str, str], kafka_service: Service) -> None:
    run = f"it-{uuid.uuid4()}"
    upstream = [{"ids": [1000, 1001, 1002]}, {"ids": [1001, 999999]}]
    summary = extract.run("movie_details", pages=1, run_id=run, ids=upstream, environ=env)
    assert summary["counts"] == {"movies": 3, "people": 12, "reviews": 3}  # 3 cast + 1 director each
    assert summary["dead_letters"] == 1
    assert "HTTP 404" in summary["dead_letter_reasons"][0]
    reviews = read_topic(kafka_service.address, TOPIC_REVIEWS, run)
    assert sorted(k for k, _ in reviews) == ["review:r100100", "review:r100200", "review:r100201"]
    people = read_topic(kafka_service.address, TOPIC_PEOPLE, run)
    assert all(v["data"]["credits"][0]["tmdb_id"] in (1000, 1001, 1002) for _, v in people)


def test_rate_limit_is_shared_through_redis(redis_service: Service) -> None:
    client = redis.Redis(port=redis_service.port, password=redis_service.password)
    key = f"it:{uuid.uuid4()}"
    stamps: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        limiter = RedisRateLimiter(
            redis.Redis(port=redis_service.port, password=redis_service.password), rate=5, key=key
        )
        for _ in range(5):
            limiter.acquire()
            with lock:
                stamps.append(time.time())

    threads = [threading.Thread(target=worker) for _ in range(3)]  # three "pods", one budget
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    per_second: dict[int, int] = {}
    for s in stamps:
        per_second[int(s)] = per_second.get(int(s), 0) + 1
    assert len(stamps) == 15
    assert max(per_second.values()) <= 5
    assert len(per_second) >= 3
    assert client.exists(f"{key}:{int(stamps[-1])}")


def test_tmdb_hook_from_connection(env: dict[str, str]) -> None:
    c = TMDBHook().get_conn()
    assert isinstance(c.limiter, RedisRateLimiter)
    assert c.movie(1003)["id"] == 1003


def test_store_upserts_are_idempotent_and_cleanup_honours_retention(env: dict[str, str], db: Any) -> None:
    now = datetime.now(UTC)
    docs = [{"tmdb_id": i, "title": f"m{i}", "last_seen_at": now - timedelta(days=i * 20)} for i in range(1, 4)]
    assert store.upsert(db.movies, docs, ["tmdb_id"]) == {"inserted": 3, "updated": 0}
    assert store.upsert(db.movies, docs, ["tmdb_id"]) == {"inserted": 0, "updated": 3}
    assert db.movies.count_documents({}) == 3
    deleted = store.cleanup(db, days=30, now=now)
    assert deleted["movies"] == 2
    assert [d["tmdb_id"] for d in db.movies.find()] == [1]
    client, name = store.client_from_env()
    with client:
        assert name == "movies"
        assert client[name].movies.count_documents({}) == 1


def test_first_seen_never_moves_later_and_sentiment_never_creates_movies(db: Any) -> None:
    """Processing recomputes first_seen_at from what Kafka still holds, and the sentiment stage
    writes per-movie fields: neither may rewrite a movie's history or create a stub movie."""
    day = datetime(2026, 1, 10, tzinfo=UTC)
    first = {"tmdb_id": 501, "title": "Kept", "first_seen_at": day, "last_seen_at": day}
    store.upsert(db.movies, [first], ["tmdb_id"], earliest=["first_seen_at"])
    # A later run whose window starts after the first record was retained away.
    later = {**first, "title": "Kept (retitled)", "first_seen_at": day + timedelta(days=9)}
    store.upsert(db.movies, [later], ["tmdb_id"], earliest=["first_seen_at"])
    doc = db.movies.find_one({"tmdb_id": 501})
    assert (doc["title"], doc["first_seen_at"]) == ("Kept (retitled)", day)

    sentiment = [{"tmdb_id": 501, "avg_sentiment": 0.5}, {"tmdb_id": 502, "avg_sentiment": -0.2}]
    assert store.upsert(db.movies, sentiment, ["tmdb_id"], create=False) == {"inserted": 0, "updated": 1}
    assert db.movies.find_one({"tmdb_id": 501})["avg_sentiment"] == 0.5
    assert db.movies.find_one({"tmdb_id": 502}) is None


def test_a_bulk_upsert_matching_more_documents_than_the_backends_pool_completes(mongo_service: Service) -> None:
    """FerretDB 1.24 kept each matched document's query open until the command ended, one pooled
    connection each (100): the 101st waited forever, no answer and no CPU (our image patches it)."""
    client = pymongo.MongoClient(mongo_service.extra["uri"], socketTimeoutMS=120_000)
    with client:
        coll = client["movies"]["e2e_pool"]
        coll.drop()
        docs = [{"tmdb_id": i, "title": f"m{i}"} for i in range(150)]
        assert store.upsert(coll, docs, ["tmdb_id"]) == {"inserted": 150, "updated": 0}
        again = [{**d, "avg_sentiment": 0.1} for d in docs]
        assert store.upsert(coll, again, ["tmdb_id"], create=False) == {"inserted": 0, "updated": 150}
        assert coll.count_documents({"avg_sentiment": 0.1}) == 150


def test_documents_live_under_their_natural_id_and_earlier_ones_are_adopted(db: Any) -> None:
    """Upserts find documents by _id (FerretDB's primary key), so a document an earlier version
    stored under a generated ObjectId moves to its natural _id once, instead of being copied."""
    db.movies.create_index("tmdb_id", unique=True)  # as the platform's indexes have it
    db.movies.insert_many([{"tmdb_id": i, "title": f"old {i}"} for i in (7, 8)])
    assert store.adopt_natural_ids(db.movies, ["tmdb_id"]) == 2
    assert store.adopt_natural_ids(db.movies, ["tmdb_id"]) == 0
    assert sorted(d["_id"] for d in db.movies.find()) == ["7", "8"]
    docs = [{"tmdb_id": i, "title": f"new {i}"} for i in (7, 8, 9)]
    assert store.upsert(db.movies, docs, ["tmdb_id"]) == {"inserted": 1, "updated": 2}
    assert {d["_id"]: d["title"] for d in db.movies.find()} == {"7": "new 7", "8": "new 8", "9": "new 9"}
    assert store.natural_id({"genre_id": 18, "year": 2026}, ["genre_id", "year"]) == "18|2026"


def test_kafka_lag(env: dict[str, str], kafka_service: Service) -> None:
    extract.run("trending_movies", pages=1, run_id="lag", environ=env)
    before = KafkaLagCheckOperator(task_id="lag", max_lag=0).execute({})
    assert before["passed"] is False
    assert before["details"]["total_lag"] > 0
    # Processing commits what it read (jobs/process.py does the same): the lag goes to zero.
    _committed, high = KafkaHook(KAFKA_CONN).lag(RAW_TOPICS, group=PROCESSING_GROUP)
    consumer = Consumer({"bootstrap.servers": kafka_service.address, "group.id": PROCESSING_GROUP})
    consumer.commit(
        offsets=[TopicPartition(*tp.split(":")[:1], int(tp.split(":")[1]), hw) for tp, hw in high.items()],
        asynchronous=False,
    )
    consumer.close()
    after = KafkaLagCheckOperator(task_id="lag2", max_lag=0).execute({})
    assert after["passed"] is True
    assert after["details"]["total_lag"] == 0


class FakeTI:
    """Just the XCom pull a report reads, from a dict of upstream results."""

    def __init__(self, results: dict[str, Any], dag_id: str = "data_quality_monitoring") -> None:
        self.results = results
        self.dag_id = dag_id

    def xcom_pull(self, task_ids: str) -> Any:
        return self.results.get(task_ids)

    def xcom_push(self, key: str, value: Any) -> None:
        self.results[key] = value


def test_quality_operators_flag_bad_documents_and_store_the_report(env: dict[str, str], db: Any) -> None:
    now = datetime.now(UTC)
    good = {"title": "ok", "popularity": 1.0, "vote_average": 7.0, "genre_ids": [18], "last_seen_at": now}
    db.movies.insert_many([{"tmdb_id": i, **good} for i in range(1, 50)])
    db.people.insert_one({"person_id": 1, "name": "p", "last_seen_at": now})
    db.reviews.insert_one(
        {"review_id": "r", "tmdb_id": 1, "content": "good", "sentiment_score": 0.4, "sentiment_label": "positive"}
    )
    schema = MongoDBValidationOperator(task_id="v", collections=["movies", "people", "reviews"]).execute({})
    assert schema["passed"] is True
    db.movies.insert_one({"tmdb_id": 99, "title": None, "vote_average": 42, "last_seen_at": now})  # injected bad doc
    schema = MongoDBValidationOperator(task_id="v", collections=["movies"]).execute({})
    assert schema["passed"] is False
    assert schema["details"]["schema_movies"]["invalid"] == 1

    fresh = MongoFreshnessCheckOperator(
        task_id="f",
        service="mongodb:movies",
        collection="movies",
        field="last_seen_at",
        max_age=timedelta(hours=26),
        pipeline="movies",
        layer="movies",
    )
    assert fresh.execute({"ti": FakeTI({})})["passed"] is True
    for i, n in enumerate([100, 104, 98, 101]):
        db.pipeline_metrics.insert_one(
            {
                "dag_id": "movie_data_ingestion",
                "run_id": f"r{i}",
                "records": n,
                "recorded_at": now - timedelta(hours=5 - i),
            }
        )
    assert VolumeCheckOperator(task_id="vol").execute({})["passed"] is True
    db.pipeline_metrics.insert_one(
        {"dag_id": "movie_data_ingestion", "run_id": "spike", "records": 5000, "recorded_at": now}
    )
    volume = VolumeCheckOperator(task_id="vol").execute({})
    assert volume["passed"] is False
    assert volume["details"]["reason"] == "volume spike"

    results = {
        "validate_data_schema": schema,
        "check_data_volume": volume,
        "check_data_freshness": {"check": "freshness", "passed": True, "details": {}},
        # Per-partition details name topics, which have dots: the stored report must keep them.
        "check_kafka_lag": quality.kafka_lag({f"{TOPIC_MOVIES}:0": 0}, {f"{TOPIC_MOVIES}:0": 5}, max_lag=1),
    }
    ctx = {"ti": FakeTI(results), "run_id": "q1"}
    report = QualityReportOperator(
        task_id="generate_quality_report", check_task_ids=[*list(results), "check_new_thing"], threshold="0.8"
    ).execute(ctx)
    assert report["score"] == 0.2  # freshness passed; schema, volume, lag failed; the new check missing
    assert report["breached"] is True
    stored = db.quality_reports.find_one({"run_id": "q1"})
    assert stored["failed_checks"] == ["schema", "volume", "kafka_lag", "check_new_thing"]
    branch = DataQualityBranchOperator(
        task_id="g", report_task_id="generate_quality_report", alert_task_id="alert", ok_task_id="end"
    )
    assert branch.choose_branch({"ti": FakeTI({"generate_quality_report": report})}) == "alert"
    assert branch.choose_branch({"ti": FakeTI({"generate_quality_report": {**report, "breached": False}})}) == "end"


def test_extraction_metrics_go_to_kafka_and_mongodb(env: dict[str, str], db: Any, kafka_service: Service) -> None:
    results = {
        "a": {"records": 10, "dead_letters": 1, "api_requests": 3},
        "b": {"records": 5, "dead_letters": 0, "api_requests": 1},
    }
    ctx = {"ti": FakeTI(results, dag_id="movie_data_ingestion"), "run_id": "m1"}
    op = ExtractionMetricsOperator(task_id="publish_extraction_metrics", extract_task_ids=["a", "b"])
    out = op.execute(ctx)
    assert (out["records"], out["dead_letters"], out["api_requests"]) == (15, 1, 4)
    op.execute(ctx)  # a re-run of the task does not duplicate the document
    assert db.pipeline_metrics.count_documents({"run_id": "m1"}) == 1
    with MongoHook() as hook:
        assert hook.database().pipeline_metrics.find_one({"run_id": "m1"})["records"] == 15
    assert any(k == "ingestion:m1" for k, _ in read_topic(kafka_service.address, "movies.metrics"))
