"""Every TMDB record parser, thrown arbitrary JSON (hypothesis): a valid output or a dead letter, never an exception.

A valid output must also be what the Spark job's from_json schema (images/movies-spark/jobs/process.py)
reads without loss: a value of the wrong type there would turn the record (or the field) into null
downstream, which is data silently lost instead of dead-lettered here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from airyard.movies import TOPIC_DEADLETTER, records
from airyard.movies.extract import Extractor
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.fakes.tmdb import build_fixtures
from tests.unit.shapes import finite, strict_json
from tests.unit.shapes import records as shapes

FIX = build_fixtures()
MOVIE = FIX["popular"][0]
DETAILS = FIX["details"]["1000"]
PERSON = FIX["trending_person"][0]
CAST = FIX["credits"]["1000"]["cast"][0]
CREW = FIX["credits"]["1000"]["crew"][0]
REVIEW = FIX["reviews"]["1001"][0]
PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
INT64 = 2**63 - 1
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _long(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and -INT64 - 1 <= v <= INT64


def _text(v: Any, optional: bool = True) -> bool:
    return (optional and v is None) or isinstance(v, str)


def _double(v: Any) -> bool:
    return v is None or finite(v)


def check_movie(out: dict[str, Any]) -> None:
    assert _long(out["tmdb_id"])
    assert out["tmdb_id"] > 0
    assert _text(out["title"], optional=False)
    assert out["title"]
    assert all(_text(out.get(k)) for k in ("original_title", "original_language", "imdb_id", "status", "tagline"))
    assert isinstance(out["overview"], str)
    assert out["release_date"] is None or ISO_DATE.fullmatch(out["release_date"])
    assert all(_double(out.get(k)) for k in ("popularity", "vote_average", "vote_count"))
    assert all(_double(out.get(k)) for k in ("runtime", "budget", "revenue"))
    assert isinstance(out["genre_ids"], list)
    assert all(_long(g) for g in out["genre_ids"])
    assert all(isinstance(g, str) for g in out.get("genres", []))
    assert isinstance(out["adult"], bool)


def check_person(out: dict[str, Any]) -> None:
    assert _long(out["person_id"])
    assert out["person_id"] > 0
    assert _text(out["name"], optional=False)
    assert out["name"]
    assert _text(out["known_for_department"])
    assert _double(out["popularity"])
    assert out["gender"] is None or _long(out["gender"])
    for c in out.get("credits", []):
        assert _long(c["tmdb_id"])
        assert c["role"] in ("cast", "crew")
        assert _text(c["character"])
        assert _text(c["job"])


def check_review(out: dict[str, Any]) -> None:
    assert _text(out["review_id"], optional=False)
    assert out["review_id"]
    assert _long(out["tmdb_id"])
    assert _text(out["author"], optional=False)
    assert _text(out["content"], optional=False)
    assert out["content"]
    assert _double(out["rating"])
    assert _text(out["created_at"])


def outcome(parse: Callable[[Any], dict[str, Any]], raw: Any, check: Callable[[dict[str, Any]], None]) -> str:
    """'valid' (and the output honours the consumers' schema) or 'dead-lettered' (with a reason)."""
    try:
        out = parse(raw)
    except records.InvalidRecord as exc:
        reason = str(exc)
    else:
        check(out)
        strict_json(out)
        return "valid"
    assert reason, "a dead letter needs a reason"
    return "dead-lettered"


# --- the parsers, one property each --------------------------------------------------------------


@PROPERTY
@given(st.one_of(shapes(MOVIE), shapes(DETAILS)))
@example(
    {**MOVIE, "release_date": "\u0662\u0660\u0662\u0664-\u0660\u0661-\u0660\u0662"}
)  # Arabic-Indic digits passed the \d date pattern
@example({**MOVIE, "original_title": {"en": "x"}})  # kept as an object: Spark makes it a JSON string
@example({**MOVIE, "adult": "false"})  # bool("false") is True
@example({**MOVIE, "id": 2**63})  # beyond the consumers' LongType
@example({**MOVIE, "genre_ids": [2**63]})
@example({**DETAILS, "genres": [{"id": 28, "name": 5}]})
@example({**DETAILS, "genres": ["Action"]})  # entries that are not objects were dropped silently
@example({**DETAILS, "imdb_id": 12345})  # str() of a number
@example({**MOVIE, "title": "\ud800"})  # bad encoding: a lone surrogate (json.loads accepts "\ud800")
def test_movie(raw: Any) -> None:
    assert outcome(records.movie, raw, check_movie) in ("valid", "dead-lettered")


@PROPERTY
@given(shapes(PERSON))
@example({**PERSON, "gender": True})
@example({**PERSON, "gender": 2**64})
@example({**PERSON, "known_for_department": ["Acting"]})
def test_person(raw: Any) -> None:
    assert outcome(records.person, raw, check_person) in ("valid", "dead-lettered")


@PROPERTY
@given(st.sampled_from(["cast", "crew"]), st.one_of(shapes(CAST), shapes(CREW)))
@example("cast", {**CAST, "character": {"name": "x"}})
@example("crew", {**CREW, "job": 7})
def test_credit(role: str, raw: Any) -> None:
    assert outcome(lambda r: records.credit(r, 1000, role), raw, check_person) in ("valid", "dead-lettered")


@PROPERTY
@given(shapes(REVIEW))
@example({**REVIEW, "author_details": "not an object"})  # the known defect: AttributeError
@example({**REVIEW, "author_details": [1]})
@example({**REVIEW, "author_details": {"rating": float("nan")}})
@example({**REVIEW, "author_details": {"rating": "9"}})  # a rating that is not a number was dropped silently
@example({**REVIEW, "author": 42})
@example({**REVIEW, "created_at": {"t": 1}})
@example({**REVIEW, "id": "\udc00"})  # a key that cannot be encoded fails the Kafka producer
def test_review(raw: Any) -> None:
    assert outcome(lambda r: records.review(r, 1001), raw, check_review) in ("valid", "dead-lettered")


def test_review_whose_author_details_is_not_an_object_is_dead_lettered() -> None:
    with pytest.raises(records.InvalidRecord, match="author_details must be an object"):
        records.review({**REVIEW, "author_details": "not an object"}, 1001)
    with pytest.raises(records.InvalidRecord, match=r"author_details.rating must be a number"):
        records.review({**REVIEW, "author_details": {"rating": "9"}}, 1001)
    assert records.review({**REVIEW, "author_details": None}, 1001)["rating"] is None
    assert records.review({**REVIEW, "author_details": {"rating": None}}, 1001)["rating"] is None


def test_valid_fixtures_are_unchanged() -> None:
    """The fixtures are the API's real shapes: none of them may become a dead letter."""
    good_movies = [m for i, m in enumerate(FIX["popular"]) if i not in (25, 40)]
    assert all(outcome(records.movie, m, check_movie) == "valid" for m in good_movies + list(FIX["details"].values()))
    people = [p for i, p in enumerate(FIX["trending_person"]) if i != 7]
    assert all(outcome(records.person, p, check_person) == "valid" for p in people)
    for mid, credits in FIX["credits"].items():
        for role in ("cast", "crew"):
            for c in credits[role]:
                parse = lambda r, mid=int(mid), role=role: records.credit(r, mid, role)  # noqa: E731
                assert outcome(parse, c, check_person) == "valid"
    for mid, reviews in FIX["reviews"].items():
        for r in reviews:
            assert outcome(lambda x, mid=mid: records.review(x, int(mid)), r, check_review) == "valid"


# --- the extraction's record loop: every record is published or dead-lettered ----------------------


class FakePublisher:
    """Encodes as Publisher.send does (key UTF-8, value JSON) and refuses what the producer refuses."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes]] = []

    def send(self, topic: str, key: str, value: dict[str, Any]) -> None:
        message = (topic, key.encode(), json.dumps(value, default=str).encode())
        if len(message[1]) + len(message[2]) > records.MAX_MESSAGE_BYTES:
            raise RuntimeError("KafkaException: MSG_SIZE_TOO_LARGE")  # what confluent_kafka raises in produce()
        self.sent.append(message)


@PROPERTY
@given(st.lists(st.one_of(shapes(MOVIE), shapes(REVIEW)), max_size=5))
@example([{**REVIEW, "author_details": 3}, "\ud800", {"id": "\ud800"}])
def test_extractor_publishes_or_dead_letters_every_record(batch: list[Any]) -> None:
    publisher = FakePublisher()
    ex = Extractor(client=None, publisher=publisher, run_id="r")  # type: ignore[arg-type]
    ex.each("movie", "popular", batch, records.movie)
    ex.each("review", "reviews", batch, lambda r: records.review(r, 1001))
    assert sum(ex.counts.values()) + ex.dead_letters == 2 * len(batch) == len(publisher.sent)
    assert all(reason.split(": ", 1)[1] for reason in ex.reasons)


def test_oversize_record_is_dead_lettered_and_its_dead_letter_fits() -> None:
    publisher = FakePublisher()
    ex = Extractor(client=None, publisher=publisher, run_id="r")  # type: ignore[arg-type]
    huge = {**MOVIE, "overview": "x" * (records.MAX_MESSAGE_BYTES + 1)}
    ex.each("movie", "popular", [huge, MOVIE], records.movie)
    assert (ex.counts["movies"], ex.dead_letters) == (1, 1)
    assert "larger than the Kafka message limit" in ex.reasons[0]
    topic, _, value = publisher.sent[0]
    assert topic == TOPIC_DEADLETTER
    assert json.loads(value)["raw"]["bytes"] > records.MAX_MESSAGE_BYTES
