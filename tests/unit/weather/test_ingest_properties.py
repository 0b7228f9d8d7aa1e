"""Weather preferences and API responses, thrown arbitrary JSON (hypothesis): a location to ask for
or a preference set aside with its reason; a response that lands or a failed location with its
reason; never an exception, which would stop every other location of the run.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from airyard.weather import ingest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.fakes import weather_api
from tests.unit.shapes import almost, json_values

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CITY = {"user_id": "u1", "location": {"city": "london", "country": "gb"}}
COORDS = {"user_id": "u4", "location": {"lat": 35.6895, "lon": 139.6917}}
SLUG = re.compile(r"[a-z0-9_-]+")


class Preferences:
    """The few lines of a pymongo collection that ingest uses."""

    def __init__(self, docs: list[Any]) -> None:
        self.docs = docs

    def find(self, *_: Any) -> list[Any]:
        return self.docs


def check_location(loc: ingest.Location) -> None:
    assert SLUG.fullmatch(loc.slug), loc
    assert len(ingest.object_key("2026-03-01", 10, loc).encode()) <= 1024  # S3's limit of a key
    query = loc.query()
    assert all(isinstance(v, str) and v for v in query.values())
    if loc.lat is not None:
        assert -90 <= loc.lat <= 90
        assert loc.lon is not None
        assert -180 <= loc.lon <= 180


preference = st.one_of(almost(CITY), almost(COORDS), json_values)


@PROPERTY
@given(preference)
@example({**COORDS, "location": {"lat": "bad", "lon": 1}})  # the known defect: ValueError out of float()
@example({**COORDS, "location": {"lat": [1], "lon": 1}})  # TypeError
@example({**COORDS, "location": {"lat": 10**400, "lon": 1}})  # OverflowError
@example({**COORDS, "location": {"lat": float("nan"), "lon": 1}})  # would ask the API for lat=nan
@example({**CITY, "location": "London"})  # AttributeError: 'str' object has no attribute 'get'
@example({**CITY, "location": {"city": "   "}})  # city "" then lat None: TypeError in the slug
@example({**CITY, "location": {"city": "東京", "country": "jp"}})  # slug "jp": every such city one key
@example({**CITY, "location": {"city": "London", "country": None}})  # country "NONE"
@example({**CITY, "location": {"city": "x" * 5000}})  # an object key past S3's limit
def test_preference(doc: Any) -> None:
    try:
        loc = ingest.preference_location(doc)
    except ingest.InvalidPreference as exc:
        reason = str(exc)
    else:
        check_location(loc)
        return
    assert reason


@PROPERTY
@given(st.lists(preference, max_size=5))
def test_every_preference_is_a_location_or_set_aside(docs: list[Any]) -> None:
    locs, rejected = ingest.preferences(Preferences(docs))
    assert len(locs) <= len(docs) - len(rejected)
    assert all(r["reason"] for r in rejected)
    json.dumps(rejected)  # the run's summary carries them
    for loc in locs:
        check_location(loc)


def test_valid_preferences_are_unchanged() -> None:
    docs = [
        CITY,
        {"user_id": "u2", "location": {"city": "London", "country": "GB"}},
        {"user_id": "u3", "location": {"city": "Paris", "country": "FR"}},
        COORDS,
        {"user_id": "u5", "location": {"city": "München", "country": "de"}},
        {"user_id": "u6", "location": {"lat": "51.5", "lon": "-0.12"}},  # numeric text, as before
    ]
    locs, rejected = ingest.preferences(Preferences(docs))
    assert rejected == []
    slugs = ["latp35_690_lonp139_692", "latp51_500_lonm0_120", "london-gb", "munchen-de", "paris-fr"]
    assert [loc.slug for loc in locs] == slugs


def test_bad_lat_is_set_aside_with_its_reason_and_the_rest_goes_on() -> None:
    docs = [{**COORDS, "location": {"lat": "bad", "lon": 1}}, CITY, {"user_id": "u7", "location": {}}]
    locs, rejected = ingest.preferences(Preferences(docs))
    assert [loc.slug for loc in locs] == ["london-gb"]
    assert [r["reason"].split(" ")[0] for r in rejected] == ["location.lat", "location"]
    assert rejected[0]["user_id"] == "u4"


GOOD_RESPONSE = weather_api.current_weather("london,gb", "metric")
responses = st.one_of(
    st.one_of(almost(GOOD_RESPONSE), json_values).map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=64),
)


@PROPERTY
@given(responses)
@example(b"[1, 2]")  # AttributeError: 'list' object has no attribute 'get'
@example(b"\xff\xfe{")  # bad encoding
@example(b"[" * 100_000)  # RecursionError, not a ValueError
@example(json.dumps(GOOD_RESPONSE).encode("utf-16"))  # json.loads detects UTF-16: it lands as received
def test_response(body: bytes) -> None:
    try:
        landed = ingest.check_response(body)
    except ingest.InvalidResponse as exc:
        reason = str(exc)
    else:
        assert landed == body
        assert str(json.loads(body)["cod"]) == "200"
        return
    assert reason


def test_response_that_is_not_an_object_fails_its_location_with_a_reason() -> None:
    with pytest.raises(ingest.InvalidResponse, match="not a JSON object: list"):
        ingest.check_response(b"[1, 2]")
    assert ingest.check_response(json.dumps(GOOD_RESPONSE).encode()) == json.dumps(GOOD_RESPONSE).encode()
