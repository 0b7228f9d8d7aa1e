"""charts/redis on the kind cluster: password auth, the connection Secret, AOF persistence."""

from __future__ import annotations

from devkit import kube

RELEASE = "cache"
FULLNAME = "cache-redis"

# A redis-py client in a toolbox pod, configured only by the connection Secret's `url`.
CLIENT = """
import os, sys, time
import redis

client = redis.Redis.from_url(os.environ["URL"], socket_timeout=5)
for attempt in range(30):  # kube-proxy programs a new Service a moment after its endpoint is ready
    try:
        client.ping()
        break
    except redis.ConnectionError:
        time.sleep(2)
if os.environ["MODE"] == "write":
    client.set("kept", "across restarts")
    client.rpush("events", *[f"e{i}" for i in range(100)])
print("kept:", client.get("kept").decode())
print("events:", client.llen("events"))
try:
    redis.Redis(host=client.connection_pool.connection_kwargs["host"], socket_timeout=5).ping()
    print("anonymous: allowed")
except redis.AuthenticationError:
    print("anonymous: refused")
"""


def _client(namespace: str, name: str, mode: str) -> dict[str, str]:
    env = [
        {"name": "URL", "valueFrom": {"secretKeyRef": {"name": f"{FULLNAME}-connection", "key": "url"}}},
        {"name": "MODE", "value": mode},
    ]
    out = kube.run_script(namespace, name, CLIENT, labels={"airyard.io/redis-client": "true"}, env=env)
    return dict(line.split(": ", 1) for line in out.strip().splitlines())


def test_redis_authenticates_and_keeps_data_across_pod_deletion(namespace: str) -> None:
    kube.helm_install("redis", RELEASE, namespace)
    kube.wait_until(
        "the connection Secret",
        lambda: bool(kube.kubectl("get", "secret", f"{FULLNAME}-connection", "-n", namespace, check=False)),
    )
    assert kube.secret_value(f"{FULLNAME}-connection", "url", namespace).startswith("redis://:")
    assert _client(namespace, "writer", "write") == {
        "kept": "across restarts",
        "events": "100",
        "anonymous": "refused",
    }
    password = kube.secret_value(f"{FULLNAME}-auth", "password", namespace)
    kube.replace_pod(f"{FULLNAME}-0", namespace, timeout=180)
    assert _client(namespace, "reader", "read")["events"] == "100"
    kube.helm_install("redis", RELEASE, namespace)  # an upgrade with the same values
    assert kube.secret_value(f"{FULLNAME}-auth", "password", namespace) == password
    policy = kube.get("networkpolicy", FULLNAME, namespace)
    # The kind CNI does not enforce NetworkPolicy: the policy object is what can be checked here.
    assert policy["spec"]["ingress"][0]["from"][0] == {
        "podSelector": {"matchLabels": {"airyard.io/redis-client": "true"}}
    }
