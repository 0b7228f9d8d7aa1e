"""The sports schema of the application database (`postgres_mlsp`): games and their quarantine.

Works on any DB-API connection with %s parameters (psycopg2 from PostgresHook, psycopg 3 in tests).
"""

from __future__ import annotations

import json
import math
from typing import Any

DDL = """
CREATE SCHEMA IF NOT EXISTS sports;
CREATE TABLE IF NOT EXISTS sports.games (
    league      text        NOT NULL,
    game_id     text        NOT NULL,
    game_date   timestamptz NOT NULL,
    season      integer,
    home_team   text        NOT NULL,
    away_team   text        NOT NULL,
    home_score  integer     NOT NULL,
    away_score  integer     NOT NULL,
    loaded_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (league, game_id)
);
CREATE TABLE IF NOT EXISTS sports.quarantine (
    id           bigserial   PRIMARY KEY,
    league       text,
    game_id      text,
    reason       text        NOT NULL,
    record       jsonb       NOT NULL,
    run_id       text,
    quarantined_at timestamptz NOT NULL DEFAULT now()
);
"""

UPSERT = """
INSERT INTO sports.games (league, game_id, game_date, season, home_team, away_team, home_score, away_score)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (league, game_id) DO UPDATE SET
    game_date = EXCLUDED.game_date, season = EXCLUDED.season, home_team = EXCLUDED.home_team,
    away_team = EXCLUDED.away_team, home_score = EXCLUDED.home_score, away_score = EXCLUDED.away_score,
    loaded_at = now()
"""


def _text(value: str) -> str:
    """Text PostgreSQL stores: no NUL (text and jsonb refuse it), lone surrogates escaped."""
    return value.replace("\x00", "\\x00").encode("utf-8", "backslashreplace").decode()


def _storable(value: Any) -> Any:
    """A quarantined value as jsonb takes it: NaN and infinities (json.dumps writes bare NaN) become text."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, dict):
        return {_text(str(k)): _storable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_storable(v) for v in value]
    return value


def _column(value: Any) -> str | None:
    return None if value is None else _text(value if isinstance(value, str) else json.dumps(_storable(value)))


def quarantine_row(rejected: dict[str, Any], run_id: str) -> tuple[str | None, str | None, str, str, str]:
    """(league, game_id, reason, record, run_id) of a rejected record: whatever it holds, the insert
    must not fail, since a failed insert would roll back the whole load."""
    record = {k: v for k, v in rejected.items() if k != "reason"}
    doc = json.dumps(_storable(record), default=str, allow_nan=False)
    return _column(rejected.get("league")), _column(rejected.get("game_id")), _text(rejected["reason"]), doc, run_id


def load(conn: Any, valid: list[dict[str, Any]], rejected: list[dict[str, Any]], run_id: str = "") -> dict[str, int]:
    """Upsert valid games (re-runs are idempotent) and quarantine rejects with their reason, in one transaction."""
    with conn.cursor() as cur:
        cur.execute(DDL)
        for g in valid:
            cur.execute(
                UPSERT,
                (
                    g["league"],
                    g["game_id"],
                    g["game_date"],
                    g.get("season"),
                    g["home_team"],
                    g["away_team"],
                    g["home_score"],
                    g["away_score"],
                ),
            )
        for r in rejected:
            cur.execute(
                "INSERT INTO sports.quarantine (league, game_id, reason, record, run_id) VALUES (%s, %s, %s, %s, %s)",
                quarantine_row(r, run_id),
            )
    conn.commit()
    return {"loaded": len(valid), "quarantined": len(rejected)}
