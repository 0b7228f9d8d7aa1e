"""The pipelines' own figures as StatsD metrics, sent beside Airflow's own to the same statsd_exporter.

Names as this module sends them; Airflow's ``[metrics] statsd_prefix`` ("airflow") goes in front, and
statsd_exporter maps each to the labelled Prometheus series on the right. Dashboards and alert rules
use those series: the names are a contract.

    airyard.pipeline.records.<pipeline>.<step>.<in|out>   airyard_pipeline_records_total{pipeline,step,direction}
    airyard.pipeline.dead_letters.<pipeline>.<step>      airyard_pipeline_dead_letters_total{pipeline,step}
    airyard.freshness.age_seconds.<pipeline>.<layer>     airyard_freshness_age_seconds{pipeline,layer}
    airyard.freshness.max_age_seconds.<pipeline>.<layer> airyard_freshness_max_age_seconds{pipeline,layer}
    airyard.quality.score.<pipeline>.<dataset>           airyard_quality_score{pipeline,dataset}

A step is the task that handled the records, named by its task id. Every function here is safe to
call from any task: a figure that cannot be sent is logged and dropped, never raised.
"""

from __future__ import annotations

import functools
import logging
import math
import re
from collections.abc import Callable
from typing import ParamSpec

# Task code must use the Task SDK's facade. The worker's task runner initialises it from [metrics]
# before the task runs (site-packages airflow/sdk/execution_time/task_runner.py, main(): stats.initialize
# with airflow/sdk/observability/metrics/stats_utils.py's factory, which statsd_on turns into the StatsD
# client of airflow/sdk/observability/metrics/statsd_logger.py: statsd_host, statsd_port, statsd_prefix).
# airflow.observability.stats is a separate copy that only Airflow's own components initialise: in a
# task it stays the no-op logger.
from airflow.sdk.observability.stats import Stats

log = logging.getLogger(__name__)

PREFIX = "airyard"
#: Longest name part kept: Airflow drops a whole stat name longer than 250 characters.
MAX_PART = 64
# A dot would add a name component (statsd_exporter's glob `*` matches exactly one); ":", "|", "#",
# "," and "=" delimit the StatsD line and its tags; Airflow drops names with other characters.
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")

P = ParamSpec("P")


def name_part(value: object) -> str:
    """`value` as one component of a metric name (a label value once mapped): "a.b c" -> "a_b_c"."""
    return _UNSAFE.sub("_", str(value))[:MAX_PART] or "unknown"


def metric_name(metric: str, *parts: object) -> str:
    """The StatsD name of `metric` ("pipeline.records") for its label values, in the mapping's order."""
    return ".".join([PREFIX, metric, *(name_part(p) for p in parts)])


def records(pipeline: str, step: str, *, records_in: int | None = None, records_out: int | None = None) -> None:
    """Count the records `step` took in and passed on (either may be left out)."""
    for direction, count in (("in", records_in), ("out", records_out)):
        if count is not None:
            _increment(metric_name("pipeline.records", pipeline, step, direction), count)


def dead_letters(pipeline: str, step: str, count: int) -> None:
    """Count the records `step` set aside with a reason (dead-letter topic, quarantine table)."""
    _increment(metric_name("pipeline.dead_letters", pipeline, step), count)


def freshness(pipeline: str, layer: str, *, age_seconds: float | None, max_age_seconds: float) -> None:
    """Report how old the newest data of `layer` is (None: never written) and the age it may reach."""
    # Never written is infinitely old: "age > max age" then alerts, where sending nothing would
    # leave the gauge at an earlier, fresh value.
    age = math.inf if age_seconds is None else age_seconds
    _set(metric_name("freshness.age_seconds", pipeline, layer), age)
    _set(metric_name("freshness.max_age_seconds", pipeline, layer), max_age_seconds)


def quality_score(pipeline: str, dataset: str, score: float) -> None:
    """Report the quality score of `dataset` as the pipeline defines it (mostly a share, 0..1)."""
    _set(metric_name("quality.score", pipeline, dataset), score)


def reporter(report: Callable[P, None]) -> Callable[P, None]:
    """Decorate a function that reads figures out of a task's result and reports them: a result
    without the expected figures is logged, and the task goes on."""

    @functools.wraps(report)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            report(*args, **kwargs)
        except Exception:  # a lost figure must never fail the task that computed it
            log.warning("%s failed: figures not reported", report.__qualname__, exc_info=True)

    return guarded


def _increment(name: str, count: int) -> None:
    try:
        number = int(count)
        if number < 0:  # statsd_exporter refuses a counter going down; the sender has a bug
            raise ValueError(f"a counter only grows, got {number}")
        Stats.incr(name, count=number)
    except Exception:  # a lost figure must never fail the task that computed it
        log.warning("metric %s not sent (count %r)", name, count, exc_info=True)


def _set(name: str, value: float) -> None:
    try:
        Stats.gauge(name, float(value))
    except Exception:  # a lost figure must never fail the task that computed it
        log.warning("metric %s not sent (value %r)", name, value, exc_info=True)
