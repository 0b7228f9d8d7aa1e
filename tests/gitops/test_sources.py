"""Argo CD and Flux render the charts from Git: only the files Git tracks, dependencies built by Helm.

Nothing `make chart-deps` writes reaches them (dependency archives, generated CRDs). Argo CD's
repo-server runs `helm dependency build` on the Application's chart only, and Flux's
source-controller packages the same chart with its file:// dependencies as they sit in Git; so a
sub-chart arrives without its own dependencies. Each chart an Application names must render from
such a copy exactly as it renders from a prepared checkout.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.chart import umbrella
from tests.chart.helm import REPO, HelmError, helm, render, render_raw
from tests.gitops import manifests as m
from tests.gitops.test_apps import argo_apps


def _git_tree(dest: Path) -> Path:
    """charts/ and k8s/gitops/ as Git holds them (the files it tracks or would, in their working-tree state)."""
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "charts", "k8s/gitops"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    for name in filter(None, out.stdout.split("\0")):
        src = REPO / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def _without_official_chart(chart: Path) -> None:
    """The official chart comes from its Helm repository (network); the rest is what we test."""
    meta = yaml.safe_load((chart / "Chart.yaml").read_text())
    meta["dependencies"] = [d for d in meta["dependencies"] if d["name"] != "airflow"]
    (chart / "Chart.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))


def _canonical(docs: list[m.Doc]) -> list[str]:
    return sorted(json.dumps(d, sort_keys=True) for d in docs)


@pytest.mark.parametrize("chart", sorted(argo_apps()))
def test_the_applications_charts_render_from_git(chart: str, tmp_path: Path) -> None:
    """The umbrella with the app's values, or a release chart with the umbrella's values file, renders
    from Git as the chart renders from a prepared checkout with what the umbrella gives it."""
    source = m.chart_source(argo_apps()[chart])
    path = _git_tree(tmp_path / "git") / source["path"]
    prepared: str | Path = chart
    if chart == "airyard":
        values = expected = source["helm"]["valuesObject"]
        _without_official_chart(path)
        prepared = umbrella.assemble(tmp_path / "checkout", with_official=False)
    else:
        values, expected = m.umbrella_values(), m.component_values(chart)
    assert not list(path.glob("charts/*.tgz"))
    helm("dependency", "build", "--skip-refresh", str(path))
    try:
        from_git = render_raw(path, values, release="airyard")
    except HelmError as err:
        raise AssertionError(f"{source['path']} does not render from Git: {err}") from err
    from_checkout = render(prepared, expected, release="airyard")
    assert _canonical([d for d in yaml.safe_load_all(from_git) if d]) == _canonical(from_checkout)
