"""ml_model_training: one model per league from the scraped games. Data preparation, the three
leagues trained in parallel, evaluation against each league's champion, MLflow registration, and
deployment of the models that beat their champion (the serving API then serves them).

Sundays 02:00 UTC. The steps run in pods of airyard/ml-tasks (airyard_ml.sports).
"""

from __future__ import annotations

from datetime import timedelta

# The airyard operators below are KubernetesPodOperators: naming the provider's module here makes
# the DAG processor import it once, in its manager (parsing_pre_import_modules), instead of in
# every parse of this file (~0.4 s: the Kubernetes clients).
import airflow.providers.cncf.kubernetes.operators.pod  # noqa: F401
import pendulum
from airflow.sdk import DAG
from airyard.operators.ml_step import MLStepOperator

LEAGUES = ("nfl", "nba", "mlb")

with DAG(
    dag_id="ml_model_training",
    schedule="0 2 * * 0",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["sports", "ml"],
    default_args={"owner": "airyard", "retries": 1, "retry_delay": timedelta(minutes=2)},
):
    prepare = MLStepOperator(task_id="prepare_data", step="sports.prepare")
    train = [
        MLStepOperator(task_id=f"train_{league}", step="sports.train", params_json=f'{{"league": "{league}"}}')
        for league in LEAGUES
    ]
    runs = ", ".join(f"ti.xcom_pull(task_ids='train_{league}')" for league in LEAGUES)
    evaluate = MLStepOperator(
        task_id="evaluate_models",
        step="sports.evaluate",
        params_json="{{ {'runs': [" + runs + "], 'min_improvement': 0.0} | tojson }}",
    )
    register = MLStepOperator(
        task_id="register_models",
        step="sports.register",
        params_json="{{ {'decisions': ti.xcom_pull(task_ids='evaluate_models')['decisions']} | tojson }}",
    )
    deploy = MLStepOperator(
        task_id="deploy_models",
        step="sports.deploy",
        params_json="{{ {'registered': ti.xcom_pull(task_ids='register_models')['registered']} | tojson }}",
    )
    prepare >> train >> evaluate >> register >> deploy
