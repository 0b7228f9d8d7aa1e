"""Scrape the fake ESPN-style API over HTTP, validate, load into real PostgreSQL: counts, quarantine
reasons, and re-runs that do not duplicate games."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date

import psycopg
import pytest
from airyard.sports import espn, store, validation

from tests import services
from tests.fakes import sports_api

START, END = date(2026, 2, 1), date(2026, 2, 14)


@pytest.fixture(scope="module")
def api() -> Iterator[str]:
    port = services.free_port()
    server = sports_api.serve(port, host="127.0.0.1")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()


def test_scrape_validate_load_is_idempotent(api: str, postgres_service: services.Service) -> None:
    records = [r for league in ("nfl", "nba", "mlb") for r in espn.scrape(api, league, START, END)]
    valid, rejected = validation.split(records)
    with psycopg.connect(postgres_service.extra["dsn"]) as conn:
        assert store.load(conn, valid, rejected, "run-1") == {"loaded": len(valid), "quarantined": len(rejected)}
        store.load(conn, valid, [], "run-2")  # a re-run upserts
        for league in ("nfl", "nba", "mlb"):
            want = sports_api.expected(league, START, END)
            games = conn.execute("SELECT count(*) FROM sports.games WHERE league = %s", (league,)).fetchone()[0]
            bad = conn.execute(
                "SELECT count(*) FROM sports.quarantine WHERE league = %s AND run_id = 'run-1'", (league,)
            ).fetchone()[0]
            assert (games, bad) == (want["valid"], want["quarantined"])
        reasons = {r[0].split(" ")[0] for r in conn.execute("SELECT reason FROM sports.quarantine")}
        assert reasons <= {"missing", "game", "home", "home_score"}
