"""Unit tests import Airflow with a throw-away home: SQLite metadata, no examples."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
_home = tempfile.mkdtemp(prefix="airyard-airflow-home-")
os.environ.setdefault("AIRFLOW_HOME", _home)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(REPO / "dags"))
os.environ.setdefault("AIRFLOW__CORE__PLUGINS_FOLDER", str(REPO / "plugins"))
os.environ.setdefault("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{_home}/airflow.db")


def _platform_services() -> str:
    """The catalog of services (airyard.services) as the umbrella chart's defaults render it, so DAG
    files are parsed against the services the platform really has."""
    import json
    import shutil
    import subprocess

    import yaml

    helm = shutil.which("helm") or str(REPO / ".bin" / "helm")
    umbrella = yaml.safe_load((REPO / "charts/airyard/values.yaml").read_text())
    values = {**umbrella["airflow-bootstrap"], "global": umbrella.get("global", {})}
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        yaml.safe_dump(values, f)
        f.flush()
        rendered = subprocess.run(
            [helm, "template", "airyard", str(REPO / "charts/airflow-bootstrap"), "-n", "airyard", "-f", f.name,
             "--show-only", "templates/services-configmap.yaml"],
            check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
    catalog = next(d for d in yaml.safe_load_all(rendered) if d)["data"]["AIRYARD_SERVICES"]
    json.loads(catalog)
    return catalog


os.environ.setdefault("AIRYARD_SERVICES", _platform_services())
