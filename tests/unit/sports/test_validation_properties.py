"""Scoreboards and game rows, thrown arbitrary JSON (hypothesis): every event becomes a valid game or a
quarantined record with its reason, never an exception that fails the scrape or the load.

A valid game must also load: the columns of sports.games are text, integer and timestamptz, and
PostgreSQL refuses a NUL in text, a lone surrogate and a value of another type, failing the whole load.
A quarantined record must be storable too: jsonb refuses NaN, Infinity and "\\u0000".
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import pytest
from airyard.sports import espn, store, validation
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.fakes import sports_api
from tests.unit.shapes import almost, json_values, strict_json

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
EVENT = {k: v for k, v in sports_api.events("nba", date(2026, 1, 5))[0].items() if k != "_defect"}
INT32 = 2**31 - 1


def _clean_text(value: Any) -> bool:
    """What a PostgreSQL text column takes."""
    if not isinstance(value, str) or "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_game(game: dict[str, Any]) -> None:
    assert game["league"] in validation.SCORE_RANGE
    assert all(_clean_text(game[k]) and game[k] for k in ("game_id", "home_team", "away_team", "game_date"))
    datetime.fromisoformat(game["game_date"].replace("Z", "+00:00"))
    season = game.get("season")
    assert season is None or (type(season) is int and -INT32 - 1 <= season <= INT32)
    low, high = validation.SCORE_RANGE[game["league"]]
    assert all(type(game[s]) is int and low <= game[s] <= high for s in ("home_score", "away_score"))
    strict_json(game)


def check_quarantined(record: dict[str, Any]) -> None:
    assert record["reason"]
    league, game_id, reason, doc, _ = store.quarantine_row(record, "run")
    assert all(v is None or _clean_text(v) for v in (league, game_id, reason))
    parsed = json.loads(doc, parse_constant=lambda c: pytest.fail(f"{c} is not JSON jsonb takes"))
    assert "\\u0000" not in doc
    assert parsed is not None
    doc.encode("utf-8")


def check_split(records: list[dict[str, Any]]) -> None:
    valid, rejected = validation.split(records)
    assert len(valid) + len(rejected) == len(records)
    for game in valid:
        check_game(game)
    for record in rejected:
        check_quarantined(record)


events = st.one_of(almost(EVENT), json_values)


@PROPERTY
@given(st.lists(events, max_size=4))
@example(["not an object"])  # AttributeError: 'str' object has no attribute 'get'
@example([{**EVENT, "competitions": "abc"}])
@example([{**EVENT, "competitions": [{"competitors": ["home"]}]}])
@example([{**EVENT, "status": {"type": {"completed": "false"}}}])  # bool("false") is True
@example([{**EVENT, "id": None}])  # became the game id "None"
@example([{**EVENT, "season": {"year": "2026"}}])
def test_every_event_is_a_game_or_quarantined(evs: list[Any]) -> None:
    records = espn.parse_scoreboard("nba", {"events": evs})
    assert len(records) == len(evs)  # nothing dropped: validation decides
    check_split(records)


@PROPERTY
@given(json_values)
@example([])
@example({"events": {"a": 1}})
def test_a_document_that_is_not_a_scoreboard_fails_with_a_reason(doc: Any) -> None:
    try:
        records = espn.parse_scoreboard("nfl", doc)
    except espn.NotAScoreboard as exc:
        reason = str(exc)
    else:
        check_split(records)
        return
    assert reason


row_values = st.one_of(json_values, st.sampled_from(["", "nba", "BOS", "101", "2026-01-05T19:00Z", True]))
GOOD_ROW = {
    "league": "nba",
    "game_id": "1",
    "game_date": "2026-01-05T19:00Z",
    "season": 2026,
    "home_team": "BOS",
    "away_team": "NYK",
    "home_score": "101",
    "away_score": "99",
    "completed": True,
}
any_row = st.dictionaries(st.sampled_from(sorted(GOOD_ROW)), row_values)


@PROPERTY
@given(st.lists(st.one_of(almost(GOOD_ROW), any_row), max_size=4))
@example([{**GOOD_ROW, "league": ["nba"]}])  # TypeError: unhashable type: 'list'
@example([{**GOOD_ROW, "home_team": {"abbreviation": "BOS"}}])  # valid, then psycopg cannot adapt a dict
@example([{**GOOD_ROW, "home_team": "B\x00S"}])  # valid, then PostgreSQL refuses the NUL in text
@example([{**GOOD_ROW, "game_date": 20260105}])  # str() of it parses, the timestamptz column refuses an int
@example([{**GOOD_ROW, "season": 2**40}])
@example([{**GOOD_ROW, "home_score": float("nan")}])  # quarantined as NaN, which jsonb refuses
@example([{**GOOD_ROW, "league": "nb\x00a", "home_score": None}])  # the quarantine's text column refuses it
@example([{**GOOD_ROW, "game_id": "\ud800"}])
def test_every_row_is_valid_or_rejected_with_a_reason(rows: list[dict[str, Any]]) -> None:
    check_split(rows)


def test_good_rows_are_unchanged() -> None:
    records = espn.parse_scoreboard("nba", sports_api.scoreboard("nba", "20260101-20260120"))
    valid, rejected = validation.split(records)
    want = sports_api.expected("nba", date(2026, 1, 1), date(2026, 1, 20))
    assert (len(valid), len(rejected)) == (want["valid"], want["quarantined"])
    for game in valid:
        check_game(game)
    assert validation.split([GOOD_ROW])[0] == [{**GOOD_ROW, "home_score": 101, "away_score": 99}]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"league": ["nba"]}, "league is not text"),
        ({"home_team": "B\x00S"}, "home_team contains a NUL character"),
        ({"game_date": 20260105}, "game_date is not text"),
        ({"season": "2026"}, "season is not a year"),
        ({"game_id": "\ud800"}, "game_id is not valid Unicode"),
    ],
)
def test_wrong_types_are_rejected_naming_the_field(change: dict[str, Any], reason: str) -> None:
    assert (validation.reason({**GOOD_ROW, **change}) or "").startswith(reason)
