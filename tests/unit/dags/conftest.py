"""Fixtures of the DAG tests."""

from __future__ import annotations

from types import SimpleNamespace

import pendulum
import pytest


@pytest.fixture
def manual_run_context() -> dict:
    """What the templates of a run triggered without a logical date (Airflow 3's default) get."""
    from airflow.sdk.execution_time import macros

    return {
        "data_interval_start": None,
        "data_interval_end": None,
        "logical_date": None,
        "dag_run": SimpleNamespace(run_after=pendulum.datetime(2026, 3, 2, 7, 30, tz="UTC")),
        "macros": macros,
    }
