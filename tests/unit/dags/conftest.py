"""Fixtures of the DAG tests."""

from __future__ import annotations

from types import SimpleNamespace

import pendulum
import pytest


@pytest.fixture
def manual_run_context() -> dict:
    """What the templates of a run triggered without a logical date (Airflow 3's default) get."""
    from airflow.sdk.execution_time import macros

    # Airflow 3 leaves data_interval_* out of such a context; the DagRun has them as None.
    after = pendulum.datetime(2026, 3, 2, 7, 30, tz="UTC")
    run = SimpleNamespace(data_interval_start=None, data_interval_end=None, logical_date=None, run_after=after)
    return {"logical_date": None, "dag_run": run, "macros": macros}
