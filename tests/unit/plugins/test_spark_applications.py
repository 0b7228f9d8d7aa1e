"""One builder per Spark job: the Lease protocol and DomainsLakeOperator against an in-memory API
server that answers as Kubernetes does (404 for missing objects, 409 for existing names and stale
resourceVersions). The same protocol runs on the cluster in tests/e2e/test_domains_weather.py."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.providers.amazon.aws.hooks import s3 as s3_hooks
from airflow.providers.cncf.kubernetes.operators.spark_kubernetes import SparkKubernetesOperator
from airflow.sdk.exceptions import AirflowException, AirflowTaskTimeout
from airyard.domains import lake, operators
from airyard.kafka import hooks as kafka_hooks
from airyard.spark import applications
from airyard.spark.applications import Applications, BuildTimeout
from kubernetes.client.rest import ApiException

NS = "airyard-tasks"


class FakeApi:
    """SparkApplications and Leases of one namespace; `tick` runs before every sleep."""

    def __init__(self) -> None:
        self.apps: dict[str, dict[str, Any]] = {}
        self.leases: dict[str, Any] = {}
        self.version = 0
        self.deleted: list[str] = []
        self.before_replace: Callable[[], None] | None = None

    # CustomObjectsApi
    def create_namespaced_custom_object(self, group, version, ns, plural, body):
        name = body["metadata"]["name"]
        if name in self.apps:
            raise ApiException(status=409)
        self.apps[name] = copy.deepcopy(body)

    def get_namespaced_custom_object(self, group, version, ns, plural, name):
        if name not in self.apps:
            raise ApiException(status=404)
        return copy.deepcopy(self.apps[name])

    def list_namespaced_custom_object(self, group, version, ns, plural, label_selector=""):
        wanted = dict(term.split("=") for term in label_selector.split(","))
        items = [a for a in self.apps.values() if wanted.items() <= a["metadata"].get("labels", {}).items()]
        return {"items": copy.deepcopy(items)}

    def delete_namespaced_custom_object(self, group, version, ns, plural, name):
        if self.apps.pop(name, None) is None:
            raise ApiException(status=404)
        self.deleted.append(name)

    # CoordinationV1Api
    def read_namespaced_lease(self, name, ns):
        if name not in self.leases:
            raise ApiException(status=404)
        return copy.deepcopy(self.leases[name])

    def create_namespaced_lease(self, ns, body):
        if body.metadata.name in self.leases:
            raise ApiException(status=409)
        self._store(body)

    def replace_namespaced_lease(self, name, ns, body):
        if self.before_replace:
            hook, self.before_replace = self.before_replace, None
            hook()
        if name not in self.leases or self.leases[name].metadata.resource_version != body.metadata.resource_version:
            raise ApiException(status=409)
        self._store(body)

    def delete_namespaced_lease(self, name, ns, body=None):
        if name not in self.leases:
            raise ApiException(status=404)
        if body and body.preconditions.resource_version != self.leases[name].metadata.resource_version:
            raise ApiException(status=409)
        del self.leases[name]

    def _store(self, lease: Any) -> None:
        self.version += 1
        lease = copy.deepcopy(lease)
        lease.metadata.resource_version = str(self.version)
        self.leases[lease.metadata.name] = lease

    # helpers
    def app(self, name: str, state: str, run_id: str = "other-run") -> None:
        self.apps[name] = {
            "metadata": {
                "name": name,
                "labels": {
                    applications.JOB_LABEL: lake.SPARK_JOB,
                    applications.RUN_LABEL: applications.run_label(run_id),
                },
            },
            "status": {"applicationState": {"state": state}},
        }

    def set_state(self, name: str, state: str) -> None:
        self.apps[name]["status"] = {"applicationState": {"state": state}}

    def holder(self) -> str | None:
        lease = self.leases.get(f"{lake.SPARK_JOB}-builder")
        return lease.spec.holder_identity if lease else None


class Clock:
    def __init__(self, api: FakeApi, tick: Callable[[int], None] | None = None) -> None:
        self.t, self.sleeps, self.api, self.tick = 0.0, 0, api, tick
        self.start = datetime(2026, 12, 6, tzinfo=UTC)

    def monotonic(self) -> float:
        return self.t

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.t)

    def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        self.t += seconds
        if self.tick:
            self.tick(self.sleeps)


def apps_of(api: FakeApi, clock: Clock) -> Applications:
    return Applications(api, api, NS, lake.SPARK_JOB, clock=clock.monotonic, sleep=clock.sleep, now=clock.now)


def test_a_second_builder_waits_until_the_first_has_finished() -> None:
    api = FakeApi()
    clock = Clock(api, tick=lambda n: n == 3 and api.set_state("first", "COMPLETED"))
    first, second = apps_of(api, clock), apps_of(api, clock)
    first.acquire("first", deadline=1000)
    api.app("first", "RUNNING")
    second.acquire("second", deadline=1000)
    assert (api.holder(), clock.sleeps) == ("second", 3)


def test_two_waiters_cannot_both_take_over_a_finished_builders_lease() -> None:
    api = FakeApi()
    clock = Clock(api)
    apps_of(api, clock).acquire("first", deadline=1000)
    api.app("first", "COMPLETED")

    def third_takes_over() -> None:  # between the second's read of the Lease and its update
        apps_of(api, clock).acquire("third", deadline=1000)
        api.app("third", "RUNNING")

    api.before_replace = third_takes_over
    clock.tick = lambda n: n == 2 and api.set_state("third", "COMPLETED")
    apps_of(api, clock).acquire("second", deadline=1000)
    # The second's update was refused (stale resourceVersion); it waited for the third to finish.
    assert (api.holder(), clock.sleeps) == ("second", 2)


def test_a_lease_whose_holder_has_not_appeared_is_held_for_its_grace_only() -> None:
    api = FakeApi()
    clock = Clock(api)
    apps_of(api, clock).acquire("never-submitted", deadline=1000)
    with pytest.raises(BuildTimeout, match="never-submitted is still building"):
        apps_of(api, clock).acquire("second", deadline=applications.GRACE_SECONDS / 2)
    apps_of(api, clock).acquire("second", deadline=1000)
    assert api.holder() == "second"
    assert clock.t > applications.GRACE_SECONDS


def test_release_frees_only_its_own_lease() -> None:
    api = FakeApi()
    clock = Clock(api)
    apps = apps_of(api, clock)
    apps.acquire("first", deadline=10)
    apps.release("someone-else")
    assert api.holder() == "first"
    apps.release("first")
    assert api.holder() is None


# --- DomainsLakeOperator ----------------------------------------------------------------------
# The provider's SparkKubernetesOperator submits, reattaches and deletes (its own tests cover
# that); these check what ours adds around it: the bronze wait, the name per try and the Lease.


@dataclass
class Bronze:
    end: dict[int, int]
    written: dict[int, int]


@dataclass
class Provider:
    """SparkKubernetesOperator.execute and find_spark_job, as the lake operator sees them."""

    api: FakeApi
    earlier_driver: str | None = None
    fail: bool = False
    runs: list[dict[str, Any]] = field(default_factory=list)

    killed: bool = False
    deleted: list[str] = field(default_factory=list)

    def execute(self, op: operators.DomainsLakeOperator, context: Any) -> None:
        spec = op.template_spec["spark"]
        self.runs.append({"name": op.name, "spec": spec, "holder": self.api.holder()})
        # What the provider's submission leaves for its on_kill: the launcher of the application.
        op.launcher = SimpleNamespace(delete_spark_job=lambda spark_job_name: self.deleted.append(spark_job_name))
        if self.killed:  # Airflow's execution_timeout (or SIGTERM): on_kill, then the exception
            op.on_kill()
            raise AirflowTaskTimeout()
        if self.fail:
            raise AirflowException("Pod domains-lake-driver returned a failure")

    def find_spark_job(self, op: operators.DomainsLakeOperator, context: Any) -> Any:
        return SimpleNamespace(metadata=SimpleNamespace(name=self.earlier_driver)) if self.earlier_driver else None


@pytest.fixture
def lake_operator(
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[..., tuple[operators.DomainsLakeOperator, FakeApi, Clock, Provider]]:
    monkeypatch.setenv(
        "AIRYARD_SERVICES",
        '{"kafka:domains": {"connection": "kafka_domains", "secret": "airyard-airflow-conn-kafka-domains",'
        ' "network": "kafka"}, "objectstore:domains": {"connection": "objectstore_domains",'
        ' "secret": "airyard-airflow-conn-objectstore-domains", "network": "objectstore"}}',
    )

    def make(tick: Callable[[int], None] | None = None, bronze: Bronze | None = None, **provider: Any):
        api = FakeApi()
        clock = Clock(api, tick)
        monkeypatch.setattr(applications, "kube_clients", lambda: (api, None, api))
        monkeypatch.setattr(
            applications, "Applications", partial(Applications, clock=clock.monotonic, sleep=clock.sleep, now=clock.now)
        )
        # Kafka's end offsets and the bronze stream's progress (caught up unless the test says otherwise)
        bronze = bronze or Bronze(end={0: 4}, written={0: 4})
        monkeypatch.setattr(
            kafka_hooks, "KafkaHook", lambda conn_id: SimpleNamespace(end_offsets=lambda topic, group: dict(bronze.end))
        )
        monkeypatch.setattr(lake, "bronze_offsets", lambda s3, topic: dict(bronze.written))
        monkeypatch.setattr(s3_hooks, "S3Hook", lambda aws_conn_id: SimpleNamespace(get_conn=lambda: None))
        fake = Provider(api, **provider)
        monkeypatch.setattr(SparkKubernetesOperator, "execute", lambda op, ctx: fake.execute(op, ctx))
        monkeypatch.setattr(SparkKubernetesOperator, "find_spark_job", lambda op, ctx: fake.find_spark_job(op, ctx))
        op = operators.DomainsLakeOperator(task_id="build_lake", namespace=NS, builder_timeout=60, bronze_timeout=60)
        return op, api, clock, fake

    return make


class TaskInstance(SimpleNamespace):
    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed = {**getattr(self, "pushed", {}), key: value}


def context(run_id: str, try_number: int) -> dict[str, Any]:
    return {"run_id": run_id, "ti": TaskInstance(try_number=try_number)}


def test_a_build_is_named_per_try_and_holds_the_builder_lease_while_it_runs(lake_operator) -> None:
    op, api, _, provider = lake_operator()
    ctx = context("run-1", 2)
    result = op.execute(ctx)
    name = lake.application_name("run-1", 2)
    assert result == {"application": name, "adopted": False}
    # What the success notification reads (the provider pushes nothing without its sidecar).
    assert ctx["ti"].pushed == {"return_value": result}
    (run,) = provider.runs
    assert (run["name"], run["holder"]) == (name, name)
    assert run["spec"]["metadata"]["name"] == name
    assert run["spec"]["metadata"]["labels"][applications.RUN_LABEL] == applications.run_label("run-1")
    assert api.holder() is None


def test_a_retry_reattaches_to_the_build_its_earlier_try_left_running(lake_operator) -> None:
    earlier = lake.application_name("run-1", 1)
    op, api, _, provider = lake_operator(earlier_driver=f"{earlier}-driver")
    assert op.execute(context("run-1", 2)) == {"application": earlier, "adopted": True}
    assert provider.runs[0]["holder"] == earlier  # the Lease names the build that runs
    assert api.holder() is None


def test_a_build_waits_for_another_dags_build_to_finish(lake_operator) -> None:
    op, api, clock, provider = lake_operator()
    other = lake.application_name("backfill-run", 1)
    api.app(other, "RUNNING")
    apps_of(api, clock).acquire(other, deadline=1)
    clock.tick = lambda n: n == 3 and api.set_state(other, "COMPLETED")
    op.execute(context("run-2", 1))
    assert clock.sleeps == 3
    assert provider.runs[0]["holder"] == lake.application_name("run-2", 1)


def test_a_build_still_blocked_at_its_deadline_submits_nothing(lake_operator) -> None:
    op, api, clock, provider = lake_operator()
    api.app("domains-lake-other", "RUNNING")
    apps_of(api, clock).acquire("domains-lake-other", deadline=1)
    with pytest.raises(BuildTimeout, match="domains-lake-other is still building"):
        op.execute(context("run-3", 1))
    assert provider.runs == []
    assert api.holder() == "domains-lake-other"


def test_a_build_killed_or_timed_out_is_deleted_and_frees_the_lease(lake_operator) -> None:
    op, api, _, provider = lake_operator(killed=True)
    with pytest.raises(AirflowTaskTimeout):
        op.execute(context("run-7", 1))
    assert provider.deleted == [lake.application_name("run-7", 1)]
    assert api.holder() is None


def test_a_failed_build_frees_the_lease(lake_operator) -> None:
    op, api, _, _ = lake_operator(fail=True)
    with pytest.raises(AirflowException, match="returned a failure"):
        op.execute(context("run-4", 1))
    assert api.holder() is None


def test_a_build_waits_until_the_bronze_stream_has_written_what_kafka_held(lake_operator) -> None:
    bronze = Bronze(end={0: 10, 1: 3}, written={0: 6})
    op, _, clock, provider = lake_operator(bronze=bronze)

    def stream_catches_up(n: int) -> None:
        assert not provider.runs  # nothing is submitted while bronze lags
        if n == 2:
            bronze.written = {0: 10, 1: 3}
            bronze.end = {0: 15, 1: 3}  # produced later: the build does not wait for these

    clock.tick = stream_catches_up
    op.execute(context("run-5", 1))
    assert clock.sleeps == 2  # the first poll after bronze held offsets 10 and 3
    assert len(provider.runs) == 1


def test_a_build_fails_naming_the_partitions_bronze_lacks_and_submits_nothing(lake_operator) -> None:
    op, api, _, provider = lake_operator(bronze=Bronze(end={0: 10, 1: 3}, written={0: 10}))
    with pytest.raises(AirflowException, match=r"domains-bronze has not written .* \{1: \(0, 3\)\}"):
        op.execute(context("run-6", 1))
    assert provider.runs == []
    assert api.holder() is None


# --- a long-running application (the bronze stream) ---------------------------------------------


def stream_apps(api: FakeApi, clock: Clock) -> Applications:
    return Applications(api, api, NS, lake.STREAM_JOB, clock=clock.monotonic, sleep=clock.sleep, now=clock.now)


def test_ensure_creates_keeps_and_replaces_the_stream_when_its_spec_changes(monkeypatch) -> None:
    monkeypatch.setenv("AIRYARD_RELEASE", "airyard")
    api = FakeApi()
    clock = Clock(api)
    apps = stream_apps(api, clock)
    body = lake.stream_application("domains.observed")
    assert apps.ensure(body, deadline=100) == "created"
    api.set_state(lake.STREAM_JOB, "FAILING")  # restarting: the operator's business, not ours
    assert apps.ensure(lake.stream_application("domains.observed"), deadline=100) == "kept"
    assert api.deleted == []
    monkeypatch.setenv("AIRYARD_IMAGE_TAG", "0.2.0")  # an upgrade
    assert apps.ensure(lake.stream_application("domains.observed"), deadline=100) == "replaced"
    assert api.deleted == [lake.STREAM_JOB]
    assert api.apps[lake.STREAM_JOB]["spec"]["image"] == "airyard/domains-spark:0.2.0"
    # Two tasks ensuring at once: the second finds it created and keeps it.
    stale = FakeApi()
    stale.apps = api.apps
    monkeypatch.setattr(stale, "get_namespaced_custom_object", lambda *a: (_ for _ in ()).throw(ApiException(404)))
    assert stream_apps(stale, clock).ensure(lake.stream_application("domains.observed"), deadline=100) == "kept"
