"""A Spark job's time on 1 million rows (BENCH_SPARK_ROWS), as a SparkApplication of the platform.

The job does what the movie pipeline's Spark stages do, at scale: per-group aggregates, a distinct
count and a top-N per group by a window (three shuffles), on rows it generates itself so the
figure is Spark's, not a source's. One driver and one executor of one core each, as the pipeline.
"""

from __future__ import annotations

import os
from typing import Any

from bench import sparkapps
from bench.cluster import activity, machine
from bench.results import activity_line, now, save_part, table
from devkit import kube

NAME = "bench-spark-rows"
JOB = '''
"""make bench (bench/spark.py): aggregate, de-duplicate and rank generated rows."""
import json
import sys
import time

started = time.monotonic()
from pyspark.sql import SparkSession, Window, functions as F

spark = SparkSession.builder.appName("bench-spark-rows").getOrCreate()
spark.sparkContext.setLogLevel("WARN")
session = time.monotonic() - started
rows = int(sys.argv[1])
t0 = time.monotonic()
df = spark.range(0, rows, numPartitions=4).select(
    "id",
    (F.col("id") % 19).alias("genre_id"),
    (1950 + F.col("id") % 75).alias("year"),
    F.round(F.rand(seed=7) * 10, 1).alias("vote"),
    F.sha2((F.col("id") % (rows // 2)).cast("string"), 256).alias("key"),
).cache()
counted = df.count()
groups = df.groupBy("genre_id", "year").agg(F.count("*").alias("n"), F.avg("vote").alias("avg_vote")).count()
distinct = df.select("key").distinct().count()
rank = Window.partitionBy("genre_id").orderBy(F.col("vote").desc(), F.col("id"))
top = df.withColumn("r", F.row_number().over(rank)).where("r <= 3").count()
job = time.monotonic() - t0
spark.stop()
print("BENCH " + json.dumps({"rows": counted, "groups": groups, "distinct_keys": distinct, "top_rows": top,
                             "session_seconds": round(session, 2), "job_seconds": round(job, 2)}), flush=True)
'''


def main() -> None:
    rows = int(os.environ.get("BENCH_SPARK_ROWS", "1000000"))
    section: dict[str, Any] = {"measured_at": now(), "machine": machine(), "rows": rows}
    print(f"==> spark: {rows} rows", flush=True)
    kube.apply(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": NAME}, "data": {"job.py": JOB}},
        namespace=sparkapps.NAMESPACE,
    )
    app = sparkapps.application(NAME, configmap=NAME, job="job.py", arguments=[str(rows)], image="spark")
    try:
        with activity(section):
            result = sparkapps.run(app)
    finally:
        sparkapps.delete(NAME)
        kube.kubectl("delete", "configmap", NAME, "-n", sparkapps.NAMESPACE, "--ignore-not-found", check=False)
    (bench,) = sparkapps.marked(result.pop("log"), "BENCH ")
    if bench["rows"] != rows or bench["distinct_keys"] != rows // 2 or bench["top_rows"] != 19 * 3:
        raise RuntimeError(f"the Spark job computed wrong results: {bench}")
    section.update(result, job=bench, rows_per_second=round(rows / bench["job_seconds"]))
    section["spec"] = {k: app["spec"]["driver"][k] for k in ("cores", "coreRequest", "memory")}
    section["spec"]["executor_instances"] = app["spec"]["executor"]["instances"]
    print_section(section)
    save_part("spark", section)


def print_section(section: dict[str, Any]) -> None:
    job = section["job"]
    rows = [
        ("rows", section["rows"]),
        ("submit → driver running, s", section["submit_to_driver_running_seconds"]),
        ("Spark session start in the driver, s", job["session_seconds"]),
        ("job (generate, aggregate, distinct, top-3 per group), s", job["job_seconds"]),
        ("rows per second (job)", section["rows_per_second"]),
        ("submit → COMPLETED, s", section["submit_to_completed_seconds"]),
        ("driver / executor", f"{section['spec']['cores']} core, {section['spec']['memory']} each, "
                              f"{section['spec']['executor_instances']} executor"),
    ]  # fmt: skip
    print(table(f"Spark job on {section['rows']} rows", ("", "value"), rows))
    print(activity_line(section.get("activity")))
