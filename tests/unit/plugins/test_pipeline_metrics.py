"""The pipelines report their figures through airyard.metrics where they compute them: records in
and out of a step, dead letters, quality scores, the monitoring DAG's layers. The Stats facade is
patched (the `stats` fixture); the pods and services around a step are faked at their boundary."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from unittest import mock

import pytest
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.sdk.exceptions import AirflowException

from tests.fakes.sports_api import GAME
from tests.unit.plugins.conftest import sent


class TaskInstance:
    """What the operators use of a task instance: XComs by task id (and key)."""

    def __init__(self, xcoms: dict[tuple[str, str], Any] | None = None) -> None:
        self.xcoms = xcoms or {}
        self.pushed: dict[str, Any] = {}
        self.dag_id = "test_dag"

    def xcom_pull(self, task_ids: str, key: str = "return_value") -> Any:
        return self.xcoms.get((task_ids, key))

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


def pod_result(result: Any) -> Any:
    """A task pod that ran and left `result` as its XCom (what KubernetesPodOperator.execute returns)."""
    return mock.patch.object(KubernetesPodOperator, "execute", return_value=result)


# --- movies --------------------------------------------------------------------------------------


def test_a_movie_extraction_counts_its_records_and_dead_letters(stats: mock.Mock) -> None:
    from airyard.movies.operators import TMDBExtractOperator

    op = TMDBExtractOperator(task_id="extract_trending_movies", extraction_type="trending_movies")
    summary = {"kind": "trending_movies", "records": 18, "dead_letters": 2, "ids": [1, 2]}
    with pod_result(summary):
        assert op.execute({"run_id": "manual__1"}) == summary
    assert sent(stats) == {
        "airyard.pipeline.records.movies.extract_trending_movies.in": 20,
        "airyard.pipeline.records.movies.extract_trending_movies.out": 18,
        "airyard.pipeline.dead_letters.movies.extract_trending_movies": 2,
    }


def test_an_extraction_result_without_figures_does_not_fail_the_task(stats: mock.Mock) -> None:
    from airyard.movies.operators import TMDBExtractOperator

    op = TMDBExtractOperator(task_id="extract_movie_details", extraction_type="movie_details")
    with pod_result({"records": "n/a"}):
        assert op.execute({"run_id": "manual__1"}) == {"records": "n/a"}
    stats.incr.assert_not_called()


def test_the_quality_score_is_sent_even_when_the_report_cannot_be_stored(stats: mock.Mock) -> None:
    from airyard.movies.operators import QualityReportOperator

    op = QualityReportOperator(task_id="generate_quality_report", check_task_ids=["a", "b"], threshold=0.8)
    checks = {("a", "return_value"): {"check": "a", "passed": True, "details": {}}}  # b left no result
    with (
        mock.patch.object(QualityReportOperator, "mongo", side_effect=ConnectionError("mongodb down")),
        pytest.raises(ConnectionError),
    ):
        op.execute({"ti": TaskInstance(checks), "run_id": "scheduled__1"})
    assert sent(stats) == {"airyard.quality.score.movies.movies": 0.5}


# --- domains -------------------------------------------------------------------------------------

DOMAIN_SUMMARY = {
    "unique_domains": 5,
    "produced": 6,
    "rejected": 2,
    "failed_sources": ["down"],
    "sources": [
        {"source": "a", "status": "ok", "entries": 6, "domains": 4, "rejected": 1, "duplicates": 1, "error": ""},
        {"source": "b", "status": "ok", "entries": 3, "domains": 2, "rejected": 1, "duplicates": 0, "error": ""},
        {"source": "down", "status": "failed", "entries": 0, "domains": 0, "rejected": 0, "duplicates": 0,
         "error": "URLError: refused"},
    ],
}  # fmt: skip


def test_domain_ingestion_counts_entries_domains_and_rejects_before_failing_on_a_source(stats: mock.Mock) -> None:
    from airyard.domains.operators import IngestionOperator

    op = IngestionOperator(task_id="run_full_ingestion", execution_mode="subprocess")
    hour = datetime(2026, 3, 1, 10, tzinfo=UTC)
    context = {"data_interval_start": hour, "data_interval_end": hour, "run_id": "scheduled__1", "ti": TaskInstance()}
    with (
        mock.patch.object(IngestionOperator, "_run_subprocess", return_value=DOMAIN_SUMMARY),
        pytest.raises(AirflowException, match="sources failed"),
    ):
        op.execute(context)
    assert sent(stats) == {
        "airyard.pipeline.records.domains.run_full_ingestion.in": 9,
        "airyard.pipeline.records.domains.run_full_ingestion.out": 6,
        "airyard.pipeline.dead_letters.domains.run_full_ingestion": 2,
    }


def test_monitoring_reports_a_layer_its_check_could_not_read_as_not_fresh(stats: mock.Mock) -> None:
    from airyard.domains.dags import monitoring_metrics

    bronze = {"check": "freshness", "passed": True, "details": {"age_minutes": 3.0}}
    silver = {"check": "freshness", "passed": False, "details": {"age_minutes": 75.0}}
    ti = TaskInstance(
        {
            ("data_quality.check_bronze_freshness", "freshness"): bronze,
            ("data_quality.check_silver_freshness", "freshness"): silver,  # gold's check failed before reading
            ("infrastructure_health.check_kafka", "return_value"): {"healthy": True},
        }
    )
    findings = monitoring_metrics(ti)
    assert findings["bronze_age_minutes"] == 3.0
    assert findings["silver_fresh"] is False
    assert findings["gold_age_minutes"] is None
    # bronze and silver were reported by their own checks; gold would keep an earlier value.
    assert sent(stats) == {
        "airyard.freshness.age_seconds.domains.gold": float("inf"),
        "airyard.freshness.max_age_seconds.domains.gold": 7200,
    }


# --- weather -------------------------------------------------------------------------------------


def test_weather_ingestion_counts_locations_landed_and_preferences_set_aside(stats: mock.Mock) -> None:
    from airyard.weather import ingest
    from airyard.weather.dags import ingest_task

    summary = {
        "locations": 3,
        "landed": ["raw/current/date=2026-03-01/hour=10/london-gb.json", "raw/.../paris-fr.json"],
        "failed": {"oslo-no": "HTTPError: 500"},
        "rejected_preferences": [{"user_id": "u9", "reason": "location has neither a city nor lat and lon"}],
    }
    counts = ingest.counts(summary)
    assert counts == {"locations": 3, "landed": 2, "failed": 1, "rejected_preferences": 1}
    task = ingest_task(task_id="ingest_task")
    assert task.do_xcom_push is True
    with pod_result(counts):
        task.execute({})
    assert sent(stats) == {
        "airyard.pipeline.records.weather.ingest_task.in": 3,
        "airyard.pipeline.records.weather.ingest_task.out": 2,
        "airyard.pipeline.dead_letters.weather.ingest_task": 1,
    }


# --- sports --------------------------------------------------------------------------------------


def test_sports_validation_counts_records_in_and_valid_games_out(stats: mock.Mock) -> None:
    from airyard.sports import tasks

    checked = tasks.validate([[GAME, {**GAME, "completed": False}], [{**GAME, "game_id": "2"}]], step="validate")
    assert (len(checked["valid"]), len(checked["rejected"])) == (2, 1)
    assert sent(stats) == {
        "airyard.pipeline.records.sports.validate.in": 3,
        "airyard.pipeline.records.sports.validate.out": 2,
    }


def test_sports_load_counts_quarantined_records_as_dead_letters(stats: mock.Mock) -> None:
    from airyard.sports import tasks

    with (
        mock.patch("airflow.providers.postgres.hooks.postgres.PostgresHook") as hook,
        mock.patch("airyard.sports.store.load", return_value={"loaded": 2, "quarantined": 1}) as load,
    ):
        tasks.load([GAME, GAME], [{**GAME, "reason": "game not completed"}], "scheduled__1", step="load")
    load.assert_called_once()
    hook.return_value.get_conn.return_value.close.assert_called_once()
    assert sent(stats) == {
        "airyard.pipeline.records.sports.load.in": 3,
        "airyard.pipeline.records.sports.load.out": 2,
        "airyard.pipeline.dead_letters.sports.load": 1,
    }


# --- ML ------------------------------------------------------------------------------------------


def test_ml_validation_counts_rows_quarantine_and_scores_the_observations(stats: mock.Mock) -> None:
    from airyard.operators.ml_step import MLStepOperator

    op = MLStepOperator(task_id="validate_data", step="pipeline.validate")
    with pod_result({"rows": 200, "valid": 190, "quarantined": 10, "batches": ["b1"]}):
        op.execute({})
    assert sent(stats) == {
        "airyard.pipeline.records.ml.validate_data.in": 200,
        "airyard.pipeline.records.ml.validate_data.out": 190,
        "airyard.pipeline.dead_letters.ml.validate_data": 10,
        "airyard.quality.score.ml.observations": 0.95,
    }


@pytest.mark.parametrize(
    ("result", "figures"),
    [
        ({"rows": 50, "invalid": 5, "reasons": {}}, {"airyard.quality.score.ml.observations": 0.9}),
        ({"rows": 0, "invalid": 0, "reasons": {}}, {}),  # an empty day scores nothing
    ],
)
def test_the_daily_quality_check_scores_the_observations(
    stats: mock.Mock, result: dict[str, Any], figures: dict[str, float]
) -> None:
    from airyard import ml_data

    ml_data.report_step("quality.check_data_quality", "check_data_quality", result)
    assert sent(stats) == figures


def test_ml_steps_without_figures_report_nothing(stats: mock.Mock) -> None:
    from airyard import ml_data

    ml_data.report_step("pipeline.train", "train", {"version": "3", "accuracy": 0.9})
    ml_data.report_step("pipeline.validate", "validate_data", None)  # a pod without a result
    ml_data.report_step("pipeline.validate", "validate_data", {"rows": 3})  # logged, not raised
    stats.incr.assert_not_called()
    stats.gauge.assert_not_called()
