"""Lexicon sentiment and the quality checks' arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airyard.movies import quality, sentiment
from airyard.operators import freshness

from tests.fakes.tmdb import NEGATIVE, NEUTRAL, POSITIVE


def test_sentiment_labels_the_fixture_reviews() -> None:
    assert sentiment.label(sentiment.score(POSITIVE)) == "positive"
    assert sentiment.label(sentiment.score(NEGATIVE)) == "negative"
    assert sentiment.label(sentiment.score(NEUTRAL)) == "neutral"
    assert sentiment.score("") == 0.0
    assert sentiment.score("not good") < 0 < sentiment.score("good")
    assert -1 <= sentiment.score("worst worst worst") <= 1


def test_schema_validation_counts_and_samples() -> None:
    good = {
        "tmdb_id": 1,
        "title": "a",
        "popularity": 1.0,
        "vote_average": 5,
        "genre_ids": [],
        "last_seen_at": datetime.now(UTC),
    }
    bad = {**good, "title": None, "vote_average": 12}
    r = quality.validate_schema("movies", [good] * 9 + [bad], min_valid_ratio=0.95)
    assert r["passed"] is False
    assert r["details"]["invalid"] == 1
    assert r["details"]["samples"][0]["errors"] == ["title missing", "vote_average out of [0, 10]"]
    assert quality.validate_schema("movies", [good])["passed"] is True
    assert quality.validate_schema("movies", [])["passed"] is False  # nothing to check is not quality


def test_freshness_and_volume_and_lag() -> None:
    now = datetime.now(UTC)
    bound = timedelta(hours=26)
    assert freshness.assess(now - timedelta(hours=2), bound, now)["passed"] is True
    assert freshness.assess((now - timedelta(hours=30)).replace(tzinfo=None), bound, now)["passed"] is False
    assert freshness.assess(None, bound, now) == {
        "check": "freshness",
        "passed": False,
        "details": {"latest": None, "age_minutes": None, "max_age_minutes": 26 * 60},
    }
    assert quality.volume_anomaly(100, [90, 110, 100])["passed"] is True
    spike = quality.volume_anomaly(5000, [90, 110, 100])
    assert spike["passed"] is False
    assert spike["details"]["reason"] == "volume spike"
    assert quality.volume_anomaly(5000, [100])["passed"] is True  # too little history
    lag = quality.kafka_lag(
        {"movies.raw.movies:0": 10, "movies.raw.movies:1": None},
        {"movies.raw.movies:0": 15, "movies.raw.movies:1": 3},
        max_lag=7,
    )
    assert lag["details"]["total_lag"] == 8
    assert lag["passed"] is False
    # Stored in MongoDB with the report: topic names must not become keys (dots are refused there).
    assert lag["details"]["partitions"] == [
        {"partition": "movies.raw.movies:0", "lag": 5},
        {"partition": "movies.raw.movies:1", "lag": 3},
    ]


def test_report_score_and_breach() -> None:
    checks = [
        {"check": c, "passed": p, "details": {}} for c, p in [("a", True), ("b", True), ("c", True), ("d", False)]
    ]
    rep = quality.report(checks, 0.8)
    assert rep["score"] == 0.75
    assert rep["breached"] is True
    assert rep["failed_checks"] == ["d"]
    assert quality.report(checks[:3], 0.8)["breached"] is False
    assert "FAIL d" in quality.summary_text(rep)
