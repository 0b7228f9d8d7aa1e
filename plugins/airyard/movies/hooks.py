"""The movie pipeline's own hook: TMDB."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook

from airyard import envconn as connenv
from airyard.movies.tmdb import (
    DEFAULT_BASE_URL,
    DEFAULT_RATE_PER_SECOND,
    LocalRateLimiter,
    RedisRateLimiter,
    TMDBClient,
)


def to_conn(c: Any) -> connenv.EnvConnection:
    """An Airflow Connection as the pod-side EnvConnection, so both sides build clients the same way."""
    return connenv.EnvConnection(
        c.conn_id,
        conn_type=c.conn_type or "",
        host=c.host or "",
        port=c.port,
        login=c.login or "",
        password=c.password or "",
        schema=c.schema or "",
        extra=c.extra_dejson,
    )


class TMDBHook(BaseHook):
    """TMDB API from the ``tmdb_default`` connection: password = API key (v3 key or v4 read token),
    host = base URL (empty: the real API). Extra: ``rate_per_second``, ``max_retries``. The rate
    limit is shared through Redis (``redis_default``) when that connection exists."""

    conn_name_attr = "tmdb_conn_id"
    default_conn_name = "tmdb_default"
    conn_type = "http"
    hook_name = "TMDB"

    def __init__(self, tmdb_conn_id: str = default_conn_name, redis_conn_id: str | None = "redis_default") -> None:
        super().__init__()
        self.tmdb_conn_id = tmdb_conn_id
        self.redis_conn_id = redis_conn_id

    def get_conn(self) -> TMDBClient:
        c = to_conn(self.get_connection(self.tmdb_conn_id))
        base = c.host if c.host.startswith("http") else (f"https://{c.host}" if c.host else DEFAULT_BASE_URL)
        if c.port and base.count(":") < 2:
            base = f"{base}:{c.port}"
        rate = int(c.extra.get("rate_per_second", DEFAULT_RATE_PER_SECOND))
        limiter: Any = LocalRateLimiter(rate)
        if self.redis_conn_id:
            try:
                r = to_conn(self.get_connection(self.redis_conn_id))
                limiter = RedisRateLimiter(connenv.redis_client(r), rate)
            except Exception:  # noqa: BLE001 - no Redis connection: a per-process limit
                self.log.warning("no %s connection: TMDB rate limit is per process", self.redis_conn_id)
        api_key = c.password or str(c.extra.get("api_key", ""))
        return TMDBClient(
            api_key,
            base.rstrip("/").removesuffix("/3"),
            limiter=limiter,
            max_retries=int(c.extra.get("max_retries", 5)),
        )
