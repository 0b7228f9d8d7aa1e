"""data_validation_dag: schema, quality, distributions and anomalies of the observations that came
in during a data interval. Failures of the schema and quality gates fail the task (and alert)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from airyard_ml import common, pipeline
from airyard_ml.schema import FEATURES, LABEL, ML_DDL

EXPECTED_COLUMNS = {"id": "bigint", "batch": "text", **dict.fromkeys(FEATURES, "double precision"), LABEL: "integer"}


def _window(start: str, end: str) -> pd.DataFrame:
    with common.connect() as conn:
        cur = conn.execute(
            f"SELECT id, batch, {', '.join(FEATURES)}, {LABEL} FROM ml.observations"
            " WHERE ingested_at >= %s AND ingested_at < %s ORDER BY id",
            (start, end),
        )
        return pd.DataFrame(cur.fetchall(), columns=["id", "batch", *FEATURES, LABEL])


def validate_schema() -> dict[str, Any]:
    with common.connect() as conn:
        conn.execute(ML_DDL)
        found = dict(
            conn.execute(
                "SELECT column_name, data_type FROM information_schema.columns"
                " WHERE table_schema = 'ml' AND table_name = 'observations'"
            ).fetchall()
        )
    wrong = {c: found.get(c) for c, t in EXPECTED_COLUMNS.items() if found.get(c) != t}
    if wrong:
        raise ValueError(f"ml.observations does not have the expected columns: {wrong} (expected {EXPECTED_COLUMNS})")
    return {"columns": len(found)}


def check_data_quality(start: str, end: str, min_valid_fraction: float = 0.8) -> dict[str, Any]:
    frame = _window(start, end)
    reasons = pipeline.problems(frame)
    counts = reasons.value_counts().to_dict() if len(frame) else {}
    result = {"rows": len(frame), "invalid": int(reasons.notna().sum()), "reasons": counts}
    if len(frame) and 1 - result["invalid"] / len(frame) < min_valid_fraction:
        raise ValueError(f"data quality below {min_valid_fraction:.0%}: {result}")
    return result


def check_distributions(start: str, end: str, drift_share: float = 0.5) -> dict[str, Any]:
    """Drift of the interval's data against the champion's training data (reported; the weekly
    ml_pipeline_dag is what acts on drift)."""
    frame = _window(start, end)
    if frame.empty:
        return {"rows": 0}
    return {"rows": len(frame), **pipeline.check_drift(sorted(frame["batch"].unique()), drift_share)}


def detect_anomalies(start: str, end: str, z_limit: float = 4.0) -> dict[str, Any]:
    """Duplicate observations and outliers (|z| > z_limit against the interval's own statistics)."""
    frame = _window(start, end).dropna(subset=list(FEATURES))
    if frame.empty:
        return {"rows": 0, "duplicates": 0, "outliers": 0}
    duplicates = int(frame.duplicated(subset=["batch", *FEATURES]).sum())
    values = frame[list(FEATURES)]
    z = (values - values.mean()) / values.std(ddof=0).replace(0, 1)
    outliers = int((z.abs() > z_limit).any(axis=1).sum())
    return {"rows": len(frame), "duplicates": duplicates, "outliers": outliers}
