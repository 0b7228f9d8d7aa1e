"""Worker-side tasks of sports_data_scraper (light: HTTP and SQL, no model stack)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from airyard import metrics
from airyard.sports import PIPELINE, espn, store, validation

#: Connection holding the sports API's base URL (an external API: users define it).
SPORTS_API_CONN = "sports_api"


def date_range(logical_date: datetime | None, conf: dict[str, Any]) -> tuple[date, date]:
    """Yesterday's games for a scheduled run; conf {"start": "YYYY-MM-DD", "end": …} for a backfill."""
    if conf.get("start"):
        start = date.fromisoformat(conf["start"])
        return start, date.fromisoformat(conf.get("end") or conf["start"])
    day = (logical_date or datetime.now()).date() - timedelta(days=1)
    return day, day


def scrape(league: str, start: date, end: date, *, step: str) -> list[dict[str, Any]]:
    """The league's games of the dates; `step` (the task) names them in the metrics."""
    from airflow.sdk import BaseHook

    conn = BaseHook.get_connection(SPORTS_API_CONN)
    base = conn.host if "://" in (conn.host or "") else f"{conn.schema or 'https'}://{conn.host}"
    if conn.port:
        base = f"{base}:{conn.port}"
    records = espn.scrape(base, league, start, end)
    metrics.records(PIPELINE, step, records_out=len(records))
    return records


def validate(scraped: Iterable[list[dict[str, Any]]], *, step: str) -> dict[str, list[dict[str, Any]]]:
    """The scraped records split into valid games and rejects (quarantined by load)."""
    records = [r for league in scraped for r in league]
    valid, rejected = validation.split(records)
    print(f"{len(valid)} valid, {len(rejected)} rejected")
    metrics.records(PIPELINE, step, records_in=len(records), records_out=len(valid))
    return {"valid": valid, "rejected": rejected}


def load(valid: list[dict[str, Any]], rejected: list[dict[str, Any]], run_id: str, *, step: str) -> dict[str, int]:
    """Games upserted, rejects quarantined (the pipeline's dead letters), in one transaction."""
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    conn = PostgresHook(postgres_conn_id="postgres_mlsp").get_conn()
    try:
        result = store.load(conn, valid, rejected, run_id)
    finally:
        conn.close()
    # Counted once committed: a load that fails quarantines nothing.
    metrics.records(PIPELINE, step, records_in=len(valid) + len(rejected), records_out=result["loaded"])
    metrics.dead_letters(PIPELINE, step, result["quarantined"])
    return result


__all__ = ["date_range", "load", "scrape", "validate", "validation"]
