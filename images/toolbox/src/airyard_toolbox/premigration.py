"""Before the Airflow metadata database is migrated: record the schema, back the platform up.

airflow-bootstrap's migration Job runs this between an init container of the Airflow image, which
writes the image's Alembic head and every revision it knows into /schema-out (head, revisions),
and `airflow db migrate`. It:

1. writes them to the ConfigMap airyard-airflow-schema, which a restore reads to refuse a backup of
   a newer schema than the installed Airflow knows;
2. reads the database's revision: none (a new install) or the head means there is nothing to
   migrate; any other runs the backup chart's CronJob as a Job, reason `pre-migration`, and waits
   for it. A failed backup fails the migration Job, so no schema changes without a backup.

Environment: the metadata database as libpq's PG* variables, BACKUP_CRONJOB ("" = no backup),
SCHEMA_CONFIGMAP, BACKUP_TIMEOUT (seconds).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import psycopg

from airyard_toolbox.backup import airflow_revision
from airyard_toolbox.kubeapi import ApiError, KubeApi
from airyard_toolbox.retry import patiently

SA_NAMESPACE_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"


def write_schema(api: KubeApi, namespace: str, name: str, head: str, revisions: str) -> None:
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name},
        "data": {"head": head, "revisions": revisions},
    }
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    try:
        api.request("PUT", f"{path}/{name}", body)
    except ApiError as err:
        if err.status != 404:
            raise
        api.request("POST", path, body)


def job_from_cronjob(cronjob: dict[str, Any], name: str, args: list[str]) -> dict[str, Any]:
    """The CronJob's Job with other arguments, as `kubectl create job --from=cronjob/…` makes it."""
    template = cronjob["spec"]["jobTemplate"]
    spec = dict(template["spec"])
    pod = dict(spec["template"]["spec"])
    pod["containers"] = [dict(pod["containers"][0], args=args), *pod["containers"][1:]]
    spec["template"] = dict(spec["template"], spec=pod)
    metadata: dict[str, Any] = {"name": name, "labels": dict(template.get("metadata", {}).get("labels", {}))}
    owner = cronjob.get("metadata", {})
    if owner.get("uid"):  # as kubectl does: the CronJob's history keeps it, and deleting it deletes the Job
        metadata["ownerReferences"] = [
            {"apiVersion": "batch/v1", "kind": "CronJob", "name": owner["name"], "uid": owner["uid"]}
        ]
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": metadata, "spec": spec}


def run_backup(api: KubeApi, namespace: str, cronjob_name: str, reason: str, timeout: float) -> str:
    try:
        cronjob = api.request("GET", f"/apis/batch/v1/namespaces/{namespace}/cronjobs/{cronjob_name}")
    except ApiError as err:
        if err.status != 404:
            raise
        raise RuntimeError(
            f"no backup CronJob {cronjob_name} in {namespace}: install the backup chart (backup.enabled), name "
            "its CronJob in airflow-bootstrap.migrations.backupCronJob, or set migrations.backupFirst=false"
        ) from None
    name = f"{cronjob_name}-{time.strftime('%Y%m%d%H%M%S', time.gmtime())}"[:63]
    job = job_from_cronjob(cronjob, name, ["create", "--reason", reason])
    api.request("POST", f"/apis/batch/v1/namespaces/{namespace}/jobs", job)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = api.request("GET", f"/apis/batch/v1/namespaces/{namespace}/jobs/{name}").get("status", {})
        if status.get("succeeded"):
            return name
        for condition in status.get("conditions", []):
            if condition.get("type") == "Failed" and condition.get("status") == "True":
                raise RuntimeError(
                    f"backup Job {name} failed ({condition.get('message')}): not migrating without a backup"
                )
        time.sleep(5)
    raise RuntimeError(f"backup Job {name} did not finish in {timeout:.0f} s: not migrating without a backup")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schema", type=Path, default=Path("/schema-out"))
    args = parser.parse_args(argv)
    head = (args.schema / "head").read_text().strip()
    api = KubeApi.in_cluster()
    namespace = Path(SA_NAMESPACE_FILE).read_text().strip()
    revisions = (args.schema / "revisions").read_text()
    # A refused connection to the API is a URLError, an OSError; an answer (ApiError) is final.
    write = lambda: write_schema(api, namespace, os.environ["SCHEMA_CONFIGMAP"], head, revisions)  # noqa: E731
    patiently("the Kubernetes API", write, (OSError,))
    revision = patiently("the metadata database", airflow_revision, (psycopg.OperationalError,))
    if revision is None or revision == head:
        print(f"metadata schema {revision or 'empty'}, image head {head}: no backup needed", flush=True)
        return 0
    cronjob = os.environ.get("BACKUP_CRONJOB", "")
    if not cronjob:
        print(f"metadata schema {revision} -> {head}: backups are off, migrating without one", flush=True)
        return 0
    print(f"metadata schema {revision} -> {head}: backing up first", flush=True)
    job = run_backup(
        api, namespace, cronjob, f"pre-migration-{revision}", float(os.environ.get("BACKUP_TIMEOUT", "1800"))
    )
    print(f"backup Job {job} succeeded", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
