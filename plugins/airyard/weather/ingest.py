"""Fetch current weather (OpenWeatherMap API) for every location users asked for; land the raw responses.

Runs in a pod of the airyard/airflow image started by weather_data_ingestion (`python -m
airyard.weather.ingest`). Its environment carries only what the seed's IAM role allowed: read
access to the `weather` database (the seed's DynamoDB table user_preferences is a collection
there) and the `weather` object-store user, which may write its own bucket and nothing else.

Objects: s3://<bucket>/raw/current/date=YYYY-MM-DD/hour=HH/<location>.json — the response body
exactly as received. Keys depend only on the run's interval and the location, so a re-run or a
backfill overwrites instead of duplicating.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import unicodedata
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from airyard import envconn

PREFERENCES = "user_preferences"
API_CONN_ID = "weather_api"


@dataclass(frozen=True, order=True)
class Location:
    city: str = ""
    country: str = ""
    lat: float | None = None
    lon: float | None = None

    @property
    def slug(self) -> str:
        if self.city:
            ascii_city = unicodedata.normalize("NFKD", self.city).encode("ascii", "ignore").decode()
            return re.sub(r"[^a-z0-9]+", "-", f"{ascii_city}-{self.country}".lower()).strip("-")
        return f"lat{self.lat:+.3f}_lon{self.lon:+.3f}".replace("+", "p").replace("-", "m").replace(".", "_")

    def query(self) -> dict[str, str]:
        if self.city:
            return {"q": f"{self.city},{self.country}" if self.country else self.city}
        return {"lat": str(self.lat), "lon": str(self.lon)}


def locations(collection: Any) -> list[Location]:
    """Distinct locations of all users' preferences: {"location": {"city", "country"} or {"lat", "lon"}}."""
    found: set[Location] = set()
    for doc in collection.find({"location": {"$exists": True}}, {"location": 1, "_id": 0}):
        loc = doc.get("location") or {}
        if loc.get("city"):
            found.add(
                Location(city=str(loc["city"]).strip().title(), country=str(loc.get("country", "")).strip().upper())
            )
        elif loc.get("lat") is not None and loc.get("lon") is not None:
            found.add(Location(lat=round(float(loc["lat"]), 3), lon=round(float(loc["lon"]), 3)))
    return sorted(found)


def fetch_current(base_url: str, appid: str, location: Location, units: str, timeout: float = 20) -> bytes:
    params = {**location.query(), "appid": appid, "units": units}
    url = f"{base_url.rstrip('/')}/data/2.5/weather?{urllib.parse.urlencode(params)}"
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        body = resp.read()
    doc = json.loads(body)  # refuse to land what is not the API's JSON
    if str(doc.get("cod")) != "200":
        raise ValueError(f"API answered cod={doc.get('cod')}: {doc.get('message')}")
    return body


def object_key(date: str, hour: int, location: Location) -> str:
    return f"raw/current/date={date}/hour={hour:02d}/{location.slug}.json"


def run(
    collection: Any, s3: Any, bucket: str, api: envconn.EnvConnection, *, date: str, hour: int, units: str = "metric"
) -> dict[str, Any]:
    appid = api.password or str(api.extra.get("appid", ""))
    landed: list[str] = []
    failed: dict[str, str] = {}
    wanted = locations(collection)
    for location in wanted:
        key = object_key(date, hour, location)
        try:
            body = fetch_current(api.base_url, appid, location, units)
        except (urllib.error.URLError, ValueError, OSError) as exc:
            failed[location.slug] = f"{type(exc).__name__}: {exc}"
            print(f"{location.slug}: FAILED {failed[location.slug]}", file=sys.stderr)
            continue
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
        landed.append(key)
        print(f"{location.slug}: s3://{bucket}/{key} ({len(body)} bytes)")
    return {"locations": len(wanted), "landed": landed, "failed": failed}


def main(argv: list[str] | None = None) -> int:
    import boto3
    import pymongo

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--date", required=True, help="partition date, YYYY-MM-DD (the run's interval start)")
    ap.add_argument("--hour", type=int, required=True)
    ap.add_argument("--units", default="metric")
    args = ap.parse_args(argv)
    env = os.environ
    s3 = boto3.client(
        "s3",
        endpoint_url=env["OBJECTSTORE_ENDPOINT"],
        region_name=env.get("OBJECTSTORE_REGION", "us-east-1"),
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )
    client: Any = pymongo.MongoClient(env["MONGO_URI"], serverSelectionTimeoutMS=10000)
    db = client.get_default_database(default="weather")
    summary = run(
        db[PREFERENCES],
        s3,
        env["OBJECTSTORE_BUCKET"],
        envconn.get(API_CONN_ID),
        date=args.date,
        hour=args.hour,
        units=args.units,
    )
    print("WEATHER_RESULT " + json.dumps(summary, sort_keys=True))
    if not summary["locations"]:
        print("no locations in user preferences", file=sys.stderr)
    # Every reachable location is landed first; then a failed one fails the task (and its retry).
    return 1 if summary["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
