"""Validation of TMDB records and the envelopes the pipeline puts on Kafka.

A record that fails validation is not an error of the batch: it becomes a dead letter with the
reason, and the batch goes on. Message keys are stable ids ("movie:<id>"), and the consumers upsert
by them, so re-running an interval never duplicates documents.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class InvalidRecord(ValueError):
    """The record cannot be used; the message is the dead-letter reason."""


def _int_id(raw: dict[str, Any], field: str = "id") -> int:
    value = raw.get(field)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidRecord(f"{field} must be a positive integer, got {value!r}")
    return value


def _text(raw: dict[str, Any], field: str) -> str:
    value = raw.get(field)
    if not isinstance(value, str) or not value.strip():
        raise InvalidRecord(f"{field} is missing or empty")
    return value.strip()


def _number(raw: dict[str, Any], field: str, lo: float, hi: float) -> float | None:
    value = raw.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
        raise InvalidRecord(f"{field} must be a number in [{lo}, {hi}], got {value!r}")
    return float(value)


def _date(raw: dict[str, Any], field: str) -> str | None:
    value = raw.get(field)
    if value in (None, ""):
        return None
    if not isinstance(value, str) or not DATE.match(value):
        raise InvalidRecord(f"{field} must be YYYY-MM-DD, got {value!r}")
    try:
        datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        raise InvalidRecord(f"{field} is not a calendar date: {value!r}") from None
    return value


def movie(raw: dict[str, Any]) -> dict[str, Any]:
    """A movie from a list or details answer, checked and reduced to the fields we keep."""
    if not isinstance(raw, dict):
        raise InvalidRecord(f"movie must be an object, got {type(raw).__name__}")
    genre_ids = raw.get("genre_ids")
    if genre_ids is None and isinstance(raw.get("genres"), list):
        genre_ids = [g.get("id") for g in raw["genres"] if isinstance(g, dict)]
    if genre_ids is not None and (
        not isinstance(genre_ids, list) or not all(isinstance(g, int) and not isinstance(g, bool) for g in genre_ids)
    ):
        raise InvalidRecord(f"genre_ids must be a list of integers, got {genre_ids!r}")
    out: dict[str, Any] = {
        "tmdb_id": _int_id(raw),
        "title": _text(raw, "title"),
        "original_title": raw.get("original_title") or None,
        "original_language": raw.get("original_language") or None,
        "overview": raw.get("overview") or "",
        "release_date": _date(raw, "release_date"),
        "popularity": _number(raw, "popularity", 0, 1e7),
        "vote_average": _number(raw, "vote_average", 0, 10),
        "vote_count": _number(raw, "vote_count", 0, 1e9),
        "genre_ids": genre_ids or [],
        "adult": bool(raw.get("adult", False)),
    }
    if isinstance(raw.get("genres"), list):
        out["genres"] = [g.get("name") for g in raw["genres"] if isinstance(g, dict) and g.get("name")]
    for key in ("runtime", "budget", "revenue"):
        if key in raw:
            out[key] = _number(raw, key, 0, 1e12)
    for key in ("imdb_id", "status", "tagline"):
        if raw.get(key):
            out[key] = str(raw[key])
    return out


def person(raw: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise InvalidRecord(f"person must be an object, got {type(raw).__name__}")
    return {
        "person_id": _int_id(raw),
        "name": _text(raw, "name"),
        "known_for_department": raw.get("known_for_department") or raw.get("department") or None,
        "popularity": _number(raw, "popularity", 0, 1e7),
        "gender": raw.get("gender") if isinstance(raw.get("gender"), int) else None,
    }


def credit(raw: dict[str, Any], movie_id: int, role: str) -> dict[str, Any]:
    """A cast or crew entry of a movie, as a person record with the credit attached."""
    out = person(raw)
    out["credits"] = [
        {
            "tmdb_id": movie_id,
            "role": role,
            "character": raw.get("character") if role == "cast" else None,
            "job": raw.get("job") if role == "crew" else None,
        }
    ]
    return out


def review(raw: dict[str, Any], movie_id: int) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise InvalidRecord(f"review must be an object, got {type(raw).__name__}")
    rid = raw.get("id")
    if not isinstance(rid, str) or not rid:
        raise InvalidRecord(f"review id must be a non-empty string, got {rid!r}")
    rating = (raw.get("author_details") or {}).get("rating")
    return {
        "review_id": rid,
        "tmdb_id": movie_id,
        "author": raw.get("author") or "",
        "content": _text(raw, "content"),
        "rating": float(rating) if isinstance(rating, (int, float)) and not isinstance(rating, bool) else None,
        "created_at": raw.get("created_at"),
    }


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def envelope(kind: str, source: str, data: dict[str, Any], run_id: str) -> dict[str, Any]:
    """The value of a raw-topic message."""
    return {"kind": kind, "source": source, "run_id": run_id, "extracted_at": now_iso(), "data": data}


def dead_letter(source: str, reason: str, raw: Any, run_id: str) -> dict[str, Any]:
    return {"source": source, "reason": reason, "run_id": run_id, "failed_at": now_iso(), "raw": raw}


def key(kind: str, data: dict[str, Any]) -> str:
    """The idempotent message key of a record."""
    ident = {"movie": "tmdb_id", "person": "person_id", "review": "review_id"}[kind]
    return f"{kind}:{data[ident]}"
