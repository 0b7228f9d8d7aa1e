"""Spark operators of the platform layer: whether a task may run Spark here, and whether a
long-running SparkApplication runs. Submission is the provider's SparkKubernetesOperator with a
spec from airyard.spark.spec, or airyard.spark.applications for builds that must not overlap."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException

from airyard import cluster
from airyard.spark import applications


def submission_defaults(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The provider SparkKubernetesOperator's arguments as every pipeline here submits: from the
    worker pod, in the worker's namespace (the Spark operator's watched one), the driver's log
    copied into the task's log."""
    kwargs.setdefault("in_cluster", True)
    kwargs.setdefault("get_logs", True)
    kwargs.setdefault("namespace", None)
    return kwargs


class SparkClusterCheckOperator(BaseOperator):
    """The Spark operator is installed and this worker may submit SparkApplications here."""

    def __init__(self, *, namespace: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.namespace = namespace

    def execute(self, context: Any) -> dict[str, Any]:
        from airflow.providers.cncf.kubernetes.hooks.kubernetes import KubernetesHook
        from kubernetes import client

        hook = KubernetesHook()
        namespace = self.namespace or cluster.namespace()
        api = client.AuthorizationV1Api(hook.api_client)
        verdicts = {}
        for verb in ("create", "get", "delete"):
            review = client.V1SelfSubjectAccessReview(
                spec=client.V1SelfSubjectAccessReviewSpec(
                    resource_attributes=client.V1ResourceAttributes(
                        group="sparkoperator.k8s.io", resource="sparkapplications", verb=verb, namespace=namespace
                    )
                )
            )
            verdicts[verb] = api.create_self_subject_access_review(review).status.allowed
        if not all(verdicts.values()):
            raise RuntimeError(
                f"may not submit SparkApplications in {namespace}: {verdicts}. Add this worker's service account to "
                "spark-operator.spark.submitters in the umbrella values."
            )
        apps = client.CustomObjectsApi(hook.api_client).list_namespaced_custom_object(
            "sparkoperator.k8s.io", "v1beta2", namespace, "sparkapplications", limit=1
        )
        return {"namespace": namespace, "access": verdicts, "applications_listed": len(apps.get("items", []))}


class SparkJobCheckOperator(BaseOperator):
    """Fail unless the long-running SparkApplication `job_name` (a Structured Streaming job) runs.

    The Spark operator restarts such an application, so health is "it exists and its driver runs";
    whether it keeps up is for a freshness check of what it writes.
    """

    def __init__(self, *, job_name: str, namespace: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.namespace = namespace
        self.job_name = job_name

    def execute(self, context: Any) -> dict[str, Any]:
        custom, _, leases = applications.kube_clients()
        apps = applications.Applications(custom, leases, self.namespace or cluster.namespace(), self.job_name)
        result = applications.assess_running(apps.get(self.job_name), self.job_name)
        self.log.info("Spark job %s: %s", self.job_name, result)
        if not result["healthy"]:
            raise AirflowException(f"Spark job {self.job_name} unhealthy: {result['reason']}")
        return result
