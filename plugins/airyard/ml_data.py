"""Worker-side decisions of the ML pipelines (light: SQL and plain data, no model stack)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from airyard import metrics

#: The ML pipelines' name in the platform's metrics (airyard.metrics); the sports models are the
#: sports pipeline's.
PIPELINE = "ml"
#: What the quality figures score: the rows of ml.observations, by the rules of airyard_ml.pipeline.problems.
OBSERVATIONS = "observations"


def new_batches(conf: dict[str, Any], conn_id: str = "postgres_mlsp") -> list[str]:
    """conf["batches"] if given, else the observation batches no run has processed yet."""
    if conf.get("batches"):
        return list(conf["batches"])
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    hook = PostgresHook(postgres_conn_id=conn_id)
    if hook.get_first("SELECT to_regclass('ml.observations') IS NOT NULL")[0] is not True:
        return []
    processed = "to_regclass('ml.processed_batches') IS NOT NULL"
    if hook.get_first(f"SELECT {processed}")[0]:
        sql = (
            "SELECT batch FROM ml.observations WHERE batch NOT IN (SELECT batch FROM ml.processed_batches)"
            " GROUP BY batch ORDER BY min(ingested_at)"
        )
    else:
        sql = "SELECT batch FROM ml.observations GROUP BY batch ORDER BY min(ingested_at)"
    return [row[0] for row in hook.get_records(sql)]


def decide_deployment(evaluation: dict[str, Any], drift: dict[str, Any]) -> str:
    """Drift first: a model judged on drifted data is retrained properly (backup, compare, rollback)
    rather than deployed here. Without drift, only a candidate that beats the champion is deployed."""
    if drift.get("drift_detected"):
        return "trigger_retraining"
    if evaluation.get("better"):
        return "deploy"
    return "keep_champion"


def _validated(task_id: str, result: dict[str, Any]) -> None:
    """pipeline.validate: rows in, valid rows out, rows quarantined (the dead letters)."""
    rows, valid = int(result["rows"]), int(result["valid"])
    metrics.records(PIPELINE, task_id, records_in=rows, records_out=valid)
    metrics.dead_letters(PIPELINE, task_id, int(result["quarantined"]))
    if rows:
        metrics.quality_score(PIPELINE, OBSERVATIONS, valid / rows)


def _quality_checked(task_id: str, result: dict[str, Any]) -> None:
    """quality.check_data_quality: the share of the window's rows without a problem."""
    rows = int(result["rows"])
    if rows:  # an empty window scores nothing, rather than a perfect or a failing score
        metrics.quality_score(PIPELINE, OBSERVATIONS, 1 - int(result["invalid"]) / rows)


#: The ML steps whose results carry the pipeline's figures, and how they are reported.
_REPORTS: dict[str, Callable[[str, dict[str, Any]], None]] = {
    "pipeline.validate": _validated,
    "quality.check_data_quality": _quality_checked,
}


@metrics.reporter
def report_step(step: str, task_id: str, result: Any) -> None:
    """Report a finished ML step's figures (airyard.metrics); steps without figures report nothing.

    A step that fails (too few valid rows) ends its pod without a result, so it reports nothing:
    the failed task is the signal then.
    """
    report = _REPORTS.get(step)
    if report is not None and isinstance(result, dict):
        report(task_id, result)
