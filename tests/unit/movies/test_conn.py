"""AIRFLOW_CONN_* parsing in pods agrees with Airflow's JSON and URI forms."""

from __future__ import annotations

import json
import time

import pytest
from airyard import envconn as conn


def test_json_and_uri_forms() -> None:
    env = {
        "AIRFLOW_CONN_MONGO_DEFAULT": json.dumps(
            {
                "conn_type": "mongo",
                "host": "db",
                "port": 27017,
                "login": "u",
                "password": "p@ss",
                "schema": "movies",
                "extra": {"authSource": "movies"},
            }
        ),
        "AIRFLOW_CONN_REDIS_DEFAULT": "redis://:s3cret@redis:6379?db=0",
        "AIRFLOW_CONN_KAFKA_DEFAULT": json.dumps({"conn_type": "kafka", "extra": {"bootstrap.servers": "k:9092"}}),
    }
    assert conn.mongo_uri(conn.get("mongo_default", env)) == "mongodb://u:p%40ss@db:27017/movies?authSource=movies"
    assert conn.redis_url(conn.get("redis_default", env)) == "redis://:s3cret@redis:6379/0"
    assert conn.kafka_config(conn.get("kafka_default", env)) == {"bootstrap.servers": "k:9092"}
    with pytest.raises(conn.ConnectionMissing):
        conn.get("tmdb_default", env)


def test_a_sasl_connection_becomes_the_java_clients_jaas_configuration() -> None:
    extra = {
        "bootstrap.servers": "k:9092",
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "movies",
        "sasl.password": 'p"w\\d',
    }
    c = conn.EnvConnection("kafka_movies", conn_type="kafka", extra=extra)
    assert conn.kafka_java_config(c) == {
        "bootstrap.servers": "k:9092",
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.jaas.config": 'org.apache.kafka.common.security.scram.ScramLoginModule required username="movies" '
        'password="p\\"w\\\\d";',
    }
    plain = conn.EnvConnection("kafka_default", conn_type="kafka", extra={"bootstrap.servers": "k:9092"})
    assert conn.kafka_java_config(plain) == {"bootstrap.servers": "k:9092"}


def test_a_redis_client_waits_for_a_connection_refused_at_first() -> None:
    """As a new task pod sees until its address reaches the service's NetworkPolicy: the first
    attempts are refused, then Redis answers."""
    import socket
    import threading

    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens: connections are refused

    def serve_later() -> None:
        time.sleep(1.0)
        with socket.create_server(("127.0.0.1", port)) as server:
            client, _ = server.accept()
            with client:
                while chunk := client.recv(4096):
                    for command in chunk.split(b"*")[1:]:  # RESP arrays, one per command
                        if b"HELLO" in command:
                            client.sendall(b"%1\r\n+proto\r\n:3\r\n")
                        else:
                            client.sendall(b"+PONG\r\n" if b"PING" in command else b"+OK\r\n")

    server = threading.Thread(target=serve_later, daemon=True)
    server.start()
    env = {"AIRFLOW_CONN_REDIS_DEFAULT": f"redis://127.0.0.1:{port}?db=0"}
    client = conn.redis_client(conn.get("redis_default", env))
    assert client.ping() is True
    client.close()
    server.join(timeout=5)
