"""charts/kafka on the kind cluster: a KRaft node from our image, real confluent-kafka clients in pods.

The clients run in pods of the toolbox image that carry the chart's client label: KRaft advertises
per-pod names of the headless Service, which only resolve inside the cluster. They log in as the
chart's user `app` (SASL/SCRAM), whose ACLs allow the topics "e2e." and the groups "check-".
Our CNI does not enforce NetworkPolicy, so the policy is checked as an object, not as blocked traffic.
"""

from __future__ import annotations

import json
import time
from typing import Any

from devkit import kube

RELEASE = "kafka"  # objects are named "kafka", "kafka-headless", "kafka-connection"
CLIENT = {"airyard.io/kafka-client": "true"}
DECLARED = {"name": "e2e.declared", "partitions": 2, "config": {"retention.ms": 3600000}}
USERS = {"auth": {"users": [{"name": "app", "topics": ["e2e."], "groups": ["check-"]}]}}

PRODUCE = """
import json, os, time
from confluent_kafka import Producer

count, rate, topic = int(os.environ["COUNT"]), float(os.environ["RATE"]), os.environ["TOPIC"]
producer = Producer({
    **kafka_config(),
    "acks": "all",
    "enable.idempotence": True,
    # Long enough to ride out a broker restart: librdkafka retries until then.
    "message.timeout.ms": 300000,
    "linger.ms": 5,
})
acked, failed = [], []

def delivered(err, msg):
    if err is None:
        acked.append(int(msg.value()))
    else:
        failed.append(str(err))

for i in range(count):
    while True:
        try:
            producer.produce(topic, key=str(i % 7).encode(), value=str(i).encode(), on_delivery=delivered)
            break
        except BufferError:
            producer.poll(0.5)
    producer.poll(0)
    if i % 100 == 0:
        print(f"progress produced={i} acked={len(acked)}", flush=True)
    time.sleep(1 / rate)
unflushed = producer.flush(300)
print("RESULT " + json.dumps({"acked": len(acked), "distinct": len(set(acked)), "failed": failed[:5],
                              "unflushed": unflushed}), flush=True)
"""

CONSUME = """
import json, os, time, uuid
from confluent_kafka import Consumer

expected, topic = int(os.environ["COUNT"]), os.environ["TOPIC"]
consumer = Consumer({
    **kafka_config(),
    "group.id": "check-" + uuid.uuid4().hex,
    "auto.offset.reset": "earliest",
    "enable.auto.commit": False,
})
consumer.subscribe([topic])
values, errors = [], []
deadline = time.monotonic() + 180
quiet_until = None
while time.monotonic() < deadline:
    msg = consumer.poll(1.0)
    if msg is not None and msg.error():
        errors.append(str(msg.error()))
    elif msg is not None:
        values.append(int(msg.value()))
    # Having seen them all, listen a little longer: duplicates would arrive now.
    if len(values) >= expected and quiet_until is None:
        quiet_until = time.monotonic() + 5
    if quiet_until is not None and time.monotonic() > quiet_until:
        break
consumer.close()
missing = sorted(set(range(expected)) - set(values))
print(json.dumps({"count": len(values), "distinct": len(set(values)), "missing": missing[:20],
                  "missing_count": len(missing), "errors": errors[:5]}))
"""

DESCRIBE = """
import json, os
from confluent_kafka.admin import AdminClient, ConfigResource

admin = AdminClient(kafka_config())
topic = os.environ["TOPIC"]
meta = admin.list_topics(timeout=30)
(config,) = admin.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, topic)]).values()
print(json.dumps({"brokers": len(meta.brokers), "partitions": len(meta.topics[topic].partitions),
                  "retention.ms": config.result()["retention.ms"].value}))
"""


def client_env(namespace: str, user: str = "app", **values: Any) -> list[dict[str, Any]]:
    """The user's identity and bootstrap servers from its Secret (the contract other charts use), plus values."""
    return [*kube.kafka_env(f"{RELEASE}-user-{user}"), *({"name": k, "value": str(v)} for k, v in values.items())]


def client_pod(name: str, script: str, env: list[dict[str, Any]]) -> dict[str, Any]:
    pod = kube.pod(name, ["python3", "-c", kube.KAFKA_CLIENT + script], labels={"app": name, **CLIENT})
    pod["spec"]["containers"][0]["env"] = env
    return pod


def run_json(namespace: str, name: str, script: str, **values: Any) -> dict[str, Any]:
    env = client_env(namespace, **values)
    out = kube.run_script(namespace, name, kube.KAFKA_CLIENT + script, labels=CLIENT, env=env, timeout=420)
    return json.loads(out.strip().splitlines()[-1].removeprefix("RESULT "))


def install(namespace: str, values: dict[str, Any]) -> float:
    """helm install --wait; returns the seconds until the StatefulSet was ready.

    On this shared 2-core cluster the kubelet sometimes rejects a freshly scheduled pod (phase
    Failed) while other tests' pods are still terminating; the StatefulSet replaces it, but Helm's
    --wait gives up at the first Failed pod. Then the rollout itself must still complete.
    """
    start = time.monotonic()
    try:
        kube.helm_install("kafka", RELEASE, namespace, {"persistence": {"size": "1Gi"}, **USERS, **values})
    except RuntimeError as err:
        if "pods have failed" not in str(err):
            raise
        print(f"helm --wait saw a failed pod, waiting for the StatefulSet to replace it: {err}")
        kube.kubectl("rollout", "status", f"statefulset/{RELEASE}", "-n", namespace, "--timeout=300s", timeout=320)
    elapsed = time.monotonic() - start
    print(f"kafka ready {elapsed:.0f} s after helm install")
    # helm --wait does not wait for Jobs: the topics Job, which also makes the users known to Kafka,
    # finishes on its own, retrying until Kafka answers. Clients log in after it.
    (job,) = [
        j["metadata"]["name"]
        for j in kube.get("jobs", namespace=namespace)["items"]
        if "-topics-" in j["metadata"]["name"]
    ]
    kube.kubectl("wait", "-n", namespace, "--for=condition=Complete", f"job/{job}", "--timeout=300s", timeout=320)
    return elapsed


def acked_so_far(namespace: str, pod: str = "producer") -> int:
    """Messages the producer pod has had acknowledged, from its progress lines (0 before it starts)."""
    lines = kube.kubectl("logs", pod, "-n", namespace, check=False).splitlines()
    progress = [ln for ln in lines if ln.startswith("progress")]
    return int(progress[-1].split("acked=")[1]) if progress else 0


def test_installs_ready_with_declared_topic_and_data_survives_the_pod(namespace: str) -> None:
    # Users may not create topics: every topic a client uses is declared.
    install(namespace, {"topics": [DECLARED, {"name": "e2e.roundtrip"}]})
    sts = kube.get("statefulset", RELEASE, namespace)
    assert sts["status"]["readyReplicas"] == 1
    assert kube.secret_value(f"{RELEASE}-connection", "bootstrap-servers", namespace) == f"kafka.{namespace}.svc:9092"
    # Claims outlive uninstall; the NetworkPolicy exists (kind's CNI here does not enforce it).
    assert kube.get("pvc", f"data-{RELEASE}-0", namespace)["status"]["phase"] == "Bound"
    policy = kube.get("networkpolicy", RELEASE, namespace)
    assert policy["spec"]["ingress"][0]["from"][0] == {"podSelector": {"matchLabels": CLIENT}}

    declared = run_json(namespace, "describe", DESCRIBE, TOPIC=DECLARED["name"])
    assert declared == {"brokers": 1, "partitions": 2, "retention.ms": "3600000"}

    produced = run_json(namespace, "produce", PRODUCE, TOPIC="e2e.roundtrip", COUNT=500, RATE=1000)
    assert produced == {"acked": 500, "distinct": 500, "failed": [], "unflushed": 0}
    consumed = run_json(namespace, "consume", CONSUME, TOPIC="e2e.roundtrip", COUNT=500)
    assert (consumed["count"], consumed["distinct"], consumed["missing_count"]) == (500, 500, 0)

    kube.replace_pod(f"{RELEASE}-0", namespace)
    again = run_json(namespace, "consume-again", CONSUME, TOPIC="e2e.roundtrip", COUNT=500)
    assert (again["count"], again["distinct"], again["missing_count"]) == (500, 500, 0)
    assert run_json(namespace, "describe-again", DESCRIBE, TOPIC=DECLARED["name"])["partitions"] == 2


def test_idempotent_producer_loses_nothing_across_a_broker_restart(namespace: str) -> None:
    install(namespace, {"topics": [DECLARED, {"name": "e2e.durable"}]})
    count, rate = 3000, 50  # about a minute of production; the restart falls in the middle
    producer = client_pod("producer", PRODUCE, client_env(namespace, TOPIC="e2e.durable", COUNT=count, RATE=rate))
    kube.apply(producer, namespace=namespace)

    kube.wait_until("the producer's first acknowledgements", lambda: acked_so_far(namespace) >= 300, timeout=180)
    kube.replace_pod(f"{RELEASE}-0", namespace)

    assert kube.wait_pod_phase("producer", namespace, {"Succeeded", "Failed"}, timeout=600) == "Succeeded"
    result = json.loads(kube.logs("producer", namespace).split("RESULT ", 1)[1])
    assert result == {"acked": count, "distinct": count, "failed": [], "unflushed": 0}

    consumed = run_json(namespace, "consume", CONSUME, TOPIC="e2e.durable", COUNT=count)
    assert consumed["missing"] == []
    # Idempotence: the retries across the restart wrote no message twice.
    assert (consumed["count"], consumed["distinct"]) == (count, count)


def test_three_nodes_form_a_quorum_and_ride_out_the_loss_of_one(namespace: str) -> None:
    topic = {"name": "e2e.replicated", "partitions": 3}
    install(namespace, {"replicas": 3, "topics": [topic]})
    assert kube.get("statefulset", RELEASE, namespace)["status"]["readyReplicas"] == 3
    described = run_json(namespace, "describe", DESCRIBE, TOPIC=topic["name"])
    assert (described["brokers"], described["partitions"]) == (3, 3)

    count = 2000
    producer = client_pod("producer", PRODUCE, client_env(namespace, TOPIC=topic["name"], COUNT=count, RATE=50))
    kube.apply(producer, namespace=namespace)
    kube.wait_until("the producer's first acknowledgements", lambda: acked_so_far(namespace) >= 300, timeout=180)
    # One node of three goes: replication factor 3 with min.insync.replicas 2 keeps acks=all writes going.
    kube.replace_pod(f"{RELEASE}-1", namespace)
    assert kube.wait_pod_phase("producer", namespace, {"Succeeded", "Failed"}, timeout=600) == "Succeeded"
    result = json.loads(kube.logs("producer", namespace).split("RESULT ", 1)[1])
    assert result == {"acked": count, "distinct": count, "failed": [], "unflushed": 0}
    consumed = run_json(namespace, "consume", CONSUME, TOPIC=topic["name"], COUNT=count)
    assert consumed["missing"] == []
    assert (consumed["count"], consumed["distinct"]) == (count, count)


REFUSALS = """
import json, os
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

def watermarks(config, topic):
    # A failed login surfaces as a connection error; librdkafka names the cause to error_cb.
    seen = []
    c = Consumer({**config, "group.id": "check-refusals", "error_cb": lambda err: seen.append(err.name())})
    try:
        # Metadata first: an unauthorised topic comes back with its ACL error (offsets alone would
        # only say "unknown partition").
        error = c.list_topics(topic, timeout=20).topics[topic].error
        if error is not None:
            return error.name()
        return "allowed %s" % (c.get_watermark_offsets(TopicPartition(topic, 0), timeout=20),)
    except KafkaException as exc:
        c.poll(2)  # serves the queued errors to error_cb
        return "_AUTHENTICATION" if "_AUTHENTICATION" in seen else exc.args[0].name()
    finally:
        c.close()

def produce(config, topic):
    errors = []
    p = Producer({**config, "message.timeout.ms": 20000})
    p.produce(topic, b"x", on_delivery=lambda err, msg: errors.append(err.name() if err else "ok"))
    p.flush(30)
    return errors[0] if errors else "no answer"

user = kafka_config()
anonymous = {"bootstrap.servers": user["bootstrap.servers"], "socket.timeout.ms": 10000}
print("RESULT " + json.dumps({
    "user_reads_own": watermarks(user, os.environ["OWN"]),
    "user_reads_other": watermarks(user, os.environ["OTHER"]),
    "user_writes_other": produce(user, os.environ["OTHER"]),
    "wrong_password": watermarks({**user, "sasl.password": "not-it"}, os.environ["OWN"]),
    "anonymous": watermarks(anonymous, os.environ["OWN"]),
}))
"""


def test_clients_are_authenticated_and_confined_to_their_topics(namespace: str) -> None:
    other = {"name": "other.private"}
    install(namespace, {"topics": [DECLARED, other]})
    outcome = run_json(namespace, "refusals", REFUSALS, OWN=DECLARED["name"], OTHER=other["name"])
    print(f"\n{outcome}")
    assert outcome["user_reads_own"].startswith("allowed")
    assert outcome["user_reads_other"] == "TOPIC_AUTHORIZATION_FAILED"
    assert outcome["user_writes_other"] == "TOPIC_AUTHORIZATION_FAILED"
    assert outcome["wrong_password"] == "_AUTHENTICATION"
    # A client without SASL speaks a protocol the SASL listener does not: it never gets an answer.
    assert outcome["anonymous"] in {"_TRANSPORT", "_TIMED_OUT", "_ALL_BROKERS_DOWN"}
