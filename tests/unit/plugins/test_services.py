"""A task reaches a platform service only by declaring it (airyard.services)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from airflow.dag_processing.dagbag import DagBag
from airyard import services


def test_a_declared_service_is_its_connection_secret_and_its_client_label(monkeypatch) -> None:
    monkeypatch.setenv("AIRYARD_RELEASE", "airyard")
    (kafka, store) = services.resolve(["kafka:movies", "objectstore:weather"])
    assert (kafka.connection, kafka.secret, kafka.network) == (
        "kafka_movies",
        "airyard-airflow-conn-kafka-movies",
        "kafka",
    )
    assert store.connection == "objectstore_weather"
    assert services.labels([kafka, store]) == {
        "airyard.io/kafka-client": "true",
        "airyard.io/objectstore-client": "true",
    }
    assert [e.secret_ref.name for e in services.env_from([kafka, store])] == [kafka.secret, store.secret]


def test_an_external_connection_is_one_optional_key_of_the_users_secret_and_the_way_out(monkeypatch) -> None:
    monkeypatch.setenv("AIRYARD_RELEASE", "airyard")
    (tmdb,) = services.resolve(["external:tmdb_default"])
    assert services.env_from([tmdb]) == []
    # Its label is the only way out of the cluster (airflow-bootstrap's networkPolicy.external).
    assert services.labels([tmdb]) == {"airyard.io/external-client": "true"}
    (var,) = services.env([tmdb])
    ref = var.value_from.secret_key_ref
    assert (var.name, ref.name, ref.key, ref.optional) == (
        "AIRFLOW_CONN_TMDB_DEFAULT",
        "airyard-airflow-external-connections",
        "AIRFLOW_CONN_TMDB_DEFAULT",
        True,
    )


def test_an_unknown_service_is_named_with_what_the_platform_has() -> None:
    with pytest.raises(services.UnknownService) as err:
        services.resolve(["kafka:movies", "cassandra", "objectstore"])
    message = str(err.value)
    assert "'cassandra', 'objectstore'" in message
    assert "objectstore:weather" in message
    assert "kafka:domains" in message


def test_without_the_catalog_nothing_resolves() -> None:
    with pytest.raises(services.UnknownService, match="AIRYARD_SERVICES is not set"):
        services.resolve(["kafka:movies"], environ={})
    assert services.resolve([], environ={}) == ()


def test_the_catalog_names_only_task_grade_connections() -> None:
    catalog = services.catalog()
    connections = {s.connection for s in catalog.values()}
    # The task-log store and the Kubernetes connection come with every worker pod, not by declaration;
    # the platform's own credentials are no service at all.
    assert connections.isdisjoint({"airyard_logs", "kubernetes_default", "postgres_mlflow", "postgres_airflow"})
    assert all(s.secret.startswith("airyard-airflow-conn-") for s in catalog.values())


def test_a_dag_declaring_an_unknown_service_is_an_import_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text(
        textwrap.dedent(
            """
            import pendulum
            from airflow.sdk import DAG
            from airyard.operators.task_pod import TaskPodOperator

            with DAG("bad", schedule=None, start_date=pendulum.datetime(2026, 1, 1)):
                TaskPodOperator(task_id="t", image_name="toolbox", services=["kafka:movies", "elasticsearch"])
            """
        )
    )
    (tmp_path / "good.py").write_text(
        textwrap.dedent(
            """
            import pendulum
            from airflow.sdk import DAG
            from airyard.operators.task_pod import TaskPodOperator

            with DAG("good", schedule=None, start_date=pendulum.datetime(2026, 1, 1)):
                TaskPodOperator(task_id="t", image_name="toolbox", services=["kafka:movies"])
            """
        )
    )
    bag = DagBag(dag_folder=str(tmp_path))
    assert list(bag.dags) == ["good"]
    (error,) = bag.import_errors.values()
    assert "unknown service 'elasticsearch'" in error
