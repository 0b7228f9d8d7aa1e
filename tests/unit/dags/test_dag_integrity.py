"""Every DAG file imports cleanly, quickly, and follows the platform's rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from airflow.models import DagBag

REPO = Path(__file__).resolve().parents[3]
# The platform's DAGs, and the benchmark's (deployed by make bench only).
DAG_FILES = sorted(p for d in ("dags", "bench/dags") for p in (REPO / d).rglob("*.py") if not p.name.startswith("_"))


@pytest.fixture(scope="module")
def dagbag() -> DagBag:
    return DagBag(dag_folder=str(REPO / "dags"))


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_dag_file_imports_without_errors(path: Path) -> None:
    bag = DagBag(dag_folder=str(path))
    assert bag.import_errors == {}
    assert bag.dags, f"{path.name} defines no DAG"


def test_dag_ids_are_unique_and_owned(dagbag: DagBag) -> None:
    assert dagbag.import_errors == {}
    for dag_id, dag in dagbag.dags.items():
        assert dag.owner == "airyard", dag_id
        assert dag.catchup is False or dag.dag_id.endswith("_backfill"), dag_id
        assert all(t.retries >= 1 for t in dag.tasks), dag_id


def test_example_dag_has_a_python_and_a_bash_task(dagbag: DagBag) -> None:
    dag = dagbag.dags["example_dag"]
    assert dag.schedule is None
    assert {t.task_type for t in dag.tasks} == {"_PythonDecoratedOperator", "BashOperator"}
