"""The movie pipeline's Spark job: raw Kafka topics -> cleaned, de-duplicated MongoDB documents.

    spark-submit process.py <stage> --run-id RUN

Stages (one SparkApplication each, tasks of movie_data_processing):
  movies     movies and people: parse, dead-letter invalid rows, de-duplicate by TMDB id (details
             beat list entries, newer beats older), merge people's credits; commit the processing
             consumer group's offsets (Kafka lag is measured on it).
  sentiment  reviews: de-duplicate by review id, lexicon sentiment (airyard.movies.sentiment),
             per-movie average sentiment.
  analytics  per-genre and per-release-year aggregates.

Every stage reads its topics from the earliest retained offset up to the end offsets it pinned
when it started, and upserts by natural key, so a re-run converges to the same documents (no
duplicates) and late records are picked up. What it commits is exactly the pinned end: records
that arrive while it runs are the next run's. A row that does not fit (not JSON of the record's
shape, a key or a required field missing) is counted and goes to movies.deadletter with its
reason, once: in the run that first reads it (its offset is at or after the group's commit).

Writes go to MongoDB with pymongo from each partition (foreachPartition, keyed bulk upserts), not
through the Mongo Spark connector: the platform's MongoDB is FerretDB 1.24, and the connector's
write path (and its read partitioners, which need $sample/$bucketAuto/collStats) is not part of
FerretDB's tested compatibility; keyed pymongo upserts are and keep writes idempotent.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from airyard import envconn as conn
from airyard.kafka import client as kafka
from airyard.movies import (
    GENRE_STATS,
    KAFKA_CONN,
    MOVIES,
    PEOPLE,
    PROCESSING_GROUP,
    REVIEWS,
    SPARK_GROUP_PREFIX,
    TOPIC_DEADLETTER,
    TOPIC_MOVIES,
    TOPIC_PEOPLE,
    TOPIC_REVIEWS,
    YEARLY_STATS,
    records,
    store,
)
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

GENRE_NAMES = {
    28: "Action", 12: "Adventure", 16: "Animation", 35: "Comedy", 80: "Crime", 99: "Documentary", 18: "Drama",
    10751: "Family", 14: "Fantasy", 36: "History", 27: "Horror", 10402: "Music", 9648: "Mystery", 10749: "Romance",
    878: "Science Fiction", 10770: "TV Movie", 53: "Thriller", 10752: "War", 37: "Western",
}  # fmt: skip

MOVIE = T.StructType(
    [
        T.StructField("tmdb_id", T.LongType()),
        T.StructField("title", T.StringType()),
        T.StructField("original_title", T.StringType()),
        T.StructField("original_language", T.StringType()),
        T.StructField("overview", T.StringType()),
        T.StructField("release_date", T.StringType()),
        T.StructField("popularity", T.DoubleType()),
        T.StructField("vote_average", T.DoubleType()),
        T.StructField("vote_count", T.DoubleType()),
        T.StructField("genre_ids", T.ArrayType(T.LongType())),
        T.StructField("genres", T.ArrayType(T.StringType())),
        T.StructField("runtime", T.DoubleType()),
        T.StructField("budget", T.DoubleType()),
        T.StructField("revenue", T.DoubleType()),
        T.StructField("imdb_id", T.StringType()),
        T.StructField("status", T.StringType()),
    ]
)
CREDIT = T.StructType(
    [
        T.StructField("tmdb_id", T.LongType()),
        T.StructField("role", T.StringType()),
        T.StructField("character", T.StringType()),
        T.StructField("job", T.StringType()),
    ]
)
PERSON = T.StructType(
    [
        T.StructField("person_id", T.LongType()),
        T.StructField("name", T.StringType()),
        T.StructField("known_for_department", T.StringType()),
        T.StructField("popularity", T.DoubleType()),
        T.StructField("gender", T.LongType()),
        T.StructField("credits", T.ArrayType(CREDIT)),
    ]
)
REVIEW = T.StructType(
    [
        T.StructField("review_id", T.StringType()),
        T.StructField("tmdb_id", T.LongType()),
        T.StructField("author", T.StringType()),
        T.StructField("content", T.StringType()),
        T.StructField("rating", T.DoubleType()),
        T.StructField("created_at", T.StringType()),
    ]
)


def envelope(data: T.StructType) -> T.StructType:
    return T.StructType(
        [
            T.StructField("kind", T.StringType()),
            T.StructField("source", T.StringType()),
            T.StructField("run_id", T.StringType()),
            T.StructField("extracted_at", T.StringType()),
            T.StructField("data", data),
        ]
    )


def kafka_options() -> dict[str, str]:
    """The Kafka source's options: the pipeline's own identity, and group ids its ACLs allow."""
    cfg = conn.kafka_java_config(conn.get(KAFKA_CONN))
    return {**{f"kafka.{k}": v for k, v in cfg.items()}, "groupIdPrefix": SPARK_GROUP_PREFIX}


@dataclass
class Batch:
    """One topic's records up to the end offsets pinned when the stage started."""

    topic: str
    #: Per partition: the processing group's committed offset (rows from there on are new to this
    #: run) and the pinned end (exclusive), which is what the stage commits.
    committed: dict[int, int]
    end: dict[int, int]
    #: partition, offset, value, source, run_id, extracted_at, data and `problem` (None when valid).
    rows: DataFrame

    @property
    def valid(self) -> DataFrame:
        return self.rows.where(F.col("problem").isNull())


def _processing_consumer() -> Any:
    """A consumer of the processing group (what it commits is what Kafka lag is measured on)."""
    return kafka.consumer(conn.kafka_config(conn.get(KAFKA_CONN)), PROCESSING_GROUP)


def offsets(topic: str) -> tuple[dict[int, int], dict[int, int]]:
    """The processing group's committed offsets (0 before its first commit) and the topic's end offsets."""
    with _processing_consumer() as consumer:
        committed = kafka.committed_offsets(consumer, topic)
        end = kafka.end_offsets(consumer, topic)
    return {p: o or 0 for p, o in committed.items()}, end


def read_topic(spark: SparkSession, topic: str, schema: T.StructType, required: dict[str, str] | None = None) -> Batch:
    """Every retained message of a topic up to its end now, parsed, each row with its problem.

    `required` maps a field of the record to the reason given when it is missing or blank.
    """
    committed, end = offsets(topic)
    raw = (
        spark.read.format("kafka")
        .options(**kafka_options())
        .option("subscribe", topic)
        .option("startingOffsets", "earliest")
        .option("endingOffsets", json.dumps({topic: {str(p): o for p, o in end.items()}}))
        .load()
    )
    parsed = raw.select(
        "partition",
        "offset",
        F.col("value").cast("string").alias("value"),
        F.from_json(F.col("value").cast("string"), envelope(schema)).alias("m"),
    )
    problem = F.when(F.col("m").isNull() | F.col("m.data").isNull(), F.lit(f"does not fit the schema of {topic}"))
    for field, reason in (required or {}).items():
        value = F.col(f"m.data.{field}")
        blank = value.isNull() | (F.length(F.trim(value.cast("string"))) == 0)
        problem = problem.when(blank, F.lit(reason))
    rows = parsed.select(
        "partition",
        "offset",
        "value",
        F.col("m.source").alias("source"),
        F.col("m.run_id").alias("run_id"),
        F.to_timestamp(F.col("m.extracted_at")).alias("extracted_at"),
        F.col("m.data").alias("data"),
        problem.alias("problem"),
    )
    return Batch(topic, committed, end, rows)


def dead_letter(batches: Iterable[Batch], run_id: str) -> dict[str, dict[str, int]]:
    """Send this run's new invalid rows to movies.deadletter, each with its reason.

    Rows before the group's commit were dead-lettered by the run that committed past them.
    Returns the invalid rows read and those dead-lettered now, per topic.
    """
    from airyard.movies.extract import Publisher

    publisher = Publisher(conn.kafka_config(conn.get(KAFKA_CONN)))
    counts: dict[str, dict[str, int]] = {"invalid": {}, "dead_lettered": {}}
    for batch in batches:
        new = F.lit(False)
        for partition, offset in batch.committed.items():
            new = new | ((F.col("partition") == partition) & (F.col("offset") >= offset))
        invalid = batch.rows.where(F.col("problem").isNotNull())
        counts["invalid"][batch.topic] = counts["dead_lettered"][batch.topic] = 0
        for row in invalid.select("partition", "offset", "value", "problem", new.alias("new")).toLocalIterator():
            counts["invalid"][batch.topic] += 1
            if not row["new"]:
                continue
            try:
                raw: Any = json.loads(row["value"])
            except (TypeError, ValueError):
                raw = row["value"]
            message = records.dead_letter(f"processing:{batch.topic}", row["problem"], raw, run_id)
            publisher.send(TOPIC_DEADLETTER, f"{batch.topic}:{row['partition']}:{row['offset']}", message)
            counts["dead_lettered"][batch.topic] += 1
    publisher.flush()
    return counts


def clean_movies(df: DataFrame) -> DataFrame:
    """One row per TMDB id: details beat list entries, newer beats older; first/last seen kept."""
    movies = df.select("source", "extracted_at", "data.*")
    rank = Window.partitionBy("tmdb_id").orderBy(
        F.when(F.col("source") == "details", 0).otherwise(1), F.col("extracted_at").desc()
    )
    seen = movies.groupBy("tmdb_id").agg(
        F.min("extracted_at").alias("first_seen_at"),
        F.max("extracted_at").alias("last_seen_at"),
        F.sort_array(F.collect_set("source")).alias("sources"),
    )
    best = movies.withColumn("_r", F.row_number().over(rank)).where("_r = 1").drop("_r", "extracted_at", "source")
    return (
        best.join(seen, "tmdb_id")
        .withColumn("title", F.trim("title"))
        .withColumn("release_year", F.year(F.to_date("release_date")))
        .withColumn("genre_ids", F.coalesce("genre_ids", F.array().cast("array<bigint>")))
        .withColumn("popularity", F.coalesce("popularity", F.lit(0.0)))
        .withColumn("vote_average", F.coalesce("vote_average", F.lit(0.0)))
        .withColumn("vote_count", F.coalesce("vote_count", F.lit(0.0)))
    )


def clean_people(df: DataFrame) -> DataFrame:
    people = df.select("extracted_at", "data.*")
    latest = Window.partitionBy("person_id").orderBy(F.col("extracted_at").desc())
    credits = (
        people.select("person_id", F.explode_outer("credits").alias("c"))
        .where(F.col("c").isNotNull())
        .dropDuplicates(["person_id", "c"])
        .groupBy("person_id")
        .agg(F.collect_list("c").alias("credits"))
    )
    seen = people.groupBy("person_id").agg(F.max("extracted_at").alias("last_seen_at"))
    best = people.withColumn("_r", F.row_number().over(latest)).where("_r = 1").drop("_r", "credits", "extracted_at")
    return (
        best.join(seen, "person_id")
        .join(credits, "person_id", "left")
        .withColumn("credits", F.coalesce("credits", F.array().cast(T.ArrayType(CREDIT))))
        .withColumn("movie_count", F.size("credits"))
    )


def _plain(value: Any) -> Any:
    """Spark Rows to MongoDB-ready values (Rows to dicts, naive timestamps to UTC)."""
    if hasattr(value, "asDict"):
        return {k: _plain(v) for k, v in value.asDict().items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value
    return value


def write_mongo(df: DataFrame, collection: str, key: list[str], run_id: str, **upsert: Any) -> int:
    """Keyed bulk upserts from every partition (`upsert`: store.upsert's options); returns the
    number of rows written."""
    stamp = datetime.now(UTC)
    client, database = store.client_from_env()
    with client:
        if moved := store.adopt_natural_ids(client[database][collection], key):
            print(f"{collection}: {moved} documents of an earlier version moved to their natural _id", flush=True)

    def write_partition(rows: Iterable[Any]) -> None:
        client, database = store.client_from_env()
        with client:
            docs = ({**_plain(r), "processed_at": stamp, "processing_run_id": run_id} for r in rows)
            store.upsert(client[database][collection], docs, key, **upsert)

    df.foreachPartition(write_partition)
    return df.count()


def commit_offsets(batches: Iterable[Batch]) -> dict[str, int]:
    """Commit the pinned end of each batch: exactly the records this stage has written."""
    from confluent_kafka import TopicPartition

    offsets = [TopicPartition(b.topic, p, o) for b in batches for p, o in b.end.items()]
    if offsets:
        with _processing_consumer() as consumer:
            consumer.commit(offsets=offsets, asynchronous=False)
    return {f"{tp.topic}:{tp.partition}": tp.offset for tp in offsets}


MOVIE_REQUIRED = {"tmdb_id": "tmdb_id is missing", "title": "title is missing or empty"}
PERSON_REQUIRED = {"person_id": "person_id is missing", "name": "name is missing or empty"}
REVIEW_REQUIRED = {
    "review_id": "review_id is missing",
    "tmdb_id": "tmdb_id is missing",
    "content": "content is missing or empty",
}


def stage_movies(spark: SparkSession, run_id: str) -> dict[str, Any]:
    raw_movies = read_topic(spark, TOPIC_MOVIES, MOVIE, MOVIE_REQUIRED)
    raw_people = read_topic(spark, TOPIC_PEOPLE, PERSON, PERSON_REQUIRED)
    movies = (
        clean_movies(raw_movies.valid)
        .withColumn(
            "genres",
            F.coalesce(
                "genres",
                F.transform(
                    "genre_ids",
                    lambda g: F.element_at(F.create_map(*[F.lit(x) for kv in GENRE_NAMES.items() for x in kv]), g),
                ),
            ),
        )
        .cache()
    )
    people = clean_people(raw_people.valid).cache()
    result: dict[str, Any] = {
        # A movie's first sighting stays what it was when Kafka has since dropped that record.
        "movies": write_mongo(movies, MOVIES, ["tmdb_id"], run_id, earliest=["first_seen_at"]),
        "people": write_mongo(people, PEOPLE, ["person_id"], run_id),
        **dead_letter([raw_movies, raw_people], run_id),
    }
    result["committed"] = commit_offsets([raw_movies, raw_people])
    return result


def stage_sentiment(spark: SparkSession, run_id: str) -> dict[str, Any]:
    from airyard.movies import sentiment

    score = F.udf(sentiment.score, T.DoubleType())
    label = F.udf(sentiment.label, T.StringType())
    raw = read_topic(spark, TOPIC_REVIEWS, REVIEW, REVIEW_REQUIRED)
    latest = Window.partitionBy("review_id").orderBy(F.col("extracted_at").desc())
    reviews = (
        raw.valid.select("extracted_at", "data.*")
        .withColumn("_r", F.row_number().over(latest))
        .where("_r = 1")
        .drop("_r")
        .withColumnRenamed("extracted_at", "last_seen_at")
        .withColumn("sentiment_score", score("content"))
        .withColumn("sentiment_label", label("sentiment_score"))
        .cache()
    )
    per_movie = reviews.groupBy("tmdb_id").agg(
        F.round(F.avg("sentiment_score"), 4).alias("avg_sentiment"),
        F.count("*").alias("review_count"),
        F.sum(F.when(F.col("sentiment_label") == "positive", 1).otherwise(0)).alias("positive_reviews"),
        F.sum(F.when(F.col("sentiment_label") == "negative", 1).otherwise(0)).alias("negative_reviews"),
    )
    result: dict[str, Any] = {
        "reviews": write_mongo(reviews, REVIEWS, ["review_id"], run_id),
        # Only these fields, into movies that exist: the rest of each movie document is kept, and a
        # review of a movie not (yet) processed makes no stub movie.
        "movies_with_sentiment": write_mongo(per_movie, MOVIES, ["tmdb_id"], run_id, create=False),
        **dead_letter([raw], run_id),
    }
    result["committed"] = commit_offsets([raw])
    return result


def stage_analytics(spark: SparkSession, run_id: str) -> dict[str, Any]:
    movies = clean_movies(read_topic(spark, TOPIC_MOVIES, MOVIE, MOVIE_REQUIRED).valid).cache()
    computed = F.lit(datetime.now(UTC).replace(tzinfo=None)).cast("timestamp")
    genres = (
        movies.select(F.explode("genre_ids").alias("genre_id"), "vote_average", "popularity", "vote_count")
        .groupBy("genre_id")
        .agg(
            F.count("*").alias("movie_count"),
            F.round(F.avg("vote_average"), 3).alias("avg_vote"),
            F.round(F.avg("popularity"), 3).alias("avg_popularity"),
            F.sum("vote_count").alias("total_votes"),
        )
        .withColumn(
            "genre",
            F.element_at(F.create_map(*[F.lit(x) for kv in GENRE_NAMES.items() for x in kv]), F.col("genre_id")),
        )
        .withColumn("computed_at", computed)
    )
    years = (
        movies.where(F.col("release_year").isNotNull())
        .groupBy("release_year")
        .agg(
            F.count("*").alias("movie_count"),
            F.round(F.avg("vote_average"), 3).alias("avg_vote"),
            F.round(F.max("popularity"), 3).alias("max_popularity"),
        )
        .withColumn("computed_at", computed)
    )
    return {
        "genre_stats": write_mongo(genres, GENRE_STATS, ["genre_id"], run_id),
        "yearly_stats": write_mongo(years, YEARLY_STATS, ["release_year"], run_id),
    }


STAGES = {"movies": stage_movies, "sentiment": stage_sentiment, "analytics": stage_analytics}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="process.py")
    parser.add_argument("stage", choices=sorted(STAGES))
    parser.add_argument("--run-id", default="manual")
    args = parser.parse_args(argv)
    spark = SparkSession.builder.appName(f"airyard-movies-{args.stage}").getOrCreate()
    spark.sparkContext.setLogLevel(os.environ.get("SPARK_LOG_LEVEL", "WARN"))
    try:
        result = STAGES[args.stage](spark, args.run_id)
    finally:
        spark.stop()
    print("RESULT " + json.dumps({"stage": args.stage, "run_id": args.run_id, **result}, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
