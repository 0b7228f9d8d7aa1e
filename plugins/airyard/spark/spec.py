"""The one place a SparkApplication of the platform is built: the movie stages, the domain lake's
stream and builds, and the benchmark's jobs all take their spec from ``application``.

Every application gets the same shape: a Python job of a platform image, one driver and
`executors` executors of one core each that request only `core_request` (the work is bursty, and
requests of a full core would keep it from being scheduled next to the platform on a small
node), the pods' declared services, the restricted security context, and JVMs sized for short
jobs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from airyard import cluster, services

SPARK_VERSION = "4.0.4"

#: JVM options of the platform's Spark drivers and executors. Their jobs are short and their data
#: small, on two cores: the C2 compiler's threads and a parallel collector cost more CPU than they
#: win back before the job ends, so the JIT stops at C1 and the collector is the serial one.
JAVA_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"


def conf(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """sparkConf of the platform's SparkApplications: no UI, JVMs sized for short jobs, and `extra`."""
    return {
        "spark.ui.enabled": "false",
        "spark.driver.extraJavaOptions": JAVA_OPTIONS,
        "spark.executor.extraJavaOptions": JAVA_OPTIONS,
        **(extra or {}),
    }


def pod_security(uid: int = 185) -> dict[str, Any]:
    """The security settings of a driver or executor (images/spark runs as 185).

    The Spark operator's webhook copies them into the pods; without them the pods do not meet the
    restricted Pod Security Standard.
    """
    return {
        "podSecurityContext": {
            "runAsNonRoot": True,
            "runAsUser": uid,
            "runAsGroup": uid,
            "fsGroup": uid,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
    }


def driver(pod: Mapping[str, Any]) -> dict[str, Any]:
    """The driver spec from the pods' spec: the driver starts its executors through the Kubernetes
    API, as the tasks namespace's Spark account, so it carries the API's client label (the
    platform's NetworkPolicies let no other task pod reach the API server)."""
    return {
        **pod,
        "labels": {**pod.get("labels", {}), cluster.client_label("kube-api"): "true"},
        "serviceAccount": cluster.SPARK_SERVICE_ACCOUNT,
    }


def application(
    *,
    name: str | None,
    image: str,
    main_file: str,
    arguments: Iterable[str],
    uses: Iterable[str],
    labels: Mapping[str, str] | None = None,
    core_request: str = "100m",
    memory: str = "512m",
    executors: int = 1,
    spark_conf: Mapping[str, str] | None = None,
    restart_policy: Mapping[str, Any] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    """A SparkApplication (v1beta2) running `main_file` of the platform image `image`.

    :param uses: the services the job declares (airyard.services): its pods get their connections
        and client labels, nothing else.
    :param labels: on the application and on its pods.
    :param restart_policy: the operator's (default: never restart).
    :param spec: further fields of the spec (e.g. timeToLiveSeconds, volumes).
    """
    labels = dict(labels or {})
    declared = services.spark_pod(services.resolve(uses))
    pod = {
        "cores": 1,
        "coreRequest": core_request,
        "memory": memory,
        **declared,
        "labels": {**declared["labels"], **labels},
        **pod_security(),
    }
    return {
        "apiVersion": "sparkoperator.k8s.io/v1beta2",
        "kind": "SparkApplication",
        # No name: the provider's SparkKubernetesOperator names the application after the task.
        "metadata": {"labels": labels} if name is None else {"name": name, "labels": labels},
        "spec": {
            "type": "Python",
            "mode": "cluster",
            "image": cluster.image(image),
            "imagePullPolicy": "IfNotPresent",
            "mainApplicationFile": main_file,
            "arguments": [str(a) for a in arguments],
            "sparkVersion": SPARK_VERSION,
            "restartPolicy": dict(restart_policy or {"type": "Never"}),
            "sparkConf": conf(spark_conf),
            "driver": driver(pod),
            "executor": {**pod, "instances": executors},
            **spec,
        },
    }
