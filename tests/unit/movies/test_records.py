"""Validation of TMDB records, dead-letter reasons and idempotent keys."""

from __future__ import annotations

import pytest
from airyard.movies import records

from tests.fakes.tmdb import build_fixtures

FIX = build_fixtures()


def test_valid_list_and_details_records() -> None:
    m = records.movie(FIX["popular"][0])
    assert m["tmdb_id"] == 1000
    assert m["title"] == "Fixture Movie 1000"
    assert m["genre_ids"]
    d = records.movie(FIX["details"]["1000"])
    assert d["genres"]
    assert d["runtime"]
    assert d["genre_ids"] == [g["id"] for g in FIX["details"]["1000"]["genres"]]
    assert records.key("movie", m) == "movie:1000"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (FIX["popular"][25], "title is missing"),
        (FIX["popular"][40], "id must be a positive integer"),
        ({"id": 5, "title": "x", "vote_average": 11}, "vote_average must be a number in"),
        ({"id": 5, "title": "x", "release_date": "2024-02-30"}, "not a calendar date"),
        ({"id": 5, "title": "x", "genre_ids": ["a"]}, "genre_ids must be a list of integers"),
        ("not an object", "movie must be an object"),
    ],
)
def test_invalid_movies_name_the_reason(raw: object, reason: str) -> None:
    with pytest.raises(records.InvalidRecord, match=reason):
        records.movie(raw)  # type: ignore[arg-type]


def test_people_credits_reviews() -> None:
    with pytest.raises(records.InvalidRecord, match="name is missing"):
        records.person(FIX["trending_person"][7])
    c = records.credit(FIX["credits"]["1000"]["crew"][0], 1000, "crew")
    assert c["credits"] == [{"tmdb_id": 1000, "role": "crew", "character": None, "job": "Director"}]
    r = records.review(FIX["reviews"]["1001"][0], 1001)
    assert r["review_id"] == "r100100"
    assert r["rating"] == 9.0
    assert records.key("review", r) == "review:r100100"


def test_dead_letter_envelope_keeps_the_raw_record() -> None:
    dl = records.dead_letter("popular", "title is missing", {"id": 1}, "run-1")
    assert dl["raw"] == {"id": 1}
    assert dl["reason"] == "title is missing"
    assert dl["run_id"] == "run-1"
