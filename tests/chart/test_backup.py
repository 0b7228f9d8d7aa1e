"""charts/backup: render, validate against Kubernetes 1.35, assert on the objects."""

from __future__ import annotations

from tests.chart.common import assert_deterministic, assert_rejects, assert_restricted, env_sources, find, render
from tests.chart.helm import search

CHART = "backup"


def _container(docs: list[dict]) -> dict:
    return search("spec.jobTemplate.spec.template.spec.containers[0]", find(docs, "CronJob", "test-backup"))


def test_a_nightly_cronjob_backs_up_every_database_to_the_objectstores_backups_bucket() -> None:
    docs = render(CHART)
    cronjob = find(docs, "CronJob", "test-backup")
    assert cronjob["spec"]["schedule"] == "17 2 * * *"
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    container = _container(docs)
    assert container["command"] == ["python3", "-m", "airyard_toolbox.backup"]
    assert container["args"] == ["create", "--reason", "scheduled"]
    env = env_sources(container)
    assert env["BACKUP_BUCKET"] == "backups"
    assert (env["RETAIN_DAILY"], env["RETAIN_WEEKLY"], env["RETAIN_OTHER_DAYS"]) == ("7", "4", "30")
    assert env["AWS_SECRET_ACCESS_KEY"] == ("test-objectstore-user-backup", "secret-key")
    assert env["S3_ENDPOINT"] == ("test-objectstore-user-backup", "endpoint")
    assert (env["PGHOST"], env["PGUSER"], env["PGPASSWORD"]) == (
        "test-postgresql",
        "postgres",
        ("test-postgresql-auth", "postgres-password"),
    )
    assert (env["MONGO_HOST"], env["MONGO_PASSWORD"]) == ("test-mongodb", ("test-mongodb-auth", "password"))
    labels = search("spec.jobTemplate.spec.template.metadata.labels", cronjob)
    for service in ("postgresql", "mongodb", "objectstore"):
        assert labels[f"airyard.io/{service}-client"] == "true"
    pod = search("spec.jobTemplate.spec.template.spec", cronjob)
    assert pod["automountServiceAccountToken"] is False
    schema = next(v for v in pod["volumes"] if v["name"] == "schema")
    assert schema["configMap"] == {"name": "airyard-airflow-schema", "optional": True}
    assert_restricted(docs)
    assert_deterministic(CHART)


def test_any_s3_target_with_its_own_secret_and_services_switched_off() -> None:
    values = {
        "target": {"bucket": "dr-copies", "prefix": "site-a", "existingSecret": "offsite"},
        "retention": {"daily": 14, "weekly": 8},
        "mongodb": {"enabled": False},
    }
    container = _container(render(CHART, values))
    env = env_sources(container)
    assert (env["BACKUP_BUCKET"], env["BACKUP_PREFIX"]) == ("dr-copies", "site-a")
    assert env["AWS_ACCESS_KEY_ID"] == ("offsite", "access-key")
    assert (env["RETAIN_DAILY"], env["RETAIN_WEEKLY"]) == ("14", "8")
    assert not [k for k in env if k.startswith("MONGO_")]


def test_bad_values_are_rejected_naming_the_key() -> None:
    assert_rejects(CHART, {"retention": {"daily": -1, "weekly": 4}}, "/retention/daily")
    assert_rejects(CHART, {"schedule": "nightly"}, "/schedule")
    assert_rejects(CHART, {"target": {"bucket": "No_Such Bucket"}}, "/target/bucket")
    assert_rejects(CHART, {"retain": 3}, "retain")
