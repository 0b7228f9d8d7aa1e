"""Chart tests render our charts with helm (make tools) and need no cluster."""

from __future__ import annotations

import shutil

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.chart)


@pytest.fixture(scope="session", autouse=True)
def helm_available() -> None:
    if shutil.which("helm") is None:
        pytest.exit("helm is not on PATH: run `make tools` (the Makefile puts .bin/ on PATH)", returncode=1)
