"""airyard.spark.spec: every SparkApplication of the platform has one shape."""

from __future__ import annotations

import pytest
from airyard import services
from airyard.domains import lake
from airyard.movies.operators import SparkProcessOperator
from airyard.spark import spec


def test_conf_sizes_jvms_for_short_jobs_and_takes_the_jobs_own() -> None:
    conf = spec.conf({"spark.sql.shuffle.partitions": "4", "spark.ui.enabled": "true"})
    assert conf["spark.driver.extraJavaOptions"] == conf["spark.executor.extraJavaOptions"]
    assert "-XX:TieredStopAtLevel=1" in conf["spark.driver.extraJavaOptions"].split()
    assert conf["spark.sql.shuffle.partitions"] == "4"
    assert conf["spark.ui.enabled"] == "true"
    assert spec.conf()["spark.ui.enabled"] == "false"


def test_an_application_declares_its_services_and_nothing_else(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRYARD_RELEASE", "data")
    (kafka,) = services.resolve(["kafka:movies"])  # the catalog names the Secret
    app = spec.application(
        name="job", image="spark", main_file="local:///job.py", arguments=[1, "x"], uses=["kafka:movies"]
    )["spec"]
    assert app["image"] == "airyard/spark:0.1.0"
    assert app["arguments"] == ["1", "x"]
    assert app["restartPolicy"] == {"type": "Never"}
    for role in ("driver", "executor"):
        assert app[role]["envFrom"] == [{"secretRef": {"name": kafka.secret}}]
        assert app[role]["labels"]["airyard.io/kafka-client"] == "true"
        assert app[role]["podSecurityContext"]["runAsNonRoot"] is True
        assert app[role]["securityContext"] == {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
    assert app["driver"]["serviceAccount"] == "airyard-spark"
    assert "airyard.io/kube-api-client" not in app["executor"]["labels"]


def test_the_pipelines_applications_share_the_platform_shape() -> None:
    movies = SparkProcessOperator(task_id="process_movies", stage="movies").application(run_id="r")["spec"]
    build = lake.spark_application("domains-lake-x", run_id="r", active_days=7)["spec"]
    stream = lake.stream_application("domains.observed")["spec"]
    shared = ("type", "mode", "imagePullPolicy", "sparkVersion")
    assert {k: movies[k] for k in shared} == {k: build[k] for k in shared} == {k: stream[k] for k in shared}
    for app in (movies, build, stream):
        assert app["sparkConf"]["spark.driver.extraJavaOptions"] == spec.JAVA_OPTIONS
        assert app["driver"]["podSecurityContext"] == spec.pod_security()["podSecurityContext"]
    assert stream["restartPolicy"]["type"] == "Always"
    assert build["timeToLiveSeconds"] == 86400
