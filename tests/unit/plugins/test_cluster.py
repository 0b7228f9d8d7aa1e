"""airyard.cluster: the facts a task reads about the platform it runs on."""

from __future__ import annotations

from pathlib import Path

import pytest
from airyard import cluster


def test_namespace_is_the_pods_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mounted = tmp_path / "namespace"
    mounted.write_text("data-platform\n")
    monkeypatch.setattr(cluster, "NAMESPACE_FILE", mounted)
    monkeypatch.setenv("AIRYARD_NAMESPACE", "ignored")
    assert cluster.namespace() == "data-platform"


def test_namespace_outside_a_pod_comes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cluster, "NAMESPACE_FILE", tmp_path / "absent")
    monkeypatch.setenv("AIRYARD_NAMESPACE", "staging")
    assert cluster.namespace() == "staging"
    monkeypatch.delenv("AIRYARD_NAMESPACE")
    assert cluster.namespace() == "airyard"
