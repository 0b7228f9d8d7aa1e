"""sports_data_scraper: NFL, NBA and MLB scoreboards scraped in parallel, validated, loaded into the
application database (postgres_mlsp). Invalid records are quarantined with their reason.

Daily at 06:00 UTC (yesterday's games); conf {"start": "YYYY-MM-DD", "end": "YYYY-MM-DD"} backfills.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

# Tasks here declare their services (airyard.services) as a pod_override of their worker pod:
# naming the provider's pod_generator makes the DAG processor import the Kubernetes models once,
# in its manager (parsing_pre_import_modules), instead of in every parse of this file.
import airflow.providers.cncf.kubernetes.pod_generator  # noqa: F401
import pendulum
from airflow.sdk import DAG, get_current_context, task
from airyard import services

LEAGUES = ("nfl", "nba", "mlb")

with DAG(
    dag_id="sports_data_scraper",
    schedule="0 6 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["sports", "ingestion"],
    default_args={"owner": "airyard", "retries": 2, "retry_delay": timedelta(minutes=2)},
):
    # The scoreboards come from outside the cluster: the task declares it (and leaves only so).
    @task(executor_config=services.executor_config("external:sports_api"))
    def scrape(league: str) -> list[dict[str, Any]]:
        from airyard.sports import tasks

        ctx = get_current_context()
        start, end = tasks.date_range(ctx.get("logical_date"), ctx["dag_run"].conf or {})
        return tasks.scrape(league, start, end, step=ctx["ti"].task_id)

    @task
    def validate(*scraped: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
        from airyard.sports import tasks

        return tasks.validate(scraped, step=get_current_context()["ti"].task_id)

    @task(executor_config=services.executor_config("postgresql:mlsp"))
    def load(checked: dict[str, list[dict[str, Any]]]) -> dict[str, int]:
        from airyard.sports import tasks

        ctx = get_current_context()
        return tasks.load(checked["valid"], checked["rejected"], ctx["run_id"], step=ctx["ti"].task_id)

    scraped = [scrape.override(task_id=f"scrape_{league}")(league) for league in LEAGUES]
    load(validate(*scraped))
