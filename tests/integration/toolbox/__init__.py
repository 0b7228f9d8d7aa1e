"""The toolbox image against the services of tests/services.py."""

from __future__ import annotations

from tests.services import Service


def backup_env(postgres: Service, mongo: Service, s3: Service, bucket: str) -> dict[str, str]:
    """The variables a backup Job (and the exporter's backup probe) reads, for these services."""
    return {
        "PGHOST": "127.0.0.1",
        "PGPORT": str(postgres.port),
        "PGUSER": "postgres",
        "PGPASSWORD": postgres.password,
        "MONGO_HOST": "127.0.0.1",
        "MONGO_PORT": str(mongo.port),
        "MONGO_USERNAME": "root",
        "MONGO_PASSWORD": mongo.password,
        "S3_ENDPOINT": s3.extra["endpoint"],
        "AWS_ACCESS_KEY_ID": s3.username,
        "AWS_SECRET_ACCESS_KEY": s3.password,
        "BACKUP_BUCKET": bucket,
    }
