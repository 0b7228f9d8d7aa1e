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


def test_spark_conf_sizes_jvms_for_short_jobs_and_takes_the_jobs_own() -> None:
    conf = cluster.spark_conf({"spark.sql.shuffle.partitions": "4", "spark.ui.enabled": "true"})
    assert conf["spark.driver.extraJavaOptions"] == conf["spark.executor.extraJavaOptions"]
    assert "-XX:TieredStopAtLevel=1" in conf["spark.driver.extraJavaOptions"].split()
    assert conf["spark.sql.shuffle.partitions"] == "4"
    assert conf["spark.ui.enabled"] == "true"
    assert cluster.spark_conf()["spark.ui.enabled"] == "false"
