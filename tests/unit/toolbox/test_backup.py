"""airyard_toolbox.backup and premigration: what is kept, what a restore refuses, which roles it makes.

Dumps, uploads and restores run against the platform's real PostgreSQL, FerretDB and object store in
tests/e2e/test_backup.py.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from airyard_toolbox import backup, premigration
from airyard_toolbox.backup import BackupError


def _ids(*times: str, reason: str = "scheduled") -> list[str]:
    return [backup.backup_id(datetime.fromisoformat(t).replace(tzinfo=UTC), reason) for t in times]


NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)


def test_ids_sort_by_time_and_carry_a_clean_reason() -> None:
    now = datetime(2026, 12, 7, 2, 17, 0, tzinfo=UTC)
    assert backup.backup_id(now, "Pre-Migration 29ce7909") == "20261207T021700Z-pre-migration-29ce7909"
    assert backup.created_at("20261207T021700Z-manual") == now


def test_retention_keeps_the_newest_scheduled_backup_of_each_recent_day_and_week() -> None:
    ids = _ids(
        "2026-12-07T02:17",
        "2026-12-07T01:00",  # same day as the newest: superseded
        "2026-12-06T02:17",
        "2026-12-05T02:17",
        "2026-11-30T02:17",  # ISO week 49 runs from Monday 30 Nov to Sunday 6 Dec
        "2026-11-23T02:17",
        "2026-11-16T02:17",
    )
    # Weeks 50 and 49 are represented by 7 and 6 Dec, kept as dailies already; week 48 by 23 Nov.
    keep = backup.to_keep(ids, backup.Retention(daily=2, weekly=3), NOW)
    assert keep == set(_ids("2026-12-07T02:17", "2026-12-06T02:17", "2026-11-23T02:17"))
    assert backup.to_keep(ids, backup.Retention(daily=0, weekly=0), NOW) == set(_ids("2026-12-07T02:17"))
    assert backup.to_keep(ids, backup.Retention(daily=30, weekly=0), NOW) == set(ids) - set(_ids("2026-12-07T01:00"))


def test_a_manual_or_pre_migration_backup_outlives_later_scheduled_ones_for_its_days() -> None:
    scheduled = _ids("2026-12-07T02:17", "2026-12-06T02:17")
    manual = _ids("2026-12-07T01:00", reason="manual") + _ids("2026-11-30T09:00", reason="pre-migration-d2f4e1b3c5a7")
    old = _ids("2026-10-01T09:00", reason="manual")
    keep = backup.to_keep(scheduled + manual + old, backup.Retention(daily=1, weekly=0, other_days=30), NOW)
    assert keep == {scheduled[0], *manual}


def test_a_restore_keeps_existing_roles_and_recreates_missing_ones() -> None:
    script = "\n".join(
        [
            "CREATE ROLE airflow;",
            "ALTER ROLE airflow WITH NOSUPERUSER LOGIN PASSWORD 'SCRAM-SHA-256$4096:old';",
            'CREATE ROLE "Odd ""Name""";',
            'ALTER ROLE "Odd ""Name""" WITH LOGIN;',
            "CREATE ROLE postgres;",
            "GRANT pg_read_all_data TO airflow;",
        ]
    )
    kept = backup.missing_role_statements(script, {"postgres", "mlflow"})
    assert kept == script.splitlines()[:4]
    assert backup.missing_role_statements(script, {"postgres", "airflow", 'Odd "Name"'}) == []


def _files(root: Path) -> list[dict]:
    (root / "postgresql").mkdir(parents=True)
    (root / "postgresql" / "airflow.dump").write_bytes(b"dump")
    (root / "manifest.json").write_text("{}")
    return backup.describe_files(root)


def test_checksums_name_the_file_that_differs(tmp_path: Path) -> None:
    files = _files(tmp_path)
    assert [f["path"] for f in files] == ["manifest.json", "postgresql/airflow.dump"]
    backup.check_files(tmp_path, files, "b1")
    (tmp_path / "postgresql" / "airflow.dump").write_bytes(b"dumq")
    with pytest.raises(BackupError, match=r"backup b1 is corrupt: postgresql/airflow.dump has SHA-256"):
        backup.check_files(tmp_path, files, "b1")
    (tmp_path / "postgresql" / "airflow.dump").unlink()
    with pytest.raises(BackupError, match=r"postgresql/airflow\.dump is missing"):
        backup.check_files(tmp_path, files, "b1")


class FakeStore:
    """A bucket that has only manifests: enough for what a restore checks before it downloads."""

    def __init__(self, manifests: dict[str, dict]) -> None:
        self.manifests = manifests
        self.downloaded: list[str] = []

    def manifest(self, identifier: str) -> dict:
        if identifier not in self.manifests:
            raise BackupError(f"backup {identifier!r} does not exist")
        return self.manifests[identifier]

    def download(self, identifier: str, files: list, root: Path) -> None:
        self.downloaded.append(identifier)
        raise AssertionError("a restore that must be refused got as far as downloading")


def test_a_backup_of_a_newer_schema_is_refused_before_anything_is_read(tmp_path: Path) -> None:
    (tmp_path / "revisions").write_text("d2f4e1b3c5a7\n9ff64e1c35d3\n")
    (tmp_path / "head").write_text("d2f4e1b3c5a7\n")
    store = FakeStore({"b2": {"airflow_schema": "ffffffffffff", "airyard_version": "0.2.0", "files": []}})
    with pytest.raises(
        BackupError, match=r"newer Airflow schema \(revision ffffffffffff\).*head d2f4e1b3c5a7.*0\.2\.0"
    ):
        backup.restore(store, "b2", tmp_path)  # type: ignore[arg-type]
    assert store.downloaded == []
    with pytest.raises(BackupError, match="does not exist"):
        backup.restore(store, "nope", tmp_path)  # type: ignore[arg-type]


def test_without_the_schema_configmap_a_restore_is_refused(tmp_path: Path) -> None:
    store = FakeStore({"b1": {"airflow_schema": "d2f4e1b3c5a7", "files": []}})
    with pytest.raises(BackupError, match="airyard-airflow-schema"):
        backup.restore(store, "b1", tmp_path)  # type: ignore[arg-type]


def test_the_pre_migration_backup_is_the_cronjobs_pod_with_other_arguments() -> None:
    cronjob = {
        "metadata": {"name": "airyard-backup", "uid": "u-1"},
        "spec": {
            "jobTemplate": {
                "metadata": {"labels": {"app.kubernetes.io/name": "backup"}},
                "spec": {
                    "backoffLimit": 1,
                    "template": {
                        "metadata": {"labels": {"a": "b"}},
                        "spec": {"containers": [{"name": "backup", "args": ["create", "--reason", "scheduled"]}]},
                    },
                },
            }
        },
    }
    original = json.dumps(cronjob)
    job = premigration.job_from_cronjob(cronjob, "airyard-backup-1", ["create", "--reason", "pre-migration-x"])
    assert job["metadata"] == {
        "name": "airyard-backup-1",
        "labels": {"app.kubernetes.io/name": "backup"},
        "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": "airyard-backup", "uid": "u-1"}],
    }
    assert job["spec"]["backoffLimit"] == 1
    assert job["spec"]["template"]["spec"]["containers"][0] == {
        "name": "backup",
        "args": ["create", "--reason", "pre-migration-x"],
    }
    assert json.dumps(cronjob) == original, "the CronJob read is not changed"


def test_prune_deletes_superseded_and_stale_incomplete_backups() -> None:
    now = datetime.now(tz=UTC)
    complete = _ids(*(t.strftime("%Y-%m-%dT%H:%M") for t in (now, now - timedelta(hours=1))))
    stale = backup.backup_id(now - timedelta(days=2), "manual")
    fresh = backup.backup_id(now - timedelta(minutes=5), "running")

    class Store:
        def __init__(self) -> None:
            self.deleted: list[str] = []

        def ids(self) -> dict[str, bool]:
            return {complete[0]: True, complete[1]: True, stale: False, fresh: False}

        def delete(self, identifier: str) -> int:
            self.deleted.append(identifier)
            return 1

    store = Store()
    assert backup.prune(store, backup.Retention()) == sorted([complete[1], stale])  # type: ignore[arg-type]
    assert sorted(store.deleted) == sorted([complete[1], stale])


class FakeApi:
    """The Kubernetes API as the migration Job's init container sees it; the backup Job ends `ending`."""

    def __init__(self, ending: str = "succeeded") -> None:
        self.ending = ending
        self.calls: list[tuple[str, str]] = []
        self.created: list[dict] = []

    def request(self, method: str, path: str, body: dict | None = None) -> dict:
        self.calls.append((method, path))
        if path.endswith("/cronjobs/airyard-backup"):
            return {
                "metadata": {"name": "airyard-backup", "uid": "u-1"},
                "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "backup"}]}}}}},
            }
        if method == "POST" and path.endswith("/jobs"):
            self.created.append(body or {})
        if method == "GET" and "/jobs/" in path:
            if self.ending == "succeeded":
                return {"status": {"succeeded": 1}}
            return {"status": {"conditions": [{"type": "Failed", "status": "True", "message": "BackoffLimitExceeded"}]}}
        return {}


def _premigrate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, revision: str | None, api: FakeApi) -> int:
    (tmp_path / "head").write_text("d2f4e1b3c5a7\n")
    (tmp_path / "revisions").write_text("d2f4e1b3c5a7\n9ff64e1c35d3\n")
    (tmp_path / "namespace").write_text("airyard")
    monkeypatch.setattr(premigration, "SA_NAMESPACE_FILE", str(tmp_path / "namespace"))
    monkeypatch.setattr(premigration.KubeApi, "in_cluster", classmethod(lambda cls: api))
    monkeypatch.setattr(premigration, "airflow_revision", lambda: revision)
    monkeypatch.setattr(premigration.time, "sleep", lambda _: None)
    monkeypatch.setenv("SCHEMA_CONFIGMAP", "airyard-airflow-schema")
    monkeypatch.setenv("BACKUP_CRONJOB", "airyard-backup")
    return premigration.main(["--schema", str(tmp_path)])


@pytest.mark.parametrize("revision", [None, "d2f4e1b3c5a7"])
def test_a_new_or_current_database_is_migrated_without_a_backup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, revision: str | None
) -> None:
    api = FakeApi()
    assert _premigrate(tmp_path, monkeypatch, revision, api) == 0
    assert api.created == []
    assert ("PUT", "/api/v1/namespaces/airyard/configmaps/airyard-airflow-schema") in api.calls


def test_a_schema_the_image_would_change_is_backed_up_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    api = FakeApi()
    assert _premigrate(tmp_path, monkeypatch, "9ff64e1c35d3", api) == 0
    (job,) = api.created
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == [
        "create",
        "--reason",
        "pre-migration-9ff64e1c35d3",
    ]


def test_a_failed_backup_stops_the_migration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(RuntimeError, match="not migrating without a backup"):
        _premigrate(tmp_path, monkeypatch, "9ff64e1c35d3", FakeApi(ending="failed"))
