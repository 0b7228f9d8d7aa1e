"""Create an object store's buckets, users and per-user policies; safe to run again and again.

The objectstore chart renders a Job that runs this module after its secrets Job has generated the
credentials. Every step converges rather than creates: an existing bucket is kept (with its
objects), a user's secret key is (re)set from its Secret, its policy document is overwritten and
attached in place of whatever was attached before. A re-run is therefore a no-op, and a changed
spec (a user given another bucket) is applied without leftovers.

A spec (JSON, from the chart):

    {"buckets": ["lake", "mlflow"],
     "users": [{"name": "mlflow", "bucket": "mlflow", "readBuckets": ["lake"]}]}

Each user's `access-key` and `secret-key` are files under `<users-dir>/<name>/` (the user's
connection Secret, mounted). The admin credentials come from the environment
(OBJECTSTORE_ACCESS_KEY, OBJECTSTORE_SECRET_KEY). S3 goes through the `minio` client; users and
policies through MinIO's admin API (MinioAdmin), which has no S3 or AWS IAM equivalent.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

# Object actions a user may take in its own bucket: everything a writer needs (multipart
# uploads included, which boto3 and MLflow use for large artifacts), and no bucket administration.
WRITE_OBJECT_ACTIONS = [
    "s3:GetObject",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:AbortMultipartUpload",
    "s3:ListMultipartUploadParts",
]
LIST_BUCKET_ACTIONS = ["s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"]


class Buckets(Protocol):
    def bucket_exists(self, bucket_name: str) -> bool: ...

    def make_bucket(self, bucket_name: str, location: str | None = None) -> None: ...


class Admin(Protocol):
    def policy_add(self, policy_name: str, policy_file: Any = None, policy: dict[str, Any] | None = None) -> str: ...

    def user_add(self, access_key: str, secret_key: str) -> str: ...

    def policy_set(self, policy_name: str, user: str | None = None, group: str | None = None) -> str: ...


def policy_name(user: str) -> str:
    return f"airyard-user-{user}"


def policy_document(user: dict[str, Any]) -> dict[str, Any]:
    """An IAM-style policy: read-write on the user's bucket, read-only on its readBuckets, nothing else."""
    own = user["bucket"]
    readable = [b for b in user.get("readBuckets", []) if b != own]
    statements: list[dict[str, Any]] = [
        {
            "Effect": "Allow",
            "Action": LIST_BUCKET_ACTIONS,
            "Resource": [f"arn:aws:s3:::{b}" for b in [own, *readable]],
        },
        {"Effect": "Allow", "Action": WRITE_OBJECT_ACTIONS, "Resource": [f"arn:aws:s3:::{own}/*"]},
    ]
    if readable:
        statements.append(
            {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": [f"arn:aws:s3:::{b}/*" for b in readable]}
        )
    return {"Version": "2012-10-17", "Statement": statements}


def read_credentials(users_dir: Path, name: str) -> tuple[str, str]:
    directory = users_dir / name
    return (directory / "access-key").read_text().strip(), (directory / "secret-key").read_text().strip()


def ensure(
    s3: Buckets,
    admin: Admin,
    spec: dict[str, Any],
    region: str,
    credentials: Callable[[str], tuple[str, str]],
) -> list[str]:
    """Converge the store on the spec; returns what it did, one line per step."""
    done = []
    user_buckets = [u["bucket"] for u in spec.get("users", [])]
    for bucket in dict.fromkeys([*spec.get("buckets", []), *user_buckets]):
        if s3.bucket_exists(bucket):
            done.append(f"bucket {bucket}: exists, kept")
        else:
            s3.make_bucket(bucket, location=region)
            done.append(f"bucket {bucket}: created")
    for user in spec.get("users", []):
        access_key, secret_key = credentials(user["name"])
        admin.policy_add(policy_name(user["name"]), policy=policy_document(user))
        admin.user_add(access_key, secret_key)
        # set-policy replaces the user's mapping, so a user moved to another bucket loses the old one.
        admin.policy_set(policy_name(user["name"]), user=access_key)
        done.append(f"user {user['name']}: policy {policy_name(user['name'])} on bucket {user['bucket']}")
    return done


def wait_until_ready(probe: Callable[[], object], timeout: float, interval: float = 3) -> None:
    """Retry the probe until the server answers: the Job may start before the server is Ready."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            probe()
            return
        except Exception as exc:  # connection refused, 503 while starting: all mean "not yet"
            if time.monotonic() >= deadline:
                raise SystemExit(f"object store not ready after {timeout:.0f} s: {exc}") from exc
            print(f"waiting for the object store: {exc}")
            time.sleep(interval)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", required=True, help="host:port of the S3 API")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--secure", action="store_true", help="use HTTPS")
    parser.add_argument("--users-dir", type=Path, default=Path("/var/run/airyard/users"))
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for the server")
    parser.add_argument("--spec", required=True, help="the spec, as JSON")
    args = parser.parse_args(argv)
    spec = json.loads(args.spec)

    # Imported here so the pure logic above (and its unit tests) does not need the client.
    from minio import Minio, MinioAdmin
    from minio.credentials import StaticProvider

    access_key, secret_key = os.environ["OBJECTSTORE_ACCESS_KEY"], os.environ["OBJECTSTORE_SECRET_KEY"]

    def client() -> Minio:
        return Minio(args.endpoint, access_key, secret_key, region=args.region, secure=args.secure)

    # A new client (and connection) per attempt: a Job started while the server rolled kept
    # getting 404 on its pooled connection for minutes after the new server was up.
    wait_until_ready(lambda: client().list_buckets(), args.timeout)
    s3 = client()
    admin = MinioAdmin(
        endpoint=args.endpoint,
        credentials=StaticProvider(access_key, secret_key),
        region=args.region,
        secure=args.secure,
    )
    for line in ensure(s3, admin, spec, args.region, lambda name: read_credentials(args.users_dir, name)):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
