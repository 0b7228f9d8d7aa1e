"""SparkApplications of the domain lake's jobs that the provider's SparkKubernetesOperator does not
cover: one builder of a job at a time, and a long-running application kept alive.

Two builders of the same Delta tables would race on their commits and streaming checkpoints, and
a pool's size is no guarantee: any DAG may use another pool. So there is **one builder per job
and namespace**: a Lease named `<job>-builder` holds the name of the application that builds.
Creating it is atomic; a holder that has finished (or never appeared within GRACE_SECONDS of
taking the lease) is replaced with an update on the Lease's resourceVersion, so two waiters
cannot both take over. Submitting, reattaching a retry to its earlier try's application and
deleting it on a timeout or a kill are the provider operator's (airyard.domains.operators).

A long-running application (a stream) is kept instead: `ensure` creates it, leaves it to the
operator's restarts while its spec is unchanged, and replaces it when the spec changed (a new
image, new arguments), which a SparkApplication does not take in place.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

SPARK_API = ("sparkoperator.k8s.io", "v1beta2", "sparkapplications")
JOB_LABEL = "airyard.io/spark-job"
RUN_LABEL = "airyard.io/run"
#: The hash of the spec a long-running application was created from (ensure).
SPEC_ANNOTATION = "airyard.io/spec-hash"
FINISHED = frozenset({"COMPLETED", "FAILED", "SUBMISSION_FAILED"})
#: How long a Lease whose holder does not exist yet stays held: the holder submits right after.
GRACE_SECONDS = 120.0

log = logging.getLogger(__name__)


class BuildTimeout(RuntimeError):
    """The builder waited for, or the replaced application, did not finish in time."""


def run_label(run_id: str) -> str:
    """A label value for a DAG run (run ids hold characters labels may not)."""
    return hashlib.sha256(run_id.encode()).hexdigest()[:16]


def state_of(app: dict[str, Any] | None) -> str | None:
    """The operator's state of an application; None when it does not exist."""
    if app is None:
        return None
    return str(app.get("status", {}).get("applicationState", {}).get("state", "") or "SUBMITTED")


def assess_running(app: dict[str, Any] | None, name: str) -> dict[str, Any]:
    """Health of a long-running application: it exists and its driver runs.

    Returns {"healthy", "reason", "state", "attempts"}; attempts counts the operator's submissions
    (a restarted application has more than one).
    """
    state = state_of(app)
    status = (app or {}).get("status", {})
    summary = {"state": state, "attempts": int(status.get("submissionAttempts", 0) or 0)}
    if state is None:
        return {**summary, "healthy": False, "reason": f"no SparkApplication {name}"}
    if state != "RUNNING":
        return {**summary, "healthy": False, "reason": f"{name} is {state}"}
    return {**summary, "healthy": True, "reason": "ok"}


def kube_clients() -> tuple[Any, Any, Any]:
    """The custom objects, core and coordination (Lease) APIs, as the task's service account."""
    from kubernetes import client, config

    try:
        config.load_incluster_config()
    except config.ConfigException:
        config.load_kube_config()
    return client.CustomObjectsApi(), client.CoreV1Api(), client.CoordinationV1Api()


def _not_found(exc: Exception) -> bool:
    return getattr(exc, "status", None) == 404


def _conflict(exc: Exception) -> bool:
    return getattr(exc, "status", None) == 409


@dataclass
class Applications:
    """The SparkApplications of one job in one namespace, through the Kubernetes API clients."""

    custom: Any  # kubernetes.client.CustomObjectsApi
    leases: Any  # kubernetes.client.CoordinationV1Api
    namespace: str
    job: str
    poll_seconds: float = 5.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    now: Callable[[], datetime] = field(default=lambda: datetime.now(tz=UTC))  # the Lease's clock

    @property
    def lease_name(self) -> str:
        return f"{self.job}-builder"

    def get(self, name: str) -> dict[str, Any] | None:
        group, version, plural = SPARK_API
        try:
            return self.custom.get_namespaced_custom_object(group, version, self.namespace, plural, name)
        except Exception as exc:
            if _not_found(exc):
                return None
            raise

    def acquire(self, name: str, deadline: float) -> None:
        """Make `name` the job's one builder, waiting for the current one to finish."""
        waited_for = ""
        while True:
            lease = self._read_lease()
            if lease is None:
                if self._create_lease(name):
                    return
                continue
            holder = lease.spec.holder_identity or ""
            if holder == name or self._stale(lease):
                if self._take_over(lease, name):
                    if holder and holder != name:
                        log.info("builder lease %s: %s finished, %s builds", self.lease_name, holder, name)
                    return
                continue
            if self.clock() >= deadline:
                raise BuildTimeout(f"{holder} is still building {self.job}: {name} was not submitted")
            if holder != waited_for:
                log.info("waiting for %s: one builder of %s at a time", holder, self.job)
                waited_for = holder
            self.sleep(self.poll_seconds)

    def release(self, name: str) -> None:
        """Free the Lease if `name` holds it."""
        from kubernetes.client import V1DeleteOptions, V1Preconditions

        lease = self._read_lease()
        if lease is None or lease.spec.holder_identity != name:
            return
        try:
            self.leases.delete_namespaced_lease(
                self.lease_name,
                self.namespace,
                body=V1DeleteOptions(preconditions=V1Preconditions(resource_version=lease.metadata.resource_version)),
            )
        except Exception as exc:
            if not (_not_found(exc) or _conflict(exc)):
                raise

    def submit(self, body: dict[str, Any]) -> None:
        group, version, plural = SPARK_API
        self.custom.create_namespaced_custom_object(group, version, self.namespace, plural, body)

    def delete(self, name: str) -> None:
        """Delete the application (the operator removes its driver and executors with it)."""
        group, version, plural = SPARK_API
        try:
            self.custom.delete_namespaced_custom_object(group, version, self.namespace, plural, name)
            log.info("deleted SparkApplication %s/%s", self.namespace, name)
        except Exception as exc:
            if not _not_found(exc):
                raise

    def ensure(self, body: dict[str, Any], deadline: float) -> str:
        """Keep the long-running application `body` describes: "created", "kept" or "replaced"."""
        name = body["metadata"]["name"]
        want = hashlib.sha256(json.dumps(body["spec"], sort_keys=True).encode()).hexdigest()[:16]
        body = {**body, "metadata": {**body["metadata"], "annotations": {SPEC_ANNOTATION: want}}}
        current = self.get(name)
        action = "created"
        if current is not None:
            if current["metadata"].get("annotations", {}).get(SPEC_ANNOTATION) == want:
                return "kept"
            self.delete(name)
            while self.get(name) is not None:  # the operator's finalizer removes its pods first
                if self.clock() >= deadline:
                    raise BuildTimeout(f"SparkApplication {name} was not deleted in time to be replaced")
                self.sleep(self.poll_seconds)
            action = "replaced"
        try:
            self.submit(body)
        except Exception as exc:
            if not _conflict(exc):
                raise
            return "kept"  # another task created it at the same moment, from the same code
        log.info("%s SparkApplication %s/%s (spec %s)", action, self.namespace, name, want)
        return action

    # --- the Lease ----------------------------------------------------------------------------

    def _read_lease(self) -> Any:
        try:
            return self.leases.read_namespaced_lease(self.lease_name, self.namespace)
        except Exception as exc:
            if _not_found(exc):
                return None
            raise

    def _create_lease(self, name: str) -> bool:
        from kubernetes.client import V1Lease, V1LeaseSpec, V1ObjectMeta

        body = V1Lease(
            metadata=V1ObjectMeta(name=self.lease_name, labels={JOB_LABEL: self.job}),
            spec=V1LeaseSpec(holder_identity=name, acquire_time=self.now()),
        )
        try:
            self.leases.create_namespaced_lease(self.namespace, body)
            return True
        except Exception as exc:
            if _conflict(exc):
                return False
            raise

    def _take_over(self, lease: Any, name: str) -> bool:
        """Replace the holder; False when another waiter changed the Lease first."""
        lease.spec.holder_identity = name
        lease.spec.acquire_time = self.now()
        try:
            self.leases.replace_namespaced_lease(self.lease_name, self.namespace, lease)
            return True
        except Exception as exc:
            if _conflict(exc):
                return False
            raise

    def _stale(self, lease: Any) -> bool:
        """The holder finished, or was never submitted although its grace has passed."""
        holder = lease.spec.holder_identity
        if not holder:
            return True
        state = state_of(self.get(holder))
        if state in FINISHED:
            return True
        if state is None:
            acquired = lease.spec.acquire_time
            return acquired is None or (self.now() - acquired).total_seconds() > GRACE_SECONDS
        return False
