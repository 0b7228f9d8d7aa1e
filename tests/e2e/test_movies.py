"""The movie reference pipeline on the cluster: TMDB (fake) -> Kafka -> Spark -> MongoDB, quality
alerts to an SMTP sink and a webhook receiver, and the dashboard page.

The fakes (tests/fakes/*.py) run in toolbox pods of the release namespace from a ConfigMap; the
connections to them go into the user-owned Secret airyard-airflow-external-connections (merged,
other keys kept). The tests run in order and share state: each stage reads what the previous wrote.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
import requests

from devkit import airflow, browser, fakes, kube

pytestmark = pytest.mark.shared_platform

NS = airflow.NAMESPACE
REL = airflow.RELEASE
REPORTS = kube.REPO / "reports"
MONGO_ENV = [
    {"name": "MONGO_URI", "valueFrom": {"secretKeyRef": {"name": f"{REL}-mongodb-movies", "key": "uri"}}},
]
# The test reads what the pipeline produced as Kafka's admin, an operator's view.
KAFKA_ENV = kube.kafka_env(f"{REL}-kafka-admin")
CLIENT_LABELS = {"airyard.io/mongodb-client": "true", "airyard.io/kafka-client": "true"}
# The fakes run in the platform namespace; tasks reach them from the tasks namespace by full name.
EXTERNAL = {
    "AIRFLOW_CONN_TMDB_DEFAULT": {
        "conn_type": "http",
        "host": f"http://movies-e2e-tmdb.{NS}.svc:8080",
        "password": "test-key",
    },
    **fakes.alert_receivers(NS, "movies-e2e"),
}


@pytest.fixture(scope="module", autouse=True)
def outside() -> Iterator[None]:
    """Fake TMDB, SMTP sink and webhook receiver in the release namespace, and the connections to them."""
    specs = {
        "movies-e2e-tmdb": (["python3", "/fake/tmdb.py", "--port", "8080"], {"http": 8080}),
        **fakes.receiver_specs("movies-e2e"),
    }
    # The connections to the fakes, as a user adds theirs (other pipelines keep their keys).
    values = {k: json.dumps(v) for k, v in EXTERNAL.items()}
    with (
        fakes.serving(NS, "movies-e2e-fakes", specs),
        kube.secret_keys(f"{REL}-airflow-external-connections", airflow.TASKS_NAMESPACE, values),
    ):
        yield


def run_dag(af: airflow.Airflow, dag_id: str, timeout: float) -> tuple[str, dict, float]:
    started = time.monotonic()
    run_id, run = af.run_dag(dag_id, timeout=timeout)
    return run_id, run, time.monotonic() - started


def in_cluster(name: str, script: str) -> dict:
    script = kube.KAFKA_CLIENT + script
    out = kube.run_script(NS, name, script, labels=CLIENT_LABELS, env=MONGO_ENV + KAFKA_ENV, timeout=240)
    return json.loads(out.strip().splitlines()[-1])


def test_ingestion_puts_tmdb_records_on_kafka() -> None:
    with airflow.connect() as af:
        run_id, run, seconds = run_dag(af, "movie_data_ingestion", timeout=900)
        states = af.task_states("movie_data_ingestion", run_id)
        assert run["state"] == "success", states
    print(f"\ningestion run {run_id}: {seconds:.0f} s")
    script = f"""
import json
run = {run_id!r}
def read(topic):
    return [(k, v) for k, v in read_topic(topic) if v.get("run_id") == run]
topics = ("movies.raw.movies", "movies.raw.people", "movies.raw.reviews", "movies.deadletter")
movies, people, reviews, dead = (read(t) for t in topics)
print(json.dumps({{
  "movie_keys": sorted({{k for k, _ in movies}}), "sources": sorted({{v["source"] for _, v in movies}}),
  "people": len({{k for k, _ in people}}), "reviews": sorted({{k for k, _ in reviews}}),
  "dead": sorted(v["reason"] for _, v in dead),
}}))
"""
    got = in_cluster("movies-e2e-kafka-check", script)
    expected_ids = sorted(f"movie:{i}" for i in range(1000, 1070) if i not in (1025, 1040))
    assert got["movie_keys"] == expected_ids
    assert got["sources"] == ["details", "popular", "trending"]
    # Trending people 5000-5019 (5007 has no name: dead letter, but credited as cast) and 7 directors.
    assert got["people"] == 20 + 7
    assert "review:r100100" in got["reviews"]
    assert len(got["reviews"]) == sum(n % 4 for n in range(70) if 1000 + n not in (1025, 1040))
    assert "title is missing or empty" in got["dead"]
    assert "id must be a positive integer, got 'tt-not-a-number'" in got["dead"]
    assert "name is missing or empty" in got["dead"]


def test_processing_writes_movies_with_sentiment_and_aggregates() -> None:
    with airflow.connect() as af:
        run_id, run, seconds = run_dag(af, "movie_data_processing", timeout=1800)
        assert run["state"] == "success", af.task_states("movie_data_processing", run_id)
    print(f"\nprocessing run {run_id}: {seconds:.0f} s")
    got = in_cluster(
        "movies-e2e-mongo-check",
        """
import json, os, pymongo
db = pymongo.MongoClient(os.environ["MONGO_URI"]).get_default_database()
m = {d["tmdb_id"]: d for d in db.movies.find({}, {"_id": 0})}
r = {d["review_id"]: d for d in db.reviews.find({}, {"_id": 0})}
print(json.dumps({
  "movies": len(m), "dupes": db.movies.count_documents({}) - len(m),
  "m1002": {k: m[1002].get(k) for k in ("title", "genres", "runtime", "avg_sentiment", "review_count", "sources")},
  "r100100": r["r100100"]["sentiment_label"], "r100201": r["r100201"]["sentiment_label"],
  "genre_total": sum(g["movie_count"] for g in db.genre_stats.find()), "years": db.yearly_stats.count_documents({}),
  "people": db.people.count_documents({}),
}, default=str))
""",
    )
    assert got["movies"] == 68
    assert got["dupes"] == 0
    assert got["m1002"]["review_count"] == 2  # one positive and one negative review
    assert got["m1002"]["sources"] == ["details", "popular"]
    assert got["m1002"]["runtime"]
    assert got["r100100"] == "positive"
    assert got["r100201"] == "negative"
    assert got["genre_total"] == 68 * 2
    assert got["years"] > 0
    assert got["people"] == 20 + 7


def test_processing_dead_letters_what_does_not_fit_and_rewrites_no_history() -> None:
    """Rows on Kafka that no extraction would publish (not JSON; no TMDB id), a review of a movie
    that does not exist, and a movie first seen before Kafka's retention window."""
    tag = time.strftime("%H%M%S")
    injected = in_cluster(
        "movies-e2e-inject-unfit",
        f"""
import json, os, datetime, pymongo
from confluent_kafka import Producer
tag = {tag!r}
now = datetime.datetime.now(datetime.UTC).isoformat()
def envelope(kind, data):
    return json.dumps({{"kind": kind, "source": "popular", "run_id": "e2e", "extracted_at": now, "data": data}})
p = Producer(kafka_config())
p.produce("movies.raw.movies", key=b"movie:e2e", value=("not json " + tag).encode())
p.produce("movies.raw.movies", key=b"movie:e2e", value=envelope("movie", {{"title": "No Id " + tag}}).encode())
review = {{"review_id": "e2e-orphan-" + tag, "tmdb_id": 990099, "author": "e2e", "content": "A great film."}}
p.produce("movies.raw.reviews", key=b"review:e2e", value=envelope("review", review).encode())
assert p.flush(30) == 0
db = pymongo.MongoClient(os.environ["MONGO_URI"]).get_default_database()
db.movies.update_one({{"tmdb_id": 1002}}, {{"$set": {{"first_seen_at": datetime.datetime(2020, 1, 1)}}}})
print(json.dumps({{"ok": True}}))
""",
    )
    assert injected == {"ok": True}
    with airflow.connect() as af:
        run_id, run, _ = run_dag(af, "movie_data_processing", timeout=1800)
        assert run["state"] == "success", af.task_states("movie_data_processing", run_id)
    got = in_cluster(
        "movies-e2e-unfit-check",
        f"""
import json, os, pymongo
tag = {tag!r}
dead = [[v["source"], v["reason"]] for _, v in read_topic("movies.deadletter") if tag in json.dumps(v.get("raw"))]
db = pymongo.MongoClient(os.environ["MONGO_URI"]).get_default_database()
print(json.dumps({{
  "dead": sorted(dead),
  "first_seen_1002": str(db.movies.find_one({{"tmdb_id": 1002}})["first_seen_at"]),
  "orphan_movie": db.movies.count_documents({{"tmdb_id": 990099}}),
  "orphan_review": db.reviews.count_documents({{"review_id": "e2e-orphan-" + tag}}),
}}))
""",
    )
    assert got["dead"] == [
        ["processing:movies.raw.movies", "does not fit the schema of movies.raw.movies"],
        ["processing:movies.raw.movies", "tmdb_id is missing"],
    ]
    assert got["first_seen_1002"].startswith("2020-01-01")
    assert (got["orphan_review"], got["orphan_movie"]) == (1, 0)


def test_quality_flags_injected_anomaly_and_alerts() -> None:
    inject = in_cluster(
        "movies-e2e-inject",
        """
import json, os, pymongo, datetime
db = pymongo.MongoClient(os.environ["MONGO_URI"]).get_default_database()
now = datetime.datetime.now(datetime.timezone.utc)
db.movies.delete_many({"e2e_injected": True})  # left by an interrupted earlier run
db.pipeline_metrics.delete_many({"e2e_injected": True})
bad = {"tmdb_id": 99999999, "title": None, "vote_average": 42.0, "last_seen_at": now, "e2e_injected": True}
db.movies.insert_one(bad)
# A history of normal hourly runs, then a run with a volume spike (the anomaly to flag).
for h, n in ((4, 160), (3, 158), (2, 161)):
    db.pipeline_metrics.insert_one({"dag_id": "movie_data_ingestion", "run_id": f"e2e-normal-{h}", "records": n,
                                    "recorded_at": now - datetime.timedelta(hours=h), "e2e_injected": True})
db.pipeline_metrics.insert_one({"dag_id": "movie_data_ingestion", "run_id": "e2e-spike", "records": 100000,
                                "recorded_at": now, "e2e_injected": True})
print(json.dumps({"ok": True}))
""",
    )
    assert inject["ok"]
    try:
        with airflow.connect() as af:
            run_id, run, seconds = run_dag(af, "data_quality_monitoring", timeout=900)
            states = af.task_states("data_quality_monitoring", run_id)
    finally:
        in_cluster(
            "movies-e2e-uninject",
            """
import json, os, pymongo
db = pymongo.MongoClient(os.environ["MONGO_URI"]).get_default_database()
print(json.dumps({"m": db.movies.delete_many({"e2e_injected": True}).deleted_count,
                  "p": db.pipeline_metrics.delete_many({"e2e_injected": True}).deleted_count}))
""",
        )
    print(f"\nquality run {run_id}: {seconds:.0f} s, {states}")
    assert run["state"] == "success", states
    assert states["send_quality_alert"] == "success"
    got = in_cluster(
        "movies-e2e-alerts",
        """
import json, urllib.request
mail = json.load(urllib.request.urlopen("http://movies-e2e-smtp:8025/messages"))
hook = json.load(urllib.request.urlopen("http://movies-e2e-webhook:8080/messages"))
print(json.dumps({"mail": mail, "hook": hook}))
""",
    )
    quality_mails = [m for m in got["mail"] if "Movie data quality" in m["subject"]]
    assert quality_mails, got["mail"]
    assert "schema" in quality_mails[-1]["subject"]
    assert "volume" in quality_mails[-1]["subject"]
    assert quality_mails[-1]["to"] == ["oncall@example.org"]
    assert "volume spike" in quality_mails[-1]["body"]
    # The platform's own alerts reach the same receivers (Alertmanager posts attachments, no text).
    pipeline_hooks = [h for h in got["hook"] if "Movie data quality" in h["body"].get("text", "")]
    assert pipeline_hooks, got["hook"]
    assert pipeline_hooks[-1]["path"] == "/services/T0/B0/e2e"


def test_dashboard_renders_with_real_data() -> None:
    stored = in_cluster(
        "movies-e2e-stored",
        """
import json, os, pymongo
db = pymongo.MongoClient(os.environ["MONGO_URI"]).get_default_database()
report = db.quality_reports.find_one(sort=[("generated_at", -1)])
print(json.dumps({"movies": db.movies.count_documents({}), "score": report["score"]}))
""",
    )
    with airflow.connect() as af:
        resp = af.session.get(f"{af.base_url}/movie_pipeline/dashboard", timeout=60)
        anonymous = requests.get(f"{af.base_url}/movie_pipeline/dashboard", timeout=60)
    assert anonymous.status_code == 401
    assert resp.status_code == 200, resp.text[:300]
    page = resp.text
    assert "Movie Pipeline Dashboard" in page
    for section in ("status", "quality", "volume", "analytics", "health", "alerts"):
        assert f'id="{section}"' in page
    assert "<script" not in page
    assert "movie_data_processing" in page
    assert "state-success" in page
    assert f"<td>movies</td><td>{stored['movies']}</td>" in page
    assert f"score <b>{stored['score']:.2f}</b>" in page
    REPORTS.mkdir(exist_ok=True)
    html_file = REPORTS / "movies-dashboard.html"
    html_file.write_text(page)
    png = browser.screenshot(html_file.as_uri(), REPORTS / "movies-dashboard.png", width=1400, height=1500)
    assert png.stat().st_size > 20_000
    print(f"\ndashboard screenshot: {png}")
