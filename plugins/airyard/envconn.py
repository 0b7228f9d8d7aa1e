"""Connections read from AIRFLOW_CONN_<ID> environment variables, without the Airflow runtime.

Task code that runs outside a task process (a subprocess, or a pod started by the task) gets its
external connections as the same environment variables Airflow reads: the worker inherits them
from the Secret airyard-airflow-external-connections, and pods get single keys of it. Both of
Airflow's encodings are accepted: the JSON document and the URI.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit


@dataclass(frozen=True)
class EnvConnection:
    conn_id: str
    conn_type: str = ""
    host: str = ""
    port: int | None = None
    login: str = ""
    password: str = ""
    schema: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        """http(s)://host[:port][/schema] — `host` may itself carry the scheme, as Airflow allows."""
        host = self.host.rstrip("/")
        if "://" not in host:
            scheme = self.extra.get("scheme") or ("https" if self.conn_type == "https" else "http")
            host = f"{scheme}://{host}"
        if self.port:
            host = f"{host}:{self.port}"
        return f"{host}/{self.schema.strip('/')}" if self.schema else host


def env_name(conn_id: str) -> str:
    return f"AIRFLOW_CONN_{conn_id.upper()}"


def parse(conn_id: str, value: str) -> EnvConnection:
    """An AIRFLOW_CONN_ value (JSON or URI) as an EnvConnection."""
    value = value.strip()
    if value.startswith("{"):
        doc = json.loads(value)
        extra = doc.get("extra") or {}
        return EnvConnection(
            conn_id,
            conn_type=doc.get("conn_type", ""),
            host=doc.get("host") or "",
            port=int(doc["port"]) if doc.get("port") else None,
            login=doc.get("login") or "",
            password=doc.get("password") or "",
            schema=doc.get("schema") or "",
            extra=json.loads(extra) if isinstance(extra, str) else dict(extra),
        )
    parts = urlsplit(value)
    conn_type = parts.scheme.replace("-", "_")
    extra: dict[str, Any] = dict(parse_qsl(parts.query))
    if "__extra__" in extra:
        extra = json.loads(extra["__extra__"])
    # Airflow's URI form for an HTTP base URL with a scheme: http://host -> conn_type http.
    return EnvConnection(
        conn_id,
        conn_type=conn_type,
        host=unquote(parts.hostname or ""),
        port=parts.port,
        login=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        schema=unquote(parts.path.lstrip("/")),
        extra=extra,
    )


class ConnectionMissing(KeyError):
    pass


def get(conn_id: str, environ: Mapping[str, str] | None = None) -> EnvConnection:
    env = os.environ if environ is None else environ
    value = env.get(env_name(conn_id))
    if not value:
        raise ConnectionMissing(f"connection {conn_id!r} is not set: define {env_name(conn_id)}")
    return parse(conn_id, value)


def mongo_uri(c: EnvConnection) -> str:
    """A mongodb:// URI for a `mongo` connection (schema = database, extra authSource etc.)."""
    if c.host.startswith("mongodb"):
        return c.host
    auth = f"{quote(c.login, safe='')}:{quote(c.password, safe='')}@" if c.login else ""
    params = {k: str(v) for k, v in c.extra.items() if k in ("authSource", "replicaSet", "tls", "authMechanism")}
    query = f"?{urlencode(params)}" if params else ""
    return f"mongodb://{auth}{c.host}:{c.port or 27017}/{c.schema}{query}"


def redis_url(c: EnvConnection) -> str:
    """A redis:// URL for a `redis` connection (extra db)."""
    auth = f":{quote(c.password, safe='')}@" if c.password else ""
    return f"redis://{auth}{c.host}:{c.port or 6379}/{c.extra.get('db', 0)}"


def redis_client(c: EnvConnection) -> Any:
    """A Redis client for a `redis` connection that rides out a refused connection for about 15 s.

    A new pod's address reaches the service's NetworkPolicy a moment after the pod starts (up to a
    few seconds on a busy node), and Redis itself restarts: neither should fail a task.
    """
    import redis
    from redis.backoff import ExponentialBackoff
    from redis.retry import Retry

    return redis.Redis.from_url(
        redis_url(c),
        retry=Retry(ExponentialBackoff(cap=2.0, base=0.2), retries=10),
        retry_on_error=[redis.ConnectionError, redis.TimeoutError],
    )


def s3_client(c: EnvConnection) -> Any:
    """A boto3 S3 client for an `aws` connection of the object store (extra endpoint_url).

    Standard retries with backoff cover refused connections too: a new pod's address reaches the
    store's NetworkPolicy a moment after the pod starts, and the store restarts.
    """
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=c.extra.get("endpoint_url"),
        region_name=c.extra.get("region_name") or "us-east-1",
        aws_access_key_id=c.login,
        aws_secret_access_key=c.password,
        config=Config(retries={"mode": "standard", "max_attempts": 10}),
    )


def kafka_config(c: EnvConnection) -> dict[str, Any]:
    """The librdkafka configuration of a `kafka` connection (its extra is that config)."""
    return {k: v for k, v in c.extra.items() if "." in k or k in ("acks",)}


#: The JAAS login modules of the Java client, by SASL mechanism.
_LOGIN_MODULES = {
    "PLAIN": "org.apache.kafka.common.security.plain.PlainLoginModule",
    "SCRAM-SHA-256": "org.apache.kafka.common.security.scram.ScramLoginModule",
    "SCRAM-SHA-512": "org.apache.kafka.common.security.scram.ScramLoginModule",
}


def _jaas(value: str) -> str:
    """A JAAS option value, quoted."""
    return value.replace("\\", "\\\\").replace('"', '\\"')


def kafka_java_config(c: EnvConnection) -> dict[str, str]:
    """The same connection for Kafka's Java client (Spark's Kafka source and sink): librdkafka's
    sasl.username and sasl.password become a JAAS configuration."""
    config = {k: str(v) for k, v in kafka_config(c).items()}
    username, password = config.pop("sasl.username", None), config.pop("sasl.password", None)
    mechanism = config.pop("sasl.mechanism", None) or config.pop("sasl.mechanisms", None)
    if mechanism:
        config["sasl.mechanism"] = mechanism
    if username is not None:
        module = _LOGIN_MODULES[(mechanism or "PLAIN").upper()]
        config["sasl.jaas.config"] = (
            f'{module} required username="{_jaas(username)}" password="{_jaas(password or "")}";'
        )
    return config
