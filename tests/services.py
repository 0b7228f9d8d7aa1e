"""Real platform services for the integration tests: our own images, run by Docker on loopback.

Hooks and operators are tested against the same PostgreSQL, Redis, Kafka, FerretDB and MinIO the
platform runs (`make images` builds them), not against mocks. Each service starts once per test
session with generated credentials and is removed afterwards.
"""

from __future__ import annotations

import secrets
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
TAG = (REPO / "VERSION").read_text().strip()


@dataclass
class Service:
    name: str
    host: str
    port: int
    username: str = ""
    password: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _docker(*args: str) -> str:
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args[:3])} … failed: {proc.stderr.strip()}")
    return proc.stdout.strip()


def _wait(what: str, ready: Callable[[], bool], container: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if ready():
                return
        except Exception:  # noqa: BLE001 - not up yet, whatever the client says
            pass
        time.sleep(1)
    logs = subprocess.run(["docker", "logs", "--tail", "30", container], capture_output=True, text=True).stdout
    raise TimeoutError(f"{what} not ready after {timeout:.0f} s; its log:\n{logs}")


@contextmanager
def container(
    image: str,
    *args: str,
    ports: dict[int, int],
    env: dict[str, str] | None = None,
    files: dict[str, str] | None = None,
) -> Iterator[str]:
    """Run airyard/<image> detached with container ports published on 127.0.0.1; yields its id.

    `files` maps paths in the container to their content (mounted read-only).
    """
    if subprocess.run(["docker", "image", "inspect", f"airyard/{image}:{TAG}"], capture_output=True).returncode:
        raise RuntimeError(f"image airyard/{image}:{TAG} is missing: run `make images IMAGES={image}`")
    cmd = ["run", "-d", "--rm", "--tmpfs", "/tmp"]
    for inner, outer in ports.items():
        cmd += ["-p", f"127.0.0.1:{outer}:{inner}"]
    for key, value in (env or {}).items():
        cmd += ["-e", f"{key}={value}"]
    with tempfile.TemporaryDirectory() as tmp:
        for i, (target, content) in enumerate((files or {}).items()):
            source = Path(tmp) / str(i)
            source.write_text(content)
            source.chmod(0o644)
            cmd += ["-v", f"{source}:{target}:ro"]
        cid = _docker(*cmd, f"airyard/{image}:{TAG}", *args)
        try:
            yield cid
        finally:
            subprocess.run(["docker", "rm", "-f", cid], capture_output=True)


@contextmanager
def redis() -> Iterator[Service]:
    import redis as redis_client

    password, port = secrets.token_hex(16), free_port()
    with container("redis", "redis-server", "--requirepass", password, ports={6379: port}) as cid:
        svc = Service("redis", "127.0.0.1", port, password=password)
        _wait("redis", lambda: redis_client.Redis(port=port, password=password).ping(), cid)
        yield svc


@contextmanager
def postgres() -> Iterator[Service]:
    import psycopg

    password, port = secrets.token_hex(16), free_port()
    env = {"POSTGRES_PASSWORD": password, "PGDATA": "/tmp/pgdata"}
    # The image's defaults admit local clients only; the chart configures these two, as here.
    hba = "local all all trust\nhost all all 0.0.0.0/0 scram-sha-256\n"
    args = ("-c", "listen_addresses=*", "-c", "hba_file=/etc/airyard/pg_hba.conf")
    with container("postgresql", *args, ports={5432: port}, env=env, files={"/etc/airyard/pg_hba.conf": hba}) as cid:
        svc = Service("postgresql", "127.0.0.1", port, username="postgres", password=password)
        dsn = f"postgresql://postgres:{password}@127.0.0.1:{port}/postgres"
        _wait("postgresql", lambda: psycopg.connect(dsn, connect_timeout=2).close() is None, cid, timeout=240)
        svc.extra["dsn"] = dsn
        yield svc


@contextmanager
def kafka() -> Iterator[Service]:
    from confluent_kafka.admin import AdminClient

    # Clients reach the broker at what it advertises, so the host port must equal the container's.
    port = free_port()
    cluster_id = "YWlyeWFyZC10ZXN0cy0wMQ"  # base64url of 16 bytes: "airyard-tests-01"
    env = {"KAFKA_CLUSTER_ID": cluster_id, "KAFKA_NODE_ID": "0", "KAFKA_ADVERTISED_HOST": "127.0.0.1"}
    with container("kafka", ports={9092: port}, env={**env, "KAFKA_ADVERTISED_PORT": str(port)}) as cid:
        svc = Service("kafka", "127.0.0.1", port)
        admin = AdminClient({"bootstrap.servers": svc.address})
        _wait("kafka", lambda: admin.list_topics(timeout=2).brokers != {}, cid, timeout=180)
        yield svc


@contextmanager
def mongodb() -> Iterator[Service]:
    import pymongo

    password, port = secrets.token_hex(16), free_port()
    args = (
        "--listen-addr=:27017",
        "--handler=sqlite",
        "--sqlite-url=file:/tmp/",
        "--state-dir=/tmp",
        "--test-enable-new-auth",
        "--setup-database=admin",
        "--setup-username=root",
        "--telemetry=disable",
    )
    with container("ferretdb", *args, ports={27017: port}, env={"FERRETDB_SETUP_PASSWORD": password}) as cid:
        uri = f"mongodb://root:{password}@127.0.0.1:{port}/admin?authSource=admin"
        svc = Service("mongodb", "127.0.0.1", port, username="root", password=password, extra={"uri": uri})
        _wait("ferretdb", lambda: pymongo.MongoClient(uri, serverSelectionTimeoutMS=2000).admin.command("ping"), cid)
        yield svc


def s3_client(svc: Service) -> Any:
    """A boto3 S3 client with the object store's admin credentials."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=svc.extra["endpoint"],
        aws_access_key_id=svc.username,
        aws_secret_access_key=svc.password,
        region_name="us-east-1",
    )


@contextmanager
def objectstore() -> Iterator[Service]:
    user, password, port = "airyard", secrets.token_hex(16), free_port()
    env = {"MINIO_ROOT_USER": user, "MINIO_ROOT_PASSWORD": password}
    args = ("server", "/tmp/data", "--address", ":9000", "--certs-dir", "/tmp/certs")
    with container("minio", *args, ports={9000: port}, env=env) as cid:
        endpoint = f"http://127.0.0.1:{port}"
        svc = Service("objectstore", "127.0.0.1", port, username=user, password=password, extra={"endpoint": endpoint})
        client = s3_client(svc)
        _wait("minio", lambda: client.list_buckets() is not None, cid)
        yield svc
