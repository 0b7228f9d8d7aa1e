"""Delta tables' metadata read straight from their _delta_log, with a boto3 S3 client (no Spark)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


def split_s3(path: str) -> tuple[str, str]:
    """s3://bucket/key or s3a://bucket/key -> (bucket, key without trailing slash)."""
    scheme, _, rest = path.partition("://")
    if scheme not in {"s3", "s3a"} or not rest:
        raise ValueError(f"not an s3:// path: {path!r}")
    bucket, _, key = rest.partition("/")
    return bucket, key.strip("/")


@dataclass(frozen=True)
class Commit:
    version: int
    committed_at: datetime
    operation: str


def last_commit(s3: Any, path: str) -> Commit:
    """The latest version of the Delta table at `path` and its commit time.

    Raises FileNotFoundError when there is no table.
    """
    bucket, key = split_s3(path)
    log_prefix = f"{key}/_delta_log/"
    start_after = ""
    try:  # the last checkpoint bounds the listing (the log keeps 30 days of commits)
        doc = json.loads(s3.get_object(Bucket=bucket, Key=log_prefix + "_last_checkpoint")["Body"].read())
        start_after = f"{log_prefix}{int(doc['version']):020d}"
    except s3.exceptions.NoSuchKey:
        pass
    commits: list[tuple[int, str]] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=log_prefix, StartAfter=start_after):
        for obj in page.get("Contents", []):
            name = obj["Key"][len(log_prefix) :]
            if name.endswith(".json") and name[:-5].isdigit():
                commits.append((int(name[:-5]), obj["Key"]))
    if not commits:
        raise FileNotFoundError(f"no Delta table at {path} (no commits in {log_prefix})")
    version, latest = max(commits)
    body = s3.get_object(Bucket=bucket, Key=latest)["Body"].read().decode()
    info = next((json.loads(line)["commitInfo"] for line in body.splitlines() if '"commitInfo"' in line), None)
    if not info or "timestamp" not in info:
        raise ValueError(f"{path} version {version} has no commitInfo timestamp")
    committed = datetime.fromtimestamp(int(info["timestamp"]) / 1000, tz=UTC)
    return Commit(version, committed, str(info.get("operation", "")))
