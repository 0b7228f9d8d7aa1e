"""Bronze, silver and gold Delta tables of harmful domains, from the Kafka topic domains.observed.

bronze  every observation (one row per event id: source, data interval, domain), fed continuously
        by a Structured Streaming query from Kafka (--layers bronze: runs until stopped, a batch
        every --trigger-seconds when there are new records), merged on event_id so a re-produced
        interval (retry, backfill) adds nothing. Its one writer is the long-running SparkApplication
        domains-bronze, which the Spark operator restarts.
silver  one row per domain: first/last seen (from the data intervals, not wall-clock time, so a
        backfill builds what the regular runs built), its sources; an availableNow stream reads
        bronze's new rows and merges them in.
gold    recomputed from silver each run: `blocklist` (domains seen in the last --active-days
        before the newest observation) and `stats` (domains per source and per TLD).

Silver and gold are built by one SparkApplication per pipeline run (--layers silver,gold), one
at a time: each table has a single writer, which Delta on an object store needs.
"""

from __future__ import annotations

import argparse
import sys

from airyard import envconn
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

#: The connections the SparkApplication declares (airyard.domains.lake.SERVICES), and the prefix
#: of the consumer groups its Kafka source makes up (the domains user's ACLs allow "airyard-domains").
KAFKA, STORE, GROUP_PREFIX = "kafka_domains", "objectstore_domains", "airyard-domains-spark"

EVENT = T.StructType(
    [
        T.StructField("event_id", T.StringType()),
        T.StructField("domain", T.StringType()),
        T.StructField("source", T.StringType()),
        T.StructField("interval_start", T.StringType()),
        T.StructField("interval_end", T.StringType()),
        T.StructField("run_id", T.StringType()),
    ]
)


def session() -> SparkSession:
    """A session on the lake bucket with the pipeline's own object-store user (objectstore_domains).

    The s3a settings travel to the executors in the Hadoop configuration; Spark redacts the keys
    from its logs and event history.
    """
    store = envconn.get(STORE)
    endpoint = str(store.extra.get("endpoint_url") or "")
    b = (
        # No appName: the SparkApplication's name (the operator's spark.app.name) names the
        # executors' pods, so the stream's and each build's pods say which they belong to.
        SparkSession.builder.config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
        .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.hadoop.fs.s3a.path.style.access", "true")
        .config("spark.hadoop.fs.s3a.connection.ssl.enabled", str(endpoint.startswith("https")).lower())
        .config("spark.hadoop.fs.s3a.aws.credentials.provider", "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider")
        .config("spark.hadoop.fs.s3a.access.key", store.login)
        .config("spark.hadoop.fs.s3a.secret.key", store.password)
    )
    if endpoint:
        b = b.config("spark.hadoop.fs.s3a.endpoint", endpoint)
    if store.extra.get("region_name"):
        b = b.config("spark.hadoop.fs.s3a.endpoint.region", str(store.extra["region_name"]))
    return b.getOrCreate()


def kafka_options() -> dict[str, str]:
    """The Kafka source's options: the pipeline's own identity, and group ids its ACLs allow."""
    cfg = envconn.kafka_java_config(envconn.get(KAFKA))
    return {**{f"kafka.{k}": v for k, v in cfg.items()}, "groupIdPrefix": GROUP_PREFIX}


def log(msg: str) -> None:
    print(f"LAKE {msg}", flush=True)


def bronze(spark: SparkSession, a: argparse.Namespace) -> None:
    path = f"{a.lake}/bronze"
    spark.sql(
        f"""CREATE TABLE IF NOT EXISTS delta.`{path}` (
              event_id STRING, domain STRING, source STRING, interval_start TIMESTAMP, interval_end TIMESTAMP,
              run_id STRING, kafka_partition INT, kafka_offset BIGINT, kafka_timestamp TIMESTAMP,
              ingested_at TIMESTAMP) USING delta"""
    )
    stream = (
        spark.readStream.format("kafka")
        .options(**kafka_options())
        .option("subscribe", a.topic)
        .option("startingOffsets", "earliest")
        # retention may have dropped offsets the checkpoint remembers: carry on from what is there
        .option("failOnDataLoss", "false")
        .load()
    )
    events = stream.select(
        F.from_json(F.col("value").cast("string"), EVENT).alias("m"),
        F.col("partition").alias("kafka_partition"),
        F.col("offset").alias("kafka_offset"),
        F.col("timestamp").alias("kafka_timestamp"),
    ).select(
        "m.event_id",
        "m.domain",
        "m.source",
        F.to_timestamp("m.interval_start").alias("interval_start"),
        F.to_timestamp("m.interval_end").alias("interval_end"),
        "m.run_id",
        "kafka_partition",
        "kafka_offset",
        "kafka_timestamp",
        F.current_timestamp().alias("ingested_at"),
    )

    def merge(batch: DataFrame, batch_id: int) -> None:
        valid = batch.where("event_id IS NOT NULL AND domain IS NOT NULL").dropDuplicates(["event_id"])
        valid.createOrReplaceTempView("bronze_batch")
        valid.sparkSession.sql(
            f"MERGE INTO delta.`{path}` t USING bronze_batch s ON t.event_id = s.event_id "
            "WHEN NOT MATCHED THEN INSERT *"
        )
        log(f"bronze batch {batch_id}: {batch.count()} messages")

    q = (
        events.writeStream.queryName("domains-bronze")
        .foreachBatch(merge)
        .option("checkpointLocation", f"{a.checkpoints}/bronze")
        .trigger(processingTime=f"{a.trigger_seconds} seconds")
        .start()
    )
    q.awaitTermination()  # until the application is deleted; a failed query raises and ends the driver


def silver(spark: SparkSession, a: argparse.Namespace) -> None:
    path = f"{a.lake}/silver"
    spark.sql(
        f"""CREATE TABLE IF NOT EXISTS delta.`{path}` (
              domain STRING, tld STRING, first_seen TIMESTAMP, last_seen TIMESTAMP, sources ARRAY<STRING>,
              source_count INT) USING delta"""
    )
    # bronze only ever gains rows (insert-only merges), but skip any rewrite commit rather than fail
    stream = spark.readStream.format("delta").option("skipChangeCommits", "true").load(f"{a.lake}/bronze")

    def merge(batch: DataFrame, batch_id: int) -> None:
        per_domain = batch.groupBy("domain").agg(
            F.min("interval_start").alias("first_seen"),
            F.max("interval_end").alias("last_seen"),
            F.array_sort(F.collect_set("source")).alias("sources"),
        )
        per_domain = per_domain.withColumn("tld", F.element_at(F.split("domain", r"\."), -1)).withColumn(
            "source_count", F.size("sources")
        )
        per_domain.createOrReplaceTempView("silver_batch")
        per_domain.sparkSession.sql(
            f"""MERGE INTO delta.`{path}` t USING silver_batch s ON t.domain = s.domain
                WHEN MATCHED THEN UPDATE SET
                  first_seen = least(t.first_seen, s.first_seen),
                  last_seen = greatest(t.last_seen, s.last_seen),
                  sources = array_sort(array_union(t.sources, s.sources)),
                  source_count = size(array_union(t.sources, s.sources))
                WHEN NOT MATCHED THEN INSERT (domain, tld, first_seen, last_seen, sources, source_count)
                  VALUES (s.domain, s.tld, s.first_seen, s.last_seen, s.sources, s.source_count)"""
        )
        log(f"silver batch {batch_id}: {per_domain.count()} domains")

    q = (
        stream.writeStream.foreachBatch(merge)
        .option("checkpointLocation", f"{a.checkpoints}/silver")
        .trigger(availableNow=True)
        .start()
    )
    q.awaitTermination()


def gold(spark: SparkSession, a: argparse.Namespace) -> None:
    s = spark.read.format("delta").load(f"{a.lake}/silver")
    newest = s.agg(F.max("last_seen")).first()[0]
    if newest is None:
        log("gold: silver is empty, nothing to publish")
        return
    blocklist = s.where(F.col("last_seen") >= F.lit(newest) - F.expr(f"INTERVAL {int(a.active_days)} DAYS")).select(
        "domain", "tld", "first_seen", "last_seen", "sources", "source_count"
    )
    stats = (
        s.select(F.lit("source").alias("dimension"), F.explode("sources").alias("key"), "domain")
        .unionByName(s.select(F.lit("tld").alias("dimension"), F.col("tld").alias("key"), "domain"))
        .unionByName(s.select(F.lit("total").alias("dimension"), F.lit("all").alias("key"), "domain"))
        .groupBy("dimension", "key")
        .agg(F.countDistinct("domain").alias("domains"))
    )
    for name, df in (("blocklist", blocklist.orderBy("domain")), ("stats", stats.orderBy("dimension", "key"))):
        df.write.format("delta").mode("overwrite").option("overwriteSchema", "true").save(f"{a.lake}/gold/{name}")
    log(f"gold: blocklist {blocklist.count()} domains (active {a.active_days} days before {newest})")


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lake", required=True)
    ap.add_argument("--checkpoints", required=True)
    ap.add_argument("--topic", default="domains.observed")
    ap.add_argument("--active-days", type=int, default=30)
    ap.add_argument("--layers", default="silver,gold", help="bronze (the stream, alone) or silver and/or gold")
    ap.add_argument("--trigger-seconds", type=int, default=30)
    a = ap.parse_args(argv)
    layers = a.layers.split(",")
    if "bronze" in layers and layers != ["bronze"]:
        ap.error("bronze is a stream that does not end: run it alone (--layers bronze)")
    spark = session()
    spark.sparkContext.setLogLevel("WARN")
    steps = {"bronze": bronze, "silver": silver, "gold": gold}
    for layer in layers:
        steps[layer](spark, a)
        log(f"{layer} done")
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
