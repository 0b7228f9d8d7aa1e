"""Airflow REST API (v2) client for the e2e tests: authenticated, the way users automate Airflow."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from devkit import kube

NAMESPACE = "airyard"
RELEASE = "airyard"
#: Where task code runs: worker pods, the pods tasks start, SparkApplications.
TASKS_NAMESPACE = f"{NAMESPACE}-tasks"
FINISHED = {"success", "failed"}
#: The api-server closes an idle keep-alive connection; through `kubectl port-forward` the client
#: learns it only when its next request on that connection gets no answer. Idempotent requests
#: (not POST or PATCH) are sent again on a fresh connection.
RECONNECT = Retry(total=3, connect=3, read=3, status=0, backoff_factor=0.5)


def api_session(token: str = "") -> requests.Session:
    session = requests.Session()
    session.mount("http://", HTTPAdapter(max_retries=RECONNECT))
    if token:
        session.headers["Authorization"] = f"Bearer {token}"
    return session


@dataclass
class Airflow:
    base_url: str
    session: requests.Session

    @classmethod
    def login(cls, base_url: str, username: str, password: str) -> Airflow:
        resp = requests.post(f"{base_url}/auth/token", json={"username": username, "password": password}, timeout=30)
        resp.raise_for_status()
        return cls(base_url, api_session(resp.json()["access_token"]))

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        resp = self.session.request(method, f"{self.base_url}/api/v2{path}", timeout=60, **kwargs)
        if resp.status_code >= 400:
            raise AssertionError(f"{method} {path}: {resp.status_code} {resp.text[:500]}")
        return resp.json() if resp.content else None

    def wait_for_dag(self, dag_id: str, timeout: float = 300) -> dict[str, Any]:
        """Wait until the DAG processor has parsed the DAG."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            resp = self.session.get(f"{self.base_url}/api/v2/dags/{dag_id}", timeout=30)
            if resp.status_code == 200:
                return resp.json()
            time.sleep(3)
        raise TimeoutError(f"DAG {dag_id} was not parsed within {timeout} s")

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        """A manual run, queued before the DAG is unpaused so that it comes before any catch-up run."""
        self.wait_for_dag(dag_id)
        run = self.request("POST", f"/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf or {}})
        self.set_paused(dag_id, False)
        return run["dag_run_id"]

    def set_paused(self, dag_id: str, paused: bool) -> None:
        self.request("PATCH", f"/dags/{dag_id}", json={"is_paused": paused})

    def run_dag(
        self, dag_id: str, conf: dict[str, Any] | None = None, timeout: float = 1500
    ) -> tuple[str, dict[str, Any]]:
        """Trigger a run and wait for it, then pause the DAG again: a test's DAG left unpaused would
        keep starting scheduled runs on the shared cluster. The catch-up run that unpausing a
        scheduled DAG creates is not the test's and is deleted."""
        run_id = self.trigger(dag_id, conf)
        scheduled = self.wait_for_dag(dag_id).get("timetable_summary") not in (None, "None")
        try:
            if scheduled:
                self.drop_runs(dag_id)
            return run_id, self.wait_for_run(dag_id, run_id, timeout=timeout)
        finally:
            self.set_paused(dag_id, True)
            if scheduled:  # one the busy scheduler created late
                self.drop_runs(dag_id, watch=0)

    def drop_runs(self, dag_id: str, run_type: str | None = "scheduled", watch: float = 30) -> None:
        """Delete the queued or running runs of `run_type` (None: of any type), watching `watch` s
        for more (the scheduler creates the catch-up run some seconds after an unpause)."""
        deadline = time.monotonic() + watch
        while True:
            runs = self.request("GET", f"/dags/{dag_id}/dagRuns", params={"state": ["queued", "running"]})
            for run in runs["dag_runs"]:
                if run_type is not None and run["run_type"] != run_type:
                    continue
                path = f"/dags/{dag_id}/dagRuns/{run['dag_run_id']}"
                # A running run cannot be deleted, and the scheduler may start a queued one at any
                # moment (a DELETE 16 ms after the listing got 409): stop it first, whatever it was.
                self.request("PATCH", path, json={"state": "failed"})
                self.request("DELETE", path)
            if time.monotonic() >= deadline:
                return
            time.sleep(5)

    def run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return self.request("GET", f"/dags/{dag_id}/dagRuns/{run_id}")

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 600) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.run(dag_id, run_id)
            if run["state"] in FINISHED:
                return run
            time.sleep(3)
        raise TimeoutError(f"{dag_id} {run_id} not finished after {timeout} s: {self.task_states(dag_id, run_id)}")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        return self.request("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        return {ti["task_id"]: ti["state"] for ti in self.task_instances(dag_id, run_id)}

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1) -> str:
        """The task's log lines (served from the object store once the worker pod is gone)."""
        body = self.request(
            "GET",
            f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}",
            params={"full_content": "true"},
        )
        content = body["content"]
        if isinstance(content, str):
            return content
        lines = []
        for line in content:
            if not isinstance(line, dict):
                lines.append(str(line))
                continue
            lines.append(str(line.get("event", line)))
            # A failure's exception is structured, beside the event text.
            lines += [f"{e['exc_type']}: {e['exc_value']}" for e in line.get("error_detail") or []]
        return "\n".join(lines)


def admin_credentials(namespace: str = NAMESPACE) -> tuple[str, str]:
    # airflow-bootstrap names it the same for any release (its fixed prefix).
    secret = "airyard-airflow-admin"
    return kube.secret_value(secret, "username", namespace), kube.secret_value(secret, "password", namespace)


@contextmanager
def connect(namespace: str = NAMESPACE, release: str = RELEASE) -> Iterator[Airflow]:
    """Port-forward to the api-server and log in with the generated admin credentials."""
    with kube.port_forward(f"service/{release}-api-server", namespace, 8080) as port:
        yield Airflow.login(f"http://127.0.0.1:{port}", *admin_credentials(namespace))
