"""airyard.metrics: the StatsD names of the pipelines' figures, and that sending them never fails a task."""

from __future__ import annotations

import logging
import math
from unittest import mock

import pytest
from airyard import metrics

from tests.unit.plugins.conftest import sent


@pytest.mark.parametrize(
    ("value", "part"),
    [
        ("bronze", "bronze"),
        ("extract-movies_2", "extract-movies_2"),
        ("data_quality.check_bronze_freshness", "data_quality_check_bronze_freshness"),  # a task group's task
        ("a:b|c#d,e=f g/h", "a_b_c_d_e_f_g_h"),  # StatsD line and tag delimiters, and what Airflow refuses
        ("Москва", "______"),
        ("", "unknown"),
        (7, "7"),
        ("x" * 100, "x" * metrics.MAX_PART),
    ],
)
def test_a_name_part_is_one_safe_component(value: object, part: str) -> None:
    assert metrics.name_part(value) == part


def test_names_follow_the_mapping_contract(stats: mock.Mock) -> None:
    metrics.records("movies", "extract_trending_movies", records_in=12, records_out=10)
    metrics.dead_letters("movies", "extract_trending_movies", 2)
    metrics.freshness("domains", "bronze", age_seconds=90.5, max_age_seconds=1800)
    metrics.quality_score("ml", "observations", 0.97)
    assert sent(stats) == {
        "airyard.pipeline.records.movies.extract_trending_movies.in": 12,
        "airyard.pipeline.records.movies.extract_trending_movies.out": 10,
        "airyard.pipeline.dead_letters.movies.extract_trending_movies": 2,
        "airyard.freshness.age_seconds.domains.bronze": 90.5,
        "airyard.freshness.max_age_seconds.domains.bronze": 1800.0,
        "airyard.quality.score.ml.observations": 0.97,
    }


def test_label_values_with_dots_stay_one_component(stats: mock.Mock) -> None:
    metrics.dead_letters("movies", "group.task", 1)
    name = stats.incr.call_args.args[0]
    assert name == "airyard.pipeline.dead_letters.movies.group_task"
    assert len(name.split(".")) == 5  # what the mapping's airflow.airyard.pipeline.dead_letters.*.* expects


def test_a_direction_left_out_is_not_sent_and_zero_is(stats: mock.Mock) -> None:
    metrics.records("sports", "scrape_nba", records_out=0)
    assert sent(stats) == {"airyard.pipeline.records.sports.scrape_nba.out": 0}


def test_never_written_is_infinitely_old(stats: mock.Mock) -> None:
    metrics.freshness("domains", "gold", age_seconds=None, max_age_seconds=7200)
    assert sent(stats) == {
        "airyard.freshness.age_seconds.domains.gold": math.inf,
        "airyard.freshness.max_age_seconds.domains.gold": 7200.0,
    }


def test_a_failing_facade_is_logged_not_raised(stats: mock.Mock, caplog: pytest.LogCaptureFixture) -> None:
    stats.incr.side_effect = OSError("statsd unreachable")
    stats.gauge.side_effect = RuntimeError("no backend")
    with caplog.at_level(logging.WARNING, logger="airyard.metrics"):
        metrics.records("weather", "ingest_task", records_in=3, records_out=3)
        metrics.dead_letters("weather", "ingest_task", 1)
        metrics.freshness("domains", "silver", age_seconds=1.0, max_age_seconds=3600)
        metrics.quality_score("movies", "movies", 0.5)
    assert stats.incr.call_count == 3
    assert stats.gauge.call_count == 3
    assert "metric airyard.pipeline.dead_letters.weather.ingest_task not sent" in caplog.text


def test_figures_that_are_no_numbers_are_logged_not_raised(stats: mock.Mock, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="airyard.metrics"):
        metrics.dead_letters("movies", "x", "many")  # type: ignore[arg-type]
        metrics.dead_letters("movies", "x", -1)  # a counter only grows: statsd_exporter would refuse it
        metrics.quality_score("movies", "movies", None)  # type: ignore[arg-type]
    stats.incr.assert_not_called()
    stats.gauge.assert_not_called()
    assert caplog.text.count("not sent") == 3


def test_a_reporter_logs_a_result_without_its_figures(stats: mock.Mock, caplog: pytest.LogCaptureFixture) -> None:
    @metrics.reporter
    def report(result: dict[str, int]) -> None:
        metrics.dead_letters("movies", "x", result["dead_letters"])

    with caplog.at_level(logging.WARNING, logger="airyard.metrics"):
        report({})
    assert "figures not reported" in caplog.text
    report({"dead_letters": 4})
    assert sent(stats) == {"airyard.pipeline.dead_letters.movies.x": 4}


def test_the_facade_is_the_task_sdks() -> None:
    # The one the task runner initialises from [metrics]; airflow.observability.stats is another copy.
    from airflow.sdk.observability import stats as sdk_stats

    assert metrics.Stats is sdk_stats.Stats


def test_without_a_statsd_backend_sending_is_a_no_op() -> None:
    # Unit tests (and a worker with statsd_on false) have the SDK's default no-op logger.
    metrics.records("movies", "x", records_in=1, records_out=1)
    metrics.freshness("movies", "movies", age_seconds=None, max_age_seconds=1)
