"""Back up and restore every database of the platform, to and from an S3-compatible bucket.

The backup chart's CronJob runs `create`; `make backup`, `make backups` and `make restore` run the
same CronJob's pod as a Job with other arguments (hack/backup.sh); the Airflow migration Job starts
that Job before a migration (airyard_toolbox.premigration). A backup is a folder of the bucket:

    <prefix><id>/postgresql/roles.sql         pg_dumpall --roles-only: roles missing at restore
    <prefix><id>/postgresql/<database>.dump   pg_dump -Fc of each database but the templates
    <prefix><id>/mongodb/<db>/<coll>.bson.gz  every document of each collection, BSON
    <prefix><id>/manifest.json                written last: a backup without one is incomplete

The manifest lists each file with its size and SHA-256, the Airflow metadata schema (its Alembic
revision) and what took how long. `<prefix>latest.json` names the newest complete backup and when
it finished, for monitoring. Retention keeps the newest scheduled backup of each of the last N
days with one and of each of the last M ISO weeks, every other backup (manual, pre-migration)
for D days; incomplete backups older than a day go.

A restore checks everything before it changes anything: the backup exists, every file matches
its checksum, and the installed Airflow knows the backup's schema revision (ConfigMap
airyard-airflow-schema, written by the migration Job). It then restores each PostgreSQL database
into a new database and swaps the new one in by name only once all of them are restored, so a
failure leaves the running databases as they were. Each MongoDB collection is dropped, refilled
and given its indexes of the backup again.

Configuration is the environment (the chart sets it): PGHOST, PGPORT, PGUSER, PGPASSWORD;
MONGO_HOST, MONGO_PORT, MONGO_USERNAME, MONGO_PASSWORD (no MONGO_HOST: no MongoDB);
S3_ENDPOINT, S3_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, BACKUP_BUCKET, BACKUP_PREFIX;
RETAIN_DAILY, RETAIN_WEEKLY, RETAIN_OTHER_DAYS; AIRFLOW_DATABASE; SCHEMA_DIR; AIRYARD_VERSION.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from airyard_toolbox.retry import patiently

ID_FORMAT = "%Y%m%dT%H%M%SZ"
SKIPPED_MONGO_DATABASES = {"admin", "config", "local"}
RESTORE_SUFFIX = "__restore"
MANIFEST = "manifest.json"
LATEST = "latest.json"
INSERT_BATCH = 1000


class BackupError(RuntimeError):
    """A backup or restore cannot go on; the message names what is wrong."""


# --- what is kept -------------------------------------------------------------------------------


def backup_id(now: datetime, reason: str) -> str:
    """A sortable id: the UTC time, then the reason (letters, digits and '-')."""
    return f"{now.strftime(ID_FORMAT)}-{re.sub(r'[^a-z0-9-]+', '-', reason.lower()).strip('-') or 'manual'}"


def created_at(identifier: str) -> datetime:
    return datetime.strptime(identifier.split("-", 1)[0], ID_FORMAT).replace(tzinfo=UTC)


@dataclass(frozen=True)
class Retention:
    """Scheduled backups: the newest of each of the last `daily` days and `weekly` ISO weeks that
    have one. Any other backup (manual, pre-migration, after a key rotation) is a point someone
    chose to keep: it stays `other_days` days."""

    daily: int = 7
    weekly: int = 4
    other_days: int = 30

    @classmethod
    def from_env(cls) -> Retention:
        env = os.environ
        return cls(
            int(env.get("RETAIN_DAILY", "7")),
            int(env.get("RETAIN_WEEKLY", "4")),
            int(env.get("RETAIN_OTHER_DAYS", "30")),
        )


def to_keep(ids: Iterable[str], retention: Retention, now: datetime) -> set[str]:
    """What retention keeps of these complete backups; the newest of all always stays."""
    newest_first = sorted(ids, key=created_at, reverse=True)
    keep: set[str] = set(newest_first[:1])
    scheduled = [i for i in newest_first if i.endswith("-scheduled")]
    for count, period in ((retention.daily, lambda t: t.date()), (retention.weekly, lambda t: t.isocalendar()[:2])):
        seen: list[Any] = []
        for identifier in scheduled:
            key = period(created_at(identifier))
            if key not in seen:
                if len(seen) == count:
                    break
                seen.append(key)
                keep.add(identifier)
    cutoff = now - timedelta(days=retention.other_days)
    keep.update(i for i in newest_first if not i.endswith("-scheduled") and created_at(i) >= cutoff)
    return keep


# --- files and checksums ------------------------------------------------------------------------


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def describe_files(root: Path) -> list[dict[str, Any]]:
    """Every file under root with its size and SHA-256, in a stable order."""
    return [
        {"path": p.relative_to(root).as_posix(), "bytes": p.stat().st_size, "sha256": sha256_file(p)}
        for p in sorted(root.rglob("*"))
        if p.is_file()
    ]


def check_files(root: Path, files: list[dict[str, Any]], identifier: str) -> None:
    """Fail, naming the first file that is missing or differs from the manifest."""
    for entry in files:
        path = root / entry["path"]
        if not path.is_file():
            raise BackupError(f"backup {identifier} is incomplete: {entry['path']} is missing from the bucket")
        actual = sha256_file(path)
        if actual != entry["sha256"]:
            raise BackupError(
                f"backup {identifier} is corrupt: {entry['path']} has SHA-256 {actual}, "
                f"the manifest says {entry['sha256']}"
            )


# --- the bucket ---------------------------------------------------------------------------------


@dataclass
class Store:
    """The backups' folder of a bucket (boto3)."""

    s3: Any
    bucket: str
    prefix: str

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] = os.environ,
        *,
        timeout: float | None = None,
        attempts: int = 5,
        default_bucket: str | None = None,
    ) -> Store:
        """The backups' folder from the S3_* and BACKUP_* variables. A backup Job retries and needs
        its bucket named; the exporter's probe has `timeout` seconds and may default the bucket."""
        import boto3
        from botocore.config import Config

        timeouts = {} if timeout is None else {"connect_timeout": timeout, "read_timeout": timeout}
        s3 = boto3.client(
            "s3",
            endpoint_url=env["S3_ENDPOINT"],
            region_name=env.get("S3_REGION") or "us-east-1",
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": attempts}, **timeouts),
        )
        bucket = env["BACKUP_BUCKET"] if default_bucket is None else env.get("BACKUP_BUCKET") or default_bucket
        prefix = env.get("BACKUP_PREFIX", "").strip("/")
        return cls(s3, bucket, f"{prefix}/" if prefix else "")

    def ids(self) -> dict[str, bool]:
        """Each backup's id, and whether it is complete (has its manifest)."""
        found: dict[str, bool] = {}
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix):
            for obj in page.get("Contents", []):
                rest = obj["Key"][len(self.prefix) :]
                if "/" in rest:
                    identifier, name = rest.split("/", 1)
                    found[identifier] = found.get(identifier, False) or name == MANIFEST
        return found

    def manifest(self, identifier: str) -> dict[str, Any]:
        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=f"{self.prefix}{identifier}/{MANIFEST}")["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            complete = sorted(i for i, ok in self.ids().items() if ok)
            raise BackupError(
                f"backup {identifier!r} does not exist in s3://{self.bucket}/{self.prefix} "
                f"(complete backups: {', '.join(complete[-5:]) or 'none'})"
            ) from None
        return json.loads(body)

    def upload(self, root: Path, identifier: str) -> None:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                key = f"{self.prefix}{identifier}/{path.relative_to(root).as_posix()}"
                self.s3.upload_file(str(path), self.bucket, key)

    def put_json(self, key: str, document: dict[str, Any]) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=f"{self.prefix}{key}", Body=json.dumps(document, indent=2).encode())

    def download(self, identifier: str, files: list[dict[str, Any]], root: Path) -> None:
        for entry in files:
            target = root / entry["path"]
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                self.s3.download_file(self.bucket, f"{self.prefix}{identifier}/{entry['path']}", str(target))
            except Exception as err:  # botocore raises ClientError 404 for a missing key
                if "404" not in str(err) and "Not Found" not in str(err):
                    raise
                raise BackupError(
                    f"backup {identifier} is incomplete: {entry['path']} is missing from the bucket"
                ) from None

    def delete(self, identifier: str) -> int:
        keys = [
            {"Key": obj["Key"]}
            for page in self.s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=f"{self.prefix}{identifier}/"
            )
            for obj in page.get("Contents", [])
        ]
        for i in range(0, len(keys), 1000):
            self.s3.delete_objects(Bucket=self.bucket, Delete={"Objects": keys[i : i + 1000], "Quiet": True})
        return len(keys)


# --- PostgreSQL ---------------------------------------------------------------------------------


def pg_connect(dbname: str = "postgres") -> psycopg.Connection[Any]:
    return psycopg.connect(dbname=dbname, autocommit=True, connect_timeout=10)


def pg_databases() -> dict[str, str]:
    """Every database but the templates and `postgres`, with its owner."""
    with pg_connect() as conn:
        rows = conn.execute(
            "SELECT d.datname, r.rolname FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba "
            "WHERE NOT d.datistemplate AND d.datname <> 'postgres' ORDER BY d.datname"
        ).fetchall()
    return {name: owner for name, owner in rows if not name.endswith(RESTORE_SUFFIX)}


def airflow_revision(database: str | None = None) -> str | None:
    """The Alembic revision of Airflow's metadata database; None when it has no schema yet.
    `database` None: libpq's PGDATABASE. A database that cannot be reached is an error."""
    with psycopg.connect(dbname=database, connect_timeout=10) as conn:  # None: left out of the conninfo
        exists = conn.execute("SELECT to_regclass('alembic_version') IS NOT NULL").fetchone()
        if not exists or not exists[0]:
            return None
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return row[0] if row else None


def run(command: list[str], **kwargs: Any) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)
    if result.returncode != 0:
        raise BackupError(f"{command[0]} failed ({result.returncode}): {result.stderr.strip()[-2000:]}")


def dump_postgresql(root: Path) -> dict[str, str]:
    (root / "postgresql").mkdir(parents=True)
    run(["pg_dumpall", "--roles-only", "--file", str(root / "postgresql" / "roles.sql")])
    databases = pg_databases()
    for name in databases:
        run(["pg_dump", "--format=custom", "--dbname", name, "--file", str(root / "postgresql" / f"{name}.dump")])
    return databases


ROLE_STATEMENT = re.compile(r'^(?:CREATE|ALTER) ROLE ("(?:[^"]|"")+"|[a-z_][a-z0-9_$]*)', re.IGNORECASE)


def missing_role_statements(script: str, existing: set[str]) -> list[str]:
    """The statements of a roles dump that create or alter roles which do not exist here.

    Existing roles keep their passwords: each chart sets them from its Secret, which is what the
    running clients use.
    """
    kept = []
    for line in script.splitlines():
        match = ROLE_STATEMENT.match(line)
        if match:
            role = match.group(1)
            role = role[1:-1].replace('""', '"') if role.startswith('"') else role
            if role not in existing:
                kept.append(line)
    return kept


def restore_postgresql(root: Path, databases: dict[str, str]) -> None:
    with pg_connect() as conn:
        existing = {r[0] for r in conn.execute("SELECT rolname FROM pg_roles").fetchall()}
        for statement in missing_role_statements((root / "postgresql" / "roles.sql").read_text(), existing):
            conn.execute(statement.encode())
        # Every database into a new one first: a failure leaves the running ones untouched.
        for name, owner in databases.items():
            staging = sql.Identifier(name + RESTORE_SUFFIX)
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(staging))
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(staging, sql.Identifier(owner)))
            run(
                [
                    "pg_restore",
                    "--exit-on-error",
                    "--single-transaction",
                    "--dbname",
                    name + RESTORE_SUFFIX,
                    str(root / "postgresql" / f"{name}.dump"),
                ]
            )
        for name in databases:
            target = sql.Identifier(name)
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(target))
            conn.execute(
                sql.SQL("ALTER DATABASE {} RENAME TO {}").format(sql.Identifier(name + RESTORE_SUFFIX), target)
            )
            # As the postgresql chart leaves it: only the owner (and the superuser) may connect.
            conn.execute(sql.SQL("REVOKE CONNECT ON DATABASE {} FROM PUBLIC").format(target))


# --- MongoDB (FerretDB) -------------------------------------------------------------------------


def mongo_client() -> Any:
    from pymongo import MongoClient

    return MongoClient(
        host=os.environ["MONGO_HOST"],
        port=int(os.environ.get("MONGO_PORT", "27017")),
        username=os.environ["MONGO_USERNAME"],
        password=os.environ["MONGO_PASSWORD"],
        authSource="admin",
        serverSelectionTimeoutMS=10000,
    )


def dump_mongodb(root: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """Each collection's documents into <db>/<coll>.bson.gz; returns its count and indexes."""
    import bson

    collections: dict[str, dict[str, dict[str, Any]]] = {}
    with mongo_client() as client:
        for db_name in sorted(set(client.list_database_names()) - SKIPPED_MONGO_DATABASES):
            folder = root / "mongodb" / db_name
            folder.mkdir(parents=True)
            collections[db_name] = {}
            for coll in sorted(client[db_name].list_collection_names()):
                if coll.startswith("system."):
                    continue
                n = 0
                with gzip.open(folder / f"{coll}.bson.gz", "wb") as out:
                    for document in client[db_name][coll].find({}, sort=[("_id", 1)]):
                        out.write(bson.encode(document))
                        n += 1
                indexes = [
                    {"name": name, "key": [list(k) for k in info["key"]], "unique": bool(info.get("unique"))}
                    for name, info in sorted(client[db_name][coll].index_information().items())
                    if name != "_id_"
                ]
                collections[db_name][coll] = {"documents": n, "indexes": indexes}
    return collections


def batches(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def restore_mongodb(root: Path, collections: dict[str, dict[str, dict[str, Any]]]) -> None:
    """Each collection dropped and refilled, then its indexes made again.

    Dropping, not deleting every document: FerretDB 1.x deletes and updates one document at a time.
    """
    import bson

    with mongo_client() as client:
        for db_name, colls in collections.items():
            for coll, saved in colls.items():
                target = client[db_name][coll]
                target.drop()
                with gzip.open(root / "mongodb" / db_name / f"{coll}.bson.gz", "rb") as f:
                    for batch in batches(bson.decode_file_iter(f), INSERT_BATCH):
                        target.insert_many(batch, ordered=False)
                for index in saved["indexes"]:
                    target.create_index([tuple(k) for k in index["key"]], name=index["name"], unique=index["unique"])


# --- commands -----------------------------------------------------------------------------------


def wait_for_services(store: Store) -> None:
    """Until the bucket, PostgreSQL and MongoDB answer."""
    patiently("the bucket", lambda: store.s3.head_bucket(Bucket=store.bucket))
    if os.environ.get("PGHOST"):
        patiently("PostgreSQL", lambda: pg_connect().close())
    if os.environ.get("MONGO_HOST"):

        def ping() -> None:
            with mongo_client() as client:
                client.admin.command("ping")

        patiently("MongoDB", ping)


def create(store: Store, reason: str) -> dict[str, Any]:
    started = time.monotonic()
    now = datetime.now(tz=UTC)
    identifier = backup_id(now, reason)
    airflow_db = os.environ.get("AIRFLOW_DATABASE", "airflow")
    with tempfile.TemporaryDirectory(dir=os.environ.get("BACKUP_WORKDIR")) as tmp:
        root = Path(tmp)
        databases = dump_postgresql(root)
        collections = dump_mongodb(root) if os.environ.get("MONGO_HOST") else {}
        dumped = time.monotonic()
        files = describe_files(root)
        store.upload(root, identifier)
    manifest = {
        "id": identifier,
        "created": now.isoformat(),
        "reason": reason,
        "airyard_version": os.environ.get("AIRYARD_VERSION", ""),
        "airflow_database": airflow_db,
        "airflow_schema": airflow_revision(airflow_db) if airflow_db in databases else None,
        "postgresql": databases,
        "mongodb": collections,
        "files": files,
        "bytes": sum(f["bytes"] for f in files),
        "dump_seconds": round(dumped - started, 1),
        "seconds": round(time.monotonic() - started, 1),
    }
    store.put_json(f"{identifier}/{MANIFEST}", manifest)
    store.put_json(
        LATEST, {"id": identifier, "completed": datetime.now(tz=UTC).isoformat(), "bytes": manifest["bytes"]}
    )
    pruned = prune(store, Retention.from_env())
    return {k: manifest[k] for k in ("id", "bytes", "seconds", "airflow_schema")} | {"pruned": pruned}


def prune(store: Store, retention: Retention) -> list[str]:
    found = store.ids()
    now = datetime.now(tz=UTC)
    keep = to_keep([i for i, complete in found.items() if complete], retention, now)
    day_ago = now - timedelta(days=1)
    doomed = [i for i, complete in found.items() if (i not in keep if complete else created_at(i) < day_ago)]
    for identifier in doomed:
        store.delete(identifier)
    return sorted(doomed)


def listing(store: Store) -> list[dict[str, Any]]:
    rows = []
    for identifier, complete in sorted(store.ids().items()):
        if not complete:
            rows.append({"id": identifier, "complete": False})
            continue
        m = store.manifest(identifier)
        rows.append({"id": identifier, "complete": True, "bytes": m["bytes"], "airflow_schema": m["airflow_schema"]})
    return rows


def known_revisions(schema_dir: Path) -> set[str]:
    path = schema_dir / "revisions"
    if not path.is_file():
        raise BackupError(
            f"cannot tell which Airflow schemas this install knows: {path} is missing (the ConfigMap "
            "airyard-airflow-schema is written by the Airflow migration Job; let it run first)"
        )
    return set(path.read_text().split())


def fetch_checked(store: Store, identifier: str, manifest: dict[str, Any], root: Path) -> None:
    """The backup's files into root, each checked against the manifest."""
    store.download(identifier, manifest["files"], root)
    check_files(root, manifest["files"], identifier)


def restore(store: Store, identifier: str, schema_dir: Path) -> dict[str, Any]:
    started = time.monotonic()
    manifest = store.manifest(identifier)
    revision = manifest.get("airflow_schema")
    if revision and revision not in known_revisions(schema_dir):
        head = (schema_dir / "head").read_text().strip() if (schema_dir / "head").is_file() else "unknown"
        raise BackupError(
            f"backup {identifier} comes from a newer Airflow schema (revision {revision}) than this install "
            f"knows (head {head}): upgrade the platform to the version that made it "
            f"({manifest.get('airyard_version')}) first"
        )
    with tempfile.TemporaryDirectory(dir=os.environ.get("BACKUP_WORKDIR")) as tmp:
        root = Path(tmp)
        fetch_checked(store, identifier, manifest, root)
        checked = time.monotonic()
        restore_postgresql(root, manifest["postgresql"])
        if manifest["mongodb"]:
            restore_mongodb(root, manifest["mongodb"])
    return {
        "id": identifier,
        "bytes": manifest["bytes"],
        "check_seconds": round(checked - started, 1),
        "seconds": round(time.monotonic() - started, 1),
    }


def verify(store: Store, identifier: str) -> dict[str, Any]:
    manifest = store.manifest(identifier)
    with tempfile.TemporaryDirectory(dir=os.environ.get("BACKUP_WORKDIR")) as tmp:
        fetch_checked(store, identifier, manifest, Path(tmp))
    return {"id": identifier, "files": len(manifest["files"]), "bytes": manifest["bytes"], "ok": True}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("create", help="take a backup").add_argument("--reason", default="manual")
    commands.add_parser("list", help="list the backups")
    commands.add_parser("verify", help="check a backup's files against its manifest").add_argument("id")
    restore_parser = commands.add_parser("restore", help="restore a backup")
    restore_parser.add_argument("id")
    args = parser.parse_args(argv)
    store = Store.from_env()
    schema_dir = Path(os.environ.get("SCHEMA_DIR", "/schema"))
    try:
        wait_for_services(store)
        if args.command == "create":
            result: Any = create(store, args.reason)
        elif args.command == "list":
            result = listing(store)
        elif args.command == "verify":
            result = verify(store, args.id)
        else:
            result = restore(store, args.id, schema_dir)
    except BackupError as err:
        print(f"ERROR {err}", file=sys.stderr, flush=True)
        return 2
    print("RESULT " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
