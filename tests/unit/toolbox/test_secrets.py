"""airyard_toolbox.secrets: what a chart's secrets Job writes, and that it never overwrites."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import unquote

import pytest
from airyard_toolbox import secrets


class MemoryStore(secrets.SecretStore):
    """The Secret store over a dict: the API calls are exercised on the cluster (tests/e2e)."""

    def __init__(
        self,
        existing: dict[str, dict[str, str]] | None = None,
        namespace: str = "test",
        cluster: dict[str, MemoryStore] | None = None,
    ) -> None:
        self.data = dict(existing or {})
        self.labels: dict[str, dict[str, str]] = {}
        self.namespace = namespace
        self.cluster = cluster if cluster is not None else {}
        self.cluster[namespace] = self

    def elsewhere(self, namespace: str) -> MemoryStore:
        return self.cluster.get(namespace) or MemoryStore(namespace=namespace, cluster=self.cluster)

    def get(self, name: str) -> dict[str, Any] | None:
        return {"data": {}} if name in self.data else None

    def read_key(self, name: str, key: str) -> str:
        return self.data[name][key]

    def read_all(self, name: str) -> dict[str, str]:
        return dict(self.data[name])

    def create(self, name: str, data: dict[str, str], labels: dict[str, str]) -> bool:
        self.data[name] = data
        self.labels[name] = labels
        return True

    def names(self, labels: dict[str, str]) -> list[str]:
        return [n for n, own in self.labels.items() if labels.items() <= own.items()]

    def delete(self, name: str) -> None:
        self.data.pop(name, None)
        self.labels.pop(name, None)

    def replace(self, name: str, data: dict[str, str], labels: dict[str, str]) -> bool:
        changed = self.data[name] != data
        self.data[name] = data
        return changed


def test_generated_values_are_long_random_and_url_safe() -> None:
    values = {secrets.generate(32) for _ in range(50)}
    assert len(values) == 50
    assert all(len(v) == 32 and v.isalnum() for v in values)
    with pytest.raises(ValueError, match="at least 16"):
        secrets.generate(8)


def test_connection_uri_is_built_from_a_generated_password() -> None:
    store = MemoryStore()
    spec = {
        "secrets": [
            {"name": "auth", "generate": {"password": 24}},
            {
                "name": "conn",
                "from": {"password": "auth/password"},
                "values": {"host": "db"},
                "template": {"uri": "postgresql://app:{password_q}@{host}:5432/app"},
            },
        ]
    }
    assert secrets.ensure(store, spec) == ["auth", "conn"]
    password = store.data["auth"]["password"]
    assert store.data["conn"]["password"] == password
    assert store.data["conn"]["host"] == "db"
    assert store.data["conn"]["uri"] == f"postgresql://app:{password}@db:5432/app"


def test_templates_quote_values_for_urls() -> None:
    data = secrets.build_data({"values": {"user": "a@b"}, "template": {"uri": "x://{user_q}@h"}}, lambda name, key: "")
    assert data["uri"] == "x://a%40b@h"
    assert unquote(data["uri"].split("//")[1].split("@h")[0]) == "a@b"


def test_existing_secrets_are_kept_as_they_are() -> None:
    store = MemoryStore({"auth": {"password": "chosen-by-the-user"}})
    created = secrets.ensure(store, {"secrets": [{"name": "auth", "generate": {"password": 32}}]})
    assert created == []
    assert store.data["auth"] == {"password": "chosen-by-the-user"}


def test_fernet_keys_are_valid_32_byte_keys() -> None:
    key = secrets.generate("fernet")
    assert len(base64.urlsafe_b64decode(key)) == 32


def test_json_documents_format_their_string_leaves() -> None:
    data = secrets.build_data(
        {
            "values": {"host": "kafka:9092"},
            "generate": {"password": 16},
            "json": {"conn": {"conn_type": "kafka", "port": 9092, "extra": {"bootstrap.servers": "{host}"}}},
        },
        lambda name, key: "",
    )
    assert json.loads(data["conn"]) == {
        "conn_type": "kafka",
        "port": 9092,
        "extra": {"bootstrap.servers": "kafka:9092"},
    }


def test_inputs_fill_the_documents_in_and_are_not_written() -> None:
    keys = {("pg", "username"): "app", ("pg", "password"): "s3cr3t/+"}
    data = secrets.build_data(
        {
            "inputs": {"user": "pg/username", "password": "pg/password"},
            "json": {"AIRFLOW_CONN_PG": {"login": "{user}", "password": "{password}"}},
        },
        lambda name, key: keys[(name, key)],
    )
    assert list(data) == ["AIRFLOW_CONN_PG"]
    assert json.loads(data["AIRFLOW_CONN_PG"]) == {"login": "app", "password": "s3cr3t/+"}


def test_secrets_the_spec_no_longer_names_are_pruned_where_asked_and_nowhere_else() -> None:
    cluster: dict[str, MemoryStore] = {}
    platform = MemoryStore({"source": {"k": "v"}}, namespace="airyard", cluster=cluster)
    labels = {"app.kubernetes.io/instance": "airyard"}
    old = {
        "labels": labels,
        "prune": ["tasks"],
        "secrets": [
            {"name": "conn-a", "namespace": "tasks", "values": {"a": "1"}},
            {"name": "everything", "namespace": "tasks", "values": {"all": "1"}},
            {"name": "fernet", "generate": {"key": 32}},
        ],
    }
    secrets.ensure(platform, old)
    users = cluster["tasks"]
    users.data["external"] = {"mine": "x"}  # the user's own Secret, without our labels
    new = {**old, "secrets": [old["secrets"][0], old["secrets"][2]]}
    assert secrets.prune(platform, new) == ["tasks/everything"]
    assert set(users.data) == {"conn-a", "external"}
    assert "fernet" in platform.data  # the release namespace is not pruned unless listed
    assert secrets.prune(platform, {**new, "prune": []}) == []


def test_derived_secrets_follow_their_spec_while_generated_ones_stay() -> None:
    store = MemoryStore({"auth": {"password": "p"}, "conn": {"url": "old"}})
    spec = {
        "secrets": [
            {"name": "auth", "generate": {"password": 32}},
            {"name": "conn", "from": {"password": "auth/password"}, "template": {"url": "x://:{password}@new"}},
        ]
    }
    secrets.ensure(store, spec)
    assert store.data["auth"] == {"password": "p"}
    assert store.data["conn"] == {"password": "p", "url": "x://:p@new"}


def test_copies_land_in_their_namespace_with_every_key_and_follow_the_source() -> None:
    store = MemoryStore({"svc-user": {"access-key": "a", "secret-key": "s"}}, namespace="platform")
    spec = {"secrets": [{"name": "svc-user", "namespace": "tasks", "copy": "svc-user"}]}
    assert secrets.ensure(store, spec) == ["tasks/svc-user"]
    assert store.cluster["tasks"].data["svc-user"] == {"access-key": "a", "secret-key": "s"}
    store.data["svc-user"]["secret-key"] = "rotated"
    secrets.ensure(store, spec)
    assert store.cluster["tasks"].data["svc-user"]["secret-key"] == "rotated"
