"""Facts about the platform a task runs on, read from the environment the chart sets."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

#: Mounted into every pod with a service account token (worker pods need one for their task pods).
NAMESPACE_FILE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


def release() -> str:
    """The Helm release of the platform (object names start with it)."""
    return os.environ.get("AIRYARD_RELEASE", "airyard")


def namespace() -> str:
    """The tasks namespace, where tasks start their pods and SparkApplications.

    A worker pod runs there, so its own namespace is the answer; the `kubernetes_default`
    connection carries none, and the "default" namespace would be wrong for any release.
    """
    try:
        return NAMESPACE_FILE.read_text().strip()
    except OSError:
        return os.environ.get("AIRYARD_NAMESPACE", "airyard")


def platform_namespace() -> str:
    """The platform's namespace (its services, their Secrets), read from the Execution API's
    address, which the chart gives workers as <api-server>.<namespace>.svc."""
    host = urlsplit(os.environ.get("AIRFLOW__CORE__EXECUTION_API_SERVER_URL", "")).hostname or ""
    labels = host.split(".")
    return labels[1] if len(labels) > 2 and labels[2] == "svc" else os.environ.get("AIRYARD_NAMESPACE", "airyard")


def image(name: str) -> str:
    """The reference of a platform image built from images/<name>/."""
    return f"airyard/{name}:{os.environ.get('AIRYARD_IMAGE_TAG', '0.1.0')}"


def spark_pod_security(uid: int = 185) -> dict[str, Any]:
    """The security settings of a SparkApplication's driver or executor (images/spark runs as 185).

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


def spark_driver(pod: dict[str, Any]) -> dict[str, Any]:
    """A SparkApplication's driver spec from its pod spec: the driver starts its executors through
    the Kubernetes API, as the tasks namespace's Spark account, so it carries the API's client label
    (the platform's NetworkPolicies let no other task pod reach the API server)."""
    return {
        **pod,
        "labels": {**pod.get("labels", {}), f"{release()}-kube-api-client": "true"},
        "serviceAccount": f"{release()}-spark-operator-spark",
    }


#: JVM options of the platform's Spark drivers and executors. Their jobs are short and their data
#: small, on two cores: the C2 compiler's threads and a parallel collector cost more CPU than they
#: win back before the job ends, so the JIT stops at C1 and the collector is the serial one.
SPARK_JAVA_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"


def spark_conf(conf: dict[str, str] | None = None) -> dict[str, str]:
    """sparkConf of the platform's SparkApplications: no UI, JVMs sized for short jobs, and `conf`."""
    return {
        "spark.ui.enabled": "false",
        "spark.driver.extraJavaOptions": SPARK_JAVA_OPTIONS,
        "spark.executor.extraJavaOptions": SPARK_JAVA_OPTIONS,
        **(conf or {}),
    }
