"""PostgreSQL for the sports tests, listening on all addresses (see postgres_service_all_addresses)."""

from __future__ import annotations

from tests.integration.ml.conftest import postgres_service  # noqa: F401 - the override, shared
