"""airyard_toolbox.kafka_topics: what a run changes for declared topics, and what it never does.

The admin calls themselves run against a real broker in tests/e2e/test_kafka.py.
"""

from __future__ import annotations

import pytest
from airyard_toolbox import kafka_topics
from airyard_toolbox.kafka_topics import Existing, Topic, plan


def test_spec_defaults_and_config_values_as_strings() -> None:
    topic = Topic.from_spec({"name": "events", "config": {"retention.ms": 86400000, "cleanup.policy": "compact"}})
    assert topic == Topic("events", 1, 1, {"retention.ms": "86400000", "cleanup.policy": "compact"})
    assert Topic.from_spec({"name": "t", "partitions": 6, "replicationFactor": 3}).replication_factor == 3


def test_missing_topics_are_created_and_declared_ones_left_alone() -> None:
    declared = [Topic("new", 3), Topic("same", 2, config={"retention.ms": "1000"})]
    existing = {"same": Existing(2, {"retention.ms": "1000", "cleanup.policy": "delete"}), "other": Existing(9, {})}
    result = plan(declared, existing)
    assert [t.name for t in result.create] == ["new"]
    assert result.grow == {}
    assert result.set_config == {}


def test_partitions_only_grow() -> None:
    result = plan([Topic("a", 6), Topic("b", 1)], {"a": Existing(3, {}), "b": Existing(4, {})})
    assert result.grow == {"a": 6}
    assert result.create == []
    assert len(result.notes) == 1
    assert "b" in result.notes[0]
    assert "cannot remove partitions" in result.notes[0]


def test_only_differing_configs_are_set() -> None:
    declared = [Topic("a", 1, config={"retention.ms": "60000", "cleanup.policy": "delete"})]
    result = plan(declared, {"a": Existing(1, {"retention.ms": "604800000", "cleanup.policy": "delete"})})
    assert result.set_config == {"a": {"retention.ms": "60000"}}


def test_a_second_run_after_the_first_changes_nothing() -> None:
    declared = [Topic("a", 2, config={"retention.ms": "60000"}), Topic("b", 1)]
    first = plan(declared, {})
    assert [t.name for t in first.create] == ["a", "b"]
    after = {t.name: Existing(t.partitions, dict(t.config)) for t in first.create}
    second = plan(declared, after)
    assert (second.create, second.grow, second.set_config, second.notes) == ([], {}, {}, [])


def test_duplicate_names_are_refused() -> None:
    with pytest.raises(ValueError, match="more than once: a"):
        plan([Topic("a"), Topic("a", 2)], {})


def test_a_user_is_allowed_its_prefixes_and_nothing_else() -> None:
    user = kafka_topics.User.from_spec({"name": "movies", "topics": ["movies."], "groups": ["airyard-movies"]})
    grants = {
        (b.restype.name, b.name, b.resource_pattern_type.name, b.operation.name, b.principal, b.host)
        for b in kafka_topics.acl_bindings(user)
    }
    assert grants == {
        *(
            ("TOPIC", "movies.", "PREFIXED", op, "User:movies", "*")
            for op in ("READ", "WRITE", "DESCRIBE", "DESCRIBE_CONFIGS")
        ),
        *(("GROUP", "airyard-movies", "PREFIXED", op, "User:movies", "*") for op in ("READ", "DESCRIBE")),
    }
    assert {b.permission_type.name for b in kafka_topics.acl_bindings(user)} == {"ALLOW"}
    assert kafka_topics.acl_bindings(kafka_topics.User("nobody")) == []


def test_the_job_logs_in_as_the_super_user_only_when_the_brokers_authenticate() -> None:
    assert kafka_topics.client_config("k:9092", None) == {"bootstrap.servers": "k:9092"}
    assert kafka_topics.client_config("k:9092", "pw") == {
        "bootstrap.servers": "k:9092",
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "PLAIN",
        "sasl.username": "admin",
        "sasl.password": "pw",
    }
