"""The MLflow model registry as the pipelines use it: champion, challenger and backup aliases."""

from __future__ import annotations

from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from sklearn.metrics import accuracy_score, roc_auc_score

CHAMPION, CHALLENGER, PREVIOUS, BACKUP = "champion", "challenger", "previous-champion", "backup"


def client() -> MlflowClient:
    return MlflowClient()


def alias_version(name: str, alias: str) -> str | None:
    try:
        return str(client().get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None  # no such model or alias yet


def load(name: str, version: str) -> Any:
    return mlflow.sklearn.load_model(f"models:/{name}/{version}")


def scores(model: Any, x: pd.DataFrame, y: pd.Series) -> dict[str, float]:
    predicted = model.predict(x)
    result = {"accuracy": float(accuracy_score(y, predicted))}
    if len(np.unique(y)) == 2:
        result["roc_auc"] = float(roc_auc_score(y, model.predict_proba(x)[:, 1]))
    return result


def promote(name: str, version: str) -> dict[str, str | None]:
    """Make `version` the champion; the one it replaces stays reachable as previous-champion."""
    c = client()
    old = alias_version(name, CHAMPION)
    if old and old != version:
        c.set_registered_model_alias(name, PREVIOUS, old)
    c.set_registered_model_alias(name, CHAMPION, version)
    if alias_version(name, CHALLENGER) == version:
        c.delete_registered_model_alias(name, CHALLENGER)
    return {"champion": version, "previous": old}


def register(name: str, run_id: str, tags: dict[str, str] | None = None) -> str:
    """The version of `run_id`'s model, registered once: a retried task must not add a second one."""
    try:
        existing = client().search_model_versions(f"name = '{name}' and run_id = '{run_id}'")
    except MlflowException:
        existing = []  # no such registered model yet
    if existing:
        return str(min(int(v.version) for v in existing))
    version = mlflow.register_model(f"runs:/{run_id}/model", name, tags=tags).version
    return str(version)
