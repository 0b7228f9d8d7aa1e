"""The ML pipeline's steps in the ml-tasks image against real PostgreSQL, MLflow and the object store:
quarantine, the DVC stage, registration, the champion guard, drift detection both ways, backup and
rollback."""

from __future__ import annotations

import psycopg
import pytest
import requests
from airyard_ml.schema import FEATURES, ML_DDL

from tests import services
from tests.fakes import ml_dataset
from tests.integration.ml.conftest import StepRunner

MODEL = "it_pipeline_model"


def insert(dsn: str, batch: str, rows: list[dict]) -> None:
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(ML_DDL)
        cur.executemany(
            f"INSERT INTO ml.observations (batch, {', '.join(FEATURES)}, label) VALUES (%s, %s, %s, %s, %s, %s)",
            [(batch, *(r[f] for f in FEATURES), r["label"]) for r in rows],
        )


def champion(mlflow_uri: str) -> str | None:
    resp = requests.get(
        f"{mlflow_uri}/api/2.0/mlflow/registered-models/alias", params={"name": MODEL, "alias": "champion"}, timeout=30
    )
    return resp.json()["model_version"]["version"] if resp.ok else None


@pytest.fixture(scope="module")
def step(run_step: StepRunner) -> StepRunner:
    def run(name: str, **params: object) -> dict:
        # No serving API in this tier: deploy steps are tested on the cluster (tests/e2e).
        return run_step(name, extra_env={"ML_MODEL_NAME": MODEL}, **params)

    return run


def test_pipeline_quarantines_trains_guards_and_detects_drift(
    step: StepRunner, postgres_service: services.Service, mlflow_service: services.Service
) -> None:
    dsn, mlflow_uri = postgres_service.extra["dsn"], mlflow_service.extra["uri"]
    base = ml_dataset.generate(600, seed=1)
    bad = [{**base[0], "label": 7}, {**base[1], "home_form": 99.0}]
    insert(dsn, "it-b1", base + bad)

    validated = step("pipeline.validate", batches=["it-b1"])
    assert validated == {"rows": 602, "valid": 600, "quarantined": 2, "batches": ["it-b1"]}
    with psycopg.connect(dsn) as conn:
        reasons = sorted(r[0] for r in conn.execute("SELECT reason FROM ml.quarantine WHERE batch = 'it-b1'"))
        assert reasons == ["home_form beyond +-50", "label 7 not in {0, 1}"]
        assert conn.execute("SELECT count(*) FROM ml.observations WHERE batch = 'it-b1'").fetchone()[0] == 600

    pre = step("pipeline.preprocess", batches=["it-b1"])
    assert pre["rows"] == 600
    assert len(pre["md5"]) == 32

    first = step("pipeline.train", md5=pre["md5"], batches=["it-b1"])
    assert first["accuracy"] > 0.8
    # A retried registration task finds the version it registered instead of adding another.
    decisions = {"it": {"run_id": first["run_id"], "candidate_accuracy": first["accuracy"]}}
    once = step("sports.register", decisions=decisions)["registered"]["it"]["version"]
    assert step("sports.register", decisions=decisions)["registered"]["it"]["version"] == once
    ev = step("pipeline.evaluate", version=first["version"], md5=pre["md5"])
    assert ev["better"] is True
    assert ev["champion_version"] is None
    # Deployment without the serving API: the alias move is what deploy does first.
    requests.post(
        f"{mlflow_uri}/api/2.0/mlflow/registered-models/alias",
        json={"name": MODEL, "alias": "champion", "version": first["version"]},
        timeout=30,
    ).raise_for_status()

    # Undrifted data and a model that learnt nothing: no drift, and the candidate is worse.
    insert(dsn, "it-b2", ml_dataset.generate(600, seed=2))
    pre2 = step("pipeline.preprocess", batches=["it-b2"])
    worse = step("pipeline.train", md5=pre2["md5"], batches=["it-b2"], shuffle_labels=True)
    ev2 = step("pipeline.evaluate", version=worse["version"], md5=pre2["md5"])
    assert ev2["better"] is False
    assert ev2["candidate_accuracy"] < ev2["champion_accuracy"]
    drift2 = step("pipeline.check_drift", batches=["it-b2"])
    assert drift2["drift_detected"] is False, drift2

    # Drifted data: detected, and a retrained model beats the old champion on it.
    insert(dsn, "it-b3", ml_dataset.generate(600, seed=3, drift=1.0))
    drift3 = step("pipeline.check_drift", batches=["it-b3"])
    assert drift3["drift_detected"] is True, drift3
    backup = step("retraining.backup")
    assert backup["backup_version"] == first["version"]
    new = step("retraining.retrain", batches='["it-b3"]')
    cmp = step("retraining.evaluate", version=new["version"], batches=["it-b3"])
    assert cmp["better"] is True
    assert cmp["candidate_accuracy"] > cmp["champion_accuracy"] + 0.1
    assert champion(mlflow_uri) == first["version"]


def test_a_batch_that_failed_validation_stays_failed_on_retry(
    step: StepRunner, postgres_service: services.Service
) -> None:
    """The first attempt quarantines the bad rows before it fails; a retry, which finds only the
    good ones left, must still fail (it passed before the verdict counted what was quarantined)."""
    dsn = postgres_service.extra["dsn"]
    rows = ml_dataset.generate(60, seed=5)
    insert(dsn, "it-bad", rows[:30] + [{**r, "label": 9} for r in rows[30:]])
    for attempt in (1, 2):
        with pytest.raises(AssertionError, match="too few valid rows") as failed:
            step("pipeline.validate", batches=["it-bad"])
        assert "'rows': 60, 'valid': 30, 'quarantined': 30" in str(failed.value), attempt
    with psycopg.connect(dsn) as conn:
        quarantined = conn.execute("SELECT count(*) FROM ml.quarantine WHERE batch = 'it-bad'").fetchone()[0]
        assert quarantined == 30
