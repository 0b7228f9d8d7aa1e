"""An MLflow server (our airyard/mlflow image) for the ML task tests, and a runner of pipeline steps
in the airyard/ml-tasks image (the code the cluster runs), wired to the session's services."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests import services

# schema.py is standard library only: the tests read the tables it defines.
sys.path.insert(0, str(services.REPO / "images" / "ml-tasks" / "src"))


@pytest.fixture(scope="session")
def mlflow_service() -> Iterator[services.Service]:
    port = services.free_port()
    args = (
        "mlflow", "server", "--host", "0.0.0.0", "--port", "5000", "--workers", "1",
        "--backend-store-uri", "sqlite:////tmp/mlflow.db",
        "--serve-artifacts", "--artifacts-destination", "/tmp/artifacts",
        "--allowed-hosts", f"127.0.0.1:{port},localhost:{port}",
    )  # fmt: skip
    with services.container("mlflow", *args, ports={5000: port}) as cid:
        url = f"http://127.0.0.1:{port}"
        services._wait("mlflow", lambda: requests.get(f"{url}/health", timeout=2).ok, cid, timeout=180)
        yield services.Service("mlflow", "127.0.0.1", port, extra={"uri": url})


@pytest.fixture(scope="session")
def ml_env(postgres_service: services.Service, mlflow_service: services.Service, s3_service: services.Service) -> dict:

    s3 = services.s3_client(s3_service)
    s3.create_bucket(Bucket="lake")
    pg = postgres_service
    # The connections MLStepOperator's services give a step's pod (airyard_ml.common reads them).
    connections = {
        "postgres_mlsp": {
            "conn_type": "postgres", "host": pg.host, "port": pg.port, "login": pg.username,
            "password": pg.password, "schema": "postgres",
        },
        "mlflow_tracking": {"conn_type": "http", "host": mlflow_service.extra["uri"]},
        "objectstore_ml": {
            "conn_type": "aws", "login": s3_service.username, "password": s3_service.password,
            "extra": {"endpoint_url": s3_service.extra["endpoint"], "region_name": "us-east-1"},
        },
    }  # fmt: skip
    return {f"AIRFLOW_CONN_{k.upper()}": json.dumps(v) for k, v in connections.items()}


StepRunner = Callable[..., dict[str, Any]]


@pytest.fixture(scope="session")
def run_step(ml_env: dict, tmp_path_factory: pytest.TempPathFactory) -> StepRunner:
    """Run `python -m airyard_ml <step>` in the ml-tasks image; returns the step's XCom result."""
    image = f"airyard/ml-tasks:{services.TAG}"
    if subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode:
        raise RuntimeError(f"{image} is missing: run `make images IMAGES=ml-tasks`")

    def run(step: str, extra_env: dict[str, str] | None = None, **params: Any) -> dict[str, Any]:
        xcom = tmp_path_factory.mktemp("xcom")
        xcom.chmod(0o777)
        env = [arg for k, v in {**ml_env, **(extra_env or {})}.items() for arg in ("-e", f"{k}={v}")]
        cmd = ["docker", "run", "--rm", "--network", "host", "-v", f"{xcom}:/airflow/xcom", *env, image]
        proc = subprocess.run([*cmd, step, json.dumps(params)], capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            raise AssertionError(f"{step} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
        return json.loads((Path(xcom) / "return.json").read_text())

    return run
