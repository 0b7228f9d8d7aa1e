"""make soak: the domain pipelines unpaused in real time on the cluster, every alert reported.

Not part of make e2e (it takes about 100 minutes). Real time, not compressed: every layer's cycle
is 15 minutes (the feeds and the silver/gold build of domain_ingestion_dag, monitoring_dag's
checks), so two cycles of each fit in 90 minutes with room to spare.

1. Steady operation for SOAK_STEADY_MINUTES (default 45: three cycles of every layer).
   domain_ingestion_dag is unpaused; once its first run has fed the lake, monitoring_dag is too.
   Goal: no alert.
2. The feeds stop (domain_ingestion_dag paused). Goal: monitoring alerts on bronze within its
   30 minutes plus one check interval (15) of the stop, and on nothing before bronze's
   threshold has passed.

The report (every run of both DAGs with its failed tasks, and every alert the webhook received)
is printed and saved to reports/soak.md.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from devkit import airflow, kube
from tests.e2e.domains import outside_services, received_alerts

pytestmark = pytest.mark.shared_platform

INGEST, MONITOR = "domain_ingestion_dag", "monitoring_dag"
STEADY = timedelta(minutes=float(os.environ.get("SOAK_STEADY_MINUTES", "45")))
BRONZE_MAX_AGE = timedelta(minutes=30)  # airyard.domains.lake.MAX_AGE_MINUTES
CHECK_INTERVAL = timedelta(minutes=15)  # monitoring_dag's schedule
#: A scheduled run starts a little after its time and its check needs a worker pod.
START_SLACK = timedelta(minutes=3)
BRONZE_CHECK = "data_quality.check_bronze_freshness"
FIRST_RUN_WAIT = timedelta(minutes=30)
ALERT_WAIT = BRONZE_MAX_AGE + CHECK_INTERVAL + START_SLACK + timedelta(minutes=10)
#: The whole soak, bounded: pytest's default timeout (30 minutes) is far shorter.
SOAK_TIMEOUT = FIRST_RUN_WAIT + STEADY + ALERT_WAIT + timedelta(minutes=10)
REPORT = kube.REPO / "reports" / "soak.md"


@dataclass
class Run:
    dag_id: str
    run_id: str
    start: datetime
    end: datetime | None
    state: str
    failed: list[str]


def utc(stamp: str | None) -> datetime | None:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")) if stamp else None


def runs_since(api: airflow.Airflow, dag_id: str, since: datetime) -> list[Run]:
    found = api.request(
        "GET",
        f"/dags/{dag_id}/dagRuns",
        params={"start_date_gte": since.isoformat(), "order_by": "start_date", "limit": 200},
    )["dag_runs"]
    out = []
    for r in found:
        states = api.task_states(dag_id, r["dag_run_id"])
        failed = sorted(t for t, s in states.items() if s in {"failed", "upstream_failed"})
        out.append(Run(dag_id, r["dag_run_id"], utc(r["start_date"]), utc(r["end_date"]), r["state"], failed))
    return out


def wait_for(what: str, found: Callable[[], Run | None], timeout: timedelta) -> Run:
    deadline = time.monotonic() + timeout.total_seconds()
    while time.monotonic() < deadline:
        if result := found():
            return result
        time.sleep(30)
    raise TimeoutError(f"{what}: not within {timeout}")


@pytest.fixture(scope="module")
def api() -> Iterator[airflow.Airflow]:
    with outside_services(), airflow.connect() as client:
        for dag_id in (INGEST, MONITOR):
            client.wait_for_dag(dag_id)
            client.set_paused(dag_id, True)
            client.drop_runs(dag_id, run_type=None, watch=0)
        try:
            yield client
        finally:
            for dag_id in (INGEST, MONITOR):
                client.set_paused(dag_id, True)


@pytest.mark.timeout(SOAK_TIMEOUT.total_seconds())
def test_steady_operation_raises_no_alert_and_stopped_feeds_raise_the_bronze_alert(api: airflow.Airflow) -> None:
    began = datetime.now(UTC)
    hooks_before = len(received_alerts())
    # A first run now, rather than at the next quarter hour; the schedule takes over from there.
    api.trigger(INGEST)
    first = wait_for(
        "a first ingestion run fed the lake",
        lambda: next((r for r in runs_since(api, INGEST, began) if r.state in {"success", "failed"}), None),
        FIRST_RUN_WAIT,
    )
    assert first.state == "success", first

    steady = datetime.now(UTC)
    api.set_paused(MONITOR, False)
    time.sleep(STEADY.total_seconds())

    api.set_paused(INGEST, True)
    stopped = datetime.now(UTC)

    def bronze_alert() -> Run | None:
        done = [r for r in runs_since(api, MONITOR, stopped) if r.end is not None]
        return next((r for r in done if BRONZE_CHECK in r.failed), None)

    alerted = wait_for(
        "monitoring_dag alerts on bronze after the feeds stopped",
        bronze_alert,
        ALERT_WAIT,
    )
    api.set_paused(MONITOR, True)

    ingestion, monitoring = runs_since(api, INGEST, began), runs_since(api, MONITOR, steady)
    hooks = [h for h in received_alerts()[hooks_before:] if "[INFO]" not in h["body"]]
    write_report(began, steady, stopped, alerted, ingestion, monitoring, hooks)

    assert all(r.state == "success" for r in ingestion if r.start < stopped), ingestion
    # Bronze's newest records came from the last ingestion run before the stop: until 30 minutes
    # after that run started, bronze cannot be stale, and every check passes. (Counting from the
    # stop instead would call a right alert false: that run may be up to a quarter hour older.)
    quiet_until = max(r.start for r in ingestion if r.start < stopped) + BRONZE_MAX_AGE
    false_alerts = [r for r in monitoring if r.start < quiet_until and r.failed]
    assert false_alerts == [], false_alerts
    assert len([r for r in monitoring if r.start < stopped]) >= STEADY // CHECK_INTERVAL
    assert alerted.end <= stopped + BRONZE_MAX_AGE + CHECK_INTERVAL + START_SLACK, alerted
    assert any("check_bronze_freshness" in h["body"] for h in hooks), hooks


def write_report(
    began: datetime,
    steady: datetime,
    stopped: datetime,
    alerted: Run,
    ingestion: list[Run],
    monitoring: list[Run],
    hooks: list[dict],
) -> None:
    def row(r: Run) -> str:
        end = r.end.strftime("%H:%M:%S") if r.end else "-"
        return f"| {r.dag_id} | {r.start:%H:%M:%S} | {end} | {r.state} | {', '.join(r.failed) or '-'} |"

    lines = [
        "# make soak: domain pipelines in real time",
        "",
        f"- began {began:%Y-%m-%d %H:%M:%S} UTC; steady from {steady:%H:%M:%S} for {STEADY}; "
        f"feeds stopped at {stopped:%H:%M:%S}",
        f"- bronze alert: run started {alerted.start:%H:%M:%S}, ended {alerted.end:%H:%M:%S}, "
        f"{(alerted.end - stopped).total_seconds() / 60:.1f} min after the stop "
        f"(bound {(BRONZE_MAX_AGE + CHECK_INTERVAL).total_seconds() / 60:.0f} min + {START_SLACK})",
        f"- runs: {len(ingestion)} of {INGEST}, {len(monitoring)} of {MONITOR}; "
        f"monitoring runs with a failed check: {sum(1 for r in monitoring if r.failed)}",
        "",
        "| DAG | started | ended | state | failed tasks |",
        "|---|---|---|---|---|",
        *(row(r) for r in sorted(ingestion + monitoring, key=lambda r: r.start)),
        "",
        f"## Alerts the webhook received ({len(hooks)})",
        "",
        *(f"- `{h['body'][:300]}`" for h in hooks),
    ]
    text = "\n".join(lines) + "\n"
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(text)
    print("\n" + text)
