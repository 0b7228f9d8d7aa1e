"""The platform's one freshness check: is the newest data of a source younger than a bound?

Subclasses say where the newest data is (``latest``): a Delta table's last commit
(airyard.objectstore.operators), a collection's newest document (airyard.mongo.operators).
Every check reports the age and its bound as metrics (airyard.metrics), stale or not.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException

from airyard import metrics


def assess(latest: datetime | None, max_age: timedelta, now: datetime | None = None) -> dict[str, Any]:
    """A check result (``check``, ``passed``, ``details``) for data last written at `latest` (None: never)."""
    if latest is not None and latest.tzinfo is None:
        latest = latest.replace(tzinfo=UTC)  # pymongo without tz_aware returns naive UTC datetimes
    age = None if latest is None else ((now or datetime.now(UTC)) - latest).total_seconds() / 60
    return {
        "check": "freshness",
        "passed": age is not None and age <= max_age.total_seconds() / 60,
        "details": {
            "latest": latest.isoformat() if latest else None,
            "age_minutes": None if age is None else round(age, 2),
            "max_age_minutes": max_age.total_seconds() / 60,
        },
    }


class FreshnessCheckOperator(BaseOperator):
    """Whether the newest data of a source is younger than `max_age`.

    The result is returned and also pushed as XCom key "freshness", so a failed check still
    tells its age to whatever collects the metrics.

    :param max_age: the bound.
    :param pipeline: the pipeline whose data it is, and
    :param layer: which of its layers or datasets (bronze, a collection): the metrics' labels.
    :param fail_when_stale: fail the task on stale or missing data (a monitoring gate); otherwise
        only report it (a check that a quality report scores).
    """

    def __init__(
        self, *, max_age: timedelta, pipeline: str, layer: str, fail_when_stale: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.max_age = max_age
        self.pipeline = pipeline
        self.layer = layer
        self.fail_when_stale = fail_when_stale

    def latest(self, context: Any) -> tuple[datetime | None, dict[str, Any]]:
        """When the source was last written (None: never), and what else the result should say."""
        raise NotImplementedError

    @property
    def source(self) -> str:
        """The source as the task's log and failure name it, e.g. "Delta table s3://lake/bronze"."""
        raise NotImplementedError

    def execute(self, context: Any) -> dict[str, Any]:
        latest, details = self.latest(context)
        result = assess(latest, self.max_age)
        result["details"].update(details)
        context["ti"].xcom_push(key="freshness", value=result)
        age = result["details"]["age_minutes"]
        # Before the verdict: a stale layer is exactly the figure the alert rules need.
        metrics.freshness(
            self.pipeline,
            self.layer,
            age_seconds=None if age is None else round(age * 60, 1),
            max_age_seconds=self.max_age.total_seconds(),
        )
        bound = f"bound {self.max_age.total_seconds() / 60:g} min"
        verdict = f"never written ({bound})" if age is None else f"{age:.1f} min old ({bound})"
        if self.fail_when_stale and not result["passed"]:
            raise AirflowException(f"{self.source} is stale: {verdict}")
        self.log.info("%s: %s, %s", self.source, verdict, "fresh" if result["passed"] else "stale")
        return result
