"""Create the users and indexes a chart declares on a MongoDB-compatible server, idempotently.

The mongodb chart renders a Job that runs this module after its secrets Job: it connects as the
administrative user, then for each declared database makes sure its user exists with the password
of the database's connection Secret, and that the declared indexes exist. Running it again changes
nothing, so upgrades and GitOps re-syncs may re-run it at will.

The spec (JSON, from the chart) names no secret; passwords come from environment variables:

    {"engine": "ferretdb", "host": "db.ns.svc", "port": 27017, "rootUsername": "root",
     "databases": [{"name": "app", "username": "app", "passwordEnv": "DB_PASSWORD_0",
                    "collections": [{"name": "events",
                                     "indexes": [{"name": "id_unique", "keys": ["id"], "unique": true},
                                                 {"name": "user_time", "keys": ["user", "-ts"]}]}]}]}

The administrative password is read from ROOT_PASSWORD.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

from pymongo import ASCENDING, DESCENDING, MongoClient
from pymongo.database import Database
from pymongo.errors import ConnectionFailure, OperationFailure

# Server error codes: an index of that name exists with other keys or options.
INDEX_CONFLICTS = {85, 86}


def index_keys(keys: list[str]) -> list[tuple[str, int]]:
    """["user", "-ts"] -> [("user", 1), ("ts", -1)]: values keep order, which a YAML map would lose."""
    if not keys:
        raise ValueError("an index needs at least one key")
    return [(k[1:], DESCENDING) if k.startswith("-") else (k, ASCENDING) for k in keys]


def roles(engine: str, database: str) -> list[dict[str, str]]:
    """FerretDB 1.x users carry no roles (it refuses any); MongoDB users get read/write on their database."""
    return [] if engine == "ferretdb" else [{"role": "readWrite", "db": database}]


def ensure_user(db: Database[Any], username: str, password: str, engine: str) -> str:
    """Create the user, or set its password to the Secret's: the Secret is the source of truth."""
    existing = db.command("usersInfo", username)["users"]
    if existing:
        db.command("updateUser", username, pwd=password)
        return "updated"
    db.command("createUser", username, pwd=password, roles=roles(engine, db.name))
    return "created"


def ensure_index(db: Database[Any], collection: str, index: dict[str, Any]) -> str:
    """Create the index; one of the same name but another definition is replaced, as values changed."""
    keys = index_keys(index["keys"])
    unique = bool(index.get("unique", False))
    coll = db[collection]
    try:
        coll.create_index(keys, name=index["name"], unique=unique)
    except OperationFailure as err:
        if err.code not in INDEX_CONFLICTS:
            raise
        coll.drop_index(index["name"])
        coll.create_index(keys, name=index["name"], unique=unique)
        return "replaced"
    return "ensured"


def ensure(client: MongoClient[Any], spec: dict[str, Any], env: dict[str, str]) -> list[str]:
    """Apply the spec; returns one line per action taken, for the Job's log."""
    done = []
    for database in spec["databases"]:
        db = client[database["name"]]
        password = env[database["passwordEnv"]]
        state = ensure_user(db, database["username"], password, spec["engine"])
        done.append(f"user {database['username']}@{database['name']}: {state}")
        for collection in database.get("collections", []):
            for index in collection.get("indexes", []):
                state = ensure_index(db, collection["name"], index)
                done.append(f"index {database['name']}.{collection['name']}.{index['name']}: {state}")
    return done


def connect(spec: dict[str, Any], password: str, timeout: float) -> MongoClient[Any]:
    """A client authenticated as the administrative user, once the server answers (it may still be starting)."""
    deadline = time.monotonic() + timeout
    while True:
        client: MongoClient[Any] = MongoClient(
            host=spec["host"],
            port=int(spec["port"]),
            username=spec["rootUsername"],
            password=password,
            authSource="admin",
            serverSelectionTimeoutMS=5000,
        )
        try:
            client.admin.command("ping")
            # ping needs no authentication on either server; listing databases does.
            client.list_database_names()
            return client
        except ConnectionFailure as err:
            client.close()
            if time.monotonic() > deadline:
                raise
            print(f"waiting for {spec['host']}:{spec['port']}: {err}", flush=True)
            time.sleep(3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", required=True, help="the spec, as JSON")
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for the server")
    args = parser.parse_args(argv)
    spec = json.loads(args.spec)
    client = connect(spec, os.environ["ROOT_PASSWORD"], args.timeout)
    try:
        for line in ensure(client, spec, dict(os.environ)):
            print(line, flush=True)
    finally:
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
