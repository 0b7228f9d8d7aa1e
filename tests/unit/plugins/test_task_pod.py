"""TaskPodOperator builds pods that run offline, restricted and admitted by the services."""

from __future__ import annotations

from unittest import mock

from airyard import cluster
from airyard.operators.task_pod import TaskPodOperator


def test_pod_uses_a_platform_image_never_pulled_and_restricted(monkeypatch) -> None:
    monkeypatch.setenv("AIRYARD_IMAGE_TAG", "9.9.9")
    monkeypatch.setenv("AIRYARD_RELEASE", "prod")
    op = TaskPodOperator(
        task_id="extract_movies", image_name="toolbox", cmds=["true"], namespace="airyard", services=["kafka:movies"]
    )
    with (
        mock.patch("airflow.providers.cncf.kubernetes.hooks.kubernetes.KubernetesHook.is_in_cluster", True),
    ):
        pod = op.build_pod_request_obj(context=None)
    container = pod.spec.containers[0]
    assert container.image == "airyard/toolbox:9.9.9"
    assert container.image_pull_policy == "IfNotPresent"
    assert container.security_context.allow_privilege_escalation is False
    assert container.security_context.capabilities.drop == ["ALL"]
    assert pod.spec.security_context.run_as_non_root is True
    assert container.resources.limits["memory"] == "512Mi"
    assert pod.metadata.labels["airyard.io/kafka-client"] == "true"
    assert "airyard.io/mongodb-client" not in pod.metadata.labels  # only what it declared
    assert [e.secret_ref.name for e in container.env_from] == ["airyard-airflow-conn-kafka-movies"]
    assert pod.metadata.name.startswith("extract-movies")
    assert op.startup_check_interval_seconds == 1


def _pod(namespace: str):
    op = TaskPodOperator(task_id="train", image_name="ml-tasks", cmds=["true"], namespace=namespace)
    with mock.patch("airflow.providers.cncf.kubernetes.hooks.kubernetes.KubernetesHook.is_in_cluster", True):
        return op.build_pod_request_obj(context=None)


def test_pod_is_owned_by_the_worker_pod_it_was_started_from(monkeypatch) -> None:
    monkeypatch.setenv("AIRYARD_POD_NAME", "ml-training-train-abc")
    monkeypatch.setenv("AIRYARD_POD_UID", "0f0e-uid")
    monkeypatch.setattr(cluster, "namespace", lambda: "airyard-tasks")  # the worker's own
    (owner,) = _pod("airyard-tasks").metadata.owner_references
    assert (owner.api_version, owner.kind, owner.name, owner.uid) == ("v1", "Pod", "ml-training-train-abc", "0f0e-uid")
    # In another namespace the owner would be taken for missing and the pod deleted at once.
    assert not _pod("elsewhere").metadata.owner_references


def test_pod_has_no_owner_outside_a_worker_pod(monkeypatch) -> None:
    for name in ("AIRYARD_POD_NAME", "AIRYARD_POD_UID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(cluster, "namespace", lambda: "airyard-tasks")
    assert not _pod("airyard-tasks").metadata.owner_references
