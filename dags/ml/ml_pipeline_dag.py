"""ml_pipeline_dag: new observation batches -> validated (bad rows quarantined) -> preprocessed by
the DVC stage -> trained and registered (MLflow) -> evaluated against the champion -> drift check.
Then one of: deploy the candidate (better than the champion, no drift), trigger
model_retraining_dag (drift), or keep the champion.

Weekly. conf {"batches": [...]} picks batches; {"shuffle_labels": true} trains a model that learnt
nothing (a drill proving a worse model is never deployed).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

# The airyard operators below are KubernetesPodOperators: naming the provider's module here makes
# the DAG processor import it once, in its manager (parsing_pre_import_modules), instead of in
# every parse of this file (~0.4 s: the Kubernetes clients).
import airflow.providers.cncf.kubernetes.operators.pod  # noqa: F401
import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import DAG, get_current_context, task
from airyard import services
from airyard.operators.ml_step import MLStepOperator

with DAG(
    dag_id="ml_pipeline_dag",
    schedule="@weekly",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["ml"],
    default_args={"owner": "airyard", "retries": 1, "retry_delay": timedelta(minutes=1)},
):

    @task.short_circuit(executor_config=services.executor_config("postgresql:mlsp"))
    def check_new_data() -> list[str]:
        """Batches not processed yet (or conf["batches"]); an empty list skips the run."""
        from airyard.ml_data import new_batches

        return new_batches(get_current_context()["dag_run"].conf or {})

    batches = "ti.xcom_pull(task_ids='check_new_data')"
    shuffle = "(dag_run.conf or {}).get('shuffle_labels', False)"
    validate = MLStepOperator(
        task_id="validate_data",
        step="pipeline.validate",
        params_json="{{ {'batches': " + batches + ", 'min_valid_fraction': var.value.get('quality_threshold', 0.8)"
        " | float} | tojson }}",
    )
    preprocess = MLStepOperator(
        task_id="preprocess", step="pipeline.preprocess", params_json="{{ {'batches': " + batches + "} | tojson }}"
    )
    train = MLStepOperator(
        task_id="train",
        step="pipeline.train",
        params_json="{{ {'md5': ti.xcom_pull(task_ids='preprocess')['md5'], 'batches': " + batches + ","
        " 'shuffle_labels': " + shuffle + "} | tojson }}",
    )
    evaluate = MLStepOperator(
        task_id="evaluate",
        step="pipeline.evaluate",
        params_json="{{ {'version': ti.xcom_pull(task_ids='train')['version'],"
        " 'md5': ti.xcom_pull(task_ids='preprocess')['md5']} | tojson }}",
    )
    check_drift = MLStepOperator(
        task_id="check_drift", step="pipeline.check_drift", params_json="{{ {'batches': " + batches + "} | tojson }}"
    )

    @task.branch
    def decide(evaluation: dict[str, Any], drift: dict[str, Any]) -> str:
        from airyard.ml_data import decide_deployment

        return decide_deployment(evaluation, drift)

    deploy = MLStepOperator(
        task_id="deploy",
        step="pipeline.deploy",
        params_json="{{ {'version': ti.xcom_pull(task_ids='train')['version']} | tojson }}",
    )
    trigger_retraining = TriggerDagRunOperator(
        task_id="trigger_retraining",
        trigger_dag_id="model_retraining_dag",
        conf={
            "batches": "{{ ti.xcom_pull(task_ids='check_new_data') | tojson }}",
            "drift_share": "{{ ti.xcom_pull(task_ids='check_drift')['drift_share'] }}",
            "triggered_by": "{{ run_id }}",
        },
    )
    keep_champion = EmptyOperator(task_id="keep_champion")

    validate.set_upstream(check_new_data())
    validate >> preprocess >> train >> evaluate >> check_drift
    decide(evaluate.output, check_drift.output) >> [deploy, trigger_retraining, keep_champion]
