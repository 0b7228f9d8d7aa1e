"""The catalog of services (airyard.services) as the umbrella chart's defaults render it, so tests
construct operators against the services the platform really has."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def platform_services() -> str:
    """AIRYARD_SERVICES of a default install: airflow-bootstrap rendered with the umbrella's values."""
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
    catalog: str = next(d for d in yaml.safe_load_all(rendered) if d)["data"]["AIRYARD_SERVICES"]
    json.loads(catalog)
    return catalog
