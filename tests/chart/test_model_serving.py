"""charts/model-serving: render, validate against Kubernetes 1.35, assert on the objects."""

from __future__ import annotations

from typing import Any

import pytest

from tests.chart.common import (
    assert_deterministic,
    assert_network_policy,
    assert_rejects,
    assert_restricted,
    env_sources,
    find,
    render,
)
from tests.chart.helm import kinds, search

CHART = "model-serving"


def env(docs: list[dict[str, Any]]) -> dict[str, Any]:
    container = search("spec.template.spec.containers[0]", find(docs, "Deployment", "test-model-serving"))
    return env_sources(container, optional=True)


def test_defaults_serve_the_pipelines_champions_from_this_releases_mlflow() -> None:
    docs = render(CHART)
    assert sorted(kinds(docs)) == [
        "Deployment/test-model-serving",
        "NetworkPolicy/test-model-serving",
        "NetworkPolicy/test-model-serving-clients",  # its clients' egress
        "Service/test-model-serving",
    ]
    assert env(docs) == {
        "MODELS": "ml_pipeline_model,sports-nfl,sports-nba,sports-mlb",
        "MODEL_ALIAS": "champion",
        "POLL_SECONDS": "30",
        "MLFLOW_TRACKING_URI": ("test-mlflow-connection", "tracking-uri", False),
        # MLflow without basic-auth has no credentials: the pod must start without them.
        "MLFLOW_TRACKING_USERNAME": ("test-mlflow-connection", "username", True),
        "MLFLOW_TRACKING_PASSWORD": ("test-mlflow-connection", "password", True),
    }
    pod = search("spec.template", find(docs, "Deployment"))
    # MLflow and the object store (MLflow answers artifacts with presigned URLs of the store) admit
    # their labelled clients only.
    assert pod["metadata"]["labels"]["airyard.io/mlflow-client"] == "true"
    assert pod["metadata"]["labels"]["airyard.io/objectstore-client"] == "true"
    assert pod["spec"]["automountServiceAccountToken"] is False
    (c,) = pod["spec"]["containers"]
    assert c["image"] == "airyard/model-serving:0.1.0"
    assert c["imagePullPolicy"] == "IfNotPresent"
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert c[probe]["httpGet"] == {"path": "/healthz", "port": "http"}
    service = find(docs, "Service", "test-model-serving")
    assert service["spec"]["ports"] == [{"name": "http", "port": 8000, "targetPort": "http"}]
    assert_restricted(docs)


def test_another_mlflow_models_and_alias() -> None:
    docs = render(
        CHART,
        {
            "models": ["churn"],
            "alias": "staging",
            "mlflow": {"connectionSecret": "team-mlflow"},
            "service": {"port": 80},
        },
    )
    values = env(docs)
    assert (values["MODELS"], values["MODEL_ALIAS"]) == ("churn", "staging")
    assert values["MLFLOW_TRACKING_URI"] == ("team-mlflow", "tracking-uri", False)
    assert find(docs, "Service")["spec"]["ports"][0]["port"] == 80


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        ({"models": []}, "models"),
        ({"models": ["no spaces please"]}, "models"),
        ({"alias": "champ@on"}, "alias"),
        ({"pollSeconds": 0}, "pollSeconds"),
        ({"service": {"port": 70000}}, "port"),
        ({"replicas": 2}, "replicas"),
    ],
)
def test_bad_values_are_refused_with_their_name(values: dict[str, Any], fragment: str) -> None:
    assert_rejects(CHART, values, fragment)


def test_network_policy_and_identical_renders() -> None:
    assert_network_policy(CHART, [8000])
    assert_deterministic(CHART)
