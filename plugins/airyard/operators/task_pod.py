"""TaskPodOperator: run a step of a pipeline in a pod from one of the platform's images."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from kubernetes.client import models as k8s

from airyard import cluster
from airyard import services as platform_services

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


class TaskPodOperator(KubernetesPodOperator):
    """A KubernetesPodOperator with the platform's defaults.

    The image is one of ours and is never pulled, the pod meets the restricted Pod Security
    Standard, has bounded resources, and is deleted when it finishes. It reaches exactly the
    platform services in `services` (airyard.services): their connections and client labels.
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
