"""Airflow connections read from AIRFLOW_CONN_<ID> environment variables, without Airflow.

Task pods of images/movies get the platform's connection Secrets as environment (the same keys
Airflow reads), so pod code and Airflow agree on one definition. Both of Airflow's forms are
understood: a JSON document and a URI.
"""

from __future__ import annotations

import json
import os
import urllib.parse
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Conn:
    conn_id: str
    conn_type: str = ""
    host: str = ""
    port: int | None = None
    login: str = ""
    password: str = ""
    schema: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class ConnectionMissing(LookupError):
    pass


def parse(conn_id: str, value: str) -> Conn:
    """A connection from Airflow's JSON or URI serialisation."""
    value = value.strip()
    if value.startswith("{"):
        doc = json.loads(value)
        extra = doc.get("extra") or {}
        if isinstance(extra, str):
            extra = json.loads(extra) if extra.strip() else {}
        return Conn(
            conn_id,
            doc.get("conn_type", ""),
            doc.get("host") or "",
            int(doc["port"]) if doc.get("port") not in (None, "") else None,
            doc.get("login") or "",
            doc.get("password") or "",
            doc.get("schema") or "",
            extra,
        )
    url = urllib.parse.urlsplit(value)
    query = dict(urllib.parse.parse_qsl(url.query))
    extra = json.loads(query.pop("__extra__")) if "__extra__" in query else query
    return Conn(
        conn_id,
        url.scheme.replace("-", "_"),
        urllib.parse.unquote(url.hostname or ""),
        url.port,
        urllib.parse.unquote(url.username or ""),
        urllib.parse.unquote(url.password or ""),
        urllib.parse.unquote(url.path.lstrip("/")),
        extra,
    )


def get(conn_id: str, environ: dict[str, str] | None = None) -> Conn:
    """The connection `conn_id` from AIRFLOW_CONN_<ID>; ConnectionMissing if not set."""
    env = os.environ if environ is None else environ
    value = env.get(f"AIRFLOW_CONN_{conn_id.upper()}")
    if not value:
        raise ConnectionMissing(f"connection {conn_id!r} is not defined (AIRFLOW_CONN_{conn_id.upper()})")
    return parse(conn_id, value)


def mongo_uri(c: Conn) -> str:
    """A mongodb:// URI for a `mongo` connection (schema = database, extra authSource etc.)."""
    if c.host.startswith("mongodb"):
        return c.host
    auth = ""
    if c.login:
        auth = f"{urllib.parse.quote(c.login, safe='')}:{urllib.parse.quote(c.password, safe='')}@"
    params = {k: str(v) for k, v in c.extra.items() if k in ("authSource", "replicaSet", "tls", "authMechanism")}
    query = f"?{urllib.parse.urlencode(params)}" if params else ""
    return f"mongodb://{auth}{c.host}:{c.port or 27017}/{c.schema}{query}"


def redis_url(c: Conn) -> str:
    """A redis:// URL for a `redis` connection (extra db)."""
    auth = f":{urllib.parse.quote(c.password, safe='')}@" if c.password else ""
    return f"redis://{auth}{c.host}:{c.port or 6379}/{c.extra.get('db', 0)}"


def kafka_config(c: Conn) -> dict[str, Any]:
    """The librdkafka configuration of a `kafka` connection (its extra is that config)."""
    return {k: v for k, v in c.extra.items() if "." in k or k in ("acks",)}
