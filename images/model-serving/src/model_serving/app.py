"""The backend API: serves the champion (`models:/<name>@champion`) of each configured model.

It resolves the alias to a version, loads that version and reports it, so clients and the
pipelines' deploy steps know exactly what answers. A background loop follows the alias (every
POLL_SECONDS) and POST /reload follows it at once; a model whose load fails keeps serving the
version it had.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

log = logging.getLogger("model_serving")
MODELS = [m.strip() for m in os.environ.get("MODELS", "").split(",") if m.strip()]
ALIAS = os.environ.get("MODEL_ALIAS", "champion")
POLL_SECONDS = float(os.environ.get("POLL_SECONDS", "30"))


@dataclass
class Served:
    name: str
    version: str | None = None
    model: Any = None
    loaded_at: float | None = None
    error: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "alias": ALIAS,
            "version": self.version,
            "loaded_at": self.loaded_at,
            "error": self.error,
        }


served: dict[str, Served] = {name: Served(name) for name in MODELS}


def refresh(entry: Served) -> None:
    """Load the version the alias points at, if it is not the one being served."""
    import mlflow
    from mlflow.exceptions import MlflowException

    with entry.lock:
        try:
            version = str(mlflow.MlflowClient().get_model_version_by_alias(entry.name, ALIAS).version)
        except MlflowException as err:
            # No such model or alias (yet, or any more): serve nothing rather than something stale.
            entry.version, entry.model, entry.error = None, None, f"no {ALIAS}: {err.error_code}"
            return
        if version == entry.version and entry.model is not None:
            return
        try:
            model = mlflow.pyfunc.load_model(f"models:/{entry.name}/{version}")
        except Exception as err:
            entry.error = f"loading version {version} failed: {err}"
            log.exception("loading %s version %s failed", entry.name, version)
            return
        entry.version, entry.model, entry.loaded_at, entry.error = version, model, time.time(), None
        log.info("serving %s version %s", entry.name, version)


def refresh_all() -> None:
    for entry in served.values():
        refresh(entry)


async def _follow_aliases() -> None:
    while True:
        await asyncio.to_thread(refresh_all)
        await asyncio.sleep(POLL_SECONDS)


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    logging.basicConfig(level=logging.INFO)
    task = asyncio.create_task(_follow_aliases())
    yield
    task.cancel()


app = FastAPI(title="airyard model serving", lifespan=lifespan)


class PredictRequest(BaseModel):
    rows: list[dict[str, float]]


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/models")
def models() -> list[dict[str, Any]]:
    return [entry.describe() for entry in served.values()]


@app.get("/models/{name}")
def model(name: str) -> dict[str, Any]:
    if name not in served:
        raise HTTPException(404, f"model {name} is not served here (MODELS={','.join(MODELS)})")
    return served[name].describe()


@app.post("/reload")
def reload() -> list[dict[str, Any]]:
    refresh_all()
    return models()


@app.post("/models/{name}/predict")
def predict(name: str, request: PredictRequest) -> dict[str, Any]:
    import pandas as pd

    entry = served.get(name)
    if entry is None or entry.model is None:
        raise HTTPException(503, f"no {ALIAS} of {name} loaded")
    predictions = entry.model.predict(pd.DataFrame(request.rows))
    return {"name": name, "version": entry.version, "predictions": [float(p) for p in predictions]}
