"""Client of ESPN-style scoreboard APIs (`/apis/site/v2/sports/<sport>/<league>/scoreboard`)."""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from datetime import date
from typing import Any

#: Our league codes and where each lives in the API's path.
LEAGUES: dict[str, tuple[str, str]] = {
    "nfl": ("football", "nfl"),
    "nba": ("basketball", "nba"),
    "mlb": ("baseball", "mlb"),
}


def scoreboard_url(base_url: str, league: str, start: date, end: date) -> str:
    sport, path = LEAGUES[league]
    dates = start.strftime("%Y%m%d") if start == end else f"{start:%Y%m%d}-{end:%Y%m%d}"
    query = urllib.parse.urlencode({"dates": dates, "limit": 1000})
    return f"{base_url.rstrip('/')}/apis/site/v2/sports/{sport}/{path}/scoreboard?{query}"


def fetch_json(url: str, attempts: int = 3, timeout: float = 30) -> dict[str, Any]:
    """GET a JSON document, retrying transient failures (the sites throttle scrapers)."""
    for attempt in range(1, attempts + 1):
        try:
            request = urllib.request.Request(url, headers={"User-Agent": "airyard-sports-scraper/0.1"})
            with urllib.request.urlopen(request, timeout=timeout) as resp:
                return json.load(resp)
        except (OSError, ValueError):
            if attempt == attempts:
                raise
            time.sleep(2 * attempt)
    raise AssertionError("unreachable")


class NotAScoreboard(ValueError):
    """The answer as a whole is not a scoreboard: the source is broken, not one game."""


def _object(value: Any) -> dict[str, Any]:
    """A nested part of an event, or {} when the feed put something else there: the fields it should
    hold are then missing, and validation quarantines the game saying which."""
    return value if isinstance(value, dict) else {}


def _first(value: Any) -> dict[str, Any]:
    return _object(value[0]) if isinstance(value, list) and value else {}


def _game_id(event: dict[str, Any]) -> Any:
    """ESPN's id as text; anything but text or a number is kept as it is for validation to refuse."""
    value = event.get("id")
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def parse_scoreboard(league: str, doc: dict[str, Any]) -> list[dict[str, Any]]:
    """One flat record per event. Nothing is dropped here: validation decides, and quarantines."""
    if not isinstance(doc, dict) or not isinstance(doc.get("events", []), list):
        raise NotAScoreboard(f"{league} scoreboard is not an object with a list of events")
    records: list[dict[str, Any]] = []
    for item in doc.get("events", []):
        event = _object(item)
        competition = _first(event.get("competitions"))
        sides: dict[str, dict[str, Any]] = {}
        competitors = competition.get("competitors")
        for competitor in competitors if isinstance(competitors, list) else []:
            competitor = _object(competitor)
            sides[str(competitor.get("homeAway"))] = competitor
        home, away = sides.get("home", {}), sides.get("away", {})
        status = _object(_object(event.get("status")).get("type"))
        records.append(
            {
                "league": league,
                "game_id": _game_id(event),
                "game_date": event.get("date"),
                "season": _object(event.get("season")).get("year"),
                "home_team": _object(home.get("team")).get("abbreviation"),
                "away_team": _object(away.get("team")).get("abbreviation"),
                "home_score": home.get("score"),
                "away_score": away.get("score"),
                "completed": status.get("completed") is True,  # bool("false") would be True
            }
        )
    return records


def scrape(base_url: str, league: str, start: date, end: date) -> list[dict[str, Any]]:
    return parse_scoreboard(league, fetch_json(scoreboard_url(base_url, league, start, end)))
