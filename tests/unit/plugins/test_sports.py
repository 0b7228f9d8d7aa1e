"""airyard.sports: parsing ESPN-style scoreboards and the validation rules, on the fake API's data."""

from __future__ import annotations

from datetime import date

import pytest
from airyard.sports import espn, validation

from tests.fakes import sports_api


def test_scoreboard_url_single_day_and_range() -> None:
    day = date(2026, 1, 5)
    assert espn.scoreboard_url("http://x/", "nba", day, day).startswith(
        "http://x/apis/site/v2/sports/basketball/nba/scoreboard?dates=20260105"
    )
    assert "dates=20260105-20260107" in espn.scoreboard_url("http://x", "mlb", day, date(2026, 1, 7))


@pytest.mark.parametrize("league", ["nfl", "nba", "mlb"])
def test_parse_and_split_match_what_the_source_holds(league: str) -> None:
    start, end = date(2026, 1, 1), date(2026, 1, 20)
    records = espn.parse_scoreboard(league, sports_api.scoreboard(league, "20260101-20260120"))
    valid, rejected = validation.split(records)
    want = sports_api.expected(league, start, end)
    assert (len(records), len(valid), len(rejected)) == (want["events"], want["valid"], want["quarantined"])
    assert want["quarantined"] > 0
    assert all(isinstance(g["home_score"], int) for g in valid)
    assert all(r["reason"] for r in rejected)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"home_score": None}, "missing home_score"),
        ({"completed": False}, "game not completed"),
        ({"away_team": "BOS"}, "home and away team are the same"),
        ({"home_score": "-3"}, "home_score -3 outside 50-200 for nba"),
        ({"home_score": "abc"}, "home_score is not an integer: 'abc'"),
        ({"league": "nhl"}, "unknown league 'nhl'"),
        ({"game_date": "yesterday"}, "bad game_date 'yesterday'"),
    ],
)
def test_rejection_reasons(change: dict, reason: str) -> None:
    assert validation.reason(sports_api.GAME) is None
    assert validation.reason({**sports_api.GAME, **change}) == reason
