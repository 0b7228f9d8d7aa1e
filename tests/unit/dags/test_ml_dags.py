"""The sports and ML DAGs: schedules, task graph, and the decisions the workers take."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from airflow.models import DagBag
from airyard.ml_data import decide_deployment

REPO = Path(__file__).resolve().parents[3]
FILES = [
    "sports/sports_data_scraper",
    "sports/ml_model_training",
    "ml/ml_pipeline_dag",
    "ml/model_retraining_dag",
    "ml/data_validation_dag",
]


@pytest.fixture(scope="module")
def dags() -> dict:
    found = {}
    for name in FILES:
        bag = DagBag(dag_folder=str(REPO / "dags" / f"{name}.py"))
        assert bag.import_errors == {}
        found.update(bag.dags)
    return found


def downstream(dag, task_id: str) -> set[str]:
    return set(dag.get_task(task_id).downstream_task_ids)


@pytest.mark.parametrize(
    ("dag_id", "schedule"),
    [
        ("sports_data_scraper", "0 6 * * *"),
        ("ml_model_training", "0 2 * * 0"),
        ("ml_pipeline_dag", "@weekly"),
        ("data_validation_dag", "@daily"),
        ("model_retraining_dag", None),
    ],
)
def test_schedules_and_rules(dags: dict, dag_id: str, schedule: str | None) -> None:
    dag = dags[dag_id]
    assert dag.schedule == schedule
    assert dag.owner == "airyard"
    assert dag.catchup is False
    assert all(t.retries >= 1 for t in dag.tasks)


def test_sports_scraper_scrapes_leagues_in_parallel_then_validates_and_loads(dags: dict) -> None:
    dag = dags["sports_data_scraper"]
    for league in ("nfl", "nba", "mlb"):
        assert downstream(dag, f"scrape_{league}") == {"validate"}
    assert downstream(dag, "validate") == {"load"}


def test_training_trains_one_model_per_league_in_parallel(dags: dict) -> None:
    dag = dags["ml_model_training"]
    trains = {f"train_{league}" for league in ("nfl", "nba", "mlb")}
    assert downstream(dag, "prepare_data") == trains
    assert all(downstream(dag, t) == {"evaluate_models"} for t in trains)
    assert downstream(dag, "evaluate_models") == {"register_models"}
    assert downstream(dag, "register_models") == {"deploy_models"}
    assert all(dag.get_task(t).image == "airyard/ml-tasks:0.1.0" for t in trains)


def test_ml_pipeline_order_and_conditional_deploy(dags: dict) -> None:
    dag = dags["ml_pipeline_dag"]
    chain = ["check_new_data", "validate_data", "preprocess", "train", "evaluate", "check_drift"]
    for a, b in itertools.pairwise(chain):
        assert b in downstream(dag, a), (a, b)
    assert downstream(dag, "decide") == {"deploy", "trigger_retraining", "keep_champion"}
    assert dag.get_task("trigger_retraining").trigger_dag_id == "model_retraining_dag"


def test_retraining_deploys_or_rolls_back(dags: dict) -> None:
    dag = dags["model_retraining_dag"]
    assert downstream(dag, "backup_current_model") == {"retrain_model"}
    assert downstream(dag, "retrain_model") == {"evaluate_new_model"}
    assert downstream(dag, "evaluate_new_model") == {"compare_models"}
    assert downstream(dag, "compare_models") == {"deploy_new_model", "rollback_model"}


def test_data_validation_fans_out_after_the_schema(dags: dict) -> None:
    dag = dags["data_validation_dag"]
    assert downstream(dag, "validate_schema") == {"check_data_quality", "check_distributions", "detect_anomalies"}


def test_data_validation_manual_run_checks_the_day_before_it(dags: dict, manual_run_context: dict) -> None:
    task = dags["data_validation_dag"].get_task("check_distributions")
    step, params = task.render_template(task.arguments, manual_run_context)
    assert step == "quality.check_distributions"
    assert json.loads(params) == {"start": "2026-03-01 07:30:00+00:00", "end": "2026-03-02 07:30:00+00:00"}


def test_pods_get_their_declared_connections_from_secrets_not_from_airflow(dags: dict) -> None:
    task = dags["ml_pipeline_dag"].get_task("train")
    # The pipelines' own database user, non-admin MLflow user and bucket-scoped object store user.
    assert {e.secret_ref.name for e in task.env_from} == {
        "airyard-airflow-conn-postgres-mlsp",
        "airyard-airflow-conn-mlflow-tracking",
        "airyard-airflow-conn-objectstore-ml",
        "airyard-airflow-conn-backend-api",
    }
    assert not [e for e in task.env_vars if e.value_from]
    clients = {k for k, v in task.labels.items() if k.endswith("-client") and v == "true"}
    assert clients == {f"airyard.io/{s}-client" for s in ("postgresql", "mlflow", "objectstore", "model-serving")}


def test_a_python_task_gets_its_services_in_its_own_worker_pod(dags: dict) -> None:
    pod = dags["ml_pipeline_dag"].get_task("check_new_data").executor_config["pod_override"]
    assert [e.secret_ref.name for e in pod.spec.containers[0].env_from] == ["airyard-airflow-conn-postgres-mlsp"]
    assert pod.metadata.labels == {"airyard.io/postgresql-client": "true"}


@pytest.mark.parametrize(
    ("evaluation", "drift", "branch"),
    [
        ({"better": True}, {"drift_detected": False}, "deploy"),
        ({"better": False}, {"drift_detected": False}, "keep_champion"),
        ({"better": True}, {"drift_detected": True}, "trigger_retraining"),
        ({"better": False}, {"drift_detected": True}, "trigger_retraining"),
    ],
)
def test_a_worse_model_is_never_deployed_and_drift_retrains(evaluation: dict, drift: dict, branch: str) -> None:
    assert decide_deployment(evaluation, drift) == branch
