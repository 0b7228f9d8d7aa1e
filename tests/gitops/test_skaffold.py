"""skaffold.yaml: every image is built, in dependency order, and the dev profile is the hostPath loop."""

from __future__ import annotations

import os
import re
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.chart import umbrella
from tests.chart.common import pod_specs
from tests.chart.helm import REPO, render, render_raw

IMAGES = sorted(p.parent.name for p in (REPO / "images").glob("*/Dockerfile"))


@cache
def effective(profile: str | None = None) -> dict[str, Any]:
    """The config as skaffold itself reads it (schema checked, profile patches applied)."""
    args = ["skaffold", "diagnose", "--yaml-only", "--filename", str(REPO / "skaffold.yaml")]
    if profile:
        args += ["--profile", profile]
    proc = subprocess.run(args, capture_output=True, text=True, cwd=REPO, check=True)
    return yaml.safe_load(proc.stdout)


def artifacts(profile: str | None = None) -> dict[str, dict[str, Any]]:
    return {a["image"].removeprefix("airyard/"): a for a in effective(profile)["build"]["artifacts"]}


def test_every_image_is_an_artifact() -> None:
    assert sorted(artifacts()) == IMAGES


@pytest.mark.parametrize("name", IMAGES)
def test_artifact_context_and_order_follow_the_dockerfile(name: str) -> None:
    dockerfile = (REPO / "images" / name / "Dockerfile").read_text()
    ctx = re.search(r"^# airyard:context=(\S+)", dockerfile, re.M)
    art = artifacts()[name]
    expected = (REPO / "images" / name / (ctx.group(1) if ctx else ".")).resolve()
    assert (REPO / art["context"]).resolve() == expected
    bases = set(re.findall(r"^FROM airyard/([a-z0-9-]+):", dockerfile, re.M))
    assert {r["image"].removeprefix("airyard/") for r in art.get("requires", [])} == bases
    # skaffold refuses the whole config at build time (not in diagnose) for an alias outside this pattern.
    assert all(re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", r.get("alias", "")) for r in art.get("requires", []))
    # Built by the same code as `make images` (BuildKit, CA bundle secret, the :VERSION tag, kind load).
    assert art["custom"]["buildCommand"].endswith("hack/dev.sh build")
    assert (REPO / art["context"] / art["custom"]["buildCommand"].split()[0]).resolve() == REPO / "hack" / "dev.sh"


def test_nothing_is_pushed_and_the_airflow_image_reaches_the_pod_template() -> None:
    cfg = effective()
    assert cfg["build"]["local"]["push"] is False
    (release,) = cfg["manifests"]["helm"]["releases"]
    assert (release["name"], release["namespace"]) == ("airyard", "airyard")
    assert (REPO / release["chartPath"]).resolve() == REPO / "charts" / "airyard"
    templates = release["setValueTemplates"]
    for image in ("airflow", "pod_template"):
        assert templates[f"airflow.images.{image}.repository"] == "{{.IMAGE_REPO_airyard_airflow}}"
        assert templates[f"airflow.images.{image}.tag"] == "{{.IMAGE_TAG_airyard_airflow}}"


def test_skaffold_run_bakes_dags_skaffold_dev_mounts_them() -> None:
    (run,) = effective()["manifests"]["helm"]["releases"]
    assert "valuesFiles" not in run
    (dev,) = effective("dev")["manifests"]["helm"]["releases"]
    assert [(REPO / f).resolve() for f in dev["valuesFiles"]] == [REPO / "k8s" / "dev" / "values.yaml"]
    # In dev, DAG and plugin edits must not rebuild airyard/airflow (it would roll every Airflow pod).
    deps = artifacts("dev")["airflow"]["custom"]["dependencies"]
    assert deps == {"paths": ["images/airflow/**"]}
    assert artifacts()["airflow"]["custom"]["dependencies"] == {"dockerfile": {"path": "images/airflow/Dockerfile"}}


def test_minimal_profile_builds_only_the_images_its_release_runs(tmp_path: Path) -> None:
    """`-p minimal` drops artifacts by index: adding or reordering one must not leave it short."""
    (release,) = effective("minimal")["manifests"]["helm"]["releases"]
    # Passed as skaffold passes them, so Helm reads "false" as a bool.
    sets = tuple(f"--set={key}={value}" for key, value in release["setValues"].items())
    docs = render(umbrella.assemble(tmp_path, with_official=False), release="airyard", extra_args=sets)
    images = {c["image"] for _, spec in pod_specs(docs) for c in spec.get("initContainers", []) + spec["containers"]}
    ours = {i.split(":")[0].removeprefix("airyard/") for i in images if i.startswith("airyard/")}
    # airflow: the official chart's pods (not rendered here) and every worker pod.
    assert set(artifacts("minimal")) == ours | {"airflow"}
    assert artifacts("minimal")["airflow"] == artifacts()["airflow"]


def test_dev_values_switch_on_the_worker_hostpath_and_fast_parsing() -> None:
    values = yaml.safe_load((REPO / "k8s" / "dev" / "values.yaml").read_text())
    devmounts = values["global"]["workers"]["devMounts"]
    assert devmounts["enabled"] is True
    paths = {v["hostPath"]["path"] for v in values["airflow"]["volumes"] if "hostPath" in v}
    umbrella_mounts = yaml.safe_load((REPO / "charts" / "airyard" / "values.yaml").read_text())["global"]["workers"]
    assert paths == {umbrella_mounts["devMounts"]["dags"], umbrella_mounts["devMounts"]["plugins"]}
    kind_mounts = yaml.safe_load((REPO / "k8s" / "kind" / "cluster.yaml").read_text().replace("@", "_"))
    assert paths <= {m["containerPath"] for m in kind_mounts["nodes"][0]["extraMounts"]}
    assert values["airflow"]["config"]["dag_processor"]["refresh_interval"] <= 10


def test_dev_values_keep_the_platforms_volumes() -> None:
    """The dev values replace the overlay's volume lists (Helm does not merge lists): they must
    repeat the platform's, or the read-only Airflow containers lose their /tmp."""
    dev = yaml.safe_load((REPO / "k8s" / "dev" / "values.yaml").read_text())["airflow"]
    platform = yaml.safe_load((REPO / "charts" / "airyard" / "values.yaml").read_text())["airflow"]
    for key in ("volumes", "volumeMounts"):
        assert [v for v in platform[key] if v in dev[key]] == platform[key], key


def test_the_namespace_is_labelled_restricted_and_privileged_only_in_the_dev_loop() -> None:
    """Pod Security: the deploy labels its namespace first; hostPath mounts need privileged, so
    only the dev profile asks for it, for the platform's namespace (hook) and the tasks
    namespace (values)."""

    def namespace_hook(profile: str | None) -> list[str]:
        hooks = [h["host"]["command"] for h in effective(profile)["deploy"]["helm"]["hooks"]["before"]]
        (hook,) = [c for c in hooks if c[0] == "hack/namespace.sh"]
        assert hooks.index(hook) == 0, "before anything is deployed into it"
        return hook

    assert namespace_hook(None) == ["hack/namespace.sh", "restricted"]
    assert namespace_hook("minimal") == ["hack/namespace.sh", "restricted"]
    assert namespace_hook("dev") == ["hack/namespace.sh", "privileged"]
    dev = yaml.safe_load((REPO / "k8s" / "dev" / "values.yaml").read_text())
    assert dev["airflow-bootstrap"]["tasks"]["podSecurity"] == {"level": "privileged"}


def test_dev_values_mount_the_checkout_in_every_airflow_pod(tmp_path: Path) -> None:
    umbrella.needs_official()
    chart = umbrella.assemble(tmp_path, with_official=True)
    values = yaml.safe_load((REPO / "k8s" / "dev" / "values.yaml").read_text())
    docs = render(chart, values, release="airyard")
    for component in ("scheduler", "dag-processor", "api-server", "triggerer"):
        (dep,) = [d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == f"airyard-{component}"]
        spec = dep["spec"]["template"]["spec"]
        mounts = {m["mountPath"] for c in spec["containers"] for m in c.get("volumeMounts", [])}
        assert {"/opt/airflow/dags", "/opt/airflow/plugins"} <= mounts, component
    pod_template = "".join(str(d.get("data", {})) for d in docs if d["kind"] == "ConfigMap")
    assert "/mnt/airyard/dags" in pod_template
    assert "/mnt/airyard/plugins" in pod_template


@pytest.mark.parametrize("with_official", [False, True], ids=["ours", "full"])
def test_skaffolds_post_renderer_accepts_the_platform(tmp_path: Path, with_official: bool) -> None:
    """`skaffold run` pipes Helm's output through `skaffold filter` (a Helm 4 post-renderer plugin).

    It reads YAML strictly: a mapping key written twice (which Helm and PyYAML silently accept)
    fails the whole deploy with only "plugin exited with error" from Helm.
    """
    if with_official:
        umbrella.needs_official()
    chart = umbrella.assemble(tmp_path, with_official=with_official)
    values = yaml.safe_load((REPO / "k8s" / "dev" / "values.yaml").read_text())
    if not with_official:
        values.pop("airflow")
    rendered = render_raw(chart, values, release="airyard")
    # No cluster is needed to filter; an unreachable kubeconfig proves it.
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "KUBECONFIG": str(tmp_path / "none")}
    proc = subprocess.run(["skaffold", "filter"], input=rendered, capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert [d for d in yaml.safe_load_all(proc.stdout) if d] == [d for d in yaml.safe_load_all(rendered) if d]


def test_jobs_get_skaffolds_images_through_values_and_change_name_with_them(tmp_path: Path) -> None:
    """Jobs are immutable: skaffold rewriting a Job's image after Helm rendered it would make the
    upgrade fail ("field is immutable"). Their images come through setValueTemplates instead, and
    every Job's name hashes its image, so a rebuilt image runs a new Job."""
    (release,) = effective()["manifests"]["helm"]["releases"]

    def substitute(template: str) -> str:  # what skaffold fills in for a build tagged skaffold-<name>
        template = re.sub(r"\{\{\.IMAGE_REPO_airyard_([a-z_]+)\}\}", lambda m: f"airyard/{m[1]}", template)
        return re.sub(r"\{\{\.IMAGE_TAG_airyard_([a-z_]+)\}\}", lambda m: f"skaffold-{m[1]}", template)

    values: dict[str, Any] = {}
    # The official chart is not rendered here; its values still count (the umbrella checks its image).
    for key, template in release["setValueTemplates"].items():
        *path, leaf = key.split(".")
        node = values
        for part in path:
            node = node.setdefault(part, {})
        node[leaf] = substitute(template)
    chart = umbrella.assemble(tmp_path, with_official=False)
    plain = {d["metadata"]["name"] for d in render(chart, {}, release="airyard") if d["kind"] == "Job"}
    jobs = [d for d in render(chart, values, release="airyard") if d["kind"] == "Job"]
    assert len(jobs) >= 5
    for job in jobs:
        images = {c["image"] for c in job["spec"]["template"]["spec"]["containers"]}
        assert all(i.split(":")[1].startswith("skaffold-") for i in images), (job["metadata"]["name"], images)
        assert job["metadata"]["name"] not in plain
