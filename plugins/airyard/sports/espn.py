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


def parse_scoreboard(league: str, doc: dict[str, Any]) -> list[dict[str, Any]]:
    """One flat record per event. Nothing is dropped here: validation decides, and quarantines."""
    records: list[dict[str, Any]] = []
    for event in doc.get("events", []):
        competition = (event.get("competitions") or [{}])[0]
        sides: dict[str, dict[str, Any]] = {}
        for competitor in competition.get("competitors", []):
            sides[str(competitor.get("homeAway"))] = competitor
        home, away = sides.get("home", {}), sides.get("away", {})
        status = (event.get("status") or {}).get("type") or {}
        records.append(
            {
                "league": league,
                "game_id": str(event.get("id", "")),
                "game_date": event.get("date"),
                "season": (event.get("season") or {}).get("year"),
                "home_team": (home.get("team") or {}).get("abbreviation"),
                "away_team": (away.get("team") or {}).get("abbreviation"),
                "home_score": home.get("score"),
                "away_score": away.get("score"),
                "completed": bool(status.get("completed", False)),
            }
        )
    return records


def scrape(base_url: str, league: str, start: date, end: date) -> list[dict[str, Any]]:
    return parse_scoreboard(league, fetch_json(scoreboard_url(base_url, league, start, end)))
