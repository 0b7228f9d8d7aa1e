"""Rules a scraped game must pass before it reaches the games table; failures are quarantined."""

from __future__ import annotations

from datetime import datetime
from typing import Any

#: Plausible final scores per league: outside them a record is a parsing or source error.
SCORE_RANGE: dict[str, tuple[int, int]] = {"nfl": (0, 80), "nba": (50, 200), "mlb": (0, 35)}
REQUIRED = ("league", "game_id", "game_date", "home_team", "away_team", "home_score", "away_score")


def reason(record: dict[str, Any]) -> str | None:
    """Why a record is rejected, or None when it is a valid, finished game."""
    missing = [k for k in REQUIRED if record.get(k) in (None, "")]
    if missing:
        return f"missing {', '.join(missing)}"
    league = record["league"]
    if league not in SCORE_RANGE:
        return f"unknown league {league!r}"
    if not record.get("completed"):
        return "game not completed"
    if record["home_team"] == record["away_team"]:
        return "home and away team are the same"
    try:
        datetime.fromisoformat(str(record["game_date"]).replace("Z", "+00:00"))
    except ValueError:
        return f"bad game_date {record['game_date']!r}"
    low, high = SCORE_RANGE[league]
    for side in ("home_score", "away_score"):
        try:
            score = int(str(record[side]))
        except ValueError:
            return f"{side} is not an integer: {record[side]!r}"
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
