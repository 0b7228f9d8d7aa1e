"""airyard_toolbox.mongo: users and indexes from a chart's spec, idempotently.

The server side is faked here in pymongo's shape; tests/e2e/test_mongodb.py runs the module against
FerretDB on the cluster.
"""

from __future__ import annotations

from typing import Any

import pytest
from airyard_toolbox import mongo
from pymongo.errors import OperationFailure


class FakeCollection:
    def __init__(self) -> None:
        self.indexes: dict[str, tuple[list[tuple[str, int]], bool]] = {}

    def create_index(self, keys: list[tuple[str, int]], *, name: str, unique: bool) -> str:
        if name in self.indexes and self.indexes[name] != (keys, unique):
            raise OperationFailure("Index already exists with a different name or options", code=86)
        self.indexes[name] = (keys, unique)
        return name

    def drop_index(self, name: str) -> None:
        del self.indexes[name]


class FakeDatabase:
    def __init__(self, name: str, users: dict[str, dict[str, Any]]) -> None:
        self.name = name
        self.users = users
        self.collections: dict[str, FakeCollection] = {}

    def __getitem__(self, name: str) -> FakeCollection:
        return self.collections.setdefault(name, FakeCollection())

    def command(self, name: str, user: str, **kwargs: Any) -> dict[str, Any]:
        key = f"{self.name}.{user}"
        if name == "usersInfo":
            return {"users": [self.users[key]] if key in self.users else []}
        if name == "createUser":
            assert key not in self.users, "createUser of an existing user fails on the server"
            self.users[key] = {"pwd": kwargs["pwd"], "roles": kwargs["roles"]}
        elif name == "updateUser":
            self.users[key]["pwd"] = kwargs["pwd"]
        return {"ok": 1.0}


class FakeClient:
    def __init__(self) -> None:
        self.users: dict[str, dict[str, Any]] = {}
        self.databases: dict[str, FakeDatabase] = {}

    def __getitem__(self, name: str) -> FakeDatabase:
        return self.databases.setdefault(name, FakeDatabase(name, self.users))


SPEC: dict[str, Any] = {
    "engine": "ferretdb",
    "databases": [
        {
            "name": "app",
            "username": "svc",
            "passwordEnv": "DB_PASSWORD_0",
            "collections": [
                {
                    "name": "events",
                    "indexes": [
                        {"name": "id_unique", "keys": ["id"], "unique": True},
                        {"name": "user_time", "keys": ["user", "-ts"]},
                    ],
                }
            ],
        },
        {"name": "empty", "username": "empty", "passwordEnv": "DB_PASSWORD_1"},
    ],
}
ENV = {"DB_PASSWORD_0": "first-password", "DB_PASSWORD_1": "other-password"}


def test_index_keys_keep_order_and_direction() -> None:
    assert mongo.index_keys(["user", "-ts", "a.b"]) == [("user", 1), ("ts", -1), ("a.b", 1)]
    with pytest.raises(ValueError, match="at least one key"):
        mongo.index_keys([])


def test_roles_only_where_the_server_has_them() -> None:
    assert mongo.roles("ferretdb", "app") == []
    assert mongo.roles("mongodb", "app") == [{"role": "readWrite", "db": "app"}]


def test_first_run_creates_users_and_indexes() -> None:
    client = FakeClient()
    done = mongo.ensure(client, SPEC, ENV)  # type: ignore[arg-type]
    assert done == [
        "user svc@app: created",
        "index app.events.id_unique: ensured",
        "index app.events.user_time: ensured",
        "user empty@empty: created",
    ]
    assert client.users["app.svc"] == {"pwd": "first-password", "roles": []}
    assert client["app"]["events"].indexes == {
        "id_unique": ([("id", 1)], True),
        "user_time": ([("user", 1), ("ts", -1)], False),
    }


def test_second_run_changes_nothing_but_follows_the_secrets_password() -> None:
    client = FakeClient()
    mongo.ensure(client, SPEC, ENV)  # type: ignore[arg-type]
    done = mongo.ensure(client, SPEC, {**ENV, "DB_PASSWORD_0": "rotated"})  # type: ignore[arg-type]
    assert done[0] == "user svc@app: updated"
    assert client.users["app.svc"]["pwd"] == "rotated"
    assert len(client["app"]["events"].indexes) == 2


def test_a_changed_index_definition_replaces_the_old_one() -> None:
    client = FakeClient()
    mongo.ensure(client, SPEC, ENV)  # type: ignore[arg-type]
    changed = {**SPEC, "databases": [{**SPEC["databases"][0]}]}
    changed["databases"][0]["collections"] = [{"name": "events", "indexes": [{"name": "id_unique", "keys": ["-id"]}]}]
    done = mongo.ensure(client, changed, ENV)  # type: ignore[arg-type]
    assert done[1] == "index app.events.id_unique: replaced"
    assert client["app"]["events"].indexes["id_unique"] == ([("id", -1)], False)


def test_other_server_errors_are_not_swallowed() -> None:
    class Refusing(FakeCollection):
        def create_index(self, keys: list[tuple[str, int]], *, name: str, unique: bool) -> str:
            raise OperationFailure("Command createIndexes requires authentication", code=13)

    db = FakeDatabase("app", {})
    db.collections["events"] = Refusing()
    with pytest.raises(OperationFailure):
        mongo.ensure_index(db, "events", {"name": "x", "keys": ["a"]})  # type: ignore[arg-type]
