"""TMDB v3 API client: API key auth, pagination, retries with backoff, a rate limit shared in Redis.

No Airflow import: the extraction pods (images/movies) run it; ``hooks.TMDBHook`` builds it from
the ``tmdb_default`` connection inside Airflow.
"""

from __future__ import annotations

import json
import logging
import random
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any, Protocol

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.themoviedb.org"
#: TMDB allows roughly 40-50 requests per second per IP; every pod of the pipeline shares one budget.
DEFAULT_RATE_PER_SECOND = 20
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class TMDBError(RuntimeError):
    """An answer of the API that retrying does not fix (4xx other than 429), or retries exhausted."""

    def __init__(self, status: int, message: str, path: str) -> None:
        super().__init__(f"TMDB {path}: HTTP {status}: {message}")
        self.status = status
        self.path = path


class RateLimiter(Protocol):
    def acquire(self) -> None: ...


class LocalRateLimiter:
    """At most `rate` calls per second in this process (used when no Redis is configured)."""

    def __init__(self, rate: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = 1.0 / rate
        self.clock = clock
        self.next_at = 0.0

    def acquire(self) -> None:
        now = self.clock()
        if now < self.next_at:
            time.sleep(self.next_at - now)
            now = self.next_at
        self.next_at = now + self.interval


class RedisRateLimiter:
    """At most `rate` calls per wall-clock second across every process sharing `key` in Redis.

    A fixed one-second window: INCR of a per-second counter that expires, atomic in Redis, so
    concurrent task pods never exceed the budget together. A caller over budget sleeps until
    the next window.
    """

    def __init__(self, client: Any, rate: int, key: str = "airyard:tmdb:ratelimit") -> None:
        self.client = client
        self.rate = rate
        self.key = key

    def acquire(self) -> None:
        while True:
            now = time.time()
            window = int(now)
            name = f"{self.key}:{window}"
            pipe = self.client.pipeline()
            pipe.incr(name)
            pipe.expire(name, 5)
            count = pipe.execute()[0]
            if count <= self.rate:
                return
            time.sleep(window + 1 - now + random.uniform(0, 0.05))


class TMDBClient:
    def __init__(
        self,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        limiter: RateLimiter | None = None,
        max_retries: int = 5,
        backoff_base: float = 1.0,
        max_backoff: float = 60.0,
        timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not api_key:
            raise ValueError("a TMDB API key is required (password of the tmdb_default connection)")
        self.api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.limiter = limiter or LocalRateLimiter(DEFAULT_RATE_PER_SECOND)
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.max_backoff = max_backoff
        self.timeout = timeout
        self.sleep = sleep
        self.requests = 0
        self.retries = 0

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after:
            try:
                return min(float(retry_after), self.max_backoff)
            except ValueError:
                pass
        # Exponential backoff with jitter, so pods that failed together do not retry together.
        return min(self.backoff_base * 2**attempt, self.max_backoff) * random.uniform(0.5, 1.0)

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        """GET /3/<path> as JSON; retries 429/5xx/network errors, raises TMDBError otherwise."""
        path = "/3/" + path.lstrip("/")
        query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        url = f"{self.base_url}{path}" + (f"?{query}" if query else "")
        # The v4 read token and a v3 key both work as a Bearer token on v3; a v3 key also as api_key=.
        headers = {"Accept": "application/json", "User-Agent": "airyard-movies/0.1"}
        if len(self.api_key) > 40:
            headers["Authorization"] = f"Bearer {self.api_key}"
        else:
            url += ("&" if query else "?") + urllib.parse.urlencode({"api_key": self.api_key})
        attempt = 0
        while True:
            self.limiter.acquire()
            self.requests += 1
            status, message, retry_after = 0, "", None
            try:
                with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=self.timeout) as resp:
                    return json.loads(resp.read())
            except urllib.error.HTTPError as exc:
                status, retry_after = exc.code, exc.headers.get("Retry-After")
                try:
                    body = json.loads(exc.read() or b"{}")
                    message = body.get("status_message") or "; ".join(body.get("errors", [])) or str(exc)
                except ValueError:
                    message = str(exc)
                if status not in RETRY_STATUSES:
                    raise TMDBError(status, message, path) from None
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                message = str(exc)
            if attempt >= self.max_retries:
                raise TMDBError(status, f"gave up after {attempt + 1} attempts: {message}", path)
            delay = self._delay(attempt, retry_after)
            log.warning("TMDB %s: %s %s; retry %d in %.1f s", path, status or "error", message, attempt + 1, delay)
            self.retries += 1
            self.sleep(delay)
            attempt += 1

    def paginate(self, path: str, max_pages: int, **params: Any) -> Iterator[dict[str, Any]]:
        """Every result of a paged endpoint, pages 1..min(max_pages, total_pages)."""
        page = 1
        while page <= max_pages:
            body = self.get(path, page=page, **params)
            yield from body.get("results") or []
            if page >= int(body.get("total_pages") or 1):
                return
            page += 1

    def popular_movies(self, max_pages: int) -> Iterator[dict[str, Any]]:
        return self.paginate("movie/popular", max_pages)

    def trending_movies(self, max_pages: int, window: str = "day") -> Iterator[dict[str, Any]]:
        return self.paginate(f"trending/movie/{window}", max_pages)

    def trending_people(self, max_pages: int, window: str = "day") -> Iterator[dict[str, Any]]:
        return self.paginate(f"trending/person/{window}", max_pages)

    def movie(self, movie_id: int) -> dict[str, Any]:
        return self.get(f"movie/{movie_id}")

    def credits(self, movie_id: int) -> dict[str, Any]:
        return self.get(f"movie/{movie_id}/credits")

    def reviews(self, movie_id: int, max_pages: int = 2) -> Iterator[dict[str, Any]]:
        return self.paginate(f"movie/{movie_id}/reviews", max_pages)
