"""AIRFLOW_CONN_* parsing in pods agrees with Airflow's JSON and URI forms."""

from __future__ import annotations

import json

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
