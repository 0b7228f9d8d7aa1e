"""airyard_toolbox.objectstore: the buckets, users and policies its Job converges on.

The MinIO calls themselves are exercised against the real server on the cluster
(tests/e2e/test_objectstore.py); here the clients are fakes that keep the state a server would.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from airyard_toolbox import objectstore


class FakeServer:
    """Buckets, policies, users and their policy mapping, as MinIO keeps them."""

    def __init__(self, buckets: set[str] | None = None) -> None:
        self.buckets: dict[str, str | None] = dict.fromkeys(buckets or set(), "us-east-1")
        self.policies: dict[str, dict[str, Any]] = {}
        self.users: dict[str, str] = {}
        self.mapping: dict[str, str] = {}

    def bucket_exists(self, bucket_name: str) -> bool:
        return bucket_name in self.buckets

    def make_bucket(self, bucket_name: str, location: str | None = None) -> None:
        assert bucket_name not in self.buckets, "creating an existing bucket fails on a real server"
        self.buckets[bucket_name] = location

    def policy_add(self, policy_name: str, policy_file: Any = None, policy: dict[str, Any] | None = None) -> str:
        assert policy is not None
        self.policies[policy_name] = policy
        return ""

    def user_add(self, access_key: str, secret_key: str) -> str:
        self.users[access_key] = secret_key
        return ""

    def policy_set(self, policy_name: str, user: str | None = None, group: str | None = None) -> str:
        assert user in self.users
        assert policy_name in self.policies
        self.mapping[user] = policy_name
        return ""


SPEC = {
    "buckets": ["lake", "mlflow", "landing"],
    "users": [
        {"name": "mlflow", "bucket": "mlflow", "readBuckets": ["lake"]},
        {"name": "loader", "bucket": "landing"},
    ],
}
KEYS = {"mlflow": ("AKmlflow", "SKmlflow"), "loader": ("AKloader", "SKloader")}


def test_buckets_users_and_policies_are_created() -> None:
    server = FakeServer()
    done = objectstore.ensure(server, server, SPEC, "eu-west-1", KEYS.__getitem__)
    assert server.buckets == {"lake": "eu-west-1", "mlflow": "eu-west-1", "landing": "eu-west-1"}
    assert server.users == {"AKmlflow": "SKmlflow", "AKloader": "SKloader"}
    assert server.mapping == {"AKmlflow": "airyard-user-mlflow", "AKloader": "airyard-user-loader"}
    assert "bucket lake: created" in done


def test_a_second_run_keeps_everything_and_changes_nothing() -> None:
    server = FakeServer()
    objectstore.ensure(server, server, SPEC, "us-east-1", KEYS.__getitem__)
    before = (dict(server.buckets), dict(server.policies), dict(server.users), dict(server.mapping))
    done = objectstore.ensure(server, server, SPEC, "us-east-1", KEYS.__getitem__)
    assert (server.buckets, server.policies, server.users, server.mapping) == before
    assert [line for line in done if line.startswith("bucket")] == [
        "bucket lake: exists, kept",
        "bucket mlflow: exists, kept",
        "bucket landing: exists, kept",
    ]


def test_a_users_bucket_is_created_even_when_not_listed() -> None:
    server = FakeServer()
    objectstore.ensure(server, server, {"users": [{"name": "x", "bucket": "own"}]}, "us-east-1", lambda _: ("a", "b"))
    assert set(server.buckets) == {"own"}


def _allowed(policy: dict[str, Any], action: str, resource: str) -> bool:
    """AWS-style evaluation of an allow-only policy (exact actions, `/*` object wildcards)."""
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        for pattern in statement["Resource"]:
            matches = resource.startswith(pattern[:-1]) if pattern.endswith("*") else resource == pattern
            if matches and action in statement["Action"]:
                return True
    return False


def test_policy_allows_writing_the_own_bucket_only() -> None:
    policy = objectstore.policy_document({"name": "mlflow", "bucket": "mlflow", "readBuckets": ["lake"]})
    assert _allowed(policy, "s3:PutObject", "arn:aws:s3:::mlflow/run/1/model.pkl")
    assert _allowed(policy, "s3:DeleteObject", "arn:aws:s3:::mlflow/run/1/model.pkl")
    assert _allowed(policy, "s3:ListBucket", "arn:aws:s3:::mlflow")
    assert _allowed(policy, "s3:GetObject", "arn:aws:s3:::lake/table/part-0.parquet")
    assert _allowed(policy, "s3:ListBucket", "arn:aws:s3:::lake")
    assert not _allowed(policy, "s3:PutObject", "arn:aws:s3:::lake/table/part-0.parquet")
    assert not _allowed(policy, "s3:DeleteObject", "arn:aws:s3:::lake/table/part-0.parquet")
    # A bucket whose name starts with the user's must not match its "mlflow/*" resource.
    assert not _allowed(policy, "s3:PutObject", "arn:aws:s3:::mlflow-other/x")
    assert not _allowed(policy, "s3:GetObject", "arn:aws:s3:::landing/x")
    assert not _allowed(policy, "s3:DeleteBucket", "arn:aws:s3:::mlflow")
    assert not _allowed(policy, "s3:PutBucketPolicy", "arn:aws:s3:::mlflow")


def test_credentials_are_read_from_the_mounted_secret(tmp_path: Path) -> None:
    (tmp_path / "mlflow").mkdir()
    (tmp_path / "mlflow" / "access-key").write_text("AK")
    (tmp_path / "mlflow" / "secret-key").write_text("SK\n")
    assert objectstore.read_credentials(tmp_path, "mlflow") == ("AK", "SK")


def test_waiting_gives_up_with_the_last_error() -> None:
    def refuse() -> None:
        raise ConnectionRefusedError("connection refused")

    with pytest.raises(SystemExit, match="connection refused"):
        objectstore.wait_until_ready(refuse, timeout=0, interval=0)
