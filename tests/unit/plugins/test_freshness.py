"""airyard.operators.freshness: the verdict a freshness check logs, pushes, reports and fails with."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from airflow.sdk.exceptions import AirflowException
from airyard.operators.freshness import FreshnessCheckOperator

from tests.unit.plugins.conftest import sent


class FixedSource(FreshnessCheckOperator):
    def __init__(self, *, written: datetime | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.written = written

    @property
    def source(self) -> str:
        return "Delta table s3://domains/bronze"

    def latest(self, context: Any) -> tuple[datetime | None, dict[str, Any]]:
        return self.written, {"version": 7}


class TaskInstance:
    def __init__(self) -> None:
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


def run(written: datetime | None, fail_when_stale: bool = True) -> tuple[dict[str, Any], TaskInstance]:
    ti = TaskInstance()
    check = FixedSource(
        written=written,
        task_id="fresh",
        max_age=timedelta(minutes=30),
        pipeline="domains",
        layer="bronze",
        fail_when_stale=fail_when_stale,
    )
    return check.execute({"ti": ti}), ti


def test_stale_data_fails_naming_the_source_its_age_and_the_bound() -> None:
    with pytest.raises(AirflowException) as err:
        run(datetime.now(UTC) - timedelta(minutes=45))
    message = str(err.value)
    assert message.startswith("Delta table s3://domains/bronze is stale: 45.")
    assert message.endswith("min old (bound 30 min)")
    assert "{" not in message


def test_never_written_fails_as_such() -> None:
    with pytest.raises(
        AirflowException, match=r"^Delta table s3://domains/bronze is stale: never written \(bound 30 min\)$"
    ):
        run(None)


def test_the_result_is_pushed_with_the_sources_details_and_reported_when_not_gating() -> None:
    result, ti = run(datetime.now(UTC) - timedelta(minutes=45), fail_when_stale=False)
    assert ti.pushed["freshness"] == result
    assert result["passed"] is False
    assert result["details"]["version"] == 7
    assert result["details"]["max_age_minutes"] == 30
    fresh, _ = run(datetime.now(UTC) - timedelta(minutes=5))
    assert fresh["passed"] is True


AGE, BOUND = "airyard.freshness.age_seconds.domains.bronze", "airyard.freshness.max_age_seconds.domains.bronze"


def test_a_fresh_layer_reports_its_age_and_bound(stats: mock.Mock) -> None:
    run(datetime.now(UTC) - timedelta(minutes=5))
    figures = sent(stats)
    assert figures[AGE] == pytest.approx(300, abs=5)
    assert figures[BOUND] == 1800


def test_a_stale_layer_reports_before_the_check_fails(stats: mock.Mock) -> None:
    with pytest.raises(AirflowException):
        run(datetime.now(UTC) - timedelta(minutes=45))
    figures = sent(stats)
    assert figures[AGE] == pytest.approx(2700, abs=5)
    assert figures[BOUND] == 1800


def test_a_layer_never_written_reports_an_infinite_age(stats: mock.Mock) -> None:
    with pytest.raises(AirflowException):
        run(None)
    assert sent(stats) == {AGE: float("inf"), BOUND: 1800}


def test_a_metrics_failure_leaves_the_verdict_alone(stats: mock.Mock) -> None:
    stats.gauge.side_effect = OSError("statsd unreachable")
    result, ti = run(datetime.now(UTC) - timedelta(minutes=5))
    assert result["passed"] is True
    assert ti.pushed["freshness"] == result
