"""Operators of the movie pipeline.

Extraction and processing run in pods of our images (TaskPodOperator, SparkApplications); the
checks and the report are small queries that run in the worker pod itself.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.providers.cncf.kubernetes.operators.spark_kubernetes import SparkKubernetesOperator
from airflow.providers.standard.operators.branch import BaseBranchOperator
from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowSkipException

from airyard import alerts, cluster, metrics, services
from airyard.movies import (
    DATABASE,
    KAFKA,
    MONGODB,
    MOVIES,
    PIPELINE,
    PIPELINE_METRICS,
    PROCESSING_GROUP,
    QUALITY_REPORTS,
    RAW_TOPICS,
    SPARK_SERVICES,
    TOPIC_METRICS,
    quality,
)
from airyard.operators.task_pod import TaskPodOperator
from airyard.spark import spec as spark_spec
from airyard.spark.operators import submission_defaults

MOVIES_IMAGE = "movies"
SPARK_IMAGE = "movies-spark"


# The seed's default arguments of the three movie DAGs. Alerts go through airyard.alerts
# (smtp_default and slack_webhook), not Airflow's own e-mail.
DEFAULT_ARGS: dict[str, Any] = {
    "owner": "airyard",
    "retries": 3,
    "retry_delay": timedelta(minutes=5),
    "execution_timeout": timedelta(hours=2),
    "email_on_failure": False,
    "on_failure_callback": alerts.on_failure_callback,
}


#: The extraction pods: TMDB (the user's connection), Redis for the shared rate limit, Kafka.
EXTRACT_SERVICES = (KAFKA, "redis", "external:tmdb_default")


class TMDBExtractOperator(TaskPodOperator):
    """Extract one kind of TMDB data to Kafka in a pod of airyard/movies.

    :param extraction_type: trending_movies, popular_movies, trending_people or movie_details.
    :param pages: pages of list endpoints (templated, e.g. "{{ var.value.max_popular_pages }}").
    :param movie_ids: movie_details only: JSON of ids or of upstream summaries (templated).
    """

    template_fields: Sequence[str] = (*TaskPodOperator.template_fields, "pages", "movie_ids")

    def __init__(self, *, extraction_type: str, pages: int | str = 1, movie_ids: str = "[]", **kwargs: Any) -> None:
        self.extraction_type = extraction_type
        self.pages = pages
        self.movie_ids = movie_ids
        kwargs.setdefault("pool", "tmdb_api")
        kwargs.setdefault("do_xcom_push", True)
        kwargs.setdefault("services", EXTRACT_SERVICES)
        super().__init__(image_name=MOVIES_IMAGE, cmds=["python3", "-m", "airyard.movies.extract"], **kwargs)

    def execute(self, context: Any) -> Any:
        self.arguments = [
            self.extraction_type,
            "--pages",
            str(self.pages),
            "--run-id",
            str(context["run_id"]),
            "--ids",
            self.movie_ids if isinstance(self.movie_ids, str) else json.dumps(self.movie_ids),
        ]
        summary = super().execute(context)
        if isinstance(summary, dict):  # the pod's result (do_xcom_push)
            report_extraction(self.task_id, summary)
        return summary


@metrics.reporter
def report_extraction(step: str, summary: dict[str, Any]) -> None:
    """An extraction pod's figures as metrics: every record it got either went to its raw topic
    (out) or to the dead-letter topic, so in = out + dead letters."""
    published, dead = int(summary.get("records", 0)), int(summary.get("dead_letters", 0))
    metrics.records(PIPELINE, step, records_in=published + dead, records_out=published)
    metrics.dead_letters(PIPELINE, step, dead)


class SparkProcessOperator(SparkKubernetesOperator):
    """Run a stage of the movie Spark job (images/movies-spark) as a SparkApplication.

    :param stage: movies, sentiment or analytics (jobs/process.py).
    :param job_args: extra arguments of the stage (templated).
    :param enabled: templated switch (e.g. a variable): false skips the task without starting Spark.
    """

    template_fields: Sequence[str] = (*SparkKubernetesOperator.template_fields, "job_args", "enabled")

    def __init__(
        self,
        *,
        stage: str,
        job_args: list[str] | None = None,
        enabled: bool | str = True,
        executor_instances: int = 1,
        memory: str = "512m",
        **kwargs: Any,
    ) -> None:
        self.stage = stage
        self.job_args = job_args or []
        self.enabled = enabled
        self.executor_instances = executor_instances
        self.memory = memory
        kwargs.setdefault("pool", "spark")
        kwargs.setdefault("delete_on_termination", True)
        super().__init__(template_spec={"spark": self.application()}, **submission_defaults(kwargs))

    def execute(self, context: Any) -> Any:
        if str(self.enabled).strip().lower() in {"false", "0", "no", "off"}:
            raise AirflowSkipException(f"stage {self.stage} disabled ({self.enabled!r})")
        self.namespace = self.namespace or cluster.namespace()
        self.template_spec = {"spark": self.application(run_id=str(context["run_id"]))}
        return super().execute(context)

    def application(self, run_id: str = "") -> dict[str, Any]:
        """The SparkApplication (v1beta2) of this stage."""
        # Resolved at construction too: an unknown service fails the DAG's import, not the run.
        return spark_spec.application(
            name=None,
            image=SPARK_IMAGE,
            main_file="local:///opt/airyard/jobs/process.py",
            arguments=[self.stage, "--run-id", run_id, *self.job_args],
            uses=SPARK_SERVICES,
            labels={"app.kubernetes.io/part-of": "airyard-movies"},
            memory=self.memory,
            executors=self.executor_instances,
            spark_conf={"spark.sql.shuffle.partitions": "4"},
        )


def cleanup_operator(*, task_id: str, days: str, **kwargs: Any) -> TaskPodOperator:
    """Retention clean-up in a pod of airyard/movies (no TTL indexes in FerretDB)."""
    return TaskPodOperator(
        task_id=task_id,
        image_name=MOVIES_IMAGE,
        cmds=["python3", "-m", "airyard.movies.store"],
        arguments=["cleanup", "--days", days],
        services=(MONGODB,),
        **kwargs,
    )


class MovieTaskOperator(BaseOperator):
    """A task of the movie pipeline that runs in its worker pod, with the pipeline's identity at
    the services of `uses` (declared on the worker pod: airyard.services)."""

    uses: tuple[str, ...] = ()

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("executor_config", services.executor_config(*self.uses))
        super().__init__(**kwargs)

    @staticmethod
    def mongo() -> Any:
        from airyard.mongo.hooks import MongoHook

        return MongoHook(services.connection(MONGODB))

    @staticmethod
    def kafka() -> Any:
        from airyard.kafka.hooks import KafkaHook

        return KafkaHook(services.connection(KAFKA))


class MongoDBValidationOperator(MovieTaskOperator):
    """Validate the newest documents of a collection against the pipeline's schema."""

    uses = (MONGODB,)

    template_fields: Sequence[str] = ("collections", "sample_size")

    def __init__(
        self,
        *,
        collections: Sequence[str] = (MOVIES,),
        sample_size: int = 1000,
        min_valid_ratio: float = 0.99,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.collections = list(collections)
        self.sample_size = sample_size
        self.min_valid_ratio = min_valid_ratio

    def execute(self, context: Any) -> dict[str, Any]:
        results = []
        with self.mongo() as hook:
            db = hook.database()
            for name in self.collections:
                docs = db[name].find({}, sort=[("last_seen_at", -1)], limit=int(self.sample_size))
                results.append(quality.validate_schema(name, docs, self.min_valid_ratio))
        passed = all(r["passed"] for r in results)
        return {"check": "schema", "passed": passed, "details": {r["check"]: r["details"] for r in results}}


class VolumeCheckOperator(MovieTaskOperator):
    """Records extracted in the latest ingestion run versus the runs before it (pipeline_metrics)."""

    uses = (MONGODB,)

    def __init__(self, *, history: int = 24, tolerance: float = 3.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.history = history
        self.tolerance = tolerance

    def execute(self, context: Any) -> dict[str, Any]:
        with self.mongo() as hook:
            runs = list(
                hook.database()[PIPELINE_METRICS].find(
                    {"dag_id": "movie_data_ingestion"}, sort=[("recorded_at", -1)], limit=self.history + 1
                )
            )
        if not runs:
            return {"check": "volume", "passed": False, "details": {"reason": "no ingestion metrics recorded"}}
        return quality.volume_anomaly(
            float(runs[0]["records"]), [float(r["records"]) for r in runs[1:]], self.tolerance
        )


class KafkaLagCheckOperator(MovieTaskOperator):
    """Messages on the raw topics that processing has not read yet (its consumer group)."""

    uses = (KAFKA,)

    def __init__(
        self,
        *,
        max_lag: int = 100_000,
        group: str = PROCESSING_GROUP,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.max_lag = max_lag
        self.group = group

    def execute(self, context: Any) -> dict[str, Any]:
        committed, high = self.kafka().lag(RAW_TOPICS, group=self.group)
        return quality.kafka_lag(committed, high, self.max_lag)


class QualityReportOperator(MovieTaskOperator):
    """Combine the checks' results into a report, store it in MongoDB, return it."""

    uses = (MONGODB,)

    template_fields: Sequence[str] = ("threshold",)

    def __init__(
        self,
        *,
        check_task_ids: Sequence[str],
        threshold: float | str = 0.8,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.check_task_ids = list(check_task_ids)
        self.threshold = threshold

    def execute(self, context: Any) -> dict[str, Any]:
        ti = context["ti"]
        checks = []
        for task_id in self.check_task_ids:
            result = ti.xcom_pull(task_ids=task_id)
            checks.append(result or {"check": task_id, "passed": False, "details": {"reason": "no result"}})
        rep = quality.report(checks, float(self.threshold))
        # The report scores the pipeline's database as a whole (its collections, freshness, volume,
        # lag); sent before it is stored, so a store that is down does not hide the score too.
        metrics.quality_score(PIPELINE, DATABASE, rep["score"])
        rep["run_id"] = context["run_id"]
        rep["dag_id"] = ti.dag_id
        with self.mongo() as hook:
            hook.database()[QUALITY_REPORTS].update_one({"run_id": rep["run_id"]}, {"$set": rep}, upsert=True)
        self.log.info("%s", quality.summary_text(rep))
        return {**rep, "generated_at": rep["generated_at"].isoformat()}


class DataQualityBranchOperator(BaseBranchOperator):
    """Follow `alert_task_id` when the report's score is below the threshold, else `ok_task_id`."""

    def __init__(self, *, report_task_id: str, alert_task_id: str, ok_task_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.report_task_id = report_task_id
        self.alert_task_id = alert_task_id
        self.ok_task_id = ok_task_id

    def choose_branch(self, context: Any) -> str:
        rep = context["ti"].xcom_pull(task_ids=self.report_task_id) or {}
        breached = bool(rep.get("breached", True))
        self.log.info(
            "quality score %s, threshold %s: %s", rep.get("score"), rep.get("threshold"), "alert" if breached else "ok"
        )
        return self.alert_task_id if breached else self.ok_task_id


class QualityAlertOperator(alerts.AlertOperator):
    """Alert with the quality report; fails when no channel delivered it."""

    def __init__(self, *, report_task_id: str, **kwargs: Any) -> None:
        super().__init__(require_delivery=True, **kwargs)
        self.report_task_id = report_task_id

    def message(self, context: Any) -> tuple[str, str]:
        rep = context["ti"].xcom_pull(task_ids=self.report_task_id)
        subject = (
            f"Movie data quality {rep['score']:.2f} below {rep['threshold']:.2f}: {', '.join(rep['failed_checks'])}"
        )
        return subject, quality.summary_text(rep) + f"\nRun: {context['run_id']}"


class ExtractionMetricsOperator(MovieTaskOperator):
    """Sum the extraction tasks' summaries; publish to Kafka (movies.metrics) and MongoDB."""

    uses = (KAFKA, MONGODB)

    def __init__(
        self,
        *,
        extract_task_ids: Sequence[str],
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.extract_task_ids = list(extract_task_ids)

    def execute(self, context: Any) -> dict[str, Any]:
        ti = context["ti"]
        per_task = {t: ti.xcom_pull(task_ids=t) or {} for t in self.extract_task_ids}
        metrics: dict[str, Any] = {
            "dag_id": ti.dag_id,
            "run_id": context["run_id"],
            "recorded_at": datetime.now(UTC),
            "records": sum(int(s.get("records", 0)) for s in per_task.values()),
            "dead_letters": sum(int(s.get("dead_letters", 0)) for s in per_task.values()),
            "api_requests": sum(int(s.get("api_requests", 0)) for s in per_task.values()),
            "api_retries": sum(int(s.get("api_retries", 0)) for s in per_task.values()),
            "tasks": {
                t: {k: s.get(k) for k in ("records", "dead_letters", "counts", "seconds")} for t, s in per_task.items()
            },
        }
        self.kafka().produce_json(TOPIC_METRICS, f"ingestion:{context['run_id']}", metrics)
        with self.mongo() as hook:
            hook.database()[PIPELINE_METRICS].update_one(
                {"run_id": metrics["run_id"], "dag_id": metrics["dag_id"]}, {"$set": metrics}, upsert=True
            )
        self.log.info("extraction metrics: %s", metrics)
        return {**metrics, "recorded_at": metrics["recorded_at"].isoformat()}
