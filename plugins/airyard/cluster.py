"""Facts about the platform a task runs on, read from the environment the chart sets."""

from __future__ import annotations

import os
from pathlib import Path
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
