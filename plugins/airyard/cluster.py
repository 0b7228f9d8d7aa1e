"""Facts about the platform a task runs on, read from the environment the chart sets."""

from __future__ import annotations

import os

#: Services whose NetworkPolicies admit pods carrying "<release>-<service>-client: true".
SERVICES = ("postgresql", "redis", "kafka", "mongodb", "objectstore", "mlflow")


def release() -> str:
    """The Helm release of the platform (object names start with it)."""
    return os.environ.get("AIRYARD_RELEASE", "airyard")


def image(name: str) -> str:
    """The reference of a platform image built from images/<name>/."""
    return f"airyard/{name}:{os.environ.get('AIRYARD_IMAGE_TAG', '0.1.0')}"


def client_labels(services: tuple[str, ...] = SERVICES) -> dict[str, str]:
    """Labels that let a pod through the NetworkPolicies of the given services."""
    return {f"{release()}-{service}-client": "true" for service in services}
