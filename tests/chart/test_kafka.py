"""charts/kafka: render, validate against Kubernetes 1.35 and the Strimzi CRD schemas, assert on the objects."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest

from tests.chart.common import (
    assert_deterministic,
    assert_network_policy,
    assert_rejects,
    assert_restricted,
    find,
    render,
    secrets_job_spec,
)
from tests.chart.helm import HelmError, kinds, search

CHART = "kafka"
TOPICS = [
    {"name": "pipeline.events_raw", "partitions": 3, "config": {"retention.ms": 86400000}},
    {"name": "scores", "replicationFactor": 1, "config": {"cleanup.policy": "compact"}},
]


def properties(docs: list[dict[str, Any]]) -> dict[str, str]:
    text = find(docs, "ConfigMap", "test-kafka")["data"]["server.properties"]
    pairs = [line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#")]
    return {k: v for k, v in pairs}


def env(sts: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in search("spec.template.spec.containers[0].env", sts)}


def topics_job(docs: list[dict[str, Any]]) -> dict[str, Any]:
    (job,) = [
        d for d in docs if d["kind"] == "Job" and search('metadata.labels."app.kubernetes.io/component"', d) == "topics"
    ]
    return job


def test_defaults_render_one_persistent_kraft_node() -> None:
    docs = render(CHART)
    assert kinds(docs) == [
        "ConfigMap/test-kafka",
        "Job/" + next(d["metadata"]["name"] for d in docs if "-secrets-" in d["metadata"]["name"]),
        "Job/" + topics_job(docs)["metadata"]["name"],
        "NetworkPolicy/test-kafka",
        "NetworkPolicy/test-kafka-clients",
        "Role/test-kafka-secrets",
        "RoleBinding/test-kafka-secrets",
        "Secret/test-kafka-connection",
        "Service/test-kafka",
        "Service/test-kafka-headless",
        "ServiceAccount/test-kafka-secrets",
        "StatefulSet/test-kafka",
    ]
    sts = find(docs, "StatefulSet", "test-kafka")
    assert sts["spec"]["replicas"] == 1
    assert sts["spec"]["podManagementPolicy"] == "Parallel"
    assert sts["spec"]["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    assert search("spec.volumeClaimTemplates[0].spec.resources.requests.storage", sts) == "2Gi"
    mounts = {m["name"]: m["mountPath"] for m in search("spec.template.spec.containers[0].volumeMounts", sts)}
    assert mounts["data"] == "/var/lib/kafka"
    props = properties(docs)
    # Logs and the KRaft metadata log (which defaults to the first log dir) live on the claim.
    assert props["log.dirs"].startswith("/var/lib/kafka/")
    assert "metadata.log.dir" not in props
    assert props["process.roles"] == "broker,controller"
    assert props["controller.quorum.voters"] == "0@test-kafka-0.test-kafka-headless.airyard.svc:9093"
    assert props["offsets.topic.replication.factor"] == "1"
    assert props["min.insync.replicas"] == "1"
    assert env(sts)["KAFKA_HEAP_OPTS"] == "-Xms128m -Xmx384m"
    assert env(sts)["KAFKA_ADVERTISED_HOST"] == "$(POD_NAME).test-kafka-headless.airyard.svc"
    assert search("spec.template.spec.containers[0].resources.limits.memory", sts) == "768Mi"
    assert search("spec.template.spec.securityContext.runAsUser", sts) == 1001
    assert find(docs, "Service", "test-kafka-headless")["spec"]["publishNotReadyAddresses"] is True
    assert_restricted(docs)


def test_cluster_id_is_16_bytes_base64url_derived_from_namespace_and_release() -> None:
    def cluster_id(namespace: str, release: str) -> str:
        sts = find(render(CHART, namespace=namespace, release=release), "StatefulSet")
        return str(env(sts)["KAFKA_CLUSTER_ID"])

    expected = base64.urlsafe_b64encode(hashlib.sha256(b"airyard-kafka/airyard/test").digest()[:16])
    assert cluster_id("airyard", "test") == expected.decode().rstrip("=")
    assert len(base64.urlsafe_b64decode(cluster_id("airyard", "test") + "==")) == 16
    assert cluster_id("other", "test") != cluster_id("airyard", "test")
    sts = find(render(CHART, {"kraft": {"clusterId": "MkU3OEVBNTcwNTJENDM2Qg"}}), "StatefulSet")
    assert env(sts)["KAFKA_CLUSTER_ID"] == "MkU3OEVBNTcwNTJENDM2Qg"


def test_three_replicas_form_a_static_quorum_with_replicated_internal_topics() -> None:
    docs = render(CHART, {"replicas": 3})
    assert find(docs, "StatefulSet")["spec"]["replicas"] == 3
    props = properties(docs)
    assert props["controller.quorum.voters"] == ",".join(
        f"{i}@test-kafka-{i}.test-kafka-headless.airyard.svc:9093" for i in range(3)
    )
    for key in ("offsets.topic.replication.factor", "transaction.state.log.replication.factor"):
        assert props[key] == "3"
    assert props["min.insync.replicas"] == "2"
    assert props["transaction.state.log.min.isr"] == "2"


def test_config_overrides_win_and_large_integers_stay_integers() -> None:
    docs = render(CHART, {"config": {"log.segment.bytes": 1073741824, "auto.create.topics.enable": False}})
    props = properties(docs)
    assert props["log.segment.bytes"] == "1073741824"
    assert props["auto.create.topics.enable"] == "false"
    overridden = properties(render(CHART, {"config": {"num.partitions": 4}}))
    assert overridden["num.partitions"] == "4"
    checksum = 'spec.template.metadata.annotations."checksum/config"'
    assert search(checksum, find(docs, "StatefulSet")) != search(checksum, find(render(CHART), "StatefulSet"))


def test_connection_secret_is_the_contract_and_deterministic() -> None:
    secret = find(render(CHART), "Secret", "test-kafka-connection")
    assert secret["stringData"] == {"bootstrap-servers": "test-kafka.airyard.svc:9092"}
    strimzi = find(render(CHART, {"provider": "strimzi"}), "Secret", "test-kafka-connection")
    assert strimzi["stringData"] == {"bootstrap-servers": "test-kafka-kafka-bootstrap.airyard.svc:9092"}
    external = render(CHART, {"provider": "external", "external": {"bootstrapServers": "k1:9092,k2:9092"}})
    assert kinds(external) == ["Secret/test-kafka-connection"]
    assert external[0]["stringData"] == {"bootstrap-servers": "k1:9092,k2:9092"}


def test_no_topics_without_authentication_and_declared_topics_run_an_idempotent_job() -> None:
    assert not [d for d in render(CHART, {"auth": {"enabled": False}}) if d["kind"] == "Job"]
    docs = render(CHART, {"topics": TOPICS})
    job = topics_job(docs)
    container = search("spec.template.spec.containers[0]", job)
    assert container["command"][:3] == ["python3", "-m", "airyard_toolbox.kafka_topics"]
    assert container["command"][-1] == "test-kafka.airyard.svc:9092"
    spec = json.loads(container["args"][1])
    assert spec["users"] == []
    assert spec["topics"] == [
        {
            "name": "pipeline.events_raw",
            "partitions": 3,
            "replicationFactor": 1,
            "config": {"retention.ms": "86400000"},
        },
        {"name": "scores", "partitions": 1, "replicationFactor": 1, "config": {"cleanup.policy": "compact"}},
    ]
    # The Job is a declared client of the broker, and its name follows its spec.
    assert search('spec.template.metadata.labels."airyard.io/kafka-client"', job) == "true"
    renamed = topics_job(render(CHART, {"topics": [*TOPICS, {"name": "more"}]}))
    assert renamed["metadata"]["name"] != job["metadata"]["name"]
    assert topics_job(render(CHART, {"topics": TOPICS}))["metadata"]["name"] == job["metadata"]["name"]
    assert_restricted(docs)


def test_topic_replication_defaults_to_the_node_count_up_to_three() -> None:
    job = topics_job(render(CHART, {"replicas": 3, "topics": [{"name": "t"}]}))
    spec = json.loads(search("spec.template.spec.containers[0].args[1]", job))
    assert spec["topics"][0]["replicationFactor"] == 3
    with pytest.raises(HelmError) as err:
        render(CHART, {"topics": [{"name": "t", "replicationFactor": 3}]})
    assert "topics: t asks for replicationFactor 3 but replicas is 1" in err.value.stderr


USERS = {"auth": {"users": [{"name": "movies", "topics": ["movies."], "groups": ["airyard-movies"]}]}}


def test_clients_authenticate_with_scram_and_nothing_is_allowed_without_an_acl() -> None:
    docs = render(CHART, USERS)
    props = properties(docs)
    assert props["listeners"] == "CLIENT://:9092,CONTROLLER://:9093"
    assert props["listener.security.protocol.map"] == "CLIENT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT"
    assert props["sasl.enabled.mechanisms"] == "SCRAM-SHA-512,PLAIN"
    assert props["listener.name.controller.sasl.enabled.mechanisms"] == "PLAIN"
    assert props["authorizer.class.name"] == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    assert props["allow.everyone.if.no.acl.found"] == "false"
    assert props["super.users"] == "User:admin"
    # No password in the ConfigMap: kafka-server writes the JAAS settings from the admin's Secret.
    assert "jaas" not in find(docs, "ConfigMap", "test-kafka")["data"]["server.properties"]
    sts = env(find(docs, "StatefulSet", "test-kafka"))
    assert sts["KAFKA_LISTENER_NAME"] == "CLIENT"
    assert sts["KAFKA_ADMIN_PASSWORD"] == {"secretKeyRef": {"name": "test-kafka-admin", "key": "password"}}
    # Generated once by the secrets Job: the admin (PLAIN) and one SCRAM identity per user.
    spec = {s["name"]: s for s in secrets_job_spec(docs)["secrets"]}
    assert spec["test-kafka-admin"]["generate"] == {"password": 32}
    assert spec["test-kafka-user-movies"] == {
        "name": "test-kafka-user-movies",
        "generate": {"password": 32},
        "values": {
            "username": "movies",
            "mechanism": "SCRAM-SHA-512",
            "bootstrap-servers": "test-kafka.airyard.svc:9092",
        },
    }
    # The topics Job logs in as the admin and grants each user its prefixes.
    job = topics_job(docs)
    assert json.loads(search("spec.template.spec.containers[0].args[1]", job))["users"] == [
        {"name": "movies", "topics": ["movies."], "groups": ["airyard-movies"]}
    ]
    job_env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in search("spec.template.spec.containers[0].env", job)}
    assert job_env == {
        "KAFKA_ADMIN_PASSWORD": {"name": "test-kafka-admin", "key": "password"},
        "KAFKA_USER_0_PASSWORD": {"name": "test-kafka-user-movies", "key": "password"},
    }


def test_without_authentication_the_listener_is_plaintext() -> None:
    docs = render(CHART, {"auth": {"enabled": False}})
    assert properties(docs)["listeners"] == "PLAINTEXT://:9092,CONTROLLER://:9093"
    assert "authorizer.class.name" not in properties(docs)
    assert "KAFKA_ADMIN_PASSWORD" not in env(find(docs, "StatefulSet", "test-kafka"))


def test_strimzi_provider_renders_validated_v1_resources_only() -> None:
    values = {"provider": "strimzi", "replicas": 3, "topics": TOPICS}
    docs = render(CHART, values)  # validates against tests/k8s_schema/kafka.strimzi.io
    assert kinds(docs) == [
        "Kafka/test-kafka",
        "KafkaNodePool/test-kafka-dual",
        "KafkaTopic/test-kafka-pipeline-events-raw",
        "KafkaTopic/test-kafka-scores",
        "Secret/test-kafka-connection",
    ]
    kafka = find(docs, "Kafka")
    assert kafka["apiVersion"] == "kafka.strimzi.io/v1"
    assert kafka["spec"]["kafka"]["version"] == "4.3.1"
    assert kafka["spec"]["kafka"]["config"]["min.insync.replicas"] == 2
    listener = kafka["spec"]["kafka"]["listeners"][0]
    assert listener["networkPolicyPeers"] == [{"podSelector": {"matchLabels": {"airyard.io/kafka-client": "true"}}}]
    pool = find(docs, "KafkaNodePool")
    assert pool["metadata"]["labels"]["strimzi.io/cluster"] == "test-kafka"
    assert pool["spec"]["replicas"] == 3
    assert sorted(pool["spec"]["roles"]) == ["broker", "controller"]
    assert pool["spec"]["storage"]["volumes"] == [
        {"id": 0, "type": "persistent-claim", "size": "2Gi", "deleteClaim": False, "kraftMetadata": "shared"}
    ]
    topic = find(docs, "KafkaTopic", "test-kafka-pipeline-events-raw")
    assert topic["spec"] == {
        "topicName": "pipeline.events_raw",
        "partitions": 3,
        "replicas": 3,
        "config": {"retention.ms": "86400000"},
    }
    ephemeral = find(render(CHART, {"provider": "strimzi", "persistence": {"enabled": False}}), "KafkaNodePool")
    assert ephemeral["spec"]["storage"] == {"type": "ephemeral"}


def test_strimzi_schemas_reject_what_the_operator_would_drop() -> None:
    from tests.chart.helm import SchemaError, validate

    pool = find(render(CHART, {"provider": "strimzi"}), "KafkaNodePool")
    pool["spec"]["storage"]["volumes"][0]["sise"] = "1Gi"
    with pytest.raises(SchemaError, match="sise"):
        validate(pool)


def test_network_policy_admits_declared_clients_only() -> None:
    assert_network_policy(CHART, [9092, 9093])
    peer = {"namespaceSelector": {"matchLabels": {"team": "data"}}}
    kafka = find(render(CHART, {"provider": "strimzi", "networkPolicy": {"allowedClients": [peer]}}), "Kafka")
    assert peer in kafka["spec"]["kafka"]["listeners"][0]["networkPolicyPeers"]


def test_without_persistence_data_lives_in_an_emptydir() -> None:
    sts = find(render(CHART, {"persistence": {"enabled": False}}), "StatefulSet")
    assert "volumeClaimTemplates" not in sts["spec"]
    assert {"name": "data", "emptyDir": {}} in search("spec.template.spec.volumes", sts)


@pytest.mark.parametrize(
    "values",
    [None, {"replicas": 3, "topics": TOPICS}, {"provider": "strimzi", "replicas": 3, "topics": TOPICS}],
)
def test_renders_are_identical(values: dict[str, Any] | None) -> None:
    assert_deterministic(CHART, values)


def test_bad_values_are_rejected_naming_the_key() -> None:
    assert_rejects(CHART, {"replicas": "3"}, "/replicas")
    assert_rejects(CHART, {"replicas": 0}, "/replicas")
    assert_rejects(CHART, {"provider": "confluent"}, "/provider")
    assert_rejects(CHART, {"persistance": {"enabled": True}}, "persistance")
    assert_rejects(CHART, {"persistence": {"size": 3}}, "/persistence/size")
    assert_rejects(CHART, {"topics": [{"name": "bad name"}]}, "/topics/0/name")
    assert_rejects(CHART, {"topics": [{"name": "t", "partitons": 3}]}, "partitons")
    assert_rejects(CHART, {"topics": [{"name": "t", "config": {"retention.ms": [1]}}]}, "/topics/0/config")
    assert_rejects(CHART, {"kraft": {"clusterId": "not-an-id"}}, "/kraft/clusterId")
    assert_rejects(CHART, {"heap": {"max": "1GB"}}, "/heap/max")
    assert_rejects(CHART, {"strimzi": {"topicOperator": "yes"}}, "/strimzi/topicOperator")
    assert_rejects(CHART, {"provider": "external"}, "external.bootstrapServers is required")
    assert_rejects(CHART, {"auth": {"users": [{"name": "admin"}]}}, "/auth/users/0/name")
    assert_rejects(CHART, {"auth": {"users": [{"name": "etl", "topics": "etl."}]}}, "/auth/users/0/topics")
