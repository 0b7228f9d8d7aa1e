"""GitOps tests read k8s/argocd, k8s/flux and skaffold.yaml and render our charts with helm (no cluster)."""

from __future__ import annotations

import shutil

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.chart)


@pytest.fixture(scope="session", autouse=True)
def tools_available() -> None:
    for tool in ("helm", "skaffold"):
        if shutil.which(tool) is None:
            pytest.exit(f"{tool} is not on PATH: run `make tools` (the Makefile puts .bin/ on PATH)", returncode=1)
