"""charts/mongodb on the kind cluster (engine ferretdb): pymongo clients in pods against the real server.

The cluster's CNI does not enforce NetworkPolicy, so the policy is checked for presence and shape
only; the clients carry the client label so that they would pass where it is enforced.
"""

from __future__ import annotations

import json
import time
from typing import Any

from devkit import kube

RELEASE = "airyard"
FULLNAME = f"{RELEASE}-mongodb"
CLIENT_LABELS = {"airyard.io/mongodb-client": "true"}
VALUES: dict[str, Any] = {
    "databases": [
        {
            "name": "analytics",
            "collections": [
                {
                    "name": "events",
                    "indexes": [
                        {"name": "event_id_unique", "keys": ["event_id"], "unique": True},
                        {"name": "user_time", "keys": ["user_id", "-ts"]},
                    ],
                }
            ],
        },
        {"name": "features", "username": "ml"},
    ],
    "persistence": {"size": "256Mi"},
}

# Every script prints one JSON line last; the test asserts on it.
WRITE_AND_READ = """
import json, os
from pymongo import MongoClient
from pymongo.errors import DuplicateKeyError
client = MongoClient(os.environ["URI"], serverSelectionTimeoutMS=20000)
events = client.get_default_database()["events"]
events.insert_many([{"event_id": i, "user_id": "u%d" % (i % 2), "ts": i} for i in range(5)])
try:
    events.insert_one({"event_id": 3, "user_id": "dup", "ts": 99})
    duplicate = "accepted"
except DuplicateKeyError as err:
    duplicate = "refused %d" % err.code
indexes = {i["name"]: {"key": list(i["key"].items()), "unique": bool(i.get("unique"))} for i in events.list_indexes()}
print(json.dumps({
    "count": events.count_documents({}),
    "u1": sorted(d["event_id"] for d in events.find({"user_id": "u1"})),
    "duplicate": duplicate,
    "indexes": indexes,
}))
"""

REFUSED = """
import json, os
from pymongo import MongoClient
from pymongo.errors import OperationFailure
def attempt(uri):
    try:
        MongoClient(uri, serverSelectionTimeoutMS=20000).analytics.events.find_one()
        return "allowed"
    except OperationFailure as err:
        return "refused %d" % err.code
host = os.environ["HOST"]
print(json.dumps({
    "wrong_password": attempt("mongodb://analytics:not-the-password@%s:27017/analytics" % host),
    "no_credentials": attempt("mongodb://%s:27017/" % host),
    "other_user": attempt(os.environ["ML_URI"].replace(os.environ["ML_PASSWORD"], "guess")),
}))
"""

READ_BACK = """
import json, os
from pymongo import MongoClient
client = MongoClient(os.environ["URI"], serverSelectionTimeoutMS=30000)
db = client.get_default_database()
db["vectors"].insert_one({"_id": "probe", "v": [1.5, 2.5]})
print(json.dumps({
    "count": client.analytics.events.count_documents({}),
    "ml_can_write": db["vectors"].find_one({"_id": "probe"})["v"],
}))
"""


def uri_env(database: str, name: str = "URI", key: str = "uri") -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": f"{FULLNAME}-{database}", "key": key}}}


def run_json(namespace: str, name: str, script: str, env: list[dict[str, Any]]) -> dict[str, Any]:
    out = kube.run_script(namespace, name, script, labels=CLIENT_LABELS, env=env)
    return json.loads(out.strip().splitlines()[-1])


def wait_setup_done(namespace: str) -> None:
    kube.kubectl(
        "wait", "-n", namespace, "--for=condition=complete", "job", "-l", "app.kubernetes.io/component=setup",
        "--timeout=300s",
    )  # fmt: skip


def test_ferretdb_authenticates_indexes_and_keeps_data(namespace: str) -> None:
    started = time.monotonic()
    kube.helm_install("mongodb", RELEASE, namespace, VALUES)
    wait_setup_done(namespace)
    print(f"\nmongodb: installed, ready and set up in {time.monotonic() - started:.0f} s")

    # Generated credentials, one connection Secret per declared database, in the documented shape.
    conn = kube.get("secret", f"{FULLNAME}-analytics", namespace)["data"]
    assert set(conn) == {"host", "port", "database", "username", "password", "uri"}
    password = kube.secret_value(f"{FULLNAME}-analytics", "password", namespace)
    assert len(password) == 32
    host = f"{FULLNAME}.{namespace}.svc"
    assert kube.secret_value(f"{FULLNAME}-analytics", "uri", namespace) == (
        f"mongodb://analytics:{password}@{host}:27017/analytics?authSource=analytics"
    )
    assert kube.secret_value(f"{FULLNAME}-features", "username", namespace) == "ml"

    # Writes and reads with the generated credentials; the declared indexes exist, the unique one bites.
    result = run_json(namespace, "writer", WRITE_AND_READ, [uri_env("analytics")])
    assert result["count"] == 5
    assert result["u1"] == [1, 3]
    assert result["duplicate"] == "refused 11000"
    assert result["indexes"]["event_id_unique"] == {"key": [["event_id", 1]], "unique": True}
    assert result["indexes"]["user_time"] == {"key": [["user_id", 1], ["ts", -1]], "unique": False}

    # Authentication is enforced: a wrong password, no credentials, another user's name all fail.
    env = [
        {"name": "HOST", "value": host},
        uri_env("features", "ML_URI"),
        uri_env("features", "ML_PASSWORD", "password"),
    ]
    assert run_json(namespace, "intruder", REFUSED, env) == {
        "wrong_password": "refused 18",
        "no_credentials": "refused 13",
        "other_user": "refused 18",
    }

    # Data survives the pod: delete it, wait for its replacement, read back.
    kube.replace_pod(f"{FULLNAME}-0", namespace)
    after = run_json(namespace, "reader", READ_BACK, [uri_env("features")])
    assert after == {"count": 5, "ml_can_write": [1.5, 2.5]}

    # An upgrade with the same values changes no credential and runs no new set-up Job.
    jobs = sorted(j["metadata"]["name"] for j in kube.get("jobs", "", namespace)["items"])
    kube.helm_install("mongodb", RELEASE, namespace, VALUES)
    assert kube.secret_value(f"{FULLNAME}-analytics", "password", namespace) == password
    assert sorted(j["metadata"]["name"] for j in kube.get("jobs", "", namespace)["items"]) == jobs

    # NetworkPolicy present (this cluster's CNI does not enforce it): only labelled clients, port 27017.
    policy = kube.get("networkpolicy", FULLNAME, namespace)
    ingress = policy["spec"]["ingress"][0]
    assert {"podSelector": {"matchLabels": CLIENT_LABELS}} in ingress["from"]
    assert ingress["ports"] == [{"port": 27017, "protocol": "TCP"}]

    # Claims outlive the release.
    kube.helm("uninstall", RELEASE, "-n", namespace, "--wait")
    claims = [c["metadata"]["name"] for c in kube.get("pvc", "", namespace)["items"]]
    assert claims == [f"data-{FULLNAME}-0"]
