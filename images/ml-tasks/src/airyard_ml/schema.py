"""Tables of the ML pipelines in the application database (standard library only: tests and the
loaders import it without the model stack)."""

from __future__ import annotations

FEATURES = ("home_form", "away_form", "rest_diff", "travel_km")
LABEL = "label"

ML_DDL = """
CREATE SCHEMA IF NOT EXISTS ml;
CREATE TABLE IF NOT EXISTS ml.observations (
    id          bigserial   PRIMARY KEY,
    batch       text        NOT NULL,
    home_form   double precision,
    away_form   double precision,
    rest_diff   double precision,
    travel_km   double precision,
    label       integer,
    ingested_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS observations_batch ON ml.observations (batch);
CREATE TABLE IF NOT EXISTS ml.quarantine (
    id             bigserial   PRIMARY KEY,
    source         text        NOT NULL,
    batch          text,
    reason         text        NOT NULL,
    record         jsonb       NOT NULL,
    quarantined_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS ml.processed_batches (
    batch        text        PRIMARY KEY,
    rows         integer     NOT NULL,
    quarantined  integer     NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now()
);
"""

SPORTS_FEATURES = ("home_win_pct", "away_win_pct", "home_point_diff", "away_point_diff", "home_games", "away_games")

SPORTS_DDL = """
CREATE SCHEMA IF NOT EXISTS sports;
CREATE TABLE IF NOT EXISTS sports.features (
    league          text        NOT NULL,
    game_id         text        NOT NULL,
    game_date       timestamptz NOT NULL,
    home_win_pct    double precision NOT NULL,
    away_win_pct    double precision NOT NULL,
    home_point_diff double precision NOT NULL,
    away_point_diff double precision NOT NULL,
    home_games      integer     NOT NULL,
    away_games      integer     NOT NULL,
    label           integer     NOT NULL,
    prepared_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (league, game_id)
);
"""
