"""Task code is a tenant (issue: tasks run as tenants): what a real task may and may not do.

The isolation_probe DAG's task makes each attempt with its own identity; this test asserts every
outcome, so a rule that stops refusing (or starts refusing what tasks need) fails here.
"""

from __future__ import annotations

import re

import pytest

from devkit import airflow, kube
from devkit.airflow import NAMESPACE, TASKS_NAMESPACE
from tests.e2e import rbac

pytestmark = pytest.mark.shared_platform

DAG = "isolation_probe"
MUST_BE_REFUSED = {
    "read a Secret of the platform namespace",
    "list the Secrets of the tasks namespace",
    "exec into the PostgreSQL pod",
    "create a pod in the platform namespace",
    "create a pod in the tasks namespace that mounts a platform Secret",
    "call MLflow's user-management API",
    "read another pipeline's bucket (lake, as objectstore_domains)",
    "use a service it did not declare (mongodb:movies)",
    "read another pipeline's Kafka topic (movies.raw.movies, as kafka_domains)",
    "write another pipeline's Kafka topic (movies.raw.movies, as kafka_domains)",
    "create a pod in the tasks namespace that runs as root",
    "connect to a service it did not declare (redis)",
    "leave the cluster without declaring it (pypi.org:443)",
}
MUST_BE_ALLOWED = {
    "read its own Kafka topic (domains.observed, as kafka_domains)",
    "create a pod in the tasks namespace with a connection it declared",
    "log into its own database (postgres_mlsp)",
    "read its own bucket (domains, as objectstore_domains)",
    "resolve a service's name (DNS)",
}


def test_a_task_is_refused_the_platform_and_keeps_what_it_needs() -> None:
    with airflow.connect() as af:
        af.set_paused(DAG, False)
        run_id = af.trigger(DAG)
        run = af.wait_for_run(DAG, run_id, timeout=600)
        path = f"/dags/{DAG}/dagRuns/{run_id}/taskInstances/probe/xcomEntries/report"
        report = {o["check"]: o for o in af.request("GET", path)["value"]}
        log = af.task_log(DAG, run_id, "probe")
    for check, o in report.items():
        print(f"\n{'ok  ' if o['ok'] else 'FAIL'} {check}: {o['observed']} - {o['detail'][:160]}", end="")
    assert {c for c, o in report.items() if o["observed"] == "refused"} >= MUST_BE_REFUSED
    assert {c for c, o in report.items() if o["observed"] == "allowed"} >= MUST_BE_ALLOWED
    logins = [c for c in report if c.startswith("log into the metadata database")]
    assert logins, "the task holds no credential with a login: the probe tried nothing"
    assert all(report[c]["observed"] == "refused" for c in logins), logins
    # Refused by the API server (RBAC, the admission policy) or the database's authentication, not
    # by a missing object or a network error.
    kafka = {c for c in MUST_BE_REFUSED if "Kafka topic" in c}
    # Refused by the NetworkPolicies (kube-router rejects, other enforcers drop: a time-out).
    network = {
        "connect to a service it did not declare (redis)",
        "leave the cluster without declaring it (pypi.org:443)",
    }
    outside_kubernetes = {
        "read another pipeline's bucket (lake, as objectstore_domains)",
        "use a service it did not declare (mongodb:movies)",
        *kafka,
        *network,
    }
    for check in MUST_BE_REFUSED - outside_kubernetes:
        assert report[check]["detail"].startswith("HTTP 403"), report[check]
    for check in network:
        assert re.search("Connection refused|timed out", report[check]["detail"]), report[check]
    assert (
        'violates PodSecurity "restricted:latest"'
        in report["create a pod in the tasks namespace that runs as root"]["detail"]
    )
    assert "ConnectionMissing" in report["use a service it did not declare (mongodb:movies)"]["detail"]
    for check in kafka:  # the brokers' ACLs, not a network error
        assert report[check]["detail"].startswith("TOPIC_AUTHORIZATION_FAILED"), report[check]
    assert "AccessDenied" in report["read another pipeline's bucket (lake, as objectstore_domains)"]["detail"]
    assert "kept for tasks" in report["create a pod in the tasks namespace that mounts a platform Secret"]["detail"]
    for check in logins:
        assert re.search("password authentication failed|permission denied for database", report[check]["detail"])
    assert run["state"] == "success", log[-3000:]


def test_a_task_pod_asking_for_root_is_refused_and_the_task_log_says_why() -> None:
    """A task pod that breaks "restricted" (pod_security_probe: runAsUser 0) is refused by Pod
    Security admission, and the task fails with the admission's message in its log."""
    dag = "pod_security_probe"
    with airflow.connect() as af:
        af.set_paused(dag, False)
        run_id = af.trigger(dag)
        run = af.wait_for_run(dag, run_id, timeout=600)
        log = af.task_log(dag, run_id, "root_pod")
    assert run["state"] == "failed", log[-3000:]
    # The API server's message as the provider logs it (the JSON body: its quotes escaped).
    assert re.search(r'violates PodSecurity \\?"restricted:latest\\?": runAsNonRoot != true', log), log[-3000:]


def test_worker_pods_run_in_the_tasks_namespace_and_the_platform_namespace_runs_none() -> None:
    with airflow.connect() as af:
        run_id = af.trigger("platform_check", {"sleep_seconds": 20})
        seen: dict[str, list[str]] = {}

        def worker_pod_seen() -> bool:
            for ns in (NAMESPACE, TASKS_NAMESPACE):
                seen[ns] = kube.kubectl("get", "pods", "-n", ns, "-l", "dag_id=platform_check", "-o", "name").split()
            return bool(seen[TASKS_NAMESPACE])

        kube.wait_until("a platform_check worker pod", worker_pod_seen, timeout=300)
        assert seen[NAMESPACE] == [], seen
        assert af.wait_for_run("platform_check", run_id, timeout=600)["state"] == "success"


def test_every_service_accounts_rights_are_those_readme_lists() -> None:
    namespaces = (NAMESPACE, TASKS_NAMESPACE)
    live = rbac.observed(namespaces)
    if live != rbac.documented(namespaces):
        print("\nREADME's table as the cluster has it:\n" + rbac.table(live, namespaces))
    assert live == rbac.documented(namespaces)
    # The accounts that run task code may read no Secret and do nothing in the platform namespace.
    for account in (
        f"{TASKS_NAMESPACE}:airyard-airflow-worker-pods",
        f"{TASKS_NAMESPACE}:airyard-spark",
    ):
        assert live[account][NAMESPACE] == {}, account
        assert not [r for r in live[account][TASKS_NAMESPACE] if r.startswith("secrets")], account
