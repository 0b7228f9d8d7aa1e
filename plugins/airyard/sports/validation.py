"""Rules a scraped game must pass before it reaches the games table; failures are quarantined."""

from __future__ import annotations

from datetime import datetime
from typing import Any

#: Plausible final scores per league: outside them a record is a parsing or source error.
SCORE_RANGE: dict[str, tuple[int, int]] = {"nfl": (0, 80), "nba": (50, 200), "mlb": (0, 35)}
REQUIRED = ("league", "game_id", "game_date", "home_team", "away_team", "home_score", "away_score")
#: Fields loaded into text (and timestamptz) columns: anything else there fails the whole load.
TEXT = ("league", "game_id", "game_date", "home_team", "away_team")
MAX_INT = 2**31 - 1  # sports.games.season is an integer column


def _show(value: Any) -> str:
    """A value in a reason: repr escapes NUL and surrogates, and it is cut short."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _text_problem(field: str, value: Any) -> str | None:
    """Why PostgreSQL would refuse the value in a text column (and with it the whole load), or None."""
    if not isinstance(value, str):
        return f"{field} is not text: {_show(value)}"
    if "\x00" in value:
        return f"{field} contains a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return f"{field} is not valid Unicode (lone surrogate)"
    return None


def _season_problem(season: Any) -> str | None:
    if season is None or (isinstance(season, int) and not isinstance(season, bool) and 0 < season <= MAX_INT):
        return None
    return f"season is not a year: {_show(season)}"


def reason(record: dict[str, Any]) -> str | None:
    """Why a record is rejected, or None when it is a valid, finished game."""
    missing = [k for k in REQUIRED if record.get(k) in (None, "")]
    if missing:
        return f"missing {', '.join(missing)}"
    for problem in [*(_text_problem(k, record[k]) for k in TEXT), _season_problem(record.get("season"))]:
        if problem:
            return problem
    league = record["league"]
    if league not in SCORE_RANGE:
        return f"unknown league {league!r}"
    if record.get("completed") is not True:
        return "game not completed"
    if record["home_team"] == record["away_team"]:
        return "home and away team are the same"
    try:
        datetime.fromisoformat(record["game_date"].replace("Z", "+00:00"))
    except ValueError:
        return f"bad game_date {_show(record['game_date'])}"
    low, high = SCORE_RANGE[league]
    for side in ("home_score", "away_score"):
        try:
            score = int(str(record[side]))
        except ValueError:
            return f"{side} is not an integer: {_show(record[side])}"
        if not low <= score <= high:
            return f"{side} {score} outside {low}-{high} for {league}"
    return None


def split(records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(valid games with typed scores, rejected records with a `reason`)."""
    valid: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    for record in records:
        why = reason(record)
        if why is None:
            valid.append({**record, "home_score": int(record["home_score"]), "away_score": int(record["away_score"])})
        else:
            rejected.append({**record, "reason": why})
    return valid, rejected
