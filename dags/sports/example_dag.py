"""example_dag: checks an installation with a Python and a Bash task. Triggered by hand."""

from __future__ import annotations

import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, task

with DAG(
    dag_id="example_dag",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["example"],
    default_args={"owner": "airyard", "retries": 1},
):

    @task
    def say_hello() -> str:
        return "hello from airyard"

    say_hello() >> BashOperator(task_id="print_date", bash_command="date -u +%FT%TZ")
