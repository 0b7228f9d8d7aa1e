"""airflow_log_retention: delete task logs older than `retention_days` from the airflow-logs bucket.

Remote logging writes every task try's log to s3://airflow-logs and nothing removes them; this
daily sweep does, with the logs identity (connection airyard_logs), which may touch that bucket
only. Metadata DB clean-up (`airflow db clean`) is the official chart's databaseCleanup CronJob:
Airflow 3 tasks have no metadata DB access, so it cannot be a task.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, Param, task

with DAG(
    dag_id="airflow_log_retention",
    schedule="30 3 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["maintenance", "platform"],
    doc_md=__doc__,
    default_args={"owner": "airyard", "retries": 1, "retry_delay": timedelta(minutes=10)},
    params={
        "retention_days": Param(30, type="integer", minimum=1),
        "bucket": Param("airflow-logs", type="string"),
        "dry_run": Param(False, type="boolean"),
    },
):

    @task
    def delete_old_logs(params: dict | None = None) -> dict[str, int]:
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook
        from airyard.maintenance import delete_older_than

        p = params or {}
        s3 = S3Hook(aws_conn_id="airyard_logs").get_conn()
        return delete_older_than(s3, p["bucket"], int(p["retention_days"]), dry_run=bool(p["dry_run"]))

    delete_old_logs()
