"""isolation_probe: a task tries what task code must not do, and what it must still be able to do.

Every forbidden attempt must be refused and every allowed one must work; the report of each goes to
XCom (key "report") and the task fails naming any check whose outcome was not the expected one.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, task

with DAG(
    dag_id="isolation_probe",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["platform", "security"],
    # A probe answers quickly: a task lost with its pod is tried again after 30 s.
    default_args={"owner": "airyard", "retries": 1, "retry_delay": pendulum.duration(seconds=30)},
):

    @task
    def probe(ti=None) -> None:
        from airyard import isolation

        outcomes = isolation.probe()
        ti.xcom_push(key="report", value=isolation.report(outcomes))
        for o in outcomes:
            print(f"{'ok  ' if o.ok else 'FAIL'} {o.check}: {o.observed} (expected {o.expected}) - {o.detail}")
        failed = [o.check for o in outcomes if not o.ok]
        if failed:
            raise RuntimeError(f"isolation checks failed: {failed}")

    probe()
