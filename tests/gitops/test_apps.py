"""Argo CD Applications and Flux HelmReleases: one per chart, pinned, ordered, with the umbrella's values file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.chart.helm import REPO
from tests.gitops import manifests as m

OPERATORS = {"spark-operator"}


def _chart(path: str) -> str:
    return Path(path).name


def argo_apps() -> dict[str, m.Doc]:
    return {_chart(m.chart_source(a)["path"]): a for a in m.of_kind(m.ARGOCD, "Application") if _is_chart(a)}


def flux_releases() -> dict[str, m.Doc]:
    return {_chart(h["spec"]["chart"]["spec"]["chart"]): h for h in m.of_kind(m.FLUX, "HelmRelease")}


def _is_chart(app: m.Doc) -> bool:
    return (REPO / m.chart_source(app)["path"] / "Chart.yaml").exists()


def test_every_application_points_at_a_chart_or_at_the_apps_folder() -> None:
    for app in m.of_kind(m.ARGOCD, "Application"):
        path = REPO / m.chart_source(app)["path"]
        assert path.is_dir(), app["metadata"]["name"]
        if not _is_chart(app):
            # The app of apps: its folder holds exactly the chart Applications.
            children = [d for _, d in m.docs(path) if d["kind"] == "Application"]
            assert {c["metadata"]["name"] for c in children} == {a["metadata"]["name"] for a in argo_apps().values()}


@pytest.mark.parametrize("apps", [argo_apps, flux_releases], ids=["argocd", "flux"])
def test_one_app_per_optional_dependency_plus_airflow(apps: Any) -> None:
    assert set(apps()) == m.services() | {"airyard"}


@pytest.mark.parametrize("apps", [argo_apps, flux_releases], ids=["argocd", "flux"])
def test_the_airflow_app_turns_every_service_off(apps: Any) -> None:
    values = _values(apps()["airyard"])
    assert {name for name in m.services() if values.get(name) == {"enabled": False}} == m.services()


def test_chart_versions_are_pinned_to_the_charts() -> None:
    for release in flux_releases().values():
        spec = release["spec"]["chart"]["spec"]
        assert spec["version"] == m.chart_version(REPO / spec["chart"])
        assert spec["sourceRef"] == {"kind": "GitRepository", "name": "airyard"}
    # Argo CD reads Git at the release tag; the charts there carry the release's version.
    for app in argo_apps().values():
        assert m.chart_version(REPO / m.chart_source(app)["path"]) == m.VERSION


@pytest.mark.parametrize("apps", [argo_apps, flux_releases], ids=["argocd", "flux"])
def test_every_chart_is_released_as_airyard_into_namespace_airyard(apps: Any) -> None:
    for app in apps().values():
        spec = app["spec"]
        release = m.chart_source(app)["helm"]["releaseName"] if "destination" in spec else spec["releaseName"]
        namespace = spec["destination"]["namespace"] if "destination" in spec else spec["targetNamespace"]
        assert (release, namespace) == ("airyard", "airyard")


def _values(app: m.Doc) -> m.Doc:
    spec = app["spec"]
    return m.chart_source(app)["helm"].get("valuesObject", {}) if "destination" in spec else spec.get("values", {})


def test_service_apps_take_the_umbrella_values_file_itself() -> None:
    """No copy of the umbrella's values: each service app is its release chart (charts/<name> under
    the name <name>) with charts/airyard/values.yaml as its values file."""
    for chart, app in argo_apps().items():
        if chart == "airyard":
            continue
        source, (named,) = m.chart_source(app), [s for s in app["spec"]["sources"] if "ref" in s]
        assert source["path"] == f"k8s/gitops/{chart}"
        assert source["helm"] == {"releaseName": "airyard", "valueFiles": [m.ARGO_VALUES_FILE]}
        assert named == {"repoURL": source["repoURL"], "targetRevision": source["targetRevision"], "ref": "values"}
    for chart, release in flux_releases().items():
        if chart == "airyard":
            continue
        spec = release["spec"]
        assert spec["chart"]["spec"]["chart"] == f"./k8s/gitops/{chart}"
        assert spec["chart"]["spec"]["valuesFiles"] == [m.FLUX_VALUES_FILE]
        assert "values" not in spec


@pytest.mark.parametrize("chart", sorted(m.services()))
def test_a_release_chart_is_its_service_chart_under_the_umbrellas_name(chart: str) -> None:
    meta = yaml.safe_load((m.RELEASE_CHARTS / chart / "Chart.yaml").read_text())
    deps = {d["name"]: d for d in meta["dependencies"]}
    assert set(deps) == {chart, "airyard-lib"}
    for name, dep in deps.items():
        assert dep["repository"] == f"file://../../../charts/{name}"
        assert dep["version"] == m.chart_version(REPO / "charts" / name)


def _wave(app: m.Doc) -> int:
    return int(app["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"])


def _tier(chart: str) -> int:
    return 0 if chart in OPERATORS else 2 if chart == "airyard" else 1


def test_argocd_waves_order_operators_then_services_then_airflow() -> None:
    apps = argo_apps()
    for a, app_a in apps.items():
        for b, app_b in apps.items():
            if _tier(a) < _tier(b):
                assert _wave(app_a) < _wave(app_b), f"{a} must sync before {b}"
    # MLflow stores in PostgreSQL and the object store; model serving asks MLflow.
    assert _wave(apps["mlflow"]) > max(_wave(apps["postgresql"]), _wave(apps["objectstore"]))
    assert _wave(apps["model-serving"]) >= _wave(apps["mlflow"])


def _depth(name: str, graph: dict[str, list[str]], seen: tuple[str, ...] = ()) -> int:
    assert name not in seen, f"dependsOn cycle: {' -> '.join((*seen, name))}"
    return 1 + max((_depth(d, graph, (*seen, name)) for d in graph[name]), default=-1)


def test_flux_depends_on_orders_operators_then_services_then_airflow() -> None:
    releases = flux_releases()
    names = {h["metadata"]["name"]: chart for chart, h in releases.items()}
    graph = {
        chart: [names[d["name"]] for d in h["spec"].get("dependsOn", [])]  # KeyError: a missing release
        for chart, h in releases.items()
    }
    depth = {chart: _depth(chart, graph) for chart in graph}
    for a in graph:
        for b in graph:
            if _tier(a) < _tier(b):
                assert depth[a] < depth[b], f"{a} must be ready before {b}"
    assert set(graph["airyard"]) == m.services() - OPERATORS
    assert {"postgresql", "objectstore"} <= set(graph["mlflow"])


def test_flux_releases_keep_their_helm_records_apart() -> None:
    # All are named `airyard`: Helm keeps one release of a name per storage namespace.
    releases = m.of_kind(m.FLUX, "HelmRelease")
    storage = [h["spec"]["storageNamespace"] for h in releases]
    assert len(set(storage)) == len(storage)
    declared = {d["metadata"]["name"] for d in m.of_kind(m.FLUX, "Namespace")}
    assert set(storage) | {"airyard"} <= declared


def test_only_the_operator_app_applies_server_side_and_ignores_webhook_ca_bundles() -> None:
    for chart, app in argo_apps().items():
        options = app["spec"]["syncPolicy"]["syncOptions"]
        ignored = app["spec"].get("ignoreDifferences", [])
        if chart in OPERATORS:
            assert "ServerSideApply=true" in options
            assert {i["kind"] for i in ignored} == {"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"}
            assert all(i["jqPathExpressions"] == [".webhooks[]?.clientConfig.caBundle"] for i in ignored)
        else:
            assert "ServerSideApply=true" not in options
            assert not ignored


def test_migrations_run_in_a_plain_job_and_flux_never_rolls_them_back() -> None:
    # The umbrella's defaults, which both GitOps trees inherit: airflow-bootstrap's hashed migration
    # Job instead of the official chart's, and no Helm hooks at all.
    defaults = m.umbrella_values()
    assert defaults["airflow"]["migrateDatabaseJob"]["enabled"] is False
    assert "migrations" not in defaults["airflow-bootstrap"]  # the chart's defaults: on, backup first
    assert defaults["airflow"]["createUserJob"]["useHelmHooks"] is False
    assert "airflow" not in _values(argo_apps()["airyard"])
    # A rollback would run code older than a schema already migrated (Airflow and MLflow both
    # migrate): their releases retry a failed upgrade and never remediate it.
    releases = {r["metadata"]["name"]: r["spec"] for r in m.of_kind(m.FLUX, "HelmRelease")}
    for name in ("airyard-airflow", "airyard-mlflow"):
        assert releases[name]["upgrade"]["strategy"]["name"] == "RetryOnFailure", name
        assert "remediation" not in releases[name]["upgrade"], name
