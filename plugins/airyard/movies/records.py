"""Validation of TMDB records and the envelopes the pipeline puts on Kafka.

A record that fails validation is not an error of the batch: it becomes a dead letter with the
reason, and the batch goes on. Message keys are stable ids ("movie:<id>"), and the consumers upsert
by them, so re-running an interval never duplicates documents.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

#: ASCII digits only: \d also matches other scripts' digits, which strptime accepts and Spark does not.
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
#: The consumers read ids as Spark LongType: a larger integer would become null there.
MAX_LONG = 2**63 - 1
#: Kafka's default message.max.bytes: the producer refuses a larger message, failing the batch.
MAX_MESSAGE_BYTES = 1_000_000


class InvalidRecord(ValueError):
    """The record cannot be used; the message is the dead-letter reason."""


def _show(value: Any) -> str:
    """A value in a reason, cut short: the dead letter keeps the whole raw record beside it."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _is_long(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and -MAX_LONG - 1 <= value <= MAX_LONG


def _int_id(raw: dict[str, Any], field: str = "id") -> int:
    value = raw.get(field)
    if not _is_long(value) or value <= 0:
        raise InvalidRecord(f"{field} must be a positive integer, got {_show(value)}")
    return value


def _unicode(field: str, value: Any) -> str:
    """A string UTF-8 can carry: json.loads accepts lone surrogates ("\\ud800"), which no encoder sends."""
    if not isinstance(value, str):
        raise InvalidRecord(f"{field} must be a string, got {_show(value)}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidRecord(f"{field} is not valid Unicode (lone surrogate)") from None
    return value


def _text(raw: dict[str, Any], field: str) -> str:
    value = raw.get(field)
    if not isinstance(value, str) or not value.strip():
        raise InvalidRecord(f"{field} is missing or empty")
    return _unicode(field, value).strip()


def _optional_text(raw: dict[str, Any], field: str) -> str | None:
    value = raw.get(field)
    return None if value is None else _unicode(field, value)


def _number_value(field: str, value: Any, lo: float, hi: float) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
        raise InvalidRecord(f"{field} must be a number in [{lo}, {hi}], got {_show(value)}")
    return float(value)


def _number(raw: dict[str, Any], field: str, lo: float, hi: float) -> float | None:
    return _number_value(field, raw.get(field), lo, hi)


def _date(raw: dict[str, Any], field: str) -> str | None:
    value = raw.get(field)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not DATE.fullmatch(value):
        raise InvalidRecord(f"{field} must be YYYY-MM-DD, got {_show(value)}")
    try:
        datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        raise InvalidRecord(f"{field} is not a calendar date: {value!r}") from None
    return value


def _genres(raw: dict[str, Any]) -> list[dict[str, Any]] | None:
    genres = raw.get("genres")
    if genres is not None and (not isinstance(genres, list) or not all(isinstance(g, dict) for g in genres)):
        raise InvalidRecord(f"genres must be a list of objects, got {_show(genres)}")
    return genres


def _genre_ids(raw: dict[str, Any], genres: list[dict[str, Any]] | None) -> list[int]:
    """genre_ids of a list answer, or the ids of a details answer's genres."""
    field, ids = "genre_ids", raw.get("genre_ids")
    if ids is None and genres is not None:
        field, ids = "genres[].id", [g.get("id") for g in genres]
    if ids is not None and (not isinstance(ids, list) or not all(_is_long(g) for g in ids)):
        raise InvalidRecord(f"{field} must be a list of integers, got {_show(ids)}")
    return ids or []


def _bool(raw: dict[str, Any], field: str) -> bool:
    value = raw.get(field, False)
    if value is not None and not isinstance(value, bool):
        raise InvalidRecord(f"{field} must be true or false, got {_show(value)}")  # bool("false") is True
    return bool(value)


def movie(raw: dict[str, Any]) -> dict[str, Any]:
    """A movie from a list or details answer, checked and reduced to the fields we keep."""
    if not isinstance(raw, dict):
        raise InvalidRecord(f"movie must be an object, got {type(raw).__name__}")
    genres = _genres(raw)
    genre_ids = _genre_ids(raw, genres)
    out: dict[str, Any] = {
        "tmdb_id": _int_id(raw),
        "title": _text(raw, "title"),
        "original_title": _optional_text(raw, "original_title") or None,
        "original_language": _optional_text(raw, "original_language") or None,
        "overview": _optional_text(raw, "overview") or "",
        "release_date": _date(raw, "release_date"),
        "popularity": _number(raw, "popularity", 0, 1e7),
        "vote_average": _number(raw, "vote_average", 0, 10),
        "vote_count": _number(raw, "vote_count", 0, 1e9),
        "genre_ids": genre_ids,
        "adult": _bool(raw, "adult"),
    }
    if genres is not None:
        names = [g.get("name") for g in genres if g.get("name") is not None]
        out["genres"] = [n for n in (_unicode("genres[].name", n) for n in names) if n]
    for key in ("runtime", "budget", "revenue"):
        if key in raw:
            out[key] = _number(raw, key, 0, 1e12)
    for key in ("imdb_id", "status", "tagline"):
        value = _optional_text(raw, key)
        if value:
            out[key] = value
    return out


def person(raw: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise InvalidRecord(f"person must be an object, got {type(raw).__name__}")
    gender = raw.get("gender")
    if gender is not None and not _is_long(gender):
        raise InvalidRecord(f"gender must be an integer, got {_show(gender)}")
    return {
        "person_id": _int_id(raw),
        "name": _text(raw, "name"),
        "known_for_department": _optional_text(raw, "known_for_department")
        or _optional_text(raw, "department")
        or None,
        "popularity": _number(raw, "popularity", 0, 1e7),
        "gender": gender,
    }


def credit(raw: dict[str, Any], movie_id: int, role: str) -> dict[str, Any]:
    """A cast or crew entry of a movie, as a person record with the credit attached."""
    out = person(raw)
    out["credits"] = [
        {
            "tmdb_id": movie_id,
            "role": role,
            "character": _optional_text(raw, "character") if role == "cast" else None,
            "job": _optional_text(raw, "job") if role == "crew" else None,
        }
    ]
    return out


def review(raw: dict[str, Any], movie_id: int) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise InvalidRecord(f"review must be an object, got {type(raw).__name__}")
    rid = raw.get("id")
    if not isinstance(rid, str) or not rid:
        raise InvalidRecord(f"review id must be a non-empty string, got {_show(rid)}")
    details = raw.get("author_details")
    if details is not None and not isinstance(details, dict):
        raise InvalidRecord(f"author_details must be an object, got {type(details).__name__}")
    return {
        "review_id": _unicode("review id", rid),
        "tmdb_id": movie_id,
        "author": _optional_text(raw, "author") or "",
        "content": _text(raw, "content"),
        "rating": _number_value("author_details.rating", (details or {}).get("rating"), 0, 10),
        "created_at": _optional_text(raw, "created_at"),
    }


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def envelope(kind: str, source: str, data: dict[str, Any], run_id: str) -> dict[str, Any]:
    """The value of a raw-topic message."""
    return {"kind": kind, "source": source, "run_id": run_id, "extracted_at": now_iso(), "data": data}


def fitting(data: dict[str, Any]) -> dict[str, Any]:
    """The record if its message fits in Kafka; a larger one is a dead letter, not a failed batch."""
    size = len(json.dumps(data, default=str))  # ASCII (ensure_ascii), so characters are bytes
    if size > MAX_MESSAGE_BYTES // 2:  # the other half: the envelope and Kafka's own overhead, with room to spare
        raise InvalidRecord(f"record of {size} bytes is larger than the Kafka message limit")
    return data


def dead_letter(source: str, reason: str, raw: Any, run_id: str) -> dict[str, Any]:
    text = json.dumps(raw, default=str)
    if len(text) > MAX_MESSAGE_BYTES // 2:  # an oversize record: keep its beginning, the message must fit
        raw = {"truncated_json": text[: MAX_MESSAGE_BYTES // 4], "bytes": len(text)}
    return {"source": source, "reason": reason, "run_id": run_id, "failed_at": now_iso(), "raw": raw}


def key(kind: str, data: dict[str, Any]) -> str:
    """The idempotent message key of a record."""
    ident = {"movie": "tmdb_id", "person": "person_id", "review": "review_id"}[kind]
    return f"{kind}:{data[ident]}"
