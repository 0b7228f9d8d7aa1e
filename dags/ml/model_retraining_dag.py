"""model_retraining_dag: retrain on the batches that drifted, then deploy the new model if it beats
the champion on the new data, or roll back to the backed-up champion.

On demand: ml_pipeline_dag triggers it with conf {"batches": [...]} when it detects drift.
conf {"shuffle_labels": true} is the rollback drill.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

# The airyard operators below are KubernetesPodOperators: naming the provider's module here makes
# the DAG processor import it once, in its manager (parsing_pre_import_modules), instead of in
# every parse of this file (~0.4 s: the Kubernetes clients).
import airflow.providers.cncf.kubernetes.operators.pod  # noqa: F401
import pendulum
from airflow.sdk import DAG, task
from airyard.operators.ml_step import MLStepOperator

# A list, or the JSON text of one: TriggerDagRunOperator renders its conf values as strings.
BATCHES = "dag_run.conf['batches']"

with DAG(
    dag_id="model_retraining_dag",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["ml"],
    default_args={"owner": "airyard", "retries": 1, "retry_delay": timedelta(minutes=1)},
):
    backup = MLStepOperator(task_id="backup_current_model", step="retraining.backup")
    retrain = MLStepOperator(
        task_id="retrain_model",
        step="retraining.retrain",
        params_json="{{ {'batches': " + BATCHES + ", 'shuffle_labels': dag_run.conf.get('shuffle_labels', False)}"
        " | tojson }}",
    )
    evaluate = MLStepOperator(
        task_id="evaluate_new_model",
        step="retraining.evaluate",
        params_json="{{ {'version': ti.xcom_pull(task_ids='retrain_model')['version'], 'batches': " + BATCHES + "}"
        " | tojson }}",
    )

    @task.branch
    def compare_models(evaluation: dict[str, Any]) -> str:
        print(f"evaluation: {evaluation}")
        return "deploy_new_model" if evaluation["better"] else "rollback_model"

    deploy = MLStepOperator(
        task_id="deploy_new_model",
        step="retraining.deploy",
        params_json="{{ {'version': ti.xcom_pull(task_ids='retrain_model')['version']} | tojson }}",
    )
    rollback = MLStepOperator(
        task_id="rollback_model",
        step="retraining.rollback",
        params_json="{{ {'backup_version': ti.xcom_pull(task_ids='backup_current_model')['backup_version']}"
        " | tojson }}",
    )
    backup >> retrain >> evaluate
    compare_models(evaluate.output) >> [deploy, rollback]
