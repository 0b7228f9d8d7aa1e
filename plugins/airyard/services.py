"""The one way a task reaches a platform service: it declares it.

The chart publishes a catalog (AIRYARD_SERVICES, from the ConfigMap airyard-airflow-services)
of what a task may declare: "redis", "mlflow", "model-serving", and services with one identity
per pipeline, "kafka:movies", "objectstore:weather", "mongodb:movies", "postgresql:mlsp". Each names
its Airflow connection, the Secret of the tasks namespace that holds that connection and
nothing else, and the service whose NetworkPolicy admits its clients.

A declared service gives the task's pod that Secret (the environment variable AIRFLOW_CONN_<ID>,
which Airflow's hooks and airyard.envconn read) and the client label. An undeclared one gives
nothing: using it fails with "connection not defined", or the service refuses the connection.
A name the catalog lacks fails the DAG file's import, naming it.

The user's own connections to outside systems (the Secret airyard-airflow-external-connections)
are declared as "external:<conn_id>" (e.g. "external:tmdb_default"): a pod gets that one key, if
the Secret has it, and the label airyard.io/external-client, the only way out of the cluster
(airflow-bootstrap's networkPolicy.external). Worker pods hold every key, for the alerting
callbacks of any DAG, but leave the cluster only as their task declares.

- Pod tasks: ``TaskPodOperator(services=[...])``.
- Spark: ``spark_pod(services)`` in the driver and executor specs.
- Python tasks (in the worker pod): ``executor_config=services.executor_config(...)``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kubernetes.client import models as k8s

from airyard import cluster

CATALOG_ENV = "AIRYARD_SERVICES"
EXTERNAL = "external:"


@dataclass(frozen=True)
class Service:
    name: str
    connection: str
    secret: str
    #: The platform service whose NetworkPolicy admits the pod; "external" for an outside system,
    #: whose label lets the pod leave the cluster (airflow-bootstrap's networkPolicy.external).
    network: str = ""

    @property
    def external(self) -> bool:
        return self.network == "external"

    @property
    def env_name(self) -> str:
        return f"AIRFLOW_CONN_{self.connection.upper()}"


class UnknownService(ValueError):
    """A task declared a service the platform does not have."""


def catalog(environ: Mapping[str, str] | None = None) -> dict[str, Service]:
    """The services of this installation, by name."""
    env = os.environ if environ is None else environ
    raw = env.get(CATALOG_ENV)
    if raw is None:
        raise UnknownService(
            f"{CATALOG_ENV} is not set: this process lacks the platform's catalog of services "
            "(the ConfigMap <release>-airflow-services)"
        )
    return {name: Service(name, **entry) for name, entry in json.loads(raw).items()}


def resolve(names: Iterable[str], environ: Mapping[str, str] | None = None) -> tuple[Service, ...]:
    """The declared services, in order; UnknownService names every one the catalog lacks."""
    wanted = list(dict.fromkeys(names))
    if not wanted:
        return ()
    known = catalog(environ)
    for name in wanted:
        if name.startswith(EXTERNAL) and name[len(EXTERNAL) :]:
            known[name] = Service(name, name[len(EXTERNAL) :], cluster.EXTERNAL_CONNECTIONS, network="external")
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise UnknownService(
            f"unknown service {', '.join(map(repr, unknown))}: this platform has {', '.join(sorted(known))}"
        )
    return tuple(known[n] for n in wanted)


def connection(name: str, environ: Mapping[str, str] | None = None) -> str:
    """The Airflow connection id of a declared service ("mongodb:movies" -> "mongo_default")."""
    return resolve([name], environ)[0].connection


def labels(services: Iterable[Service]) -> dict[str, str]:
    """The labels that let a pod through the NetworkPolicies of its services."""
    return {cluster.client_label(s.network): "true" for s in services if s.network}


def env_from(services: Iterable[Service]) -> list[k8s.V1EnvFromSource]:
    """The platform services' connection Secrets, whole: each holds its AIRFLOW_CONN_<ID> and nothing else."""
    return [k8s.V1EnvFromSource(secret_ref=k8s.V1SecretEnvSource(name=s.secret)) for s in services if not s.external]


def env(services: Iterable[Service]) -> list[k8s.V1EnvVar]:
    """The declared external connections: one key each of the user's Secret, absent if it lacks it."""
    return [
        k8s.V1EnvVar(
            name=s.env_name,
            value_from=k8s.V1EnvVarSource(
                secret_key_ref=k8s.V1SecretKeySelector(name=s.secret, key=s.env_name, optional=True)
            ),
        )
        for s in services
        if s.external
    ]


def spark_pod(services: Iterable[Service]) -> dict[str, Any]:
    """The part of a SparkApplication's driver or executor spec that gives it its services: the
    same env_from and env as a pod's, in the custom resource's (camelCase) form."""
    from kubernetes.client import ApiClient

    services = tuple(services)
    to_json = ApiClient().sanitize_for_serialization
    return {"labels": labels(services), "envFrom": to_json(env_from(services)), "env": to_json(env(services))}


def executor_config(*names: str) -> dict[str, Any]:
    """executor_config of a Python task that uses `names`: its worker pod gets their connections
    and client labels (KubernetesExecutor merges this into the pod template)."""
    services = resolve(names)
    pod = k8s.V1Pod(
        metadata=k8s.V1ObjectMeta(labels=labels(services)),
        spec=k8s.V1PodSpec(containers=[k8s.V1Container(name="base", env_from=env_from(services), env=env(services))]),
    )
    return {"pod_override": pod}
