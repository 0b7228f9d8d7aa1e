"""Facts about the platform a task runs on, read from the environment the chart sets."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

#: Mounted into every pod with a service account token (worker pods need one for their task pods).
NAMESPACE_FILE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


#: Names the charts give the same for any release name (one airyard per namespace), as the
#: official chart's values cannot be templated: airflow-bootstrap's Secrets ("airyard-airflow-*"),
#: the Spark drivers' ServiceAccount (the umbrella's spark-operator.spark.serviceAccount.name).
SECRET_PREFIX = "airyard-airflow"
EXTERNAL_CONNECTIONS = f"{SECRET_PREFIX}-external-connections"
SPARK_SERVICE_ACCOUNT = "airyard-spark"


def release() -> str:
    """The Helm release of the platform, which its services' names start with (the worker pod
    template sets it)."""
    return os.environ.get("AIRYARD_RELEASE", "airyard")


def client_label(service: str) -> str:
    """The label a service's NetworkPolicy admits (airyard-lib's airyard.clientLabelFor)."""
    return f"airyard.io/{service}-client"


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
