"""Operators of the domain pipeline: ingestion, the bronze stream, the lake build and its checks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from airflow.providers.cncf.kubernetes.operators.spark_kubernetes import SparkKubernetesOperator
from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException

from airyard import cluster, metrics, services
from airyard.alerts import AlertOperator
from airyard.domains import PIPELINE, ingest, lake
from airyard.domains import sources as feeds
from airyard.spark import applications
from airyard.spark.operators import submission_defaults

EXECUTION_MODES = ("subprocess", "pod")
PLUGINS_DIR = str(Path(__file__).resolve().parents[2])


def interval(context: Any) -> tuple[str, str]:
    """The run's data interval. A manual run triggered without a logical date (Airflow 3) has
    none: it covers the moment it was triggered for (run_after)."""
    start = context.get("data_interval_start") or context.get("logical_date") or context["dag_run"].run_after
    end = context.get("data_interval_end") or start
    return start.isoformat(), end.isoformat()


class IngestionOperator(BaseOperator):
    """Ingest harmful-domain feeds into Kafka (airyard.domains.ingest).

    :param source_name: one source of the config by name; None ingests every enabled source.
    :param config_path: the sources.yaml (default: the one shipped with the plugin).
    :param kafka_conn_id: the Kafka connection (the pipeline's identity, service "kafka:domains").
    :param execution_mode: "subprocess" (a child Python of the worker) or "pod" (a pod of the
        airyard/airflow image: the seed's docker mode on Kubernetes, isolating the feed parsing
        from the worker and bounding its resources).
    :param fail_on_source_error: fail the task (after the other sources are produced) when any
        source failed; the summary is pushed to XCom key "summary" either way.
    """

    template_fields: Sequence[str] = ("source_name", "config_path")

    def __init__(
        self,
        *,
        source_name: str | None = None,
        config_path: str = str(feeds.DEFAULT_CONFIG),
        kafka_conn_id: str = ingest.KAFKA_CONN,
        execution_mode: str = "subprocess",
        observed_topic: str = ingest.OBSERVED_TOPIC,
        rejected_topic: str = ingest.REJECTED_TOPIC,
        feed_conn_ids: Sequence[str] = ("threat_feeds",),
        fail_on_source_error: bool = True,
        **kwargs: Any,
    ) -> None:
        if execution_mode not in EXECUTION_MODES:
            raise ValueError(f"execution_mode must be one of {EXECUTION_MODES}, not {execution_mode!r}")
        self.uses = (ingest.KAFKA_SERVICE, *(f"{services.EXTERNAL}{c}" for c in feed_conn_ids))
        if execution_mode == "subprocess":  # the worker itself produces: its pod gets the services
            kwargs.setdefault("executor_config", services.executor_config(*self.uses))
        else:
            services.resolve(self.uses)  # an unknown service fails the DAG's import, not the run
        super().__init__(**kwargs)
        self.source_name = source_name
        self.config_path = config_path
        self.kafka_conn_id = kafka_conn_id
        self.execution_mode = execution_mode
        self.observed_topic = observed_topic
        self.rejected_topic = rejected_topic
        self.feed_conn_ids = tuple(feed_conn_ids)
        self.fail_on_source_error = fail_on_source_error

    def _arguments(self, context: Any) -> list[str]:
        start, end = interval(context)
        args = [
            "--config", self.config_path, "--kafka-conn", self.kafka_conn_id,
            "--interval-start", start, "--interval-end", end, "--run-id", str(context["run_id"]),
            "--observed-topic", self.observed_topic, "--rejected-topic", self.rejected_topic,
        ]  # fmt: skip
        return args + (["--source", self.source_name] if self.source_name else [])

    def _run_subprocess(self, args: list[str]) -> dict[str, Any]:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [PLUGINS_DIR, os.environ.get("PYTHONPATH")]))}
        proc = subprocess.run(
            [sys.executable, "-m", "airyard.domains.ingest", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=3600,
        )
        for line in (proc.stdout + proc.stderr).splitlines():
            if not line.startswith(ingest.RESULT_MARKER):
                self.log.info("ingest: %s", line)
        if proc.returncode != 0:
            raise AirflowException(f"ingestion exited {proc.returncode}: {proc.stderr.strip()[-2000:]}")
        marked = [line for line in proc.stdout.splitlines() if line.startswith(ingest.RESULT_MARKER)]
        if not marked:
            raise AirflowException("ingestion printed no result")
        return json.loads(marked[-1][len(ingest.RESULT_MARKER) :])

    def _run_pod(self, context: Any, args: list[str]) -> dict[str, Any]:
        from kubernetes.client import models as k8s

        from airyard.operators.task_pod import TaskPodOperator

        # Kafka and the feed connections (API keys included) reach the pod as its declared services.
        pod = TaskPodOperator(
            task_id=self.task_id,
            image_name="airflow",
            cmds=["python", "-m", "airyard.domains.ingest"],
            arguments=[*args, "--result-file", "/airflow/xcom/return.json"],
            services=self.uses,
            env_vars=[k8s.V1EnvVar(name="PYTHONPATH", value="/opt/airflow/plugins")],
            do_xcom_push=True,
        )
        result = pod.execute(context)
        return result if isinstance(result, dict) else json.loads(result)

    def execute(self, context: Any) -> dict[str, Any]:
        args = self._arguments(context)
        summary = self._run_subprocess(args) if self.execution_mode == "subprocess" else self._run_pod(context, args)
        for src in summary["sources"]:
            self.log.info(
                "%-20s %-6s domains=%d rejected=%d duplicates=%d %s",
                src["source"], src["status"], src["domains"], src["rejected"], src["duplicates"], src["error"],
            )  # fmt: skip
        context["ti"].xcom_push(key="summary", value=summary)
        report_ingestion(self.task_id, summary)
        failed = summary["failed_sources"]
        if failed and self.fail_on_source_error:
            raise AirflowException(f"sources failed (the others were ingested): {', '.join(failed)}")
        return summary


@metrics.reporter
def report_ingestion(step: str, summary: dict[str, Any]) -> None:
    """The ingestion's figures as metrics: feed entries in, domains produced out, lines rejected to
    the rejected topic (dead letters). A failed source read nothing and counts nothing."""
    sources = summary["sources"]
    metrics.records(
        PIPELINE,
        step,
        records_in=sum(src["entries"] for src in sources),
        records_out=sum(src["domains"] for src in sources),
    )
    metrics.dead_letters(PIPELINE, step, sum(src["rejected"] for src in sources))


class BronzeStreamOperator(BaseOperator):
    """Keep the bronze stream running: create its SparkApplication, or replace it when this code's
    spec differs (an upgrade); while unchanged, restarts are the Spark operator's."""

    def __init__(
        self, *, namespace: str | None = None, topic: str = ingest.OBSERVED_TOPIC, timeout: float = 300, **kwargs: Any
    ) -> None:
        services.resolve(lake.SERVICES)
        super().__init__(**kwargs)
        self.namespace = namespace
        self.topic = topic
        self.timeout = timeout

    def execute(self, context: Any) -> dict[str, Any]:
        custom, _, leases = applications.kube_clients()
        apps = applications.Applications(custom, leases, self.namespace or cluster.namespace(), lake.STREAM_JOB)
        action = apps.ensure(lake.stream_application(self.topic), apps.clock() + self.timeout)
        self.log.info("bronze stream %s: %s", lake.STREAM_JOB, action)
        return {"application": lake.STREAM_JOB, "action": action}


class DomainsLakeOperator(SparkKubernetesOperator):
    """Build silver and gold from bronze: the provider's SparkKubernetesOperator, with the driver's
    log as the task log, a retry reattaching to the build its earlier try left running, and a
    timeout or a kill deleting the build (on_kill).

    Before it submits, it waits until the bronze stream has written every record Kafka held when
    the task started, so a run's build includes what its ingestion produced. One build of the lake
    at a time, whichever DAG asks: it holds the job's builder Lease (airyard.spark.applications)
    from before the submission until the build ends. Builds stay a day (timeToLiveSeconds) as the
    record of recent builds.

    :param builder_timeout: seconds to wait for another DAG's build to finish first.
    :param bronze_timeout: seconds to wait for the bronze stream.
    """

    def __init__(
        self,
        *,
        topic: str = ingest.OBSERVED_TOPIC,
        active_days: int = 30,
        builder_timeout: float = 1800,
        bronze_timeout: float = 900,
        **kwargs: Any,
    ) -> None:
        # Kafka's end offsets and the stream's checkpoint are read in the worker pod.
        kwargs.setdefault("executor_config", services.executor_config(*lake.SERVICES))
        kwargs.setdefault("delete_on_termination", False)
        kwargs.setdefault("random_name_suffix", False)
        self.topic = topic
        self.active_days = active_days
        self.builder_timeout = builder_timeout
        self.bronze_timeout = bronze_timeout
        # Resolved at construction too: an unknown service fails the DAG's import, not the run.
        spec = lake.spark_application(None, run_id="", active_days=active_days)
        super().__init__(template_spec={"spark": spec}, **submission_defaults(kwargs))

    def execute(self, context: Any) -> dict[str, Any]:
        run_id, try_number = str(context["run_id"]), int(context["ti"].try_number)
        self.namespace = self.namespace or cluster.namespace()
        custom, _, leases = applications.kube_clients()
        apps = applications.Applications(custom, leases, self.namespace, lake.SPARK_JOB)
        self._wait_for_bronze(apps)
        self.name = lake.application_name(run_id, try_number)
        self.template_spec = {"spark": lake.spark_application(self.name, run_id=run_id, active_days=self.active_days)}
        earlier = self.find_spark_job(context) if self.reattach_on_restart else None
        build = earlier.metadata.name.removesuffix("-driver") if earlier else self.name
        if earlier:
            self.log.info("reattaching to %s, the build an earlier try left running", build)
        apps.acquire(build, apps.clock() + self.builder_timeout)
        try:
            super().execute(context)
        finally:
            apps.release(build)
        result = {"application": build, "adopted": bool(earlier)}
        # The provider's do_xcom_push means a sidecar in the driver pod, which the Spark operator's
        # pods lack: the result goes to XCom here, for the success notification.
        context["ti"].xcom_push(key="return_value", value=result)
        return result

    def _wait_for_bronze(self, apps: applications.Applications) -> None:
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        from airyard.kafka.hooks import KafkaHook

        end = KafkaHook(services.connection(ingest.KAFKA_SERVICE)).end_offsets(self.topic, group=lake.OFFSETS_GROUP)
        s3 = S3Hook(aws_conn_id=lake.STORE_CONN).get_conn()
        deadline = apps.clock() + self.bronze_timeout
        while behind := lake.bronze_behind(lake.bronze_offsets(s3, self.topic), end):
            if apps.clock() >= deadline:
                raise AirflowException(
                    f"the bronze stream {lake.STREAM_JOB} has not written {self.topic} up to the offsets Kafka "
                    f"held {self.bronze_timeout:.0f} s ago (partition: (written, end)): {behind}"
                )
            self.log.info("waiting for the bronze stream: %s (partition: (written, end))", behind)
            apps.sleep(10)
        self.log.info("bronze holds %s up to %s", self.topic, end)


class FailedChecksAlertOperator(AlertOperator):
    """The monitoring gate: runs when an upstream check failed (trigger rule one_failed), alerts naming
    the failed checks, then fails so the run shows as failed (the checks are not the DAG's leaves,
    so their failure alone would not fail the run). Skipped when every check passed.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trigger_rule", "one_failed")
        kwargs.setdefault("severity", "critical")
        super().__init__(fail=True, **kwargs)

    def message(self, context: Any) -> tuple[str, str]:
        ti, run_id = context["ti"], str(context["run_id"])
        states = ti.get_task_states(dag_id=ti.dag_id, run_ids=[run_id])
        states = states.get(run_id, states)
        failed = sorted(t for t, s in states.items() if s in {"failed", "upstream_failed"} and t != self.task_id)
        body = f"Run {run_id} of {ti.dag_id}: failed checks: {', '.join(failed) or '(see the run)'}"
        return f"{ti.dag_id}: {len(failed)} check(s) failed", body
