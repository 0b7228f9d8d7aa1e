"""Data-quality checks of the movie pipeline, as plain functions over plain data.

Each check returns a dict with at least ``check``, ``passed`` (bool) and ``details``; the report
combines them into a score (the share of passed checks, weighted) compared with the
``quality_threshold`` variable.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

#: Required fields of documents per collection and the Python types they must have.
SCHEMAS: dict[str, dict[str, tuple[type, ...]]] = {
    "movies": {
        "tmdb_id": (int,),
        "title": (str,),
        "popularity": (int, float),
        "vote_average": (int, float),
        "genre_ids": (list,),
        "last_seen_at": (datetime,),
    },
    "people": {"person_id": (int,), "name": (str,), "last_seen_at": (datetime,)},
    "reviews": {
        "review_id": (str,),
        "tmdb_id": (int,),
        "content": (str,),
        "sentiment_score": (int, float),
        "sentiment_label": (str,),
    },
}


def schema_errors(doc: Mapping[str, Any], schema: Mapping[str, tuple[type, ...]]) -> list[str]:
    errors = []
    for field, types in schema.items():
        value = doc.get(field)
        if value is None:
            errors.append(f"{field} missing")
        elif isinstance(value, bool) or not isinstance(value, types):
            errors.append(f"{field} is {type(value).__name__}, expected {'/'.join(t.__name__ for t in types)}")
    if "vote_average" in doc and isinstance(doc["vote_average"], (int, float)) and not 0 <= doc["vote_average"] <= 10:
        errors.append("vote_average out of [0, 10]")
    return errors


def validate_schema(
    collection: str, docs: Iterable[Mapping[str, Any]], min_valid_ratio: float = 0.99
) -> dict[str, Any]:
    checked, invalid, samples = 0, 0, []
    for doc in docs:
        checked += 1
        errors = schema_errors(doc, SCHEMAS[collection])
        if errors:
            invalid += 1
            if len(samples) < 10:
                samples.append({"id": str(doc.get("_id")), "errors": errors})
    ratio = 1.0 if checked == 0 else (checked - invalid) / checked
    return {
        "check": f"schema_{collection}",
        "passed": checked > 0 and ratio >= min_valid_ratio,
        "details": {"checked": checked, "invalid": invalid, "valid_ratio": round(ratio, 4), "samples": samples},
    }


def volume_anomaly(
    current: float, history: list[float], tolerance: float = 3.0, min_history: int = 3
) -> dict[str, Any]:
    """Flag `current` when it is outside [median / tolerance, median * tolerance] of the history.

    A ratio to the median rather than a z-score: hourly TMDB volumes are small and spiky, and the
    median is robust to the anomalies themselves. With too little history the check passes.
    """
    if len(history) < min_history:
        return {
            "check": "volume",
            "passed": True,
            "details": {"current": current, "history": len(history), "reason": "not enough history"},
        }
    median = statistics.median(history)
    lo, hi = median / tolerance, median * tolerance
    passed = lo <= current <= hi
    return {
        "check": "volume",
        "passed": passed,
        "details": {
            "current": current,
            "median": median,
            "low": round(lo, 2),
            "high": round(hi, 2),
            "history": len(history),
            "reason": "" if passed else ("volume drop" if current < lo else "volume spike"),
        },
    }


def kafka_lag(committed: Mapping[str, int | None], high: Mapping[str, int], max_lag: int) -> dict[str, Any]:
    """Lag per partition (keys "topic:partition") of the processing group; no commit counts everything.

    The partitions are a list, not a mapping: topic names have dots, which document stores refuse in
    keys (FerretDB does), and the report is stored in MongoDB.
    """
    per = [{"partition": tp, "lag": max(0, hw - (committed.get(tp) or 0))} for tp, hw in sorted(high.items())]
    total = sum(p["lag"] for p in per)
    return {
        "check": "kafka_lag",
        "passed": total <= max_lag,
        "details": {"total_lag": total, "max_lag": max_lag, "partitions": per},
    }


def report(
    checks: Iterable[Mapping[str, Any]], threshold: float, weights: Mapping[str, float] | None = None
) -> dict[str, Any]:
    checks = [dict(c) for c in checks if c]
    weights = weights or {}
    total = sum(weights.get(c["check"], 1.0) for c in checks)
    passed = sum(weights.get(c["check"], 1.0) for c in checks if c["passed"])
    score = round(passed / total, 4) if total else 0.0
    failed = [c["check"] for c in checks if not c["passed"]]
    return {
        "generated_at": datetime.now(UTC),
        "score": score,
        "threshold": threshold,
        "breached": score < threshold,
        "failed_checks": failed,
        "checks": checks,
    }


def summary_text(rep: Mapping[str, Any]) -> str:
    lines = [f"Quality score {rep['score']:.2f} (threshold {rep['threshold']:.2f})."]
    for c in rep["checks"]:
        mark = "ok  " if c["passed"] else "FAIL"
        lines.append(f"  {mark} {c['check']}: {c['details']}")
    return "\n".join(lines)
