"""Weather ingestion against real FerretDB and MinIO, with the fake weather API on loopback."""

from __future__ import annotations

import json
import threading
import uuid

import pymongo
import pytest
from airyard import envconn
from airyard.weather.ingest import locations, run

from tests import services
from tests.fakes import weather_api


@pytest.fixture(scope="module")
def api():
    srv = weather_api.server(0, appid="k-123")
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield envconn.parse(
        "weather_api",
        json.dumps({"conn_type": "http", "host": f"127.0.0.1:{srv.server_address[1]}", "password": "k-123"}),
    )
    srv.shutdown()


@pytest.fixture
def prefs(mongo_service):
    db = pymongo.MongoClient(mongo_service.extra["uri"])[f"weather_{uuid.uuid4().hex[:6]}"]
    db.user_preferences.insert_many(
        [
            {"user_id": "u1", "location": {"city": "london", "country": "gb"}},
            {"user_id": "u2", "location": {"city": "London", "country": "GB"}},
            {"user_id": "u3", "location": {"city": "Paris", "country": "FR"}},
            {"user_id": "u4", "location": {"lat": 35.6895, "lon": 139.6917}},
            {"user_id": "u5", "location": {"city": "Atlantis", "country": "XX"}},
            {"user_id": "u6"},
        ]
    )
    return db.user_preferences


@pytest.fixture
def bucket(s3_service):
    client = services.s3_client(s3_service)
    name = f"weather-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=name)
    return client, name


def test_distinct_locations(prefs) -> None:
    assert [loc.slug for loc in locations(prefs)] == ["latp35_690_lonp139_692", "atlantis-xx", "london-gb", "paris-fr"]


def test_raw_responses_land_by_date_and_an_unknown_city_fails_alone(prefs, bucket, api) -> None:
    s3, name = bucket
    summary = run(prefs, s3, name, api, date="2026-03-01", hour=10)
    assert summary["locations"] == 4
    slugs = ("latp35_690_lonp139_692", "london-gb", "paris-fr")
    assert sorted(summary["landed"]) == [f"raw/current/date=2026-03-01/hour=10/{slug}.json" for slug in slugs]
    assert list(summary["failed"]) == ["atlantis-xx"]
    assert "404" in summary["failed"]["atlantis-xx"]
    body = json.loads(
        s3.get_object(Bucket=name, Key="raw/current/date=2026-03-01/hour=10/london-gb.json")["Body"].read()
    )
    assert body == weather_api.current_weather("london,gb", "metric")  # the response, as received
    # A re-run of the same interval overwrites: same keys, no duplicates.
    run(prefs, s3, name, api, date="2026-03-01", hour=10)
    assert s3.list_objects_v2(Bucket=name)["KeyCount"] == 3


def test_wrong_key_is_refused(prefs, bucket, api) -> None:
    s3, name = bucket
    bad = envconn.EnvConnection("weather_api", host=api.host, password="wrong")
    summary = run(prefs, s3, name, bad, date="2026-03-01", hour=11)
    assert summary["landed"] == []
    assert all("401" in e for e in summary["failed"].values())
