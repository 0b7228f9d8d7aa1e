"""Assemble charts/airyard for rendering: our sub-charts packaged from this checkout, and the
official Airflow chart from $AIRFLOW_CHART (a local copy of its chart/ folder) when given.

Without the official chart the umbrella is rendered with that one dependency removed: everything
we own must render, validate and stay deterministic on its own (CI cannot fetch the official chart).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml

from tests.chart.helm import CHARTS, build_dependencies, helm

OFFICIAL_CHART = os.environ.get("AIRFLOW_CHART", "")
ABSENT = "AIRFLOW_CHART does not point at the official chart's chart/ folder"


def official_chart() -> Path | None:
    path = Path(OFFICIAL_CHART) if OFFICIAL_CHART else None
    return path if path and (path / "Chart.yaml").exists() else None


def needs_official() -> None:
    """Skip a test that renders the official chart when it is absent; in CI (CI=true, where
    .ci/run points AIRFLOW_CHART at the shared copy) its absence is a failure, not a skip."""
    if official_chart() is not None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{ABSENT} (CI must render the official chart)")
    pytest.skip(ABSENT)


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
