"""Load the GitOps manifests and the umbrella's facts they must agree with."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

from tests.chart.helm import CHARTS, REPO

ARGOCD = REPO / "k8s" / "argocd"
FLUX = REPO / "k8s" / "flux"
VERSION = (REPO / "VERSION").read_text().strip()
# The placeholder users replace with their clone's URL (README: run with Argo CD / Flux).
REPO_URL = "https://git.example.com/airyard.git"

Doc = dict[str, Any]


def load(path: Path) -> list[Doc]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


@cache
def docs(folder: Path) -> tuple[tuple[Path, Doc], ...]:
    return tuple((p, d) for p in sorted(folder.rglob("*.yaml")) for d in load(p))


def of_kind(folder: Path, kind: str) -> list[Doc]:
    return [d for _, d in docs(folder) if d["kind"] == kind]


@cache
def umbrella_chart() -> Doc:
    return yaml.safe_load((CHARTS / "airyard" / "Chart.yaml").read_text())


@cache
def umbrella_values() -> Doc:
    return yaml.safe_load((CHARTS / "airyard" / "values.yaml").read_text())


def services() -> set[str]:
    """The umbrella's optional dependencies: operators and services, each run by its own app."""
    return {d["name"] for d in umbrella_chart()["dependencies"] if d.get("condition")}


def component_values(name: str) -> Doc:
    """What the umbrella gives chart `name`: its block (without the condition) and `global`."""
    values: Doc = {"global": umbrella_values()["global"]}
    values.update({k: v for k, v in (umbrella_values().get(name) or {}).items() if k != "enabled"})
    return values


#: Where each service's release chart is: charts/<name> as the umbrella holds it (k8s/gitops/<name>).
RELEASE_CHARTS = REPO / "k8s" / "gitops"
#: The values file every service app takes, as Argo CD (a `ref: values` source) and Flux name it.
ARGO_VALUES_FILE = "$values/charts/airyard/values.yaml"
FLUX_VALUES_FILE = "./charts/airyard/values.yaml"


def chart_source(app: Doc) -> Doc:
    """An Application's source that holds its chart (the other, if any, only names a revision)."""
    spec = app["spec"]
    return spec["source"] if "source" in spec else next(s for s in spec["sources"] if "path" in s)


def chart_version(path: Path) -> str:
    return str(yaml.safe_load((path / "Chart.yaml").read_text())["version"])
