"""charts/objectstore on the kind cluster: MinIO with generated credentials, buckets and restricted users.

Clients are real: boto3 in a pod of the toolbox image that carries the client label (as the
platform's pods would), and boto3 on the host through a port-forward.
"""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from devkit import kube

RELEASE = "store"
FULLNAME = f"{RELEASE}-objectstore"
VALUES = {
    "buckets": ["lake", "mlflow", "landing", "airflow-logs"],
    "users": [
        {"name": "mlflow", "bucket": "mlflow", "readBuckets": ["lake"]},
        {"name": "airflow", "bucket": "airflow-logs"},
    ],
    "persistence": {"size": "1Gi"},
}

# Runs in a client pod. It records what the server answered (never asserts itself), so the test
# below asserts on every observation with a readable failure.
CLIENT_SCRIPT = r"""
import json, os
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

def s3(prefix):
    return boto3.client(
        "s3",
        endpoint_url=os.environ[prefix + "ENDPOINT"],
        region_name=os.environ[prefix + "REGION"],
        aws_access_key_id=os.environ[prefix + "ACCESS_KEY"],
        aws_secret_access_key=os.environ[prefix + "SECRET_KEY"],
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 10, "mode": "standard"}),
    )

def attempt(call, **kwargs):
    try:
        response = call(**kwargs)
        body = response.get("Body")
        return "ok:" + body.read().decode() if body else "ok"
    except ClientError as err:
        return err.response["Error"]["Code"]

admin, user, other = s3("ADMIN_"), s3("USER_"), s3("OTHER_")
seen = {"buckets": sorted(b["Name"] for b in admin.list_buckets()["Buckets"]), "bucket": os.environ["USER_BUCKET"]}
seen["admin_put"] = attempt(admin.put_object, Bucket="lake", Key="tables/t.csv", Body=b"a,b\n1,2\n")
seen["admin_get"] = attempt(admin.get_object, Bucket="lake", Key="tables/t.csv")
seen["user_put_own"] = attempt(user.put_object, Bucket="mlflow", Key="runs/1/model.txt", Body=b"model-1")
seen["user_get_own"] = attempt(user.get_object, Bucket="mlflow", Key="runs/1/model.txt")
seen["user_list_own"] = [o["Key"] for o in user.list_objects_v2(Bucket="mlflow").get("Contents", [])]
seen["user_get_read_bucket"] = attempt(user.get_object, Bucket="lake", Key="tables/t.csv")
seen["user_put_read_bucket"] = attempt(user.put_object, Bucket="lake", Key="x", Body=b"x")
seen["user_put_elsewhere"] = attempt(user.put_object, Bucket="landing", Key="x", Body=b"x")
seen["user_get_elsewhere"] = attempt(user.get_object, Bucket="airflow-logs", Key="x")
seen["user_delete_bucket"] = attempt(user.delete_bucket, Bucket="mlflow")
seen["user_create_bucket"] = attempt(user.create_bucket, Bucket="mine")
seen["other_put_own"] = attempt(other.put_object, Bucket="airflow-logs", Key="dag/run/task/1.log", Body=b"log")
seen["other_get_mlflow"] = attempt(other.get_object, Bucket="mlflow", Key="runs/1/model.txt")
print(json.dumps(seen))
"""


def _secret_env(prefix: str, secret: str, keys: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "name": prefix + key.upper().replace("-", "_"),
            "valueFrom": {"secretKeyRef": {"name": secret, "key": key}},
        }
        for key in keys
    ]


def _host_client(namespace: str, port: int) -> Any:
    def key(k: str) -> str:
        return kube.secret_value(f"{FULLNAME}-connection", k, namespace)

    return boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name=key("region"),
        aws_access_key_id=key("access-key"),
        aws_secret_access_key=key("secret-key"),
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 10, "mode": "standard"}),
    )


def _secret_data(namespace: str) -> dict[str, dict[str, str]]:
    names = [f"{FULLNAME}-auth", f"{FULLNAME}-connection", f"{FULLNAME}-user-mlflow", f"{FULLNAME}-user-airflow"]
    return {name: kube.get("secret", name, namespace)["data"] for name in names}


def _setup_jobs(namespace: str) -> dict[str, int]:
    jobs = kube.get("jobs", namespace=namespace)["items"]
    return {
        j["metadata"]["name"]: j["status"].get("succeeded", 0)
        for j in jobs
        if j["metadata"]["labels"].get("app.kubernetes.io/component") == "setup"
    }


def _wait_setup_done(namespace: str) -> None:
    kube.wait_until(
        "the set-up Jobs to succeed", lambda: all(n == 1 for n in _setup_jobs(namespace).values()), timeout=300
    )


def test_minio_serves_buckets_and_restricted_users_and_keeps_data(namespace: str) -> None:
    started = time.monotonic()
    kube.helm_install("objectstore", RELEASE, namespace, VALUES)
    _wait_setup_done(namespace)
    print(f"\nobjectstore installed and set up in {time.monotonic() - started:.0f} s")

    pod = f"{FULLNAME}-0"
    status = kube.get("pod", pod, namespace)
    assert {c["type"]: c["status"] for c in status["status"]["conditions"]}["Ready"] == "True"
    assert status["spec"]["securityContext"]["runAsUser"] == 1000
    connection = kube.get("secret", f"{FULLNAME}-connection", namespace)["data"]
    assert set(connection) == {"endpoint", "region", "access-key", "secret-key"}
    assert kube.secret_value(f"{FULLNAME}-connection", "endpoint", namespace) == (
        f"http://{FULLNAME}.{namespace}.svc:9000"
    )
    assert kube.secret_value(f"{FULLNAME}-user-mlflow", "bucket", namespace) == "mlflow"

    keys = ["endpoint", "region", "access-key", "secret-key"]
    env = (
        _secret_env("ADMIN_", f"{FULLNAME}-connection", keys)
        + _secret_env("USER_", f"{FULLNAME}-user-mlflow", [*keys, "bucket"])
        + _secret_env("OTHER_", f"{FULLNAME}-user-airflow", keys)
    )
    out = kube.run_script(namespace, "client", CLIENT_SCRIPT, labels={"airyard.io/objectstore-client": "true"}, env=env)
    seen = json.loads(out.strip().splitlines()[-1])
    assert seen["buckets"] == ["airflow-logs", "lake", "landing", "mlflow"]
    assert seen["bucket"] == "mlflow"
    assert seen["admin_put"] == "ok"
    assert seen["admin_get"] == "ok:a,b\n1,2\n"
    # The restricted user: its own bucket read-write, its readBuckets read-only, nothing else.
    assert seen["user_put_own"] == "ok"
    assert seen["user_get_own"] == "ok:model-1"
    assert seen["user_list_own"] == ["runs/1/model.txt"]
    assert seen["user_get_read_bucket"] == "ok:a,b\n1,2\n"
    assert seen["user_put_read_bucket"] == "AccessDenied"
    assert seen["user_put_elsewhere"] == "AccessDenied"
    assert seen["user_get_elsewhere"] == "AccessDenied"
    assert seen["user_delete_bucket"] == "AccessDenied"
    assert seen["user_create_bucket"] == "AccessDenied"
    assert seen["other_put_own"] == "ok"
    assert seen["other_get_mlflow"] == "AccessDenied"

    # The policy is declared; kind's static ptp CNI does not enforce NetworkPolicy, so this checks
    # what a policy-enforcing CNI would apply, not that other pods are actually refused.
    policy = kube.get("networkpolicy", FULLNAME, namespace)
    sources = policy["spec"]["ingress"][0]["from"]
    assert {"podSelector": {"matchLabels": {"airyard.io/objectstore-client": "true"}}} in sources
    assert policy["spec"]["ingress"][0]["ports"] == [{"port": 9000, "protocol": "TCP"}]

    # Data survives the pod: it lives on the claim, which the new pod mounts again.
    kube.replace_pod(pod, namespace, timeout=180)
    with kube.port_forward(f"service/{FULLNAME}", namespace, 9000) as port:
        s3 = _host_client(namespace, port)
        assert s3.get_object(Bucket="lake", Key="tables/t.csv")["Body"].read() == b"a,b\n1,2\n"
        assert s3.get_object(Bucket="mlflow", Key="runs/1/model.txt")["Body"].read() == b"model-1"
        # The users and their policies are in MinIO's own store on the claim, not only in memory.
        user = boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name="us-east-1",
            aws_access_key_id=kube.secret_value(f"{FULLNAME}-user-mlflow", "access-key", namespace),
            aws_secret_access_key=kube.secret_value(f"{FULLNAME}-user-mlflow", "secret-key", namespace),
            config=Config(s3={"addressing_style": "path"}),
        )
        assert user.get_object(Bucket="mlflow", Key="runs/1/model.txt")["Body"].read() == b"model-1"
        try:
            user.put_object(Bucket="landing", Key="after-restart", Body=b"x")
            refused = ""
        except ClientError as err:
            refused = err.response["Error"]["Code"]
        assert refused == "AccessDenied"


def test_upgrade_keeps_credentials_and_applies_new_buckets(namespace: str) -> None:
    kube.helm_install("objectstore", RELEASE, namespace, VALUES)
    _wait_setup_done(namespace)
    secrets_before, jobs_before = _secret_data(namespace), _setup_jobs(namespace)

    # The same values again: nothing rolls, no set-up Job runs again.
    kube.helm_install("objectstore", RELEASE, namespace, VALUES)
    assert _secret_data(namespace) == secrets_before
    assert _setup_jobs(namespace) == jobs_before

    # A new bucket: a new set-up Job (Helm prunes the old one) creates it; the credentials stay.
    kube.helm_install("objectstore", RELEASE, namespace, {**VALUES, "buckets": [*VALUES["buckets"], "features"]})
    _wait_setup_done(namespace)
    (job,) = _setup_jobs(namespace)
    assert job not in jobs_before
    assert _secret_data(namespace) == secrets_before
    with kube.port_forward(f"service/{FULLNAME}", namespace, 9000) as port:
        names = {b["Name"] for b in _host_client(namespace, port).list_buckets()["Buckets"]}
    assert names == {"lake", "mlflow", "landing", "airflow-logs", "features"}
