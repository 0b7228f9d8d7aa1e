"""The GitOps split installs exactly what `helm install charts/airyard` installs.

Each Application renders its chart with its own values (release `airyard`); together they must give
the same objects as the umbrella. Determinism of the umbrella itself is tests/chart/test_umbrella.py's.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.chart import umbrella
from tests.chart.helm import REPO, helm, render
from tests.gitops import manifests as m

Key = tuple[str, str, str, str]


@pytest.fixture(scope="module")
def ours(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Without the official chart (CI cannot fetch it); the Airflow app's own objects are ours too.
    return umbrella.assemble(tmp_path_factory.mktemp("ours"), with_official=False)


def _by_key(docs: list[m.Doc]) -> dict[Key, m.Doc]:
    out: dict[Key, m.Doc] = {}
    for doc in docs:
        key = (doc["apiVersion"], doc["kind"], doc["metadata"].get("namespace", ""), doc["metadata"]["name"])
        assert key not in out, f"rendered twice: {key}"
        out[key] = doc
    return out


def _render_app(app: m.Doc, ours: Path) -> list[m.Doc]:
    """What Argo CD renders for the app: the umbrella with its own values and the app's, or a
    release chart with the umbrella's values file."""
    source = m.chart_source(app)
    if source["path"] == "charts/airyard":
        return render(ours, source["helm"]["valuesObject"], release="airyard")
    chart = REPO / source["path"]
    helm("dependency", "build", "--skip-refresh", str(chart))
    assert source["helm"]["valueFiles"] == [m.ARGO_VALUES_FILE]
    return render(chart, m.umbrella_values(), release="airyard")


@pytest.fixture(scope="module")
def split(ours: Path) -> dict[str, list[m.Doc]]:
    apps = m.of_kind(m.ARGOCD, "Application")
    apps = [a for a in apps if (REPO / m.chart_source(a)["path"] / "Chart.yaml").exists()]
    return {a["metadata"]["name"]: _render_app(a, ours) for a in apps}


PSA = "pod-security.kubernetes.io/"


def _pod_security(namespace: m.Doc) -> dict[str, str]:
    return {k: v for k, v in namespace["metadata"].get("labels", {}).items() if k.startswith(PSA)}


def test_the_applications_together_render_the_umbrella(ours: Path, split: dict[str, list[m.Doc]]) -> None:
    whole = _by_key(render(ours, release="airyard"))
    parts = _by_key([d for docs in split.values() for d in docs])
    # The tasks namespace comes from the GitOps manifests themselves, before the charts that fill it,
    # with the Pod Security labels the chart would give it; so does the platform's namespace.
    (tasks,) = [k for k in whole if k[1] == "Namespace"]
    pod_security = _pod_security(whole[tasks])
    assert pod_security[f"{PSA}enforce"] == "restricted"
    for tree in (m.ARGOCD, m.FLUX):
        created = {d["metadata"]["name"]: d for d in m.of_kind(tree, "Namespace")}
        if tree == m.ARGOCD:
            assert sorted(created) == ["airyard", tasks[3]]
        for name in ("airyard", tasks[3]):
            assert _pod_security(created[name]) == pod_security, (tree, name)
    del whole[tasks]
    assert sorted(parts) == sorted(whole)
    differing = [k for k in whole if json.dumps(whole[k], sort_keys=True) != json.dumps(parts[k], sort_keys=True)]
    assert differing == []


def test_flux_releases_the_same_charts_with_the_same_values_as_argocd() -> None:
    sources = [m.chart_source(a) for a in m.of_kind(m.ARGOCD, "Application")]
    argo = {s["path"]: s["helm"] for s in sources if (REPO / s["path"] / "Chart.yaml").exists()}
    flux = {r["spec"]["chart"]["spec"]["chart"].removeprefix("./"): r["spec"] for r in m.of_kind(m.FLUX, "HelmRelease")}
    assert sorted(flux) == sorted(argo)
    for path, spec in flux.items():
        if path == "charts/airyard":
            assert spec["values"] == argo[path]["valuesObject"]
        else:
            assert spec["chart"]["spec"]["valuesFiles"] == [m.FLUX_VALUES_FILE]
            assert argo[path]["valueFiles"] == [m.ARGO_VALUES_FILE]


def test_the_project_admits_every_cluster_scoped_kind(split: dict[str, list[m.Doc]]) -> None:
    (project,) = m.of_kind(m.ARGOCD, "AppProject")
    allowed = {(g["group"], g["kind"]) for g in project["spec"]["clusterResourceWhitelist"]}
    namespaced_kinds = {
        "ConfigMap", "Secret", "Service", "ServiceAccount", "Deployment", "StatefulSet", "Job", "CronJob",
        "Role", "RoleBinding", "NetworkPolicy", "PersistentVolumeClaim", "PodDisruptionBudget",
    }  # fmt: skip
    for docs in split.values():
        for doc in docs:
            if doc["kind"] in namespaced_kinds:
                continue
            group = doc["apiVersion"].rpartition("/")[0]
            assert (group, doc["kind"]) in allowed, f"{doc['kind']}/{doc['metadata']['name']} not admitted"
