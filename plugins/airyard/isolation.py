"""What task code may and may not do, tried from inside a task (dags/platform/isolation_probe.py).

Each check makes a real attempt with the task's own identity (its service account token and the
credentials in its environment) and records whether the platform refused or allowed it. Pods are
created with a server-side dry run: admission and authorization run in full, nothing is left over.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

from airyard import cluster, envconn, services

REFUSED, ALLOWED = "refused", "allowed"


@dataclass(frozen=True)
class Outcome:
    check: str
    expected: str
    observed: str
    detail: str

    @property
    def ok(self) -> bool:
        return self.expected == self.observed


def _attempt(check: str, expected: str, action: Callable[[], str]) -> Outcome:
    """Run `action`; an exception is a refusal, described by what refused it (the test reads the
    detail to tell an API server's 403 or a database's authentication failure from other errors)."""
    try:
        detail = action()
    except Exception as exc:  # noqa: BLE001 - every refusal (HTTP 403, auth failure) is an answer here
        return Outcome(check, expected, REFUSED, _refusal(exc))
    return Outcome(check, expected, ALLOWED, detail)


def _refusal(exc: Exception) -> str:
    """The Kubernetes API's status and message, a service's refusal as it came, or the exception's first line."""
    if isinstance(exc, Refused):
        return str(exc)[:500]
    status, body = getattr(exc, "status", None), getattr(exc, "body", None)
    if status and body:
        try:
            return f"HTTP {status}: {json.loads(body).get('message', body)}"[:500]
        except (TypeError, ValueError):
            return f"HTTP {status}: {body}"[:500]
    first_line = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first_line}"[:500]


def _exec(core: Any, pod: str, namespace: str) -> str:
    """An exec request without the stream upgrade: the API server authorizes it first, so a 403
    is a refusal and anything else (400 "Upgrade request required") means it was authorized."""
    from kubernetes.client.exceptions import ApiException

    try:
        core.connect_post_namespaced_pod_exec(pod, namespace, command="id", stdout=True)
    except ApiException as exc:
        if exc.status == 403:
            raise
        return f"authorized (HTTP {exc.status})"
    return "authorized"


def _connect(host: str, port: int) -> str:
    """A TCP connection: a NetworkPolicy refuses it (kube-router rejects: "connection refused") or
    drops it (other enforcers: a time-out)."""
    import socket

    with socket.create_connection((host, port), timeout=5) as sock:
        return f"connected to {host}:{port} ({sock.getpeername()[0]})"


def _resolve(host: str) -> str:
    import socket

    return f"{host} is {socket.getaddrinfo(host, None)[0][4][0]}"


def _pod(name: str, volumes: list[dict[str, Any]] | None = None, root: bool = False) -> dict[str, Any]:
    security = {"runAsNonRoot": True, "runAsUser": 65532, "seccompProfile": {"type": "RuntimeDefault"}}
    if root:
        security = {"runAsUser": 0}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "restartPolicy": "Never",
            "securityContext": security,
            "containers": [
                {
                    "name": "probe",
                    "image": cluster.image("toolbox"),
                    "command": ["true"],
                    "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
                    "volumeMounts": [{"name": v["name"], "mountPath": f"/mnt/{v['name']}"} for v in volumes or []],
                }
            ],
            "volumes": volumes or [],
        },
    }


def held_credentials(environ: dict[str, str] | None = None) -> Iterator[tuple[str, str, str]]:
    """(connection id, login, password) of every connection in the task's environment with a login
    (a Kafka connection's SASL user included)."""
    env = dict(os.environ if environ is None else environ)
    for key, value in sorted(env.items()):
        if not key.startswith("AIRFLOW_CONN_") or not value:
            continue
        conn_id = key.removeprefix("AIRFLOW_CONN_").lower()
        try:
            conn = envconn.parse(conn_id, value)
        except ValueError:
            continue
        if conn.login:
            yield conn_id, conn.login, conn.password
        elif conn.extra.get("sasl.username"):
            yield conn_id, str(conn.extra["sasl.username"]), str(conn.extra.get("sasl.password", ""))


def _pg_login(host: str, login: str, password: str, dbname: str) -> str:
    import psycopg

    with psycopg.connect(host=host, dbname=dbname, user=login, password=password, connect_timeout=10) as conn:
        return f"logged into {dbname} as {conn.info.user}"


class Refused(Exception):
    """A service answered with a refusal (its status and words are the message)."""


def _mlflow_create_user(conn: envconn.EnvConnection) -> str:
    """MLflow's user management with the task's MLflow credentials (an admin-only API)."""
    import uuid

    import requests

    body = {"username": f"isolation-probe-{uuid.uuid4().hex[:8]}", "password": uuid.uuid4().hex}
    resp = requests.post(
        f"{conn.host.rstrip('/')}/api/2.0/mlflow/users/create", json=body, auth=(conn.login, conn.password), timeout=30
    )
    if resp.status_code in (401, 403):
        raise Refused(f"HTTP {resp.status_code}: {resp.text.strip()[:200]}")
    return f"HTTP {resp.status_code}: created {body['username']}"


def _list_bucket(conn: envconn.EnvConnection, bucket: str) -> str:
    s3 = envconn.s3_client(conn)
    return f"{s3.list_objects_v2(Bucket=bucket, MaxKeys=1).get('KeyCount', 0)} objects listed"


def _read_topic(conn: envconn.EnvConnection, topic: str) -> str:
    """Fetch the first retained message of partition 0 (offsets first: an empty topic is read too)."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition

    config = {**envconn.kafka_config(conn), "group.id": PROBE_GROUP, "enable.auto.commit": False}
    consumer = Consumer(config)
    try:
        # The topic's metadata first: the brokers answer an unauthorised topic with its ACL error
        # (offsets would only say "unknown partition", as for a topic that does not exist).
        error = consumer.list_topics(topic, timeout=15).topics[topic].error
        if error is not None:
            raise Refused(f"{error.name()}: {error.str()}")
        try:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=15)
        except KafkaException as exc:
            raise Refused(exc.args[0].name() + ": " + exc.args[0].str()) from exc
        if high <= low:
            return f"{topic}: empty (offsets {low}..{high})"
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        message = consumer.poll(15)
        if message is not None and message.error():
            raise Refused(f"{message.error().name()}: {message.error().str()}")
        return f"{topic}: read offset {message.offset()}" if message else f"{topic}: nothing within 15 s"
    finally:
        consumer.close()


def _write_topic(conn: envconn.EnvConnection, topic: str) -> str:
    from confluent_kafka import Producer

    errors: list[str] = []
    producer = Producer({**envconn.kafka_config(conn), "message.timeout.ms": 15000})
    producer.produce(
        topic, b"isolation probe", on_delivery=lambda err, _msg: err and errors.append(f"{err.name()}: {err.str()}")
    )
    producer.flush(20)
    if errors:
        raise Refused(errors[0])
    return f"wrote to {topic}"


#: What the probe's task declares: the services of a pipeline (airyard.services), the domain
#: pipeline's identities here.
SERVICES = ("postgresql:mlsp", "mlflow", "objectstore:domains", "kafka:domains")
OWN_STORE = "objectstore:domains"
OWN_KAFKA, OWN_TOPIC, OTHER_TOPIC = "kafka_domains", "domains.observed", "movies.raw.movies"
#: A public HTTPS endpoint: only a task that declares an outside system may reach the internet.
OUTSIDE = ("pypi.org", 443)
#: A consumer group the domains user may use (its ACLs allow the prefix "airyard-domains").
PROBE_GROUP = "airyard-domains-isolation-probe"


def probe() -> list[Outcome]:
    """Every check, in the order README lists them."""
    from kubernetes import client, config

    config.load_incluster_config()
    core = client.CoreV1Api()

    def create_pod(namespace: str, secret: str | None = None, root: bool = False) -> Callable[[], str]:
        volumes = [{"name": "secret", "secret": {"secretName": secret}}] if secret else []
        pod = _pod("isolation-probe", volumes, root=root)
        return lambda: core.create_namespaced_pod(namespace, pod, dry_run="All").metadata.name

    rel, platform, tasks = cluster.release(), cluster.platform_namespace(), cluster.namespace()
    outcomes = [
        _attempt(
            "read a Secret of the platform namespace",
            REFUSED,
            lambda: str(core.read_namespaced_secret(f"{cluster.SECRET_PREFIX}-fernet-key", platform).metadata.name),
        ),
        _attempt(
            "list the Secrets of the tasks namespace",
            REFUSED,
            lambda: f"{len(core.list_namespaced_secret(tasks).items)} Secrets listed",
        ),
        _attempt("exec into the PostgreSQL pod", REFUSED, lambda: _exec(core, f"{rel}-postgresql-0", platform)),
        _attempt("create a pod in the platform namespace", REFUSED, create_pod(platform)),
        _attempt(
            "create a pod in the tasks namespace that mounts a platform Secret",
            REFUSED,
            create_pod(tasks, secret=f"{cluster.SECRET_PREFIX}-fernet-key"),
        ),
        _attempt("create a pod in the tasks namespace that runs as root", REFUSED, create_pod(tasks, root=True)),
        _attempt(
            "create a pod in the tasks namespace with a connection it declared",
            ALLOWED,
            create_pod(tasks, secret=services.resolve([OWN_STORE])[0].secret),
        ),
        _attempt(
            "use a service it did not declare (mongodb:movies)",
            REFUSED,
            lambda: envconn.mongo_uri(envconn.get("mongo_default")) and "connection mongo_default is set",
        ),
    ]
    held = list(held_credentials())
    # The database server as the task's own connection names it, not a host re-derived here.
    own_db = envconn.get("postgres_mlsp")
    outcomes += [
        _attempt(
            f"log into the metadata database with {conn_id}'s credentials",
            REFUSED,
            lambda login=login, password=password: _pg_login(own_db.host, login, password, "airflow"),
        )
        for conn_id, login, password in held
    ]
    mlflow, store = envconn.get("mlflow_tracking"), envconn.get("objectstore_domains")
    outcomes += [
        _attempt("call MLflow's user-management API", REFUSED, lambda: _mlflow_create_user(mlflow)),
        _attempt(
            "read another pipeline's bucket (lake, as objectstore_domains)",
            REFUSED,
            lambda: _list_bucket(store, "lake"),
        ),
        _attempt(
            "read its own bucket (domains, as objectstore_domains)", ALLOWED, lambda: _list_bucket(store, "domains")
        ),
    ]
    kafka = envconn.get(OWN_KAFKA)
    outcomes += [
        _attempt(
            f"read another pipeline's Kafka topic ({OTHER_TOPIC}, as {OWN_KAFKA})",
            REFUSED,
            lambda: _read_topic(kafka, OTHER_TOPIC),
        ),
        _attempt(
            f"write another pipeline's Kafka topic ({OTHER_TOPIC}, as {OWN_KAFKA})",
            REFUSED,
            lambda: _write_topic(kafka, OTHER_TOPIC),
        ),
        _attempt(
            f"read its own Kafka topic ({OWN_TOPIC}, as {OWN_KAFKA})", ALLOWED, lambda: _read_topic(kafka, OWN_TOPIC)
        ),
    ]
    outcomes.append(
        _attempt(
            "log into its own database (postgres_mlsp)",
            ALLOWED,
            lambda: _pg_login(own_db.host, own_db.login, own_db.password, own_db.schema),
        )
    )
    redis = f"{rel}-redis.{platform}.svc"
    outcomes += [
        _attempt("resolve a service's name (DNS)", ALLOWED, lambda: _resolve(redis)),
        _attempt("connect to a service it did not declare (redis)", REFUSED, lambda: _connect(redis, 6379)),
        _attempt(
            f"leave the cluster without declaring it ({OUTSIDE[0]}:{OUTSIDE[1]})", REFUSED, lambda: _connect(*OUTSIDE)
        ),
    ]
    return outcomes


def report(outcomes: list[Outcome]) -> list[dict[str, Any]]:
    return [{**asdict(o), "ok": o.ok} for o in outcomes]
