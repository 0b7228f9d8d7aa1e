"""Fault scenarios on the platform as `make up` leaves it (issue 10): each test disrupts one part
under a running workload and fails when data is lost or a run is reported wrongly.

The tests share the `airyard` release with the rest of the suite, so each one waits for every
workload to be Ready before it starts and again after it ends (the teardown fails when the
platform did not recover). They use the small DAG dags/platform/platform_check.py: a Python task in a
KubernetesExecutor worker pod (`sleep_seconds` keeps it running while the fault happens), then a
task in a pod of a platform image. Where data has to flow, they use the movie pipeline's own code
and the platform's Kafka and MongoDB. Run one with
`make e2e SKIP_UP=1 E2E=tests/e2e/test_faults.py::<test>`.
"""

from __future__ import annotations

import json
import os
import textwrap
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import pytest

from devkit import airflow, fakes, kube
from tests.e2e.test_kafka import acked_so_far
from tests.fakes import tmdb

pytestmark = pytest.mark.shared_platform

NS, REL = airflow.NAMESPACE, airflow.RELEASE
DAG = "platform_check"
WORKER_TASK, POD_TASK = "python_in_worker", "task_in_pod"
CONNECTIONS = f"{REL}-airflow-connections"
EXTERNAL = f"{REL}-airflow-external-connections"
CLIENT = {"airyard.io/kafka-client": "true", "airyard.io/mongodb-client": "true"}
# The Airflow control plane: what `helm upgrade` rolls in these tests.
AIRFLOW_COMPONENTS = ("scheduler", "apiServer", "dagProcessor", "triggerer")
ROLLOUT_ANNOTATION = "airyard-e2e/rollout"


# --- the platform ------------------------------------------------------------------------------


def workload_pods() -> list[dict[str, Any]]:
    """The pods of the namespace's Deployments and StatefulSets (not Jobs' or the tests' own)."""
    return [
        p
        for p in kube.get("pods", namespace=NS)["items"]
        if (p["metadata"].get("ownerReferences") or [{}])[0].get("kind") in {"ReplicaSet", "StatefulSet"}
    ]


def not_ready() -> list[str]:
    """Workloads of the namespace that are not fully rolled out and Ready, and their unready pods."""
    pending = []
    for kind in ("deployment", "statefulset"):
        for o in kube.get(kind, namespace=NS)["items"]:
            want, status = o["spec"].get("replicas", 1), o.get("status", {})
            ready, updated = status.get("readyReplicas", 0), status.get("updatedReplicas", 0)
            if ready < want or updated < want or status.get("replicas", 0) > want:
                pending.append(f"{kind}/{o['metadata']['name']} {ready}/{want} ready, {updated} updated")
    for pod in workload_pods():
        if pod["metadata"].get("deletionTimestamp"):
            continue
        ready = any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions", []))
        if not ready:
            pending.append(f"pod/{pod['metadata']['name']} not Ready")
    return pending


def wait_platform_ready(timeout: float = 900) -> float:
    """Wait until every workload is Ready; returns the seconds that took."""
    start, last = time.monotonic(), ["?"]

    def ready() -> bool:
        last[:] = not_ready()
        return not last

    try:
        kube.wait_until("every workload of the platform to be Ready", ready, timeout=timeout, interval=5)
    except TimeoutError as err:
        raise AssertionError(f"{err}: {last}") from None
    return time.monotonic() - start


@pytest.fixture(autouse=True)
def healthy_platform() -> Iterator[None]:
    """Start on a Ready platform; fail the test when it is not Ready again afterwards."""
    wait_platform_ready()
    yield
    seconds = wait_platform_ready()
    print(f"\nplatform Ready again {seconds:.0f} s after the test")


def restarts() -> dict[str, int]:
    """Container restarts of the platform's pods (reported, so recoveries by restart show)."""
    return {
        p["metadata"]["name"]: sum(c.get("restartCount", 0) for c in p["status"].get("containerStatuses", []))
        for p in workload_pods()
    }


def pods_of(component: str) -> dict[str, dict[str, Any]]:
    pods = kube.get("pods", namespace=NS)["items"]
    return {
        p["metadata"]["name"]: p
        for p in pods
        if p["metadata"].get("labels", {}).get("component") == component and not p["metadata"].get("deletionTimestamp")
    }


# --- platform_check runs -----------------------------------------------------------------------


def worker_pod(run_id: str, task_id: str = WORKER_TASK) -> str | None:
    """The KubernetesExecutor worker pod running a task of a platform_check run, when there is one."""
    selector = f"dag_id={DAG},task_id={task_id},kubernetes_executor=True"
    pods = json.loads(kube.kubectl("get", "pods", "-n", airflow.TASKS_NAMESPACE, "-l", selector, "-o", "json"))["items"]
    for p in pods:
        if p["metadata"].get("annotations", {}).get("run_id") == run_id and p["status"].get("phase") == "Running":
            return p["metadata"]["name"]
    return None


def start_check(af: airflow.Airflow, sleep_seconds: int) -> str:
    """Trigger platform_check and wait until its Python task runs in a worker pod."""
    run_id = af.trigger(DAG, conf={"sleep_seconds": sleep_seconds})
    kube.wait_until(
        f"{WORKER_TASK} of {run_id} to run in a worker pod",
        lambda: af.task_states(DAG, run_id).get(WORKER_TASK) == "running" and worker_pod(run_id) is not None,
        timeout=300,
    )
    return run_id


def tries(af: airflow.Airflow, run_id: str, task_id: str) -> list[dict[str, Any]]:
    path = f"/dags/{DAG}/dagRuns/{run_id}/taskInstances/{task_id}/tries"
    return af.request("GET", path)["task_instances"]


def assert_check_succeeded(af: airflow.Airflow, run_id: str, timeout: float = 900) -> dict[str, Any]:
    """The run succeeded, every task succeeded, and the pod task's output is in its log."""
    run = af.wait_for_run(DAG, run_id, timeout=timeout)
    states = af.task_states(DAG, run_id)
    assert run["state"] == "success", states
    assert states == {WORKER_TASK: "success", POD_TASK: "success"}
    # The log is read from the object store, where it lands just after the task has ended.
    kube.wait_until(
        f"the output of {POD_TASK} in its log",
        lambda: '{"pod": "task-in-pod-' in af.task_log(DAG, run_id, POD_TASK),
        timeout=180,
        interval=5,
    )
    return run


def run_check(timeout: float = 600) -> str:
    """A fresh platform_check run from trigger to success (a new API connection: pods may have rolled)."""
    with airflow.connect() as af:
        run_id = af.trigger(DAG)
        assert_check_succeeded(af, run_id, timeout)
    return run_id


# --- helm, the way `make up` calls it ----------------------------------------------------------


def helm_up(*extra: str) -> None:
    """`helm upgrade --install` exactly as hack/up.sh runs it (chart as packaged by `make up`, reset
    values, AIRYARD_VALUES when set), plus `extra` arguments."""
    chart = kube.REPO / "charts" / "airyard"
    assert list((chart / "charts").glob("airflow-*.tgz")), (
        "charts/airyard/charts has no official Airflow chart: run `AIRFLOW_CHART=... make up` (or make chart-deps)"
    )
    values = ["--values", os.environ["AIRYARD_VALUES"]] if os.environ.get("AIRYARD_VALUES") else []
    kube.helm(
        "upgrade", "--install", REL, str(chart), "--namespace", NS, "--create-namespace", "--timeout", "20m",
        "--reset-values", "--force-conflicts", *values, *extra, timeout=1500,
    )  # fmt: skip


def rollout_args(stamp: str) -> list[str]:
    """Values that roll the Airflow control plane: one pod annotation on each component."""
    return [f"--set-string=airflow.{c}.podAnnotations.{ROLLOUT_ANNOTATION}={stamp}" for c in AIRFLOW_COMPONENTS]


def rollout_stamps() -> dict[str, str | None]:
    """The rollout annotation on each Airflow Deployment's pod template (None: not set)."""
    out = {}
    for name in ("scheduler", "api-server", "dag-processor", "triggerer"):
        meta = kube.get("deployment", f"{REL}-{name}", NS)["spec"]["template"]["metadata"]
        out[name] = (meta.get("annotations") or {}).get(ROLLOUT_ANNOTATION)
    return out


def release() -> dict[str, Any]:
    return json.loads(kube.helm("status", REL, "-n", NS, "-o", "json"))


def secrets() -> dict[str, dict[str, str]]:
    """Every Secret of the namespace but Helm's release records: name -> data."""
    return {
        s["metadata"]["name"]: s.get("data", {})
        for s in kube.get("secrets", namespace=NS)["items"]
        if s.get("type") not in {"helm.sh/release.v1", "kubernetes.io/service-account-token"}
    }


# --- the scenarios -----------------------------------------------------------------------------


def test_scheduler_killed_mid_run() -> None:
    """Scheduler pod killed mid-run: the run completes and the running task is not run again."""
    with airflow.connect() as af:
        run_id = start_check(af, sleep_seconds=60)
        before = set(pods_of("scheduler"))
        # A kill, not a graceful stop: the new scheduler must adopt what the dead one left running.
        kube.kubectl("delete", "pod", "-n", NS, *before, "--grace-period=0", "--force", "--wait=false")
        kube.wait_until("a new scheduler pod", lambda: bool(set(pods_of("scheduler")) - before), timeout=120)
        assert_check_succeeded(af, run_id)
        assert [t["state"] for t in tries(af, run_id, WORKER_TASK)] == ["success"]


def test_worker_pod_killed() -> None:
    """A task's worker pod killed: the task is retried (retries=1) and the run succeeds."""
    with airflow.connect() as af:
        run_id = start_check(af, sleep_seconds=60)
        pod = worker_pod(run_id)
        assert pod
        kube.kubectl("delete", "pod", "-n", airflow.TASKS_NAMESPACE, pod, "--grace-period=0", "--force", "--wait=false")
        assert_check_succeeded(af, run_id, timeout=900)
        history = tries(af, run_id, WORKER_TASK)
    assert [(t["try_number"], t["state"]) for t in history] == [(1, "failed"), (2, "success")], history


def test_postgresql_restarted() -> None:
    """PostgreSQL restarted: Airflow recovers by itself, keeps its history, and runs a new DAG run."""
    earlier = run_check()
    restarts_before = restarts()
    kube.replace_pod(f"{REL}-postgresql-0", NS)
    recovered = wait_platform_ready(timeout=900)
    restarted = {p: n - restarts_before.get(p, 0) for p, n in restarts().items() if n > restarts_before.get(p, 0)}
    print(f"\nplatform Ready {recovered:.0f} s after PostgreSQL; container restarts meanwhile: {restarted}")
    later = run_check()
    with airflow.connect() as af:
        # The metadata database kept what it had before the restart.
        assert af.run(DAG, earlier)["state"] == "success"
        assert af.run(DAG, later)["state"] == "success"


KAFKA_PRODUCER = """
import json, os, time
from confluent_kafka.admin import AdminClient, NewTopic
from airyard.movies.extract import Publisher

topic, count, rate = os.environ["TOPIC"], int(os.environ["COUNT"]), float(os.environ["RATE"])
config = kafka_config()
admin = AdminClient(config)  # kept referenced: a collected client fails its futures (_DESTROY)
(created,) = admin.create_topics([NewTopic(topic, num_partitions=3)]).values()
created.result(30)
publisher = Publisher(config)  # the extraction pods' producer: idempotent, acks=all
for i in range(count):
    publisher.send(topic, f"record:{i}", {"seq": i})
    if i % 50 == 0:
        print(f"progress produced={i} acked={sum(publisher.sent.values())}", flush=True)
    time.sleep(1 / rate)
# librdkafka retries each message for message.timeout.ms (5 min by default) across the restart.
publisher.flush(300)
print("RESULT " + json.dumps({"acked": sum(publisher.sent.values()), "errors": publisher.errors[:5]}), flush=True)
"""

# At-least-once into MongoDB: upsert a batch by its key (the pipeline's store.upsert), then commit
# its offsets; a broker restart may replay a batch, which the upsert absorbs.
KAFKA_SINK = """
import json, os, time
from confluent_kafka import Consumer, KafkaException, TopicPartition
from airyard.movies import store

topic, count, collection = os.environ["TOPIC"], int(os.environ["COUNT"]), os.environ["COLLECTION"]
config = kafka_config()
consumer = Consumer({**config, "group.id": os.environ["GROUP"], "auto.offset.reset": "earliest",
                     "enable.auto.commit": False})
client, database = store.client_from_env()
coll = client[database][collection]
consumer.subscribe([topic])
consumed, replayed, commit_errors, errors, keys = 0, 0, [], [], set()
deadline, quiet_until = time.monotonic() + 900, None
while time.monotonic() < deadline:
    batch = []
    for m in consumer.consume(200, 1.0):
        if m.error():
            errors.append(str(m.error()))
            continue
        batch.append({"key": m.key().decode(), "seq": json.loads(m.value())["seq"]})
    if batch:
        replayed += store.upsert(coll, batch, key=("key",))["updated"]
        consumed += len(batch)
        keys.update(d["key"] for d in batch)
        try:
            consumer.commit(asynchronous=False)
        except KafkaException as exc:
            commit_errors.append(str(exc))
    if len(keys) >= count and quiet_until is None:
        quiet_until = time.monotonic() + 15  # duplicates, if any, would arrive now
    if quiet_until is not None and time.monotonic() > quiet_until:
        break
parts = [TopicPartition(topic, p) for p in consumer.list_topics(topic, timeout=30).topics[topic].partitions]
marks = [consumer.get_watermark_offsets(tp, timeout=30) for tp in parts]
committed = consumer.committed(parts, timeout=30)
consumer.close()
docs = list(coll.find({}, {"_id": 0, "key": 1, "seq": 1}))
print("RESULT " + json.dumps({
    "consumed": consumed, "replayed": replayed, "commit_errors": len(commit_errors), "errors": errors[:5],
    "log_messages": sum(high - low for low, high in marks),
    "uncommitted": sum(high - tp.offset for (_, high), tp in zip(marks, committed)),
    "documents": len(docs), "distinct_keys": len({d["key"] for d in docs}),
    "seq_matches_key": all(d["key"] == f"record:{d['seq']}" for d in docs),
    "missing": sorted(set(range(count)) - {d["seq"] for d in docs})[:20],
}), flush=True)
"""

KAFKA_CLEANUP = """
import os
from confluent_kafka.admin import AdminClient
from airyard.movies import store

admin = AdminClient(kafka_config())
for future in admin.delete_topics([os.environ["TOPIC"]]).values():
    try:
        future.result(30)
    except Exception as exc:  # never created
        print(exc)
admin.delete_consumer_groups([os.environ["GROUP"]])
client, database = store.client_from_env()
client[database].drop_collection(os.environ["COLLECTION"])
print("cleaned")
"""


def movies_pod(name: str, script: str, env: dict[str, str]) -> dict[str, Any]:
    """A pod of airyard/movies with the platform's connections, as the pipeline's task pods get them."""
    manifest = kube.pod(
        name, ["python3", "-c", kube.KAFKA_CLIENT + script], image_name="movies", labels={"app": name, **CLIENT}
    )
    container = manifest["spec"]["containers"][0]
    # Kafka as its admin: the test makes and deletes its own topics and groups.
    container["env"] = [{"name": k, "value": v} for k, v in env.items()] + kube.kafka_env(f"{REL}-kafka-admin")
    container["envFrom"] = [{"secretRef": {"name": CONNECTIONS}}]
    return manifest


def result_of(pod: str) -> dict[str, Any]:
    phase = kube.wait_pod_phase(pod, NS, {"Succeeded", "Failed"}, timeout=900)
    out = kube.logs(pod, NS)
    assert phase == "Succeeded", f"{pod} {phase}:\n{out[-3000:]}"
    return json.loads(out.split("RESULT ", 1)[1])


def acked(pod: str) -> int:
    """Records the producer pod has had acknowledged so far; fails at once when the pod failed."""
    if kube.pod_phase(pod, NS) == "Failed":
        raise AssertionError(f"{pod} failed:\n{kube.logs(pod, NS)[-3000:]}")
    return acked_so_far(NS, pod)


def test_kafka_broker_restarted_during_ingestion() -> None:
    """Kafka broker restarted while records stream into MongoDB: none lost, none duplicated."""
    tag = uuid.uuid4().hex[:8]
    count = 1500  # at 25 records/s about a minute of production: the restart falls in the middle
    env = {
        "TOPIC": f"e2e.faults.{tag}",
        "GROUP": f"e2e-faults-{tag}",
        "COLLECTION": f"e2e_faults_{tag}",
        "COUNT": str(count),
        "RATE": "25",
    }
    producer, sink = f"e2e-faults-producer-{tag}", f"e2e-faults-sink-{tag}"
    try:
        kube.apply(movies_pod(producer, KAFKA_PRODUCER, env), namespace=NS)
        kube.wait_until("the producer's first acknowledgements", lambda: acked(producer) >= 100, timeout=300)
        kube.apply(movies_pod(sink, KAFKA_SINK, env), namespace=NS)
        kube.wait_until("a third of the records acknowledged", lambda: acked(producer) >= count // 3, timeout=300)
        kube.replace_pod(f"{REL}-kafka-0", NS)
        produced, stored = result_of(producer), result_of(sink)
        print(f"\nproducer: {produced}\nsink: {stored}")
        assert produced == {"acked": count, "errors": []}
        # The log holds each record once (idempotent producer), the group has read it all ...
        assert (stored["log_messages"], stored["uncommitted"], stored["errors"]) == (count, 0, [])
        # ... and MongoDB holds each record once, with its own payload.
        assert stored["missing"] == []
        assert (stored["documents"], stored["distinct_keys"], stored["seq_matches_key"]) == (count, count, True)
    finally:
        for pod in (producer, sink):
            kube.kubectl("delete", "pod", pod, "-n", NS, "--ignore-not-found", "--wait=false", check=False)
        manifest = movies_pod(f"e2e-faults-cleanup-{tag}", KAFKA_CLEANUP, env)
        kube.apply(manifest, namespace=NS)
        kube.wait_pod_phase(manifest["metadata"]["name"], NS, {"Succeeded", "Failed"}, timeout=300)
        kube.kubectl("delete", "pod", manifest["metadata"]["name"], "-n", NS, "--wait=false", check=False)


# Malformed records a feed can carry, added to the fake TMDB's data next to its valid records
# (which stay as they are, so the movie pipeline's own tests see the same data): the record as
# served, where it is served, and the dead-letter reason the pipeline must give.
MALFORMED: list[tuple[str, Any, str]] = [
    ("popular", "not-a-movie", "movie must be an object, got str"),
    (
        "popular",
        {"id": 990001, "title": "Out Of Range", "vote_average": 42},
        "vote_average must be a number in [0, 10], got 42",
    ),
    (
        "popular",
        {"id": 990002, "title": "No Such Day", "release_date": "2025-02-30"},
        "release_date is not a calendar date: '2025-02-30'",
    ),
    (
        "popular",
        {"id": 990003, "title": "Genre Names", "genre_ids": ["Action"]},
        "genre_ids must be a list of integers, got ['Action']",
    ),
    ("popular", {"id": -7, "title": "Negative Id"}, "id must be a positive integer, got -7"),
    ("reviews", {"id": "", "content": "A review without an id."}, "review id must be a non-empty string, got ''"),
    ("reviews", {"id": "r-e2e-empty", "content": "   "}, "content is missing or empty"),
    ("credits_cast", {"id": "abc", "name": "Someone"}, "id must be a positive integer, got 'abc'"),
]
FAKE_TMDB = "e2e-faults-tmdb"
INGESTION = "movie_data_ingestion"
EXTRACTS = ("extract_trending_movies", "extract_popular_movies", "extract_trending_people", "extract_movie_details")

READ_RUN = """
import json, os
run = os.environ["RUN_ID"]
out = {}
for topic in ("movies.raw.movies", "movies.raw.people", "movies.raw.reviews", "movies.deadletter"):
    out[topic] = [{"key": k, "source": v.get("source"), "reason": v.get("reason")}
                  for k, v in read_topic(topic) if v.get("run_id") == run]
print("RESULT " + json.dumps(out))
"""


def popular_pages() -> int:
    """The pages of popular movies ingestion reads (the variable max_popular_pages, default 3)."""
    variables = kube.get("configmap", f"{REL}-airflow-variables", NS).get("data", {})
    return int(variables.get("AIRFLOW_VAR_MAX_POPULAR_PAGES", 3))


def malformed_fixtures(pages: int) -> tuple[dict[str, Any], set[str]]:
    """The fake's default data plus MALFORMED; and the keys of the valid movies ingestion reads."""
    fixtures = tmdb.build_fixtures()
    bad_movies = [record for where, record, _ in MALFORMED if where == "popular"]
    # First in the list, so they are served whatever the number of pages read.
    fixtures["popular"][:0] = bad_movies
    for where, record, _ in MALFORMED:
        if where == "reviews":
            fixtures["reviews"]["1001"].append(record)
        elif where == "credits_cast":
            fixtures["credits"]["1003"]["cast"].append(record)
    served = fixtures["popular"][: pages * tmdb.PAGE_SIZE] + fixtures["trending_movie"][: tmdb.PAGE_SIZE]
    valid = {
        f"movie:{m['id']}" for m in served if m not in bad_movies and isinstance(m.get("id"), int) and m.get("title")
    }
    return fixtures, valid


@pytest.fixture
def malformed_tmdb() -> Iterator[set[str]]:
    """A fake TMDB serving MALFORMED among its records, as tmdb_default; yields the valid movie keys."""
    fixtures, valid = malformed_fixtures(popular_pages())
    cmd = ["python3", "/fake/tmdb.py", "--port", "8080", "--fixtures", "/fake/fixtures.json"]
    conn = {"conn_type": "http", "host": f"http://{FAKE_TMDB}.{NS}.svc:8080", "password": "test-key"}
    with (
        fakes.serving(NS, FAKE_TMDB, {FAKE_TMDB: (cmd, {"http": 8080})}, files={"fixtures.json": json.dumps(fixtures)}),
        kube.secret_keys(EXTERNAL, airflow.TASKS_NAMESPACE, {"AIRFLOW_CONN_TMDB_DEFAULT": json.dumps(conn)}),
    ):
        yield valid


def test_malformed_input_is_dead_lettered(malformed_tmdb: set[str]) -> None:
    """Malformed input: each bad record is dead-lettered with its reason, the good ones go through,
    the run succeeds without a retry, and its reported counts match what is on Kafka."""
    with airflow.connect() as af:
        started = time.monotonic()
        run_id, run = af.run_dag(INGESTION, timeout=900)
        seconds = time.monotonic() - started
        assert run["state"] == "success", af.task_states(INGESTION, run_id)
        summaries = {}
        for task in EXTRACTS:
            path = f"/dags/{INGESTION}/dagRuns/{run_id}/taskInstances/{task}"
            assert af.request("GET", path)["try_number"] == 1, f"{task} needed a retry"
            summaries[task] = af.request("GET", f"{path}/xcomEntries/return_value")["value"]
    print(f"\ningestion run {run_id}: {seconds:.0f} s")
    env = [*kube.kafka_env(f"{REL}-kafka-admin"), {"name": "RUN_ID", "value": run_id}]
    name = f"e2e-faults-read-{uuid.uuid4().hex[:6]}"
    out = kube.run_script(NS, name, kube.KAFKA_CLIENT + READ_RUN, labels=CLIENT, env=env)
    on_kafka = json.loads(out.split("RESULT ", 1)[1])
    dead = on_kafka.pop("movies.deadletter")
    reasons = {(d["source"], d["reason"]) for d in dead}
    for source, record, reason in MALFORMED:
        assert (source, reason) in reasons, f"{record!r} was not dead-lettered as {reason!r}: {sorted(reasons)}"
    raw_keys = {m["key"] for msgs in on_kafka.values() for m in msgs}
    assert {k for k in raw_keys if k.startswith("movie:")} == malformed_tmdb
    assert not {k for k in raw_keys if "99000" in k or "r-e2e-empty" in k or k.endswith(":abc")}
    # What the run reports is what reached Kafka: records and dead letters, one message each.
    assert sum(s["dead_letters"] for s in summaries.values()) == len(dead)
    assert sum(s["records"] for s in summaries.values()) == sum(len(m) for m in on_kafka.values())


BROKEN_DAG = "e2e_broken_dag.py"
BROKEN_SOURCE = textwrap.dedent(
    '''\
    """Written by tests/e2e/test_faults.py into the DAG processor's folder, then removed."""
    from airflow.sdk import DAG

    with DAG(dag_id="e2e_broken_dag"
        pass
    '''
)


def dag_processor_exec(*command: str, input: str | None = None) -> str:
    (pod,) = pods_of("dag-processor")
    return kube.kubectl("exec", "-i", "-n", NS, pod, "-c", "dag-processor", "--", *command, input=input)


def import_errors(af: airflow.Airflow) -> list[dict[str, Any]]:
    errors = af.request("GET", "/importErrors", params={"limit": 100})["import_errors"]
    return [e for e in errors if e["filename"].endswith(BROKEN_DAG)]


@contextmanager
def synced_dags_folder(folder: str) -> Iterator[str]:
    """A writable folder inside the DAG processor's dags folder, as a DAG-sync volume would be: the
    image's DAGs stay, and the root filesystem stays read-only. Mounted for the test and removed
    after it (each rolls the DAG processor)."""
    deployment = f"deploy/{REL}-dag-processor"
    mount = f"{folder}/e2e-synced"
    kube.kubectl(
        "patch", deployment, "-n", NS, "--type=json", "-p",
        json.dumps([
            {"op": "add", "path": "/spec/template/spec/volumes/-", "value": {"name": "e2e-synced", "emptyDir": {}}},
            {"op": "add", "path": "/spec/template/spec/containers/0/volumeMounts/-",
             "value": {"name": "e2e-synced", "mountPath": mount}},
        ]),
    )  # fmt: skip
    try:
        kube.kubectl("rollout", "status", deployment, "-n", NS, "--timeout=600s", timeout=660)
        yield mount
    finally:
        kube.kubectl("rollout", "undo", deployment, "-n", NS)
        kube.kubectl("rollout", "status", deployment, "-n", NS, "--timeout=600s", timeout=660)


def test_dag_file_with_syntax_error() -> None:
    """A DAG file with a syntax error: the import error is shown, the other DAGs stay and run.

    DAG files are baked into the airflow image and its root filesystem is read-only, so the broken
    file is written into a synced folder mounted into the running DAG processor's dags folder (the
    LocalDagBundle it parses), the way a bad file arrives from a DAG sync.
    """
    folder = dag_processor_exec("airflow", "config", "get-value", "core", "dags_folder").strip()
    with airflow.connect() as af, synced_dags_folder(folder) as synced:
        dags_before = {d["dag_id"] for d in af.request("GET", "/dags", params={"limit": 200})["dags"]}
        try:
            dag_processor_exec("sh", "-c", f"cat > {synced}/{BROKEN_DAG}", input=BROKEN_SOURCE)
            kube.wait_until("the import error in the API", lambda: bool(import_errors(af)), timeout=300, interval=5)
            (error,) = import_errors(af)
            assert "SyntaxError" in error["stack_trace"], error
            # Every other DAG is still there, and runs.
            dags = {d["dag_id"] for d in af.request("GET", "/dags", params={"limit": 200})["dags"]}
            assert dags_before <= dags
            assert "e2e_broken_dag" not in dags
            run_id = af.trigger(DAG)
            assert_check_succeeded(af, run_id)
        finally:
            dag_processor_exec("rm", "-f", f"{synced}/{BROKEN_DAG}")
        kube.wait_until("the import error to clear", lambda: not import_errors(af), timeout=300, interval=5)


def test_helm_upgrade_during_a_run() -> None:
    """`helm upgrade` during a run (it rolls the whole Airflow control plane): the run succeeds and
    its running task is not run again."""
    stamp = uuid.uuid4().hex[:8]
    with airflow.connect() as af:
        run_id = start_check(af, sleep_seconds=120)
    try:
        started = time.monotonic()
        helm_up(*rollout_args(stamp))
        assert set(rollout_stamps().values()) == {stamp}
        for name in ("scheduler", "api-server", "dag-processor", "triggerer"):
            kube.kubectl("rollout", "status", "-n", NS, f"deployment/{REL}-{name}", "--timeout=900s", timeout=920)
        print(f"\nupgrade and roll-out: {time.monotonic() - started:.0f} s")
        with airflow.connect() as af:  # the api-server it was forwarded to is gone
            assert_check_succeeded(af, run_id)
            (worker_try,) = tries(af, run_id, WORKER_TASK)
        assert worker_try["state"] == "success"
        # The new control plane came while the task ran: the upgrade did happen during the run.
        ended = datetime.fromisoformat(worker_try["end_date"])
        for component in ("scheduler", "api-server"):
            (pod,) = pods_of(component).values()
            assert datetime.fromisoformat(pod["metadata"]["creationTimestamp"]) < ended, component
    finally:
        helm_up()  # back to the values of `make up`
        wait_platform_ready()
    assert set(rollout_stamps().values()) == {None}


def test_helm_rollback() -> None:
    """`helm rollback`: the release returns to the previous revision's manifest and values, the
    platform is healthy and runs DAGs, and no Secret changed."""
    previous = release()["version"]
    values = kube.helm("get", "values", REL, "-n", NS, "--revision", str(previous), "-o", "json")
    manifest = kube.helm("get", "manifest", REL, "-n", NS, "--revision", str(previous))
    secrets_before = secrets()

    helm_up(*rollout_args(uuid.uuid4().hex[:8]))
    assert release()["version"] == previous + 1
    wait_platform_ready()
    assert None not in rollout_stamps().values()

    started = time.monotonic()
    kube.helm("rollback", REL, str(previous), "-n", NS, "--timeout", "20m", "--force-conflicts", timeout=1500)
    ready = wait_platform_ready()
    print(f"\nrollback to revision {previous}, platform Ready: {time.monotonic() - started:.0f} s ({ready:.0f} s wait)")

    now = release()
    assert (now["version"], now["info"]["status"]) == (previous + 2, "deployed")
    assert now["info"]["description"] == f"Rollback to {previous}"
    assert json.loads(kube.helm("get", "values", REL, "-n", NS, "-o", "json")) == json.loads(values)
    assert kube.helm("get", "manifest", REL, "-n", NS) == manifest
    assert set(rollout_stamps().values()) == {None}
    assert secrets() == secrets_before
    run_check()
