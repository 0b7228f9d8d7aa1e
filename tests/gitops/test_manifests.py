"""Every GitOps manifest parses, validates against its schema, and agrees with the charts."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest

from tests.chart.helm import REPO, validate
from tests.gitops import manifests as m
from tests.gitops.schemas import BY_KIND

ALL = [(p, d) for folder in (m.ARGOCD, m.FLUX) for p, d in m.docs(folder)]


def _id(item: tuple[Path, m.Doc]) -> str:
    path, doc = item
    return f"{path.relative_to(REPO)}:{doc['kind']}/{doc.get('metadata', {}).get('name', '')}"


def test_there_are_manifests_in_both_trees() -> None:
    assert m.of_kind(m.ARGOCD, "Application")
    assert m.of_kind(m.FLUX, "HelmRelease")


@pytest.mark.parametrize("item", ALL, ids=[_id(i) for i in ALL])
def test_every_object_validates(item: tuple[Path, m.Doc]) -> None:
    _, doc = item
    schema = BY_KIND.get((doc["apiVersion"], doc["kind"]))
    if schema is not None:
        jsonschema.validate(doc, schema)
    else:
        # Plain Kubernetes objects (Namespace, Secret, ConfigMap): the Kubernetes 1.35 schemas.
        assert "." not in doc["apiVersion"].split("/")[0] or doc["apiVersion"].startswith("v1"), doc["apiVersion"]
        validate(doc)


def test_schemas_reject_a_misspelt_field() -> None:
    app = dict(m.of_kind(m.ARGOCD, "Application")[0])
    app["spec"] = {**app["spec"], "syncPolicies": {}}
    with pytest.raises(jsonschema.ValidationError, match="syncPolicies"):
        jsonschema.validate(app, BY_KIND[("argoproj.io/v1alpha1", "Application")])


def test_every_git_source_is_this_repository_at_this_release() -> None:
    sources = [
        s for a in m.of_kind(m.ARGOCD, "Application") for s in a["spec"].get("sources", [a["spec"].get("source")])
    ]
    assert {s["repoURL"] for s in sources} == {m.REPO_URL}
    assert {s["targetRevision"] for s in sources} == {f"v{m.VERSION}"}
    (git,) = m.of_kind(m.FLUX, "GitRepository")
    assert git["spec"]["url"] == m.REPO_URL
    assert git["spec"]["ref"] == {"tag": f"v{m.VERSION}"}
    (project,) = m.of_kind(m.ARGOCD, "AppProject")
    assert project["spec"]["sourceRepos"] == [m.REPO_URL]


def test_the_official_chart_repository_matches_the_umbrella_dependency() -> None:
    (official,) = [d for d in m.umbrella_chart()["dependencies"] if d["name"] == "airflow"]
    (helm_repo,) = m.of_kind(m.FLUX, "HelmRepository")
    assert helm_repo["spec"]["url"] == official["repository"]
    argo_repos = [d for d in m.of_kind(m.ARGOCD, "Secret") if d["stringData"].get("type") == "helm"]
    assert [r["stringData"]["url"] for r in argo_repos] == [official["repository"]]


def test_the_flux_kustomization_lists_every_file() -> None:
    (kust,) = m.load(m.FLUX / "kustomization.yaml")
    files = {p.name for p in m.FLUX.glob("*.yaml")} - {"kustomization.yaml"}
    assert sorted(kust["resources"]) == sorted(files)


def test_the_placeholder_is_the_only_git_host_named() -> None:
    for path, _ in ALL:
        text = path.read_text()
        for line in text.splitlines():
            if "git" in line and "://" in line:
                assert m.REPO_URL in line, f"{path}: {line}"
