"""Worker-side tasks of sports_data_scraper (light: HTTP and SQL, no model stack)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from airyard.sports import espn, store, validation

#: Connection holding the sports API's base URL (an external API: users define it).
SPORTS_API_CONN = "sports_api"


def date_range(logical_date: datetime | None, conf: dict[str, Any]) -> tuple[date, date]:
    """Yesterday's games for a scheduled run; conf {"start": "YYYY-MM-DD", "end": …} for a backfill."""
    if conf.get("start"):
        start = date.fromisoformat(conf["start"])
        return start, date.fromisoformat(conf.get("end") or conf["start"])
    day = (logical_date or datetime.now()).date() - timedelta(days=1)
    return day, day


def scrape(league: str, start: date, end: date) -> list[dict[str, Any]]:
    from airflow.sdk import BaseHook

    conn = BaseHook.get_connection(SPORTS_API_CONN)
    base = conn.host if "://" in (conn.host or "") else f"{conn.schema or 'https'}://{conn.host}"
    if conn.port:
        base = f"{base}:{conn.port}"
    return espn.scrape(base, league, start, end)


def load(valid: list[dict[str, Any]], rejected: list[dict[str, Any]], run_id: str) -> dict[str, int]:
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    conn = PostgresHook(postgres_conn_id="postgres_mlsp").get_conn()
    try:
        return store.load(conn, valid, rejected, run_id)
    finally:
        conn.close()


__all__ = ["date_range", "load", "scrape", "validation"]
