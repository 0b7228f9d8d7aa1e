"""Fixtures for tests that run against the kind cluster (`make e2e` creates it first)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.e2e import kube


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session", autouse=True)
def cluster_reachable() -> None:
    """Fail fast, with the fix, when there is no cluster: these tests are never skipped."""
    try:
        kube.kubectl("get", "--raw", "/readyz", timeout=20)
    except Exception as exc:  # noqa: BLE001 - any failure means the same to the user
        pytest.exit(f"no reachable Kubernetes cluster ({exc}); run `make cluster` first", returncode=1)


@pytest.fixture
def namespace() -> Iterator[str]:
    """A namespace of its own for one test, enforcing the restricted Pod Security Standard."""
    name = f"e2e-{uuid.uuid4().hex[:8]}"
    kube.apply(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": name, "labels": {"pod-security.kubernetes.io/enforce": "restricted"}},
        }
    )
    yield name
    kube.kubectl("delete", "namespace", name, "--wait=false", check=False)
