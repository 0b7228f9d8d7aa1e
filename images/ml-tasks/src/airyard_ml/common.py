"""What every step shares: the database, the result hand-over to Airflow, the serving API."""

from __future__ import annotations

import json
import os
import time
import urllib.request
from pathlib import Path
from typing import Any

import psycopg

#: KubernetesPodOperator's xcom sidecar reads the step's result from here.
XCOM_FILE = Path("/airflow/xcom/return.json")


def connect() -> psycopg.Connection:
    """The application database (postgres_mlsp), from the URI the pod gets out of its Secret."""
    return psycopg.connect(os.environ["MLSP_DATABASE_URI"], connect_timeout=30)


def emit(result: dict[str, Any]) -> None:
    """Hand the result to Airflow (XCom) and to the log."""
    text = json.dumps(result, default=str, sort_keys=True)
    print(f"result: {text}")
    if XCOM_FILE.parent.is_dir():
        XCOM_FILE.write_text(text)


def serving_url() -> str:
    """The backend API (connection backend_api); its in-cluster Service name by default."""
    url = (
        os.environ.get("BACKEND_API_URL", "").strip()
        or f"http://{os.environ.get('AIRYARD_RELEASE', 'airyard')}-model-serving:8000"
    )
    return url if "://" in url else f"http://{url}"


def _http(method: str, url: str, timeout: float = 60) -> dict[str, Any]:
    request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen(request, timeout=timeout) as resp:
        return json.load(resp)


def wait_until_served(model: str, version: str | None, timeout: float = 300) -> dict[str, Any]:
    """Ask the serving API to reload and wait until it serves `version` of `model` (None: nothing)."""
    base = serving_url().rstrip("/")
    deadline = time.monotonic() + timeout
    last: dict[str, Any] = {}
    while time.monotonic() < deadline:
        try:
            _http("POST", f"{base}/reload")
            last = _http("GET", f"{base}/models/{model}")
            if last.get("version") == version:
                return last
        except OSError as err:  # the API restarts or is not up yet: keep asking
            last = {"error": str(err)}
        time.sleep(5)
    raise TimeoutError(f"serving API at {base} did not serve {model} version {version} within {timeout} s: {last}")
