"""Platform housekeeping task code (airflow_log_retention)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any


def delete_older_than(s3: Any, bucket: str, days: int, *, prefix: str = "", dry_run: bool = False) -> dict[str, int]:
    """Delete objects last modified more than `days` ago; returns {"kept", "deleted"}.

    Deletes in batches of 1000 keys, the S3 API's limit per request.
    """
    cutoff = datetime.now(tz=UTC) - timedelta(days=days)
    kept, doomed = 0, []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            if obj["LastModified"] < cutoff:
                doomed.append({"Key": obj["Key"]})
            else:
                kept += 1
    if not dry_run:
        for i in range(0, len(doomed), 1000):
            resp = s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed[i : i + 1000], "Quiet": True})
            if resp.get("Errors"):
                raise RuntimeError(f"delete failed for {len(resp['Errors'])} objects: {resp['Errors'][:3]}")
    verb = "would be deleted" if dry_run else "deleted"
    print(f"{bucket}/{prefix}: {len(doomed)} objects older than {days} days {verb}, {kept} kept")
    return {"kept": kept, "deleted": len(doomed)}
