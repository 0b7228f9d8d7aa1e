"""Pod Security "restricted" for every pod of the platform, judged by the Kubernetes project's own code.

hack/psa-check (built by `make tools`) runs k8s.io/pod-security-admission, the code of the
api-server's PodSecurity admission plugin, over a render: it extracts each pod spec as the plugin
does and prints the api-server's refusal for each object that fails. The whole umbrella is checked,
the official Airflow chart included, and so is the KubernetesExecutor's worker pod template, which
the official chart ships inside a ConfigMap.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.chart import umbrella
from tests.chart.common import assert_rejects
from tests.chart.helm import REPO, find, render, render_raw

# What the admission plugin extracts a pod spec from (admission.DefaultPodSpecExtractor).
POD_KINDS = {
    "Pod", "PodTemplate", "ReplicationController", "ReplicaSet", "Deployment", "StatefulSet", "DaemonSet", "Job",
    "CronJob",
}  # fmt: skip
LABELS = "pod-security.kubernetes.io/"


@pytest.fixture(scope="module")
def psa_check() -> str:
    path = shutil.which("psa-check")
    if path is None:
        pytest.fail("psa-check is not on PATH: run `make tools` (the Makefile puts .bin/ on PATH)")
    return path


def check(psa_check: str, stream: str, level: str = "restricted") -> tuple[int, int, list[str]]:
    """psa-check's exit code, how many pod specs it checked, and its refusals (one line each)."""
    proc = subprocess.run([psa_check, "-level", level], input=stream, capture_output=True, text=True)
    assert proc.returncode in (0, 1), proc.stderr
    summary = re.search(r"psa-check: (\d+) pod specs checked, (\d+) refused", proc.stderr)
    assert summary, proc.stderr
    refusals = proc.stdout.splitlines()
    assert int(summary[2]) == len(refusals)
    return proc.returncode, int(summary[1]), refusals


def with_worker_pod(rendered: str) -> tuple[str, list[dict[str, Any]]]:
    """The render plus the worker pod template out of the official chart's ConfigMap, as one
    stream, and the objects in it."""
    docs = [d for d in yaml.safe_load_all(rendered) if d]
    config = find(docs, "ConfigMap", "airyard-config")
    pod = config["data"]["pod_template_file.yaml"]
    return f"{rendered}\n---\n{pod}", [*docs, yaml.safe_load(pod)]


def pod_count(docs: list[dict[str, Any]]) -> int:
    return sum(d["kind"] in POD_KINDS for d in docs)


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> Path:
    umbrella.needs_official()
    return umbrella.assemble(tmp_path_factory.mktemp("full"), with_official=True)


def test_psa_check_is_the_admission_code_of_the_pinned_kubernetes() -> None:
    kubernetes = re.search(r"^KUBERNETES_VERSION=v1\.(\S+)$", (REPO / "hack" / "versions.env").read_text(), re.M)
    assert kubernetes
    gomod = (REPO / "hack" / "psa-check" / "go.mod").read_text()
    for module in ("k8s.io/pod-security-admission", "k8s.io/api", "k8s.io/apimachinery"):
        assert re.search(rf"^\s+{re.escape(module)} v0\.{re.escape(kubernetes[1])}$", gomod, re.M), module


def test_every_pod_of_the_whole_platform_meets_restricted(psa_check: str, full: Path) -> None:
    stream, docs = with_worker_pod(render_raw(full, release="airyard"))
    returncode, checked, refusals = check(psa_check, stream)
    assert refusals == []
    assert returncode == 0
    # Every pod spec was seen: the Airflow components, our services, their Jobs, the worker pod.
    assert checked == pod_count(docs) >= 25


def test_every_pod_we_own_meets_restricted_without_the_official_chart(psa_check: str, tmp_path: Path) -> None:
    rendered = render_raw(umbrella.assemble(tmp_path, with_official=False), release="airyard")
    returncode, checked, refusals = check(psa_check, rendered)
    assert (returncode, refusals) == (0, [])
    assert checked == pod_count([d for d in yaml.safe_load_all(rendered) if d]) >= 15


def test_a_task_pod_asking_for_root_is_refused_with_the_admission_message(psa_check: str) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "root-task", "namespace": "airyard-tasks"},
        "spec": {
            "securityContext": {"runAsUser": 0},
            "containers": [{"name": "base", "image": "airyard/airflow:0.1.0", "securityContext": {"privileged": True}}],
        },
    }
    returncode, checked, refusals = check(psa_check, yaml.safe_dump(pod))
    assert (returncode, checked) == (1, 1)
    (line,) = refusals
    assert line.startswith('Pod/airyard-tasks/root-task: violates PodSecurity "restricted:latest": privileged (')
    assert 'runAsNonRoot != true (pod or container "base" must set securityContext.runAsNonRoot=true)' in line
    assert "runAsUser=0 (pod must not set runAsUser=0)" in line


def test_an_airflow_component_asking_for_root_fails_alone(psa_check: str, full: Path) -> None:
    """The overlay's security contexts are what make the official chart pass: a component that
    replaces them with root is refused, and only that component."""
    values = {"airflow": {"scheduler": {"securityContexts": {"pod": {"runAsUser": 0}}}}}
    stream, docs = with_worker_pod(render_raw(full, values, release="airyard"))
    returncode, checked, refusals = check(psa_check, stream)
    assert returncode == 1
    assert checked == pod_count(docs)
    (line,) = refusals
    assert line.startswith("Deployment/airyard-scheduler: ")
    assert "runAsUser=0" in line


HOSTPATH_ONLY = re.compile(
    r'^[A-Za-z]+/[a-z0-9.-]+: violates PodSecurity "restricted:latest": '
    r"(hostPath volumes|restricted volume types) \([^()]*\)(, (hostPath volumes|restricted volume types) \([^()]*\))*$"
)


def test_the_dev_profile_is_refused_only_for_its_hostpath_mounts_and_runs_privileged(
    psa_check: str, full: Path
) -> None:
    """The one documented exception: the dev loop mounts the checkout from the node (hostPath),
    which no level but privileged admits; its namespaces are labelled privileged, and nothing
    else in its pods falls short of restricted."""
    values = yaml.safe_load((REPO / "k8s" / "dev" / "values.yaml").read_text())
    rendered = render_raw(full, values, release="airyard")
    stream, docs = with_worker_pod(rendered)
    returncode, _, refusals = check(psa_check, stream)
    assert returncode == 1
    failing = {line.split(":")[0] for line in refusals}
    assert {"Deployment/airyard-scheduler", "Deployment/airyard-dag-processor", "Pod/placeholder-name"} <= failing
    assert [line for line in refusals if not HOSTPATH_ONLY.match(line)] == []
    labels = find(docs, "Namespace")["metadata"]["labels"]
    assert labels[f"{LABELS}enforce"] == "privileged"


def _psa_labels(namespace: dict[str, Any]) -> dict[str, str]:
    return {k: v for k, v in namespace["metadata"]["labels"].items() if k.startswith(LABELS)}


def test_the_tasks_namespace_enforces_restricted_and_warns_and_audits_at_it() -> None:
    namespace = find(render("airflow-bootstrap"), "Namespace")
    assert _psa_labels(namespace) == {
        f"{LABELS}{mode}{suffix}": value
        for mode in ("enforce", "warn", "audit")
        for suffix, value in (("", "restricted"), ("-version", "latest"))
    }
    values = {"tasks": {"podSecurity": {"level": "baseline", "version": "v1.35"}}}
    labels = _psa_labels(find(render("airflow-bootstrap", values), "Namespace"))
    assert {v for k, v in labels.items() if not k.endswith("-version")} == {"baseline"}
    assert {v for k, v in labels.items() if k.endswith("-version")} == {"v1.35"}


@pytest.mark.parametrize(
    ("pod_security", "fragment"),
    [({"level": "root"}, "/tasks/podSecurity/level"), ({"version": "1.35"}, "/tasks/podSecurity/version")],
)
def test_an_unknown_pod_security_level_or_version_is_rejected(pod_security: dict[str, str], fragment: str) -> None:
    assert_rejects("airflow-bootstrap", {"tasks": {"podSecurity": pod_security}}, fragment)
