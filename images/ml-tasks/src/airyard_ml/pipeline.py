"""ml_pipeline_dag and model_retraining_dag: validate, preprocess (DVC), train, evaluate, drift,
deploy, back up, roll back. The registered model is MODEL; its champion is what the API serves."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import yaml
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from airyard_ml import common, registry
from airyard_ml.preprocess import MODEL_FEATURES, transform
from airyard_ml.schema import FEATURES, LABEL, ML_DDL, quarantine_json, row_problem

MODEL = os.environ.get("ML_MODEL_NAME", "ml_pipeline_model")
EXPERIMENT = "ml-pipeline"
DVC_PROJECT = Path(__file__).parent / "dvc_project"


# --- data ----------------------------------------------------------------------------------------


def observations(batches: list[str]) -> pd.DataFrame:
    with common.connect() as conn:
        conn.execute(ML_DDL)
        cur = conn.execute(
            f"SELECT id, batch, {', '.join(FEATURES)}, {LABEL} FROM ml.observations WHERE batch = ANY(%s) ORDER BY id",
            (batches,),
        )
        return pd.DataFrame(cur.fetchall(), columns=["id", "batch", *FEATURES, LABEL])


def problems(frame: pd.DataFrame) -> pd.Series:
    """The reason each row is unusable, or None."""
    return frame.apply(row_problem, axis=1) if len(frame) else pd.Series(dtype=object)


def validate(batches: list[str], min_valid_fraction: float = 0.8) -> dict[str, Any]:
    """Quarantine unusable rows (with their reason) out of the batches; fail if too few are left.

    The verdict counts the rows an earlier attempt quarantined (ml.processed_batches), so a batch
    that failed stays failed on retry, although its bad rows are no longer among the observations.
    """
    from evidently import Report
    from evidently.presets import DataSummaryPreset

    frame = observations(batches)
    reasons = problems(frame)
    bad = frame[reasons.notna()]
    with common.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT batch, quarantined FROM ml.processed_batches WHERE batch = ANY(%s)", (batches,))
        earlier = dict(cur.fetchall())
        for (_, row), reason in zip(bad.iterrows(), reasons[reasons.notna()], strict=True):
            cur.execute(
                "INSERT INTO ml.quarantine (source, batch, reason, record) VALUES ('ml.observations', %s, %s, %s)",
                (row["batch"], reason, quarantine_json(row)),
            )
            cur.execute("DELETE FROM ml.observations WHERE id = %s", (int(row["id"]),))
        for batch in batches:
            in_batch = frame["batch"] == batch
            quarantined = earlier.get(batch, 0) + int((in_batch & reasons.notna()).sum())
            cur.execute(
                "INSERT INTO ml.processed_batches (batch, rows, quarantined) VALUES (%s, %s, %s)"
                " ON CONFLICT (batch) DO UPDATE SET rows = EXCLUDED.rows, quarantined = EXCLUDED.quarantined,"
                " processed_at = now()",
                (batch, int(in_batch.sum()) + earlier.get(batch, 0), quarantined),
            )
    good = frame[reasons.isna()]
    quarantined_before = sum(earlier.values())
    # Evidently's summary of what passed: row count, missing values and ranges per column, in the log.
    summary = Report([DataSummaryPreset()]).run(current_data=good[list(FEATURES)]) if len(good) else None
    if summary is not None:
        for metric in summary.dict()["metrics"][:8]:
            print(f"evidently {metric['metric_name']}: {metric['value']}")
    rows = len(frame) + quarantined_before
    result = {"rows": rows, "valid": len(good), "quarantined": len(bad) + quarantined_before, "batches": batches}
    if rows == 0 or len(good) / rows < min_valid_fraction:
        raise ValueError(f"too few valid rows: {result}")
    return result


# --- DVC -----------------------------------------------------------------------------------------


def _dvc_remote() -> str:
    return f"s3://{os.environ.get('ML_DATA_BUCKET', 'lake')}/{os.environ.get('ML_DATA_PREFIX', 'dvc/ml-pipeline')}"


def _dvc(workdir: Path, *args: str) -> str:
    proc = subprocess.run(["dvc", *args], cwd=workdir, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"dvc {' '.join(args)} failed: {proc.stdout}\n{proc.stderr}")
    return proc.stdout


def preprocess(batches: list[str]) -> dict[str, Any]:
    """`dvc repro` the preprocess stage on the batches and push its output to the object store."""
    work = Path(tempfile.mkdtemp(prefix="dvc-"))
    try:
        shutil.copy(DVC_PROJECT / "dvc.yaml", work / "dvc.yaml")
        (work / "data").mkdir()
        observations(batches).to_csv(work / "data" / "raw.csv", index=False)
        _dvc(work, "init", "--no-scm", "-q")
        _dvc(work, "remote", "add", "-d", "store", _dvc_remote())
        _dvc(work, "remote", "modify", "store", "endpointurl", os.environ["S3_ENDPOINT_URL"])
        _dvc(work, "repro", "preprocess")
        _dvc(work, "push")
        lock = yaml.safe_load((work / "dvc.lock").read_text())
        out = lock["stages"]["preprocess"]["outs"][0]
        rows = sum(1 for _ in (work / "data" / "processed.csv").open()) - 1
        return {"md5": out["md5"], "rows": rows, "remote": _dvc_remote(), "batches": batches}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def fetch(md5: str) -> pd.DataFrame:
    """A preprocess output by its hash, from the DVC remote (DVC 3 layout: files/md5/xx/yyyy)."""
    import s3fs

    fs = s3fs.S3FileSystem(client_kwargs={"endpoint_url": os.environ["S3_ENDPOINT_URL"]})
    with fs.open(f"{_dvc_remote().removeprefix('s3://')}/files/md5/{md5[:2]}/{md5[2:]}") as f:
        return pd.read_csv(f)


# --- models --------------------------------------------------------------------------------------


def _fit(data: pd.DataFrame, batches: list[str], shuffle_labels: bool, source: str) -> dict[str, Any]:
    train_set, test_set = data[data["split"] == "train"], data[data["split"] == "test"]
    y = train_set[LABEL].to_numpy()
    if shuffle_labels:
        # A drill: a model that learnt nothing, to prove the pipeline never deploys a worse one.
        y = np.random.default_rng(0).permutation(y)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
    model.fit(train_set[list(MODEL_FEATURES)], y)
    metrics = registry.scores(model, test_set[list(MODEL_FEATURES)], test_set[LABEL])
    mlflow.set_experiment(EXPERIMENT)
    with mlflow.start_run(run_name=f"{source}-{'-'.join(batches)}") as run:
        mlflow.set_tags({"batches": ",".join(batches), "source": source, "shuffle_labels": str(shuffle_labels)})
        mlflow.log_params(
            {"model": "logistic_regression", "train_rows": len(train_set), "features": len(MODEL_FEATURES)}
        )
        mlflow.log_metrics(metrics)
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            registered_model_name=MODEL,
            input_example=test_set[list(MODEL_FEATURES)].head(2),
        )
    return {"run_id": run.info.run_id, "version": str(info.registered_model_version), "batches": batches, **metrics}


def train(md5: str, batches: list[str], shuffle_labels: bool = False) -> dict[str, Any]:
    """Train on the DVC-versioned preprocess output; log and register it (a candidate version)."""
    result = _fit(fetch(md5), batches, shuffle_labels, "ml_pipeline")
    mlflow.MlflowClient().set_model_version_tag(MODEL, result["version"], "dvc_md5", md5)
    return result


def compare(version: str, test_set: pd.DataFrame, min_improvement: float) -> dict[str, Any]:
    """Candidate and champion scored on the same test rows: the candidate must beat the champion."""
    x, y = test_set[list(MODEL_FEATURES)], test_set[LABEL]
    candidate = registry.scores(registry.load(MODEL, version), x, y)
    champion_version = registry.alias_version(MODEL, registry.CHAMPION)
    champion = registry.scores(registry.load(MODEL, champion_version), x, y) if champion_version else None
    better = champion is None or (
        champion_version != version and candidate["accuracy"] >= champion["accuracy"] + min_improvement
    )
    return {
        "candidate_version": version,
        "candidate_accuracy": candidate["accuracy"],
        "champion_version": champion_version,
        "champion_accuracy": champion["accuracy"] if champion else None,
        "better": bool(better),
        "test_rows": len(test_set),
    }


def evaluate(version: str, md5: str, min_improvement: float = 0.01) -> dict[str, Any]:
    data = fetch(md5)
    return compare(version, data[data["split"] == "test"], min_improvement)


def check_drift(batches: list[str], drift_share: float = 0.5) -> dict[str, Any]:
    """Evidently data drift of the new batches against the champion's training data."""
    from evidently import Report
    from evidently.presets import DataDriftPreset

    champion = registry.alias_version(MODEL, registry.CHAMPION)
    if champion is None:
        return {"drift_detected": False, "reason": "no champion yet", "batches": batches}
    run_id = registry.client().get_model_version(MODEL, champion).run_id
    reference_batches = registry.client().get_run(run_id).data.tags.get("batches", "").split(",")
    reference, current = observations(reference_batches), observations(batches)
    snapshot = Report([DataDriftPreset(drift_share=drift_share)]).run(
        current_data=current[list(FEATURES)], reference_data=reference[list(FEATURES)]
    )
    share, columns = 0.0, {}
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if config["type"].endswith("DriftedColumnsCount"):
            share = float(metric["value"]["share"])
        elif config["type"].endswith("ValueDrift"):
            columns[config["column"]] = float(metric["value"])
    return {
        "drift_detected": share >= drift_share,
        "drift_share": share,
        "p_values": columns,
        "reference_batches": reference_batches,
        "batches": batches,
        "champion_version": champion,
    }


def deploy(version: str) -> dict[str, Any]:
    promoted = registry.promote(MODEL, version)
    served = common.wait_until_served(MODEL, version)
    return {**promoted, "served_version": served.get("version")}


# --- retraining ----------------------------------------------------------------------------------


def backup() -> dict[str, Any]:
    """Remember the serving champion (alias `backup`) before anything changes."""
    version = registry.alias_version(MODEL, registry.CHAMPION)
    if version:
        registry.client().set_registered_model_alias(MODEL, registry.BACKUP, version)
    return {"backup_version": version}


def _batches(batches: list[str] | str) -> list[str]:
    """A list, or the JSON text of one (what a triggering DAG's rendered conf carries)."""
    return json.loads(batches) if isinstance(batches, str) else list(batches)


def _retraining_data(batches: list[str]) -> pd.DataFrame:
    return transform(observations(batches))


def retrain(batches: list[str] | str, shuffle_labels: bool = False) -> dict[str, Any]:
    """Train on the batches that drifted (the new regime); the result is the challenger."""
    batches = _batches(batches)
    result = _fit(_retraining_data(batches), batches, shuffle_labels, "retraining")
    registry.client().set_registered_model_alias(MODEL, registry.CHALLENGER, result["version"])
    return result


def evaluate_new(version: str, batches: list[str] | str, min_improvement: float = 0.01) -> dict[str, Any]:
    batches = _batches(batches)
    data = _retraining_data(batches)
    return compare(version, data[data["split"] == "test"], min_improvement)


def rollback(backup_version: str | None) -> dict[str, Any]:
    """Serve the backed-up champion again and drop the challenger."""
    c = registry.client()
    if registry.alias_version(MODEL, registry.CHALLENGER):
        c.delete_registered_model_alias(MODEL, registry.CHALLENGER)
    if backup_version:
        c.set_registered_model_alias(MODEL, registry.CHAMPION, backup_version)
    served = common.wait_until_served(MODEL, backup_version)
    return {"champion": backup_version, "served_version": served.get("version")}
