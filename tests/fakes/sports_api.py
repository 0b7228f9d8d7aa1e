"""A fake ESPN-style sports API: `GET /apis/site/v2/sports/<sport>/<league>/scoreboard?dates=…`.

Games are a pure function of (league, day): the same request always answers the same JSON, so
tests compute what a scrape must load with `expected(league, start, end)`. Teams have fixed
strengths (stronger teams win more often, at home a bit more), which gives the models something
real to learn. About one event in ten is defective the way real feeds are (a game still in
progress, a missing score, an impossible score, a team playing itself); validation must
quarantine exactly those.

Run: python3 sports_api.py --port 8080
"""

from __future__ import annotations

import argparse
import json
import random
import zlib
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

PATHS = {"football/nfl": "nfl", "basketball/nba": "nba", "baseball/mlb": "mlb"}
GAMES_PER_DAY = {"nfl": 4, "nba": 6, "mlb": 6}
TEAMS = {
    "nfl": ["KC", "BUF", "PHI", "SF", "DAL", "BAL", "MIA", "DET", "GB", "CIN", "NYJ", "CHI"],
    "nba": ["BOS", "DEN", "MIL", "LAL", "GSW", "PHX", "MIA", "NYK", "DAL", "CLE", "OKC", "MIN"],
    "mlb": ["LAD", "ATL", "HOU", "NYY", "TB", "TEX", "BAL", "PHI", "SEA", "TOR", "SD", "MIL"],
}
#: (base points, spread per strength unit, noise) of a final score.
SCORING = {"nfl": (21, 8, 7), "nba": (108, 10, 9), "mlb": (4, 2, 2)}
DEFECTS = ("in_progress", "missing_score", "impossible_score", "same_team")
#: One valid game as airyard.sports.espn.parse_scoreboard gives it, for tests to vary.
GAME: dict[str, Any] = {
    "league": "nba",
    "game_id": "1",
    "game_date": "2026-01-05T19:00Z",
    "home_team": "BOS",
    "away_team": "NYK",
    "home_score": "101",
    "away_score": "99",
    "completed": True,
}


def _rng(*parts: object) -> random.Random:
    return random.Random(zlib.crc32("|".join(map(str, parts)).encode()))


def strength(league: str, team: str) -> float:
    return _rng("strength", league, team).uniform(-1.5, 1.5)


def _score(league: str, rng: random.Random, own: float, other: float, home: bool) -> int:
    base, spread, noise = SCORING[league]
    return max(0, round(base + spread * (own - other) / 2 + (1.0 if home else 0.0) * spread / 4 + rng.gauss(0, noise)))


def events(league: str, day: date) -> list[dict[str, Any]]:
    """The scoreboard events of one league on one day, as the real API shapes them."""
    rng = _rng("day", league, day.isoformat())
    teams = list(TEAMS[league])
    rng.shuffle(teams)
    out = []
    for i in range(GAMES_PER_DAY[league]):
        home, away = teams[2 * i], teams[2 * i + 1]
        hs = _score(league, rng, strength(league, home), strength(league, away), True)
        as_ = _score(league, rng, strength(league, away), strength(league, home), False)
        if hs == as_:  # no ties in the data: overtime / extra innings
            hs += 1 if rng.random() < 0.55 else 0
            as_ += 0 if hs != as_ else 1
        defect = DEFECTS[rng.randrange(len(DEFECTS))] if rng.random() < 0.1 else None
        completed = defect != "in_progress"
        home_score: str | None = str(hs)
        if defect == "missing_score":
            home_score = None
        elif defect == "impossible_score":
            home_score = "-3"
        if defect == "same_team":
            away = home
        event_id = f"{league}{day:%Y%m%d}{i:02d}"
        kickoff = datetime(day.year, day.month, day.day, 17 + i % 5, 0)
        competitors = [
            {
                "id": str(10 + teams.index(home)),
                "homeAway": "home",
                "team": {"abbreviation": home, "displayName": f"{home} {league.upper()}"},
                **({"score": home_score} if home_score is not None else {}),
            },
            {
                "id": str(10 + teams.index(away) if away != home else 99),
                "homeAway": "away",
                "team": {"abbreviation": away, "displayName": f"{away} {league.upper()}"},
                "score": str(as_),
            },
        ]
        out.append(
            {
                "id": event_id,
                "uid": f"s:fake~l:{league}~e:{event_id}",
                "date": kickoff.strftime("%Y-%m-%dT%H:%MZ"),
                "name": f"{away} at {home}",
                "season": {"year": day.year, "type": 2},
                "competitions": [{"id": event_id, "competitors": competitors}],
                "status": {
                    "type": {
                        "name": "STATUS_FINAL" if completed else "STATUS_IN_PROGRESS",
                        "completed": completed,
                        "state": "post" if completed else "in",
                    }
                },
                "_defect": defect,  # not in the real API; tests read it through expected()
            }
        )
    return out


def days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def expected(league: str, start: date, end: date) -> dict[str, int]:
    """How many events a correct scraper loads and quarantines for this range."""
    evs = [e for d in days(start, end) for e in events(league, d)]
    bad = sum(1 for e in evs if e["_defect"])
    return {"events": len(evs), "valid": len(evs) - bad, "quarantined": bad}


def scoreboard(league: str, dates: str) -> dict[str, Any]:
    first, _, last = dates.partition("-")
    start = datetime.strptime(first, "%Y%m%d").date()
    end = datetime.strptime(last or first, "%Y%m%d").date()
    evs = [{k: v for k, v in e.items() if k != "_defect"} for d in days(start, end) for e in events(league, d)]
    return {"leagues": [{"abbreviation": league.upper()}], "day": {"date": start.isoformat()}, "events": evs}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        url = urlparse(self.path)
        parts = url.path.strip("/").split("/")
        if url.path == "/healthz":
            return self._send(200, {"status": "ok"})
        # apis/site/v2/sports/<sport>/<league>/scoreboard
        if len(parts) == 7 and parts[:4] == ["apis", "site", "v2", "sports"] and parts[6] == "scoreboard":
            league = PATHS.get(f"{parts[4]}/{parts[5]}")
            if league:
                dates = parse_qs(url.query).get("dates", [date.today().strftime("%Y%m%d")])[0]
                try:
                    return self._send(200, scoreboard(league, dates))
                except ValueError:
                    return self._send(400, {"error": f"bad dates {dates!r}"})
        self._send(404, {"error": "not found"})

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve(port: int, host: str = "0.0.0.0") -> ThreadingHTTPServer:
    return ThreadingHTTPServer((host, port), Handler)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8080)
    serve(parser.parse_args().port).serve_forever()
