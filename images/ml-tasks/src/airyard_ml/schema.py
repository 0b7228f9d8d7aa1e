"""Tables of the ML pipelines in the application database (standard library only: tests and the
loaders import it without the model stack)."""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping
from typing import Any

FEATURES = ("home_form", "away_form", "rest_diff", "travel_km")
LABEL = "label"
#: Largest plausible magnitude of a (standardised) feature; beyond it a row is a data error.
FEATURE_LIMIT = 50.0

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


def _number(value: Any) -> bool:
    """A real number (numpy's too, which pandas hands out), bool excluded."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _missing(value: Any) -> bool:
    """None, or NaN: how pandas shows a NULL of a float column."""
    return value is None or (_number(value) and value != value)  # not math.isnan: it overflows on a huge int


def row_problem(row: Mapping[str, Any]) -> str | None:
    """The reason an observation is unusable, or None. Standard library only, so that the unit tests
    exercise it without the model stack; the pipeline applies it to each row of a DataFrame."""
    missing = [c for c in (*FEATURES, LABEL) if _missing(row.get(c))]
    if missing:
        return f"missing {', '.join(missing)}"
    label = row[LABEL]
    if not _number(label) or label not in (0, 1):
        return f"label {str(label)[:80]} not in {{0, 1}}"
    wrong = [c for c in FEATURES if not _number(row[c])]
    if wrong:
        return f"{', '.join(wrong)} not a number"
    # abs() without float(): an integer past float's range compares fine, float() of it overflows.
    out = [c for c in FEATURES if abs(row[c]) > FEATURE_LIMIT]
    if out:
        return f"{', '.join(out)} beyond +-{FEATURE_LIMIT:g}"
    return None


def _storable(value: Any) -> Any:
    if _missing(value):
        return None
    if isinstance(value, float) and math.isinf(value):
        return str(value)  # double precision holds infinities, JSON and jsonb do not
    if isinstance(value, dict):
        return {k: _storable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_storable(v) for v in value]
    return value


def quarantine_json(row: Mapping[str, Any]) -> str:
    """A quarantined row as ml.quarantine's jsonb takes it: whatever the row holds, the insert must
    not fail, since a failed insert fails the whole validation."""
    return json.dumps({k: _storable(v) for k, v in row.items()}, default=str, allow_nan=False)
