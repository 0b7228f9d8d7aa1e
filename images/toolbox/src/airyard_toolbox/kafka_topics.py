"""Create a chart's declared Kafka topics, users and ACLs and keep them as declared, without ever
deleting anything.

The kafka chart renders a Job that runs this module with the declared topics and users (JSON):

    {"topics": [{"name": "events", "partitions": 3, "replicationFactor": 1, "config": {"retention.ms": "86400000"}}],
     "users": [{"name": "etl", "topics": ["events"], "groups": ["etl-"]}]}

With authentication on, the Job logs in as the super user (KAFKA_ADMIN_PASSWORD, SASL/PLAIN), sets
each user's SCRAM-SHA-512 credential from KAFKA_USER_<n>_PASSWORD (n: its place in the list) and
allows it to read, write and describe the topics under its prefixes and to use the consumer
groups under its group prefixes: nothing else, as the brokers allow nothing without an ACL.

Runs are idempotent, so upgrades, GitOps re-syncs and Job retries are safe: a missing topic is
created; an existing one gets more partitions when more are declared (Kafka cannot remove
partitions, so fewer is reported and left alone) and the declared configs where they differ. Topics
that are not declared are not touched. The replication factor of an existing topic is not changed
(that is a reassignment, not a setting).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewPartitions,
    NewTopic,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialUpsertion,
)

#: What a user may do on the topics and groups under its prefixes.
TOPIC_OPERATIONS = (AclOperation.READ, AclOperation.WRITE, AclOperation.DESCRIBE, AclOperation.DESCRIBE_CONFIGS)
GROUP_OPERATIONS = (AclOperation.READ, AclOperation.DESCRIBE)
SCRAM_ITERATIONS = 8192


@dataclass(frozen=True)
class Topic:
    name: str
    partitions: int = 1
    replication_factor: int = 1
    config: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> Topic:
        return cls(
            name=str(spec["name"]),
            partitions=int(spec.get("partitions", 1)),
            replication_factor=int(spec.get("replicationFactor", 1)),
            config={str(k): str(v) for k, v in (spec.get("config") or {}).items()},
        )


@dataclass(frozen=True)
class Existing:
    """What the cluster has for a declared topic."""

    partitions: int
    config: dict[str, str]


@dataclass
class Plan:
    create: list[Topic] = field(default_factory=list)
    grow: dict[str, int] = field(default_factory=dict)
    set_config: dict[str, dict[str, str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def plan(declared: list[Topic], existing: Mapping[str, Existing]) -> Plan:
    """The changes that bring the cluster to the declared topics. Pure, so it is unit-tested."""
    names = [t.name for t in declared]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"topics declared more than once: {', '.join(duplicates)}")
    result = Plan()
    for topic in declared:
        have = existing.get(topic.name)
        if have is None:
            result.create.append(topic)
            continue
        if topic.partitions > have.partitions:
            result.grow[topic.name] = topic.partitions
        elif topic.partitions < have.partitions:
            result.notes.append(
                f"topic {topic.name}: has {have.partitions} partitions, {topic.partitions} declared;"
                " Kafka cannot remove partitions, left as is"
            )
        changed = {k: v for k, v in topic.config.items() if have.config.get(k) != v}
        if changed:
            result.set_config[topic.name] = changed
    return result


def wait_for_brokers(admin: AdminClient, needed: int, timeout: float) -> set[str]:
    """Block until the cluster answers with at least `needed` brokers; returns its topic names.

    The Job starts with the brokers, so the first attempts fail while they come up; creating a
    topic with fewer live brokers than its replication factor would fail for good.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            metadata = admin.list_topics(timeout=10)
            if len(metadata.brokers) >= needed:
                return set(metadata.topics)
            reason = f"{len(metadata.brokers)} of {needed} brokers up"
        except KafkaException as err:
            reason = str(err)
        if time.monotonic() > deadline:
            raise TimeoutError(f"Kafka not ready after {timeout:.0f} s: {reason}")
        print(f"waiting for Kafka: {reason}", flush=True)
        time.sleep(3)


def _wait(futures: Mapping[Any, Future[Any]]) -> None:
    for future in futures.values():
        future.result()


def describe(admin: AdminClient, names: list[str]) -> dict[str, Existing]:
    """Partition counts and effective configs of the named (existing) topics."""
    if not names:
        return {}
    metadata = admin.list_topics(timeout=30)
    resources = [ConfigResource(ConfigResource.Type.TOPIC, n) for n in names]
    configs = {res.name: future.result() for res, future in admin.describe_configs(resources).items()}
    return {
        name: Existing(
            partitions=len(metadata.topics[name].partitions),
            config={k: e.value for k, e in configs[name].items() if e.value is not None},
        )
        for name in names
    }


def _await_partitions(admin: AdminClient, wanted: dict[str, int], timeout: float) -> None:
    """create_partitions returns once the controller has committed the change; the brokers serve
    the new count a moment later. Wait for it, so that what reads the topics next sees it."""
    deadline = time.monotonic() + timeout
    while True:
        topics = admin.list_topics(timeout=30).topics
        short = {n: len(topics[n].partitions) for n, count in wanted.items() if len(topics[n].partitions) < count}
        if not short:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"partitions not visible after {timeout} s: {short} (wanted {wanted})")
        time.sleep(0.5)


def apply(admin: AdminClient, changes: Plan, timeout: float = 60) -> None:
    if changes.create:
        new = [NewTopic(t.name, t.partitions, t.replication_factor, config=t.config) for t in changes.create]
        for name, future in admin.create_topics(new, request_timeout=timeout).items():
            try:
                future.result()
                print(f"topic {name}: created")
            except KafkaException as err:
                # Another run (a retried Job, a second replica of it) got there first.
                if err.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise
                print(f"topic {name}: exists, kept")
    if changes.grow:
        _wait(admin.create_partitions([NewPartitions(n, c) for n, c in changes.grow.items()]))
        _await_partitions(admin, changes.grow, timeout)
        for name, count in changes.grow.items():
            print(f"topic {name}: grown to {count} partitions")
    for name, config in changes.set_config.items():
        entries = [ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET) for k, v in config.items()]
        resource = ConfigResource(ConfigResource.Type.TOPIC, name, incremental_configs=entries)
        _wait(admin.incremental_alter_configs([resource]))
        print(f"topic {name}: set {', '.join(sorted(config))}")
    for note in changes.notes:
        print(note)


@dataclass(frozen=True)
class User:
    name: str
    topics: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> User:
        return cls(str(spec["name"]), tuple(spec.get("topics") or ()), tuple(spec.get("groups") or ()))


def acl_bindings(user: User) -> list[AclBinding]:
    """The ACLs of a user: its topic prefixes and group prefixes, from any host. Pure, unit-tested."""
    principal = f"User:{user.name}"

    def allow(kind: ResourceType, prefix: str, op: AclOperation) -> AclBinding:
        return AclBinding(kind, prefix, ResourcePatternType.PREFIXED, principal, "*", op, AclPermissionType.ALLOW)

    return [allow(ResourceType.TOPIC, p, op) for p in user.topics for op in TOPIC_OPERATIONS] + [
        allow(ResourceType.GROUP, p, op) for p in user.groups for op in GROUP_OPERATIONS
    ]


def ensure_users(admin: AdminClient, users: list[User], passwords: list[str]) -> None:
    """Set each user's SCRAM credential (upserted: a changed password takes effect) and its ACLs
    (creating an existing binding is a no-op)."""
    if not users:
        return
    info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, SCRAM_ITERATIONS)
    upserts = [UserScramCredentialUpsertion(u.name, info, p.encode()) for u, p in zip(users, passwords, strict=True)]
    _wait(admin.alter_user_scram_credentials(upserts))
    bindings = [b for u in users for b in acl_bindings(u)]
    if bindings:
        _wait(admin.create_acls(bindings))
    for user in users:
        print(f"user {user.name}: SCRAM-SHA-512, topics {list(user.topics)}, groups {list(user.groups)}")


def client_config(bootstrap_servers: str, admin_password: str | None) -> dict[str, str]:
    """The super user's client configuration when the brokers authenticate, else none."""
    config = {"bootstrap.servers": bootstrap_servers}
    if admin_password:
        config |= {
            "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": "PLAIN",
            "sasl.username": "admin",
            "sasl.password": admin_password,
        }
    return config


def ensure(admin: AdminClient, declared: list[Topic], timeout: float) -> Plan:
    needed = max((t.replication_factor for t in declared), default=1)
    present = wait_for_brokers(admin, needed, timeout)
    existing = describe(admin, [t.name for t in declared if t.name in present])
    changes = plan(declared, existing)
    apply(admin, changes)
    kept = [t.name for t in declared if t.name in existing and t.name not in changes.grow | changes.set_config]
    for name in kept:
        print(f"topic {name}: as declared")
    return changes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap-servers", required=True)
    parser.add_argument("--spec", required=True, help="the declared topics, as a JSON list")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for the brokers")
    args = parser.parse_args(argv)
    spec = json.loads(args.spec)
    spec = {"topics": spec} if isinstance(spec, list) else spec
    declared = [Topic.from_spec(t) for t in spec.get("topics", [])]
    users = [User.from_spec(u) for u in spec.get("users", [])]
    passwords = [os.environ[f"KAFKA_USER_{i}_PASSWORD"] for i in range(len(users))]
    admin = AdminClient(client_config(args.bootstrap_servers, os.environ.get("KAFKA_ADMIN_PASSWORD")))
    ensure(admin, declared, args.timeout)
    ensure_users(admin, users, passwords)
    return 0


if __name__ == "__main__":
    sys.exit(main())
