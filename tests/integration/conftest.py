"""Integration tests: hooks, operators and task code against real services (tests/services.py).

Each service starts on first use and lives for the session. They need Docker and the service
images (`make integration` builds them).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests import services
from tests.catalog import platform_services

os.environ.setdefault("AIRYARD_SERVICES", platform_services())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def redis_service() -> Iterator[services.Service]:
    with services.redis() as svc:
        yield svc


@pytest.fixture(scope="session")
def postgres_service() -> Iterator[services.Service]:
    with services.postgres() as svc:
        yield svc


@pytest.fixture(scope="session")
def kafka_service() -> Iterator[services.Service]:
    with services.kafka() as svc:
        yield svc


@pytest.fixture(scope="session")
def mongo_service() -> Iterator[services.Service]:
    with services.mongodb() as svc:
        yield svc


@pytest.fixture(scope="session")
def s3_service() -> Iterator[services.Service]:
    with services.objectstore() as svc:
        yield svc
