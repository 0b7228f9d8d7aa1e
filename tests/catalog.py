"""The catalog of services (airyard.services) as the umbrella chart's defaults render it, so tests
construct operators against the services the platform really has."""

from __future__ import annotations

import json

import yaml

from tests.chart.helm import CHARTS, render_raw


def platform_services() -> str:
    """AIRYARD_SERVICES of a default install: airflow-bootstrap rendered with the umbrella's values."""
    umbrella = yaml.safe_load((CHARTS / "airyard" / "values.yaml").read_text())
    values = {**umbrella["airflow-bootstrap"], "global": umbrella.get("global", {})}
    rendered = render_raw(
        "airflow-bootstrap", values, release="airyard", show_only=["templates/services-configmap.yaml"]
    )
    catalog: str = next(d for d in yaml.safe_load_all(rendered) if d)["data"]["AIRYARD_SERVICES"]
    json.loads(catalog)
    return catalog
