"""Benchmark DAGs of `make bench` (bench/): no-op tasks, so the figures are the platform's own cost.

bench_noop_latency: 50 independent no-op tasks in the pool `benchmark`. The benchmark creates the
pool before a run and sets its slots to the concurrency it measures (1: each task alone on the
platform); until then the tasks wait, so trigger these DAGs through `make bench` only.
bench_noop_mapped: one no-op task mapped over 200 items, as concurrent as the configuration allows.

Paused and unscheduled: they run only when the benchmark triggers them. The callables do nothing
and push no XCom, so a task's time is the executor's: worker pod start, task runner, state calls.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, task

LATENCY_TASKS = 50
MAPPED_TASKS = 200
POOL = "benchmark"
# retries as every platform DAG has them (tests/unit/dags); a retried task shows in try_number.
DEFAULT_ARGS = {"owner": "airyard", "retries": 1, "retry_delay": timedelta(seconds=10)}


@task(do_xcom_push=False)
def noop() -> None:
    """Nothing: the benchmark times the task around it."""


@task(do_xcom_push=False)
def noop_item(item: int) -> None:
    """Nothing, once per mapped item."""


with DAG(
    dag_id="bench_noop_latency",
    description="make bench: 50 no-op tasks, concurrency set by the pool 'benchmark'",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    is_paused_upon_creation=True,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["benchmark"],
):
    for i in range(LATENCY_TASKS):
        noop.override(task_id=f"noop_{i:02d}", pool=POOL)()

with DAG(
    dag_id="bench_noop_mapped",
    description="make bench: one no-op task mapped over 200 items",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    is_paused_upon_creation=True,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["benchmark"],
):
    noop_item.expand(item=list(range(MAPPED_TASKS)))
