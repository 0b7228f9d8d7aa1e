"""Data throughput of the movie ingestion path: fake TMDB -> Kafka -> Spark -> MongoDB.

The pipeline's own code runs, with the benchmark's names so the platform's data stays untouched:
extraction (airyard.movies.extract in an airyard/movies pod) from the TMDB fake
(tests/fakes/tmdb.py) serving BENCH_MOVIES popular movies (default 1000), into topics
`bench.movies.*`; then the processing job (images/movies-spark jobs/process.py, stages movies and
sentiment, in one application) as a SparkApplication shaped like the pipeline's, into the collections `bench_*` of the
movies database. The results are counted, then topics and collections are deleted.

The TMDB rate limit is lifted (the connection's rate_per_second) so the figure is the platform's;
with TMDB's real budget the pipeline defaults to 20 requests/s (3 requests per movie).
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

import yaml

from bench import sparkapps
from bench.cluster import activity, machine
from bench.results import REPO, activity_line, now, save_part, table
from devkit import kube
from devkit.airflow import NAMESPACE

NS = NAMESPACE  # the bench's own pods; its SparkApplication runs in sparkapps.NAMESPACE
REL = "airyard"
NAME = "bench-movies"
TMDB = "bench-tmdb"
RUN_ID = "bench"
#: airyard.movies names the benchmark replaces (see the module docstring).
TOPICS = {
    "TOPIC_MOVIES": "bench.movies.raw.movies",
    "TOPIC_PEOPLE": "bench.movies.raw.people",
    "TOPIC_REVIEWS": "bench.movies.raw.reviews",
    "TOPIC_DEADLETTER": "bench.movies.deadletter",
}
COLLECTIONS = {"MOVIES": "bench_movies", "PEOPLE": "bench_people", "REVIEWS": "bench_reviews"}
GROUP = {"PROCESSING_GROUP": "bench-movies-processing"}
CLIENT_LABELS = {"airyard.io/kafka-client": "true", "airyard.io/mongodb-client": "true"}

SERVE = """
import sys
from http.server import ThreadingHTTPServer

sys.path.insert(0, "/opt/bench")
import tmdb

fake = tmdb.FakeTMDB(tmdb.build_fixtures(popular=int(sys.argv[1])), "bench-key")
print("fake TMDB with", sys.argv[1], "popular movies", flush=True)
ThreadingHTTPServer(("0.0.0.0", 8080), fake.handler()).serve_forever()
"""

# The processing job with the benchmark's names: process.py imports them from airyard.movies at
# start, so they are replaced first; executors get them with the pickled partition writers. Both
# stages run in one Spark application (the pipeline runs one per stage): a second SparkContext in
# the same driver fails on Kubernetes, so process.py's spark.stop() is held until both are done.
PROCESS = """
import json, os, runpy, sys, time
started = time.monotonic()
from pyspark.sql import SparkSession
import airyard.movies as names

for key, value in json.loads(os.environ["BENCH_NAMES"]).items():
    setattr(names, key, value)
spark = SparkSession.builder.appName("bench-movies").getOrCreate()
print("BENCH " + json.dumps({"stage": "session", "seconds": round(time.monotonic() - started, 2)}), flush=True)
stop = SparkSession.stop
SparkSession.stop = lambda self: None
try:
    for stage in ("movies", "sentiment"):
        sys.argv = ["process.py", stage, "--run-id", os.environ["BENCH_RUN_ID"]]
        started = time.monotonic()
        try:
            runpy.run_path("/opt/airyard/jobs/process.py", run_name="__main__")
        except SystemExit as done:
            if done.code not in (0, None):
                raise
        print("BENCH " + json.dumps({"stage": stage, "seconds": round(time.monotonic() - started, 2)}), flush=True)
finally:
    SparkSession.stop = stop
    spark.stop()
"""

EXTRACT = """
import json, os, time, urllib.request
from confluent_kafka.admin import AdminClient, NewTopic
from airyard import envconn
import airyard.movies.extract as ex

topics = json.loads(os.environ["BENCH_TOPICS"])
for key, value in topics.items():
    setattr(ex, key, value)
for _ in range(60):
    try:
        urllib.request.urlopen("http://bench-tmdb:8080/healthz", timeout=2)
        break
    except OSError:
        time.sleep(2)
admin = AdminClient(envconn.kafka_config(envconn.get("kafka_movies")))
stale = [t for t in topics.values() if t in admin.list_topics(timeout=30).topics]
if stale:
    for f in admin.delete_topics(stale).values():
        f.result()
    while set(stale) & set(admin.list_topics(timeout=30).topics):
        time.sleep(1)
for _ in range(30):
    futures = admin.create_topics([NewTopic(t, num_partitions=3, replication_factor=1) for t in topics.values()])
    try:
        for f in futures.values():
            f.result()
        break
    except Exception as err:  # a topic still being deleted: try again
        if "TOPIC_ALREADY_EXISTS" in str(err):
            break
        time.sleep(2)
pages = -(-int(os.environ["BENCH_MOVIES"]) // 20)
started = time.monotonic()
lists = ex.run("popular_movies", pages=pages, run_id=os.environ["BENCH_RUN_ID"])
details = ex.run("movie_details", pages=1, run_id=os.environ["BENCH_RUN_ID"], ids=lists["ids"])
seconds = time.monotonic() - started
ids = lists.pop("ids")
details.pop("ids")
print(json.dumps({"lists": lists, "details": details, "movie_ids": len(ids), "seconds": round(seconds, 2)}))
"""

# The platform's indexes of the pipeline's collections (charts/airyard/values.yaml, mongodb), on
# the benchmark's collections: keyed upserts run against the same indexes as in production.
PREPARE = """
import json, os, pymongo
db = pymongo.MongoClient(os.environ["MONGO_URI"]).get_default_database()
made = {}
for collection, indexes in json.loads(os.environ["BENCH_INDEXES"]).items():
    db[collection].drop()
    for ix in indexes:
        keys = [(k.lstrip("-"), pymongo.DESCENDING if k.startswith("-") else pymongo.ASCENDING) for k in ix["keys"]]
        db[collection].create_index(keys, name=ix["name"], unique=bool(ix.get("unique")))
    made[collection] = sorted(db[collection].index_information())
print(json.dumps(made))
"""

CHECK = """
import json, os, pymongo
from confluent_kafka.admin import AdminClient
db = pymongo.MongoClient(os.environ["MONGO_URI"]).get_default_database()
collections = json.loads(os.environ["BENCH_COLLECTIONS"])
counts = {c: db[c].count_documents({}) for c in collections}
counts["movies_with_sentiment"] = db[collections[0]].count_documents({"review_count": {"$gt": 0}})
for c in collections:
    db[c].drop()
admin = AdminClient(kafka_config())
for f in admin.delete_topics(json.loads(os.environ["BENCH_TOPICS"])).values():
    f.result()
try:
    for f in admin.delete_consumer_groups([os.environ["BENCH_GROUP"]]).values():
        f.result()
except Exception as err:
    counts["group_not_deleted"] = str(err)
print(json.dumps(counts))
"""


def _env(value: dict[str, str]) -> list[dict[str, Any]]:
    return [{"name": k, "value": v} for k, v in value.items()]


def _kafka_conn() -> str:
    """The bench's Kafka connection: Kafka's admin, as it makes and drops its own topics and groups."""
    secret = f"{REL}-kafka-admin"
    extra = {
        "bootstrap.servers": kube.secret_value(secret, "bootstrap-servers", NS),
        "security.protocol": "SASL_PLAINTEXT",
    }
    extra |= {f"sasl.{k}": kube.secret_value(secret, k, NS) for k in ("mechanism", "username", "password")}
    return json.dumps({"conn_type": "kafka", "extra": extra})


def _start_fake(movies: int) -> None:
    data = {"tmdb.py": (REPO / "tests" / "fakes" / "tmdb.py").read_text(), "serve.py": SERVE, "process.py": PROCESS}
    for namespace in (NS, sparkapps.NAMESPACE):  # the fake's files, and the job's
        kube.apply(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": NAME}, "data": data}, namespace=namespace
        )
    kube.kubectl("delete", "pod", TMDB, "-n", NS, "--ignore-not-found", "--wait=true")
    mounts = [{"name": "bench", "mountPath": "/opt/bench"}]
    volumes = [{"name": "bench", "configMap": {"name": NAME}}]
    # The fake is the outside world (kube.outside_world): the enforced policies admit it as one.
    pod = kube.pod(
        TMDB,
        ["python3", "/opt/bench/serve.py", str(movies)],
        volumes=volumes,
        mounts=mounts,
        ports=[8080],
        labels={"app": TMDB, **kube.FAKE},
    )
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": TMDB},
        "spec": {"selector": {"app": TMDB}, "ports": [{"name": "http", "port": 8080, "targetPort": 8080}]},
    }
    kube.apply(pod, service, namespace=NS)
    kube.wait_pod_phase(TMDB, NS, {"Running"}, timeout=180)


def _cleanup() -> None:
    sparkapps.delete(NAME)
    for kind in ("pod", "service", "configmap"):
        kube.kubectl("delete", kind, TMDB if kind != "configmap" else NAME, "-n", NS, "--ignore-not-found",
                     "--wait=false", check=False)  # fmt: skip
    kube.kubectl("delete", "configmap", NAME, "-n", sparkapps.NAMESPACE, "--ignore-not-found", check=False)


def _mongo_env() -> list[dict[str, Any]]:
    return [{"name": "MONGO_URI", "valueFrom": {"secretKeyRef": {"name": f"{REL}-mongodb-movies", "key": "uri"}}}]


def _prepare_collections() -> dict[str, Any]:
    """Empty bench collections with the indexes the platform declares for the pipeline's."""
    values = yaml.safe_load((REPO / "charts" / "airyard" / "values.yaml").read_text())["mongodb"]
    (db,) = [d for d in values["databases"] if d["name"] == "movies"]
    declared = {c["name"]: c.get("indexes", []) for c in db["collections"]}
    indexes = {bench: declared[name.lower()] for name, bench in COLLECTIONS.items()}
    env = [*_mongo_env(), *_env({"BENCH_INDEXES": json.dumps(indexes)})]
    out = kube.run_script(NS, f"{NAME}-prepare", PREPARE, labels=CLIENT_LABELS, env=env)
    made: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return made


def _count_and_drop() -> dict[str, Any]:
    env = [
        *_mongo_env(),
        *kube.kafka_env(f"{REL}-kafka-admin"),
        *_env(
            {
                "BENCH_COLLECTIONS": json.dumps(list(COLLECTIONS.values())),
                "BENCH_TOPICS": json.dumps(list(TOPICS.values())),
                "BENCH_GROUP": GROUP["PROCESSING_GROUP"],
            }
        ),
    ]  # fmt: skip
    out = kube.run_script(NS, f"{NAME}-check", kube.KAFKA_CLIENT + CHECK, labels=CLIENT_LABELS, env=env)
    counts: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return counts


def main() -> None:
    movies = int(os.environ.get("BENCH_MOVIES", "1000"))
    section: dict[str, Any] = {"measured_at": now(), "machine": machine(), "popular_movies": movies}
    kafka = _kafka_conn()
    tmdb = json.dumps(
        {"conn_type": "http", "host": f"http://{TMDB}:8080", "password": "bench-key",
         "extra": {"rate_per_second": 100000}}
    )  # fmt: skip
    print(f"==> data: fake TMDB ({movies} popular movies) -> Kafka -> Spark -> MongoDB", flush=True)
    restarts = _mongodb_restarts()
    try:
        section["indexes"] = _prepare_collections()
        with activity(section), kube.outside_world():
            extract, spark = _run(movies, kafka, tmdb)
        log = spark.pop("log")
        stages = {s["stage"]: s["seconds"] for s in sparkapps.marked(log, "BENCH ")}
        spark["session_seconds"] = stages.pop("session", None)
        results = {r["stage"]: r for r in sparkapps.marked(log, "RESULT ")}
    except Exception as err:
        # A failed run is a result too (e.g. MongoDB killed for memory): recorded, then raised.
        section["error"] = f"{type(err).__name__}: {str(err)[:1500]}"
        section["mongodb_restarts_during"] = _mongodb_restarts(since=restarts)
        save_part("data", section)
        raise
    finally:
        _cleanup()
        # Counted, then dropped with the topics, also after a failure: the platform keeps nothing.
        counts = _count_and_drop()
    section["mongodb_restarts_during"] = _mongodb_restarts(since=restarts)
    summarise(section, extract, spark, stages, results, counts)
    print_section(section)
    save_part("data", section)


def _run(movies: int, kafka: str, tmdb: str) -> tuple[dict[str, Any], dict[str, Any]]:
    _start_fake(movies)
    print("    extraction (airyard/movies pod): TMDB -> Kafka", flush=True)
    env = _env(
        {
            "AIRFLOW_CONN_TMDB_DEFAULT": tmdb,
            "AIRFLOW_CONN_KAFKA_MOVIES": kafka,
            "BENCH_TOPICS": json.dumps(TOPICS),
            "BENCH_MOVIES": str(movies),
            "BENCH_RUN_ID": RUN_ID,
        }
    )
    out = kube.run_script(
        NS, f"{NAME}-extract", EXTRACT, labels=CLIENT_LABELS, env=env, image_name="movies", timeout=1800
    )
    extract: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    print("    processing (SparkApplication, stages movies and sentiment): Kafka -> MongoDB", flush=True)
    names = {**TOPICS, **COLLECTIONS, **GROUP}
    app = sparkapps.application(
        NAME,
        configmap=NAME,
        job="process.py",
        arguments=[],
        env=_env({"BENCH_NAMES": json.dumps(names), "BENCH_RUN_ID": RUN_ID, "AIRFLOW_CONN_KAFKA_MOVIES": kafka}),
    )
    return extract, sparkapps.run(app)


def _mongodb_restarts(since: dict[str, Any] | None = None) -> dict[str, Any]:
    """The MongoDB container's restart count (and, with `since`, what changed and why it last stopped)."""
    pod = kube.get("pod", f"{REL}-mongodb-0", NS)
    (status,) = pod["status"]["containerStatuses"][:1]
    now_ = {"count": status.get("restartCount", 0)}
    if since is None:
        return now_
    last = (status.get("lastState") or {}).get("terminated") or {}
    return {
        "restarts": now_["count"] - since["count"],
        "last_termination": {k: last.get(k) for k in ("reason", "exitCode", "finishedAt")} if last else None,
    }


def summarise(
    section: dict[str, Any],
    extract: dict[str, Any],
    spark: dict[str, Any],
    stages: dict[str, float],
    results: dict[str, Any],
    counts: dict[str, Any],
) -> None:
    lists, details = extract["lists"], extract["details"]
    to_kafka = lists["records"] + details["records"]
    read_movies = lists["counts"]["movies"] + details["counts"]["movies"] + details["counts"]["people"]
    read_reviews = details["counts"]["reviews"]
    expected = extract["movie_ids"]
    if counts[COLLECTIONS["MOVIES"]] != expected:
        raise RuntimeError(f"MongoDB holds {counts} documents, expected {expected} movies: the path lost records")
    processing = sum(stages.values())
    section.update(
        tmdb_to_kafka={
            "records": to_kafka,
            "dead_letters": lists["dead_letters"] + details["dead_letters"],
            "api_requests": lists["api_requests"] + details["api_requests"],
            "seconds": extract["seconds"],
            "records_per_second": round(to_kafka / extract["seconds"], 1),
            "api_requests_per_second": round((lists["api_requests"] + details["api_requests"]) / extract["seconds"], 1),
        },
        kafka_to_mongodb={
            "records_read": read_movies + read_reviews,
            "documents_written": {k: v for r in results.values() for k, v in r.items() if isinstance(v, int)},
            "stage_seconds": stages,
            "seconds": round(processing, 1),
            "records_per_second": round((read_movies + read_reviews) / processing, 1),
            "spark_session_start_seconds": spark["session_seconds"],
            "submit_to_completed_seconds": spark["submit_to_completed_seconds"],
        },
        mongodb_counts=counts,
        end_to_end={
            "records": to_kafka,
            "seconds": round(extract["seconds"] + spark["submit_to_completed_seconds"], 1),
            "records_per_second": round(to_kafka / (extract["seconds"] + spark["submit_to_completed_seconds"]), 1),
        },
    )
    # With the pipeline's default budget (20 requests/s), extraction alone would take this long.
    section["tmdb_to_kafka"]["at_default_rate_limit_seconds"] = math.ceil(section["tmdb_to_kafka"]["api_requests"] / 20)


def print_section(section: dict[str, Any]) -> None:
    t, k, e = section["tmdb_to_kafka"], section["kafka_to_mongodb"], section["end_to_end"]
    rows = [
        ("fake TMDB → Kafka (extraction pod)", t["records"], t["seconds"], t["records_per_second"],
         f"{t['api_requests']} API calls, {t['api_requests_per_second']}/s; {t['dead_letters']} dead letters"),
        ("Kafka → MongoDB (Spark, 2 stages)", k["records_read"], k["seconds"], k["records_per_second"],
         f"stages {k['stage_seconds']}; session start {k.get('spark_session_start_seconds')} s; "
         f"submit→COMPLETED {k['submit_to_completed_seconds']} s"),
        ("end to end", e["records"], e["seconds"], e["records_per_second"], "extraction + SparkApplication wall time"),
    ]  # fmt: skip
    print(table(f"movie ingestion path ({section['popular_movies']} popular movies)",
                ("stage", "records", "s", "records/s", "note"), rows))  # fmt: skip
    restarts = section["mongodb_restarts_during"]
    print(f"    MongoDB after the run: {section['mongodb_counts']}; restarts during it: {restarts}")
    print(activity_line(section.get("activity")))
    slow = t["at_default_rate_limit_seconds"]
    print(f"    at the pipeline's default TMDB budget (20 requests/s) extraction would take ≥ {slow} s")
