"""Worker-side decisions of the ML pipelines (light: SQL and plain data, no model stack)."""

from __future__ import annotations

from typing import Any


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
