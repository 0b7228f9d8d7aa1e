"""isolation_probe: a task tries what task code must not do, and what it must still be able to do.

Every forbidden attempt must be refused and every allowed one must work; the report of each goes to
XCom (key "report") and the task fails naming any check whose outcome was not the expected one.
"""

from __future__ import annotations

# Tasks here declare their services (airyard.services) as a pod_override of their worker pod:
# naming the provider's pod_generator makes the DAG processor import the Kubernetes models once,
# in its manager (parsing_pre_import_modules), instead of in every parse of this file.
import airflow.providers.cncf.kubernetes.pod_generator  # noqa: F401
import pendulum
from airflow.sdk import DAG, task
from airyard import isolation, services

with DAG(
    dag_id="isolation_probe",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["platform", "security"],
    # A probe answers quickly: a task lost with its pod is tried again after 30 s.
    default_args={"owner": "airyard", "retries": 1, "retry_delay": pendulum.duration(seconds=30)},
):
    # It declares a pipeline's services, as any task does, and holds nothing else.
    @task(executor_config=services.executor_config(*isolation.SERVICES))
    def probe(ti=None) -> None:
        outcomes = isolation.probe()
        ti.xcom_push(key="report", value=isolation.report(outcomes))
        for o in outcomes:
            print(f"{'ok  ' if o.ok else 'FAIL'} {o.check}: {o.observed} (expected {o.expected}) - {o.detail}")
        failed = [o.check for o in outcomes if not o.ok]
        if failed:
            raise RuntimeError(f"isolation checks failed: {failed}")

    probe()
