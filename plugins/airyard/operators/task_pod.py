"""TaskPodOperator: run a step of a pipeline in a pod from one of the platform's images."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from kubernetes.client import models as k8s

from airyard import cluster
from airyard import services as platform_services

if TYPE_CHECKING:
    from airflow.sdk import Context

DEFAULT_RESOURCES = k8s.V1ResourceRequirements(
    requests={"cpu": "50m", "memory": "128Mi"},
    limits={"memory": "512Mi"},
)

RESTRICTED_POD = k8s.V1PodSecurityContext(
    run_as_non_root=True, seccomp_profile=k8s.V1SeccompProfile(type="RuntimeDefault")
)
RESTRICTED_CONTAINER = k8s.V1SecurityContext(
    allow_privilege_escalation=False, capabilities=k8s.V1Capabilities(drop=["ALL"])
)


def worker_owner(namespace: str) -> k8s.V1OwnerReference | None:
    """The KubernetesExecutor worker pod this task runs in, as the owner of a pod it starts in
    `namespace`; None outside a worker pod (airflow.podTemplate sets AIRYARD_POD_*) or across
    namespaces, where Kubernetes takes an owner for missing and deletes the pod at once."""
    name, uid = os.environ.get("AIRYARD_POD_NAME"), os.environ.get("AIRYARD_POD_UID")
    if not (name and uid) or cluster.namespace() != namespace:
        return None
    return k8s.V1OwnerReference(api_version="v1", kind="Pod", name=name, uid=uid)


class TaskPodOperator(KubernetesPodOperator):
    """A KubernetesPodOperator with the platform's defaults.

    The image is one of ours and is never pulled, the pod meets the restricted Pod Security
    Standard, has bounded resources, and is deleted when it finishes. It reaches exactly the
    platform services in `services` (airyard.services): their connections and client labels.

    The pod is owned by the task's worker pod, so it goes when the worker goes. The executor
    deletes the worker when its run is deleted or marked failed, and the provider does not delete
    the pod then: it stayed, holding its CPU request, until the node had none left for new tasks.
    A retry after a lost worker therefore starts a new pod instead of reattaching to the old one.
    """

    def __init__(
        self,
        *,
        image_name: str,
        services: Sequence[str] = (),
        labels: dict[str, str] | None = None,
        container_resources: k8s.V1ResourceRequirements | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("name", kwargs["task_id"].replace("_", "-"))
        kwargs.setdefault("in_cluster", True)
        kwargs.setdefault("get_logs", True)
        kwargs.setdefault("on_finish_action", "delete_pod")
        kwargs.setdefault("startup_timeout_seconds", 300)
        # Our images are local, so a pod runs a second or two after it is created; the provider's
        # 5 s between checks would add that much again to every task.
        kwargs.setdefault("startup_check_interval_seconds", 1)
        declared = platform_services.resolve(services)
        env_from = [*platform_services.env_from(declared), *(kwargs.pop("env_from", None) or [])]
        env_vars = [*platform_services.env(declared), *(kwargs.pop("env_vars", None) or [])]
        super().__init__(
            image=cluster.image(image_name),
            image_pull_policy="IfNotPresent",
            labels={**platform_services.labels(declared), **(labels or {})},
            env_from=env_from,
            env_vars=env_vars,
            container_resources=container_resources or DEFAULT_RESOURCES,
            security_context=kwargs.pop("security_context", RESTRICTED_POD),
            container_security_context=RESTRICTED_CONTAINER,
            # The provider's XCom sidecar has no security context of its own: without this one the
            # tasks namespace refuses the pod ("restricted" Pod Security).
            xcom_sidecar_container_security_context=RESTRICTED_CONTAINER,
            **kwargs,
        )

    def build_pod_request_obj(self, context: Context | None = None, *, dry_run: bool = False) -> k8s.V1Pod:
        pod = super().build_pod_request_obj(context, dry_run=dry_run)
        if owner := worker_owner(pod.metadata.namespace):
            pod.metadata.owner_references = [*(pod.metadata.owner_references or []), owner]
        return pod
