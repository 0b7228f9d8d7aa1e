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
import re
import sys
import unicodedata
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airyard import envconn

PREFERENCES = "user_preferences"
API_CONN_ID = "weather_api"
#: The pipeline's own identities (services "objectstore:weather", "mongodb:weather").
STORE_CONN_ID, MONGO_CONN_ID, BUCKET = "objectstore_weather", "mongo_weather", "weather"
#: Longer than any city name in use: a much longer one would make an object key past S3's 1024 bytes.
MAX_CITY = 100
#: Where the pod's XCom sidecar reads the task's result.
XCOM_PATH = Path("/airflow/xcom/return.json")


class InvalidPreference(ValueError):
    """A preference's location cannot be asked for; the message is the reason it is set aside."""


class InvalidResponse(ValueError):
    """The API's answer for one location is not its JSON: that location failed, the others go on."""


def _show(value: Any) -> str:
    """A value in a reason, cut short (and JSON-safe whatever the database held there)."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


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
            if not any(c.isalnum() for c in ascii_city):
                # A script ASCII cannot spell (東京, Москва): without this every such city of a
                # country would share one object key and overwrite the others.
                ascii_city = self.city.lower().encode("punycode").decode()
            return re.sub(r"[^a-z0-9]+", "-", f"{ascii_city}-{self.country}".lower()).strip("-")
        return f"lat{self.lat:+.3f}_lon{self.lon:+.3f}".replace("+", "p").replace("-", "m").replace(".", "_")

    def query(self) -> dict[str, str]:
        if self.city:
            return {"q": f"{self.city},{self.country}" if self.country else self.city}
        return {"lat": str(self.lat), "lon": str(self.lon)}


def _text(loc: dict[str, Any], field: str) -> str:
    value = loc.get(field)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidPreference(f"location.{field} must be text, got {_show(value)}")
    return value.strip()


def _coordinate(loc: dict[str, Any], field: str, limit: float) -> float:
    value = loc.get(field)
    try:
        # Numbers, and numeric text as before; bool is an int to float(), but true is no coordinate.
        number = float(value) if isinstance(value, (int, float, str)) and not isinstance(value, bool) else None
    except (ValueError, OverflowError):
        number = None
    if number is None or not -limit <= number <= limit:  # NaN is refused here too
        raise InvalidPreference(f"location.{field} must be a number in [-{limit:g}, {limit:g}], got {_show(value)}")
    return round(number, 3)


def preference_location(doc: Any) -> Location:
    """The location of one preference: {"city", "country"} or {"lat", "lon"}; InvalidPreference otherwise."""
    loc = doc.get("location") if isinstance(doc, dict) else None
    if not isinstance(loc, dict):
        raise InvalidPreference(f"location must be an object, got {_show(loc)}")
    city = _text(loc, "city")
    if city:
        if len(city) > MAX_CITY:
            raise InvalidPreference(f"location.city longer than {MAX_CITY} characters")
        if not any(c.isalnum() for c in city):
            raise InvalidPreference(f"location.city has no letter or digit: {_show(city)}")
        return Location(city=city.title(), country=_text(loc, "country").upper())
    if loc.get("lat") is None and loc.get("lon") is None:
        raise InvalidPreference("location has neither a city nor lat and lon")
    return Location(lat=_coordinate(loc, "lat", 90), lon=_coordinate(loc, "lon", 180))


def preferences(collection: Any) -> tuple[list[Location], list[dict[str, str]]]:
    """Distinct locations of all users' preferences, and the preferences set aside with the reason."""
    found: set[Location] = set()
    rejected: list[dict[str, str]] = []
    for doc in collection.find({"location": {"$exists": True}}, {"location": 1, "user_id": 1, "_id": 0}):
        try:
            found.add(preference_location(doc))
        except InvalidPreference as exc:
            user = doc.get("user_id") if isinstance(doc, dict) else None
            rejected.append({"user_id": user[:80] if isinstance(user, str) else _show(user), "reason": str(exc)})
    return sorted(found), rejected


def locations(collection: Any) -> list[Location]:
    return preferences(collection)[0]


def check_response(body: bytes) -> bytes:
    """The body if it is the API's JSON object with cod 200 (what lands, as received); InvalidResponse otherwise."""
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError) as exc:  # ValueError: not JSON, or not UTF-8 (bad encoding)
        raise InvalidResponse(f"not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise InvalidResponse(f"not a JSON object: {type(doc).__name__}")
    if str(doc.get("cod")) != "200":
        raise InvalidResponse(f"API answered cod={_show(doc.get('cod'))}: {_show(doc.get('message'))}")
    return body


def fetch_current(base_url: str, appid: str, location: Location, units: str, timeout: float = 20) -> bytes:
    params = {**location.query(), "appid": appid, "units": units}
    url = f"{base_url.rstrip('/')}/data/2.5/weather?{urllib.parse.urlencode(params)}"
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        body = resp.read()
    return check_response(body)  # refuse to land what is not the API's JSON


def object_key(date: str, hour: int, location: Location) -> str:
    return f"raw/current/date={date}/hour={hour:02d}/{location.slug}.json"


def run(
    collection: Any, s3: Any, bucket: str, api: envconn.EnvConnection, *, date: str, hour: int, units: str = "metric"
) -> dict[str, Any]:
    appid = api.password or str(api.extra.get("appid", ""))
    landed: list[str] = []
    failed: dict[str, str] = {}
    wanted, rejected = preferences(collection)
    for reject in rejected:
        print(f"preference of user {reject['user_id']}: SET ASIDE {reject['reason']}", file=sys.stderr)
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
    return {"locations": len(wanted), "landed": landed, "failed": failed, "rejected_preferences": rejected}


def counts(summary: dict[str, Any]) -> dict[str, int]:
    """The run's figures for the task's result: counts only, no user ids in Airflow's database."""
    return {
        "locations": summary["locations"],
        "landed": len(summary["landed"]),
        "failed": len(summary["failed"]),
        "rejected_preferences": len(summary["rejected_preferences"]),
    }


def main(argv: list[str] | None = None) -> int:
    import pymongo

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--date", required=True, help="partition date, YYYY-MM-DD (the run's interval start)")
    ap.add_argument("--hour", type=int, required=True)
    ap.add_argument("--units", default="metric")
    ap.add_argument("--bucket", default=BUCKET, help="the bucket the weather object-store user may write")
    ap.add_argument("--xcom", default=str(XCOM_PATH), help="where the counts go, when that folder exists")
    args = ap.parse_args(argv)
    store = envconn.get(STORE_CONN_ID)
    s3 = envconn.s3_client(store)
    mongo = envconn.get(MONGO_CONN_ID)
    client: Any = pymongo.MongoClient(envconn.mongo_uri(mongo), serverSelectionTimeoutMS=10000)
    db = client[mongo.schema or "weather"]
    summary = run(
        db[PREFERENCES],
        s3,
        args.bucket,
        envconn.get(API_CONN_ID),
        date=args.date,
        hour=args.hour,
        units=args.units,
    )
    print("WEATHER_RESULT " + json.dumps(summary, sort_keys=True))
    xcom = Path(args.xcom)
    if xcom.parent.is_dir():
        xcom.write_text(json.dumps(counts(summary)))
    if not summary["locations"]:
        print("no locations in user preferences", file=sys.stderr)
    # Every reachable location is landed first; then a failed one fails the task (and its retry).
    return 1 if summary["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
