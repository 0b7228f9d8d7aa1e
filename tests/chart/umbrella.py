"""Assemble charts/airyard for rendering: our sub-charts packaged from this checkout, and the
official Airflow chart from $AIRFLOW_CHART (a local copy of its chart/ folder) when given.

Without the official chart the umbrella is rendered with that one dependency removed: everything
we own must render, validate and stay deterministic on its own (CI cannot fetch the official chart).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import yaml

from tests.chart.helm import CHARTS, build_dependencies, helm

OFFICIAL_CHART = os.environ.get("AIRFLOW_CHART", "")


def official_chart() -> Path | None:
    path = Path(OFFICIAL_CHART) if OFFICIAL_CHART else None
    return path if path and (path / "Chart.yaml").exists() else None


def assemble(dest: Path, *, with_official: bool) -> Path:
    chart = dest / "airyard"
    shutil.copytree(CHARTS / "airyard", chart, ignore=shutil.ignore_patterns("charts"))
    meta = yaml.safe_load((chart / "Chart.yaml").read_text())
    if not with_official:
        meta["dependencies"] = [d for d in meta["dependencies"] if d["name"] != "airflow"]
        (chart / "Chart.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))
    (chart / "charts").mkdir()
    for dep in meta["dependencies"]:
        if dep["name"] == "airflow":
            source = official_chart()
            assert source is not None, "AIRFLOW_CHART is not set to the official chart's chart/ folder"
        else:
            build_dependencies(dep["name"])
            source = CHARTS / dep["name"]
        helm("package", str(source), "-d", str(chart / "charts"))
    return chart
