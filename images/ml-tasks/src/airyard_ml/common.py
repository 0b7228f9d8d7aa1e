"""What every step shares: the database, the result hand-over to Airflow, the serving API."""

from __future__ import annotations

import json
import os
import time
import urllib.request
from pathlib import Path
from typing import Any

import psycopg
from airyard import envconn

#: The connections a step's pod gets (MLStepOperator's services), by what they are for.
DATABASE, TRACKING, STORE, SERVING = "postgres_mlsp", "mlflow_tracking", "objectstore_ml", "backend_api"
#: KubernetesPodOperator's xcom sidecar reads the step's result from here.
XCOM_FILE = Path("/airflow/xcom/return.json")


def use_connections(environ: dict[str, str] | None = None) -> None:
    """MLflow, boto3, s3fs and DVC read their settings from the environment: give them the
    step's own MLflow user and object-store user, from the connections the pod declared."""
    env = os.environ if environ is None else environ
    tracking = envconn.get(TRACKING, env)
    store = envconn.get(STORE, env)
    env.update(
        {
            "MLFLOW_TRACKING_URI": tracking.base_url,
            "MLFLOW_TRACKING_USERNAME": tracking.login,
            "MLFLOW_TRACKING_PASSWORD": tracking.password,
            "AWS_ACCESS_KEY_ID": store.login,
            "AWS_SECRET_ACCESS_KEY": store.password,
            "AWS_DEFAULT_REGION": str(store.extra.get("region_name") or "us-east-1"),
            "S3_ENDPOINT_URL": str(store.extra["endpoint_url"]),
            # Retries with backoff on refused connections too (a new pod, a restarting store).
            "AWS_RETRY_MODE": "standard",
            "AWS_MAX_ATTEMPTS": "10",
        }
    )


def connect(attempts: int = 10) -> psycopg.Connection:
    """The application database (postgres_mlsp).

    A refused connection is retried for about 15 s: a new pod's address reaches PostgreSQL's
    NetworkPolicy a moment after the pod starts, and the database restarts.
    """
    c = envconn.get(DATABASE)
    args = {"host": c.host, "port": c.port or 5432, "user": c.login, "password": c.password, "dbname": c.schema}
    for attempt in range(attempts - 1):
        try:
            return psycopg.connect(**args, connect_timeout=30)
        except psycopg.OperationalError:
            time.sleep(min(2.0, 0.2 * 2**attempt))
    return psycopg.connect(**args, connect_timeout=30)


def emit(result: dict[str, Any]) -> None:
    """Hand the result to Airflow (XCom) and to the log."""
    text = json.dumps(result, default=str, sort_keys=True)
    print(f"result: {text}")
    if XCOM_FILE.parent.is_dir():
        XCOM_FILE.write_text(text)


def serving_url() -> str:
    """The backend API (connection backend_api)."""
    return envconn.get(SERVING).base_url


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
