"""TMDBClient against the fake TMDB server: paging, auth, retries and backoff, error bodies."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator

import pytest
from airyard.movies.tmdb import LocalRateLimiter, TMDBClient, TMDBError

from tests.fakes import tmdb as fake_tmdb


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, fake_tmdb.FakeTMDB]]:
    srv, state = fake_tmdb.serve()
    yield f"http://127.0.0.1:{srv.server_port}", state
    srv.shutdown()


@pytest.fixture
def fake(server: tuple[str, fake_tmdb.FakeTMDB]) -> Iterator[tuple[str, fake_tmdb.FakeTMDB]]:
    url, state = server
    urllib.request.urlopen(urllib.request.Request(f"{url}/__reset", data=b"{}", method="POST")).close()
    return url, state


def client(url: str, key: str = "test-key", **kw: object) -> TMDBClient:
    sleeps: list[float] = []
    c = TMDBClient(key, url, limiter=LocalRateLimiter(1000), sleep=sleeps.append, **kw)  # type: ignore[arg-type]
    c.sleeps = sleeps  # type: ignore[attr-defined]
    return c


def faults(url: str, statuses: list[int], retry_after: int = 2) -> None:
    body = json.dumps({"statuses": statuses, "retry_after": retry_after}).encode()
    urllib.request.urlopen(urllib.request.Request(f"{url}/__faults", data=body, method="POST")).close()


def test_pagination_reads_every_page_up_to_the_limit(fake: tuple[str, fake_tmdb.FakeTMDB]) -> None:
    url, state = fake
    c = client(url)
    assert len(list(c.popular_movies(max_pages=10))) == 60  # 3 pages exist
    assert state.requests["/3/movie/popular"] == 3
    assert len(list(c.popular_movies(max_pages=2))) == 40


def test_429_waits_for_retry_after_then_succeeds(fake: tuple[str, fake_tmdb.FakeTMDB]) -> None:
    url, _ = fake
    faults(url, [429, 429], retry_after=2)
    c = client(url)
    assert c.movie(1001)["id"] == 1001
    assert c.sleeps == [2.0, 2.0]  # type: ignore[attr-defined]
    assert c.retries == 2


def test_5xx_backs_off_exponentially(fake: tuple[str, fake_tmdb.FakeTMDB]) -> None:
    url, _ = fake
    faults(url, [503, 502, 500])
    c = client(url, backoff_base=1.0)
    assert c.credits(1001)["id"] == 1001
    s = c.sleeps  # type: ignore[attr-defined]
    assert len(s) == 3
    assert 0.5 <= s[0] <= 1
    assert 1 <= s[1] <= 2
    assert 2 <= s[2] <= 4


def test_retries_are_bounded(fake: tuple[str, fake_tmdb.FakeTMDB]) -> None:
    url, _ = fake
    faults(url, [503] * 4)
    with pytest.raises(TMDBError, match="gave up after 3 attempts"):
        client(url, max_retries=2).movie(1001)


def test_client_errors_are_not_retried_and_carry_tmdb_message(fake: tuple[str, fake_tmdb.FakeTMDB]) -> None:
    url, _ = fake
    c = client(url)
    with pytest.raises(TMDBError) as err:
        c.movie(424242)
    assert err.value.status == 404
    assert "could not be found" in str(err.value)
    with pytest.raises(TMDBError, match="Invalid API key"):
        client(url, key="wrong").movie(1001)
    assert c.retries == 0


def test_bearer_token_auth(fake: tuple[str, fake_tmdb.FakeTMDB]) -> None:
    url, state = fake
    long_token = "x" * 64
    state.api_key = long_token
    try:
        assert client(url, key=long_token).movie(1002)["id"] == 1002
    finally:
        state.api_key = "test-key"


def test_reviews_and_trending_shapes(fake: tuple[str, fake_tmdb.FakeTMDB]) -> None:
    url, _ = fake
    c = client(url)
    assert len(list(c.trending_movies(1))) == 20
    people = list(c.trending_people(1))
    assert len(people) == 20
    assert all(p["media_type"] == "person" for p in people)
    assert [r["id"] for r in c.reviews(1001)] == ["r100100"]
