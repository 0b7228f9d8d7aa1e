"""Serve the platform's services' health and usage as Prometheus metrics, probed on every scrape.

Each scrape probes every configured service at once, each in its own thread with its own time limit;
a service that fails or is too slow is reported as `airyard_up{service=...} 0` (and logged), never as
a failed scrape, so the others' metrics still arrive. A service is probed only when the variable that
names it is set, so the chart decides what exists. Clients are made anew on every scrape: a pooled
connection outliving a server restart would report a healthy server as down.

Environment (the variable that enables a probe first, then what it also reads):

    postgresql:    PGHOST; PGPORT, PGUSER, PGPASSWORD, PGDATABASE (a superuser, or a role in pg_monitor)
    redis:         REDIS_URL (the redis connection Secret's `url`)
    kafka:         KAFKA_BOOTSTRAP_SERVERS; KAFKA_USERNAME, KAFKA_PASSWORD, KAFKA_MECHANISM (SASL)
    mongodb:       MONGO_HOST; MONGO_PORT, MONGO_USERNAME, MONGO_PASSWORD (as the backup Job)
    objectstore:   S3_ENDPOINT; S3_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, BACKUP_BUCKET, BACKUP_PREFIX
    mlflow:        MLFLOW_TRACKING_URI; MLFLOW_TRACKING_USERNAME, MLFLOW_TRACKING_PASSWORD (basic auth)
    model_serving: MODEL_SERVING_URL (its /healthz is fetched)

The Kafka variables are the keys of the kafka chart's Secrets (bootstrap-servers, username, password,
mechanism): the admin Secret (PLAIN) sees every topic and group, a user's (SCRAM-SHA-512) only
those its ACLs allow.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime
from functools import partial
from typing import Any
from urllib.parse import urlencode

import psycopg
import redis
from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from pymongo import MongoClient

from airyard_toolbox.backup import LATEST, SKIPPED_MONGO_DATABASES, BackupError, Store

log = logging.getLogger("airyard_toolbox.exporter")

#: A service's probe: returns its metrics, raises when the service cannot be read.
Probe = Callable[[], list[Metric]]

EXPORTER_GROUP = "airyard-exporter"  # librdkafka wants a group id; this consumer never joins it
MLFLOW_PAGE = 1000  # the most registered-models/search returns per page


# --- PostgreSQL ---------------------------------------------------------------------------------

PG_DATABASES = """
SELECT d.datname, s.numbackends, s.xact_commit + s.xact_rollback, s.deadlocks, pg_database_size(d.oid)
FROM pg_database d JOIN pg_stat_database s ON s.datid = d.oid
WHERE NOT d.datistemplate ORDER BY d.datname
"""


def postgresql_metrics(conn: Any) -> list[Metric]:
    """Connections, size, transactions and deadlocks of every database but the templates."""
    connections = GaugeMetricFamily(
        "airyard_postgresql_connections", "Backends connected to the database.", labels=["database"]
    )
    size = GaugeMetricFamily(
        "airyard_postgresql_database_size_bytes", "Disk space the database takes.", labels=["database"]
    )
    transactions = CounterMetricFamily(
        "airyard_postgresql_transactions_total", "Transactions committed or rolled back.", labels=["database"]
    )
    deadlocks = CounterMetricFamily("airyard_postgresql_deadlocks_total", "Deadlocks detected.", labels=["database"])
    for name, backends, xacts, deadlock_count, size_bytes in conn.execute(PG_DATABASES).fetchall():
        connections.add_metric([name], backends)
        size.add_metric([name], size_bytes)
        transactions.add_metric([name], xacts)
        deadlocks.add_metric([name], deadlock_count)
    (limit,) = conn.execute("SELECT current_setting('max_connections')::int").fetchone()
    max_connections = GaugeMetricFamily(
        "airyard_postgresql_max_connections", "The server's max_connections.", value=limit
    )
    return [connections, size, transactions, deadlocks, max_connections]


def connect_postgresql(env: Mapping[str, str], timeout: float) -> Any:
    # The statement timeout ends, on the server too, a query the probe has given up on.
    return psycopg.connect(
        host=env["PGHOST"],
        port=env.get("PGPORT") or None,
        user=env.get("PGUSER") or None,
        password=env.get("PGPASSWORD") or None,
        dbname=env.get("PGDATABASE") or "postgres",
        autocommit=True,
        connect_timeout=max(1, round(timeout)),
        options=f"-c statement_timeout={round(timeout * 1000)}",
    )


def probe_postgresql(env: Mapping[str, str], timeout: float) -> list[Metric]:
    with connect_postgresql(env, timeout) as conn:
        return postgresql_metrics(conn)


# --- Redis --------------------------------------------------------------------------------------


def redis_metrics(info: Mapping[str, Any]) -> list[Metric]:
    """From INFO: clients, memory, commands, and the keys of each database that has any."""
    keys = GaugeMetricFamily("airyard_redis_keys", "Keys in the database.", labels=["db"])
    # INFO lists only the databases that have keys, each as db<n>: {keys, expires, avg_ttl}.
    databases = {int(k[2:]): v for k, v in info.items() if k.startswith("db") and k[2:].isdigit()}
    for number, stats in sorted(databases.items()):
        keys.add_metric([str(number)], stats.get("keys", 0))
    return [
        GaugeMetricFamily("airyard_redis_connected_clients", "Clients connected.", value=info["connected_clients"]),
        GaugeMetricFamily("airyard_redis_used_memory_bytes", "Memory Redis has allocated.", value=info["used_memory"]),
        CounterMetricFamily(
            "airyard_redis_commands_processed_total", "Commands processed.", value=info["total_commands_processed"]
        ),
        keys,
    ]


def connect_redis(url: str, timeout: float) -> Any:
    return redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)


def probe_redis(env: Mapping[str, str], timeout: float) -> list[Metric]:
    client = connect_redis(env["REDIS_URL"], timeout)
    try:
        return redis_metrics(client.info())
    finally:
        client.close()


# --- Kafka --------------------------------------------------------------------------------------

TopicPart = tuple[str, int]


def consumer_lag(
    ends: Mapping[TopicPart, int], committed: Mapping[str, Mapping[TopicPart, int]]
) -> dict[tuple[str, str], int]:
    """Lag of each group on each topic: the sum over partitions of end offset minus committed offset.

    A partition without a committed offset (negative: OFFSET_INVALID) is left out, not counted as
    all of its messages: the group may start from the end. Partitions of topics that are skipped or
    gone (no end offset) are left out too.
    """
    lag: dict[tuple[str, str], int] = {}
    for group, offsets in committed.items():
        for (topic, partition), offset in offsets.items():
            end = ends.get((topic, partition))
            if offset < 0 or end is None:
                continue
            # An end read just before a commit may be behind it: no negative lag.
            lag[group, topic] = lag.get((group, topic), 0) + max(0, end - offset)
    return lag


def committed_offsets(admin: Any, group: str, timeout: float) -> dict[TopicPart, int]:
    # The API takes one group per request.
    futures = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)], request_timeout=timeout)
    result = futures[group].result()
    return {(tp.topic, tp.partition): tp.offset for tp in result.topic_partitions if tp.error is None}


def end_offsets(consumer: Any, partitions: Mapping[str, list[int]], timeout: float) -> dict[TopicPart, int]:
    return {
        (topic, p): consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout, cached=False)[1]
        for topic, numbers in partitions.items()
        for p in numbers
    }


def kafka_metrics(admin: Any, consumer: Any, timeout: float) -> list[Metric]:
    """Brokers, topics' partitions and end offsets, and each consumer group's members and lag."""
    metadata = admin.list_topics(timeout=timeout)
    # Internal topics (__consumer_offsets, __transaction_state) are Kafka's bookkeeping; a topic with
    # an error (still being created, not authorised) has no offsets to read yet.
    partitions = {
        name: sorted(t.partitions)
        for name, t in metadata.topics.items()
        if not name.startswith("__") and t.error is None
    }
    ends = end_offsets(consumer, partitions, timeout)
    groups = sorted(g.group_id for g in admin.list_consumer_groups(request_timeout=timeout).result().valid)
    described = admin.describe_consumer_groups(groups, request_timeout=timeout) if groups else {}
    members = {group: len(future.result().members) for group, future in described.items()}
    lag = consumer_lag(ends, {group: committed_offsets(admin, group, timeout) for group in groups})

    partition_count = GaugeMetricFamily("airyard_kafka_topic_partitions", "Partitions of the topic.", labels=["topic"])
    end_offset = GaugeMetricFamily(
        "airyard_kafka_topic_end_offset",
        "Messages ever written to the topic (sum of high watermarks).",
        labels=["topic"],
    )
    for topic, numbers in sorted(partitions.items()):
        partition_count.add_metric([topic], len(numbers))
        end_offset.add_metric([topic], sum(ends[topic, p] for p in numbers))
    member_count = GaugeMetricFamily(
        "airyard_kafka_consumergroup_members", "Members of the consumer group.", labels=["group"]
    )
    for group, count in sorted(members.items()):
        member_count.add_metric([group], count)
    group_lag = GaugeMetricFamily(
        "airyard_kafka_consumergroup_lag",
        "Messages of the topic the group has not committed.",
        labels=["group", "topic"],
    )
    for (group, topic), value in sorted(lag.items()):
        group_lag.add_metric([group, topic], value)
    brokers = GaugeMetricFamily("airyard_kafka_brokers", "Brokers in the cluster.", value=len(metadata.brokers))
    return [brokers, partition_count, end_offset, group_lag, member_count]


def kafka_config(env: Mapping[str, str]) -> dict[str, str]:
    """As the e2e tests' clients: SASL only when a user is given."""
    # librdkafka logs each refused connection, dozens a second while the brokers are away; the
    # probe's own line says the same once. Critical messages still come through.
    config = {"bootstrap.servers": env["KAFKA_BOOTSTRAP_SERVERS"], "log_level": "2"}
    if env.get("KAFKA_USERNAME"):
        config |= {
            "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": env.get("KAFKA_MECHANISM") or "SCRAM-SHA-512",
            "sasl.username": env["KAFKA_USERNAME"],
            "sasl.password": env.get("KAFKA_PASSWORD", ""),
        }
    return config


def connect_kafka(env: Mapping[str, str]) -> tuple[Any, Any]:
    """An admin client and a consumer that only reads watermarks (it joins no group, commits nothing)."""
    config = kafka_config(env)
    consumer = Consumer({**config, "group.id": EXPORTER_GROUP, "enable.auto.commit": False})
    return AdminClient(config), consumer


def probe_kafka(env: Mapping[str, str], timeout: float) -> list[Metric]:
    admin, consumer = connect_kafka(env)
    try:
        return kafka_metrics(admin, consumer, timeout)
    finally:
        consumer.close()


# --- MongoDB (FerretDB) -------------------------------------------------------------------------


def mongodb_metrics(client: Any) -> list[Metric]:
    """Documents of each collection, estimated: FerretDB counts by reading every document."""
    documents = GaugeMetricFamily(
        "airyard_mongodb_collection_documents",
        "Documents in the collection (estimated).",
        labels=["database", "collection"],
    )
    for database in sorted(set(client.list_database_names()) - SKIPPED_MONGO_DATABASES):
        for collection in sorted(client[database].list_collection_names()):
            if not collection.startswith("system."):
                documents.add_metric([database, collection], client[database][collection].estimated_document_count())
    return [documents]


def connect_mongodb(env: Mapping[str, str], timeout: float) -> Any:
    ms = round(timeout * 1000)
    return MongoClient(
        host=env["MONGO_HOST"],
        port=int(env.get("MONGO_PORT") or "27017"),
        username=env.get("MONGO_USERNAME") or None,
        password=env.get("MONGO_PASSWORD") or None,
        authSource="admin",
        serverSelectionTimeoutMS=ms,
        connectTimeoutMS=ms,
        socketTimeoutMS=ms,
    )


def probe_mongodb(env: Mapping[str, str], timeout: float) -> list[Metric]:
    with connect_mongodb(env, timeout) as client:
        return mongodb_metrics(client)


# --- object store: the newest backup ------------------------------------------------------------


def backup_metrics(store: Store) -> list[Metric]:
    """The newest complete backup, as the backup Job recorded it in latest.json.

    Without latest.json (no backup yet) the time is 0, so a "no backup for a day" alert fires
    instead of staying silent for want of a series.
    """
    last = GaugeMetricFamily(
        "airyard_backup_last_timestamp_seconds", "When the newest complete backup finished (Unix time)."
    )
    try:
        body = store.s3.get_object(Bucket=store.bucket, Key=f"{store.prefix}{LATEST}")["Body"].read()
    except store.s3.exceptions.NoSuchKey:
        last.add_metric([], 0)
        return [last]
    latest = json.loads(body)
    last.add_metric([], datetime.fromisoformat(latest["completed"]).timestamp())
    families: list[Metric] = [last]
    if "bytes" in latest:
        families.append(
            GaugeMetricFamily("airyard_backup_last_size_bytes", "Size of the newest backup.", value=latest["bytes"])
        )
    seconds = backup_seconds(store, latest)
    if seconds is not None:
        families.append(
            GaugeMetricFamily("airyard_backup_last_duration_seconds", "How long the newest backup took.", value=seconds)
        )
    return families


def backup_seconds(store: Store, latest: Mapping[str, Any]) -> float | None:
    """How long the backup took: latest.json does not record it, its manifest does."""
    if "seconds" in latest:
        return float(latest["seconds"])
    try:
        seconds = store.manifest(latest["id"]).get("seconds")
    except BackupError as err:  # pruned by hand since: the time and size above still hold
        log.warning("backup %s: no duration: %s", latest["id"], err)
        return None
    return None if seconds is None else float(seconds)


def connect_s3(env: Mapping[str, str], timeout: float) -> Store:
    """The backups' folder as the backup Job finds it, with timeouts a probe can afford and the
    backup chart's default bucket, so the exporter needs no setting beyond the store's."""
    return Store.from_env(env, timeout=timeout, attempts=1, default_bucket="backups")


def probe_objectstore(env: Mapping[str, str], timeout: float) -> list[Metric]:
    return backup_metrics(connect_s3(env, timeout))


# --- MLflow -------------------------------------------------------------------------------------


def registered_models(get_json: Callable[[str], dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every registered model, page by page; `get_json(path)` reads a path of MLflow's REST API."""
    token = ""
    while True:
        query = {"max_results": MLFLOW_PAGE} | ({"page_token": token} if token else {})
        page = get_json(f"registered-models/search?{urlencode(query)}")
        yield from page.get("registered_models", [])
        token = page.get("next_page_token", "")
        if not token:
            return


def mlflow_metrics(get_json: Callable[[str], dict[str, Any]]) -> list[Metric]:
    """Registered models, and the version each alias (champion, ...) of each model points at."""
    models = list(registered_models(get_json))
    version = GaugeMetricFamily(
        "airyard_mlflow_model_version", "Version the alias of the model points at.", labels=["model", "alias"]
    )
    for model in sorted(models, key=lambda m: m["name"]):
        for alias in sorted(model.get("aliases", []), key=lambda a: a["alias"]):
            version.add_metric([model["name"], alias["alias"]], int(alias["version"]))
    count = GaugeMetricFamily("airyard_mlflow_registered_models", "Models in the registry.", value=len(models))
    return [count, version]


def http_get(url: str, timeout: float, username: str = "", password: str = "") -> bytes:
    """The body of a 2xx answer; anything else raises (urllib's HTTPError for 4xx and 5xx)."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    if username:
        credentials = base64.b64encode(f"{username}:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {credentials}")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read()


def probe_mlflow(env: Mapping[str, str], timeout: float) -> list[Metric]:
    api = env["MLFLOW_TRACKING_URI"].rstrip("/") + "/api/2.0/mlflow/"
    username, password = env.get("MLFLOW_TRACKING_USERNAME", ""), env.get("MLFLOW_TRACKING_PASSWORD", "")
    return mlflow_metrics(lambda path: json.loads(http_get(api + path, timeout, username, password)))


# --- model serving ------------------------------------------------------------------------------


def probe_model_serving(env: Mapping[str, str], timeout: float) -> list[Metric]:
    # /healthz answers as soon as the API is up, as the chart's probes use it: a model without a
    # champion is the serving's own report, not a down service.
    http_get(env["MODEL_SERVING_URL"].rstrip("/") + "/healthz", timeout)
    return []


# --- the collector ------------------------------------------------------------------------------

#: Each service, the variable whose presence enables its probe, and the probe.
SERVICES: tuple[tuple[str, str, Callable[[Mapping[str, str], float], list[Metric]]], ...] = (
    ("postgresql", "PGHOST", probe_postgresql),
    ("redis", "REDIS_URL", probe_redis),
    ("kafka", "KAFKA_BOOTSTRAP_SERVERS", probe_kafka),
    ("mongodb", "MONGO_HOST", probe_mongodb),
    ("objectstore", "S3_ENDPOINT", probe_objectstore),
    ("mlflow", "MLFLOW_TRACKING_URI", probe_mlflow),
    ("model_serving", "MODEL_SERVING_URL", probe_model_serving),
)


def probes_from_env(env: Mapping[str, str], timeout: float) -> dict[str, Probe]:
    """The probes of the services whose variable is set; nothing is contacted yet."""
    return {name: partial(probe, env, timeout) for name, variable, probe in SERVICES if env.get(variable)}


def first_line(err: BaseException) -> str:
    """Client errors span lines (libpq adds hints): one line per failure in the log."""
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def attempt(probe: Probe) -> tuple[list[Metric] | str, float]:
    """The probe's metrics, or what went wrong in one line, and how long it took."""
    started = time.monotonic()
    try:
        result: list[Metric] | str = probe()
    except Exception as err:  # noqa: BLE001 - whatever a client raises, the service is down for this scrape
        # Only the text is kept: the exception's traceback would keep the probe's clients (and a
        # Kafka client's reconnecting threads) alive until the garbage collector finds the cycle.
        result = f"{type(err).__name__}: {first_line(err)}"
    return result, time.monotonic() - started


class PlatformCollector:
    """Probes the services on every scrape (prometheus_client calls collect() per request)."""

    def __init__(self, probes: Mapping[str, Probe], timeout: float) -> None:
        self.probes = dict(probes)
        self.timeout = timeout

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily("airyard_up", "1 when the service answered its probe, else 0.", labels=["service"])
        duration = GaugeMetricFamily(
            "airyard_scrape_duration_seconds", "How long the service's probe took.", labels=["service"]
        )
        families: list[Metric] = []
        for service, (metrics, seconds) in self.run().items():
            up.add_metric([service], 0 if metrics is None else 1)
            duration.add_metric([service], seconds)
            families.extend(metrics or [])
        return [up, duration, *families]

    def run(self) -> dict[str, tuple[list[Metric] | None, float]]:
        """Each probe's metrics (None: failed or too slow) and seconds, all probes at once."""
        if not self.probes:
            return {}
        pool = ThreadPoolExecutor(max_workers=len(self.probes), thread_name_prefix="probe")
        futures = {service: pool.submit(attempt, probe) for service, probe in self.probes.items()}
        deadline = time.monotonic() + self.timeout
        try:
            return {service: self.outcome(service, future, deadline) for service, future in futures.items()}
        finally:
            # A probe past its time is abandoned, not awaited; its client's own timeouts end it.
            pool.shutdown(wait=False, cancel_futures=True)

    def outcome(
        self, service: str, future: Future[tuple[list[Metric] | str, float]], deadline: float
    ) -> tuple[list[Metric] | None, float]:
        try:
            result, seconds = future.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            log.warning("%s: down: no answer within %g s", service, self.timeout)
            return None, self.timeout
        if isinstance(result, str):
            log.warning("%s: down: %s", service, result)
            return None, seconds
        return result, seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=9300, help="port of the /metrics endpoint")
    parser.add_argument("--timeout", type=float, default=5, help="seconds each service's probe may take")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    probes = probes_from_env(os.environ, args.timeout)
    registry = CollectorRegistry()
    registry.register(PlatformCollector(probes, args.timeout))
    start_http_server(args.port, registry=registry)
    log.info("serving metrics on :%d for %s", args.port, ", ".join(probes) or "no service (none configured)")
    # The HTTP server runs in a daemon thread: the main thread only keeps the process alive.
    threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
