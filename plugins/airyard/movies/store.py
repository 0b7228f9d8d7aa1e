"""MongoDB (FerretDB 1.x) writes of the pipeline: keyed upserts and retention clean-up.

FerretDB 1.24 has no $lookup, $facet, $merge, TTL or text indexes, so: joins and aggregations are
done in Spark, documents are upserted by their natural key, kept as their _id (re-runs never
duplicate, and FerretDB finds them by its primary key), and retention is an explicit delete by
date instead of a TTL index.

``python -m airyard.movies.store cleanup --days N`` runs in a task pod (AIRFLOW_CONN_MONGO_DEFAULT).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from airyard import envconn as conn
from airyard.movies import (
    DATABASE,
    GENRE_STATS,
    MOVIES,
    PEOPLE,
    PIPELINE_METRICS,
    QUALITY_REPORTS,
    REVIEWS,
    YEARLY_STATS,
)

#: Collection -> (date field retention applies to).
RETENTION = {
    MOVIES: "last_seen_at",
    PEOPLE: "last_seen_at",
    REVIEWS: "last_seen_at",
    PIPELINE_METRICS: "recorded_at",
    QUALITY_REPORTS: "generated_at",
    GENRE_STATS: "computed_at",
    YEARLY_STATS: "computed_at",
}


def natural_id(doc: dict[str, Any], key: Sequence[str]) -> str:
    """A document's _id: its natural key as a string ("603", "a|b" for two fields).

    FerretDB 1.x on SQLite pushes a filter down to SQLite only when it is on an _id that is a
    string (or an ObjectId); any other filter makes FerretDB decode the whole collection itself.
    Upserting by the natural key field cost one such decode per document (14-20 upserts/s at
    1,000 movies). By _id, SQLite finds it through the _id_ index (with images/ferretdb's
    patch that writes the lookup as the index is written): over 1,300 upserts/s at 6,000.
    """
    return "|".join(str(doc[k]) for k in key)


def adopt_natural_ids(collection: Any, key: Sequence[str]) -> int:
    """Give documents an earlier version stored under generated ObjectIds their natural _id, so
    the upserts by _id find them instead of adding a second copy. Returns how many moved."""
    from bson import ObjectId

    moved = 0
    for row in collection.find({}, {k: 1 for k in key}):
        if not isinstance(row["_id"], ObjectId) or any(k not in row for k in key):
            continue
        doc = collection.find_one({"_id": row["_id"]})
        new_id = natural_id(doc, key)
        # Deleted first: the unique index on the key holds one of the two copies at a time.
        collection.delete_one({"_id": row["_id"]})
        try:
            collection.replace_one({"_id": new_id}, {**doc, "_id": new_id}, upsert=True)
        except Exception:
            collection.insert_one(doc)  # back as it was; the next run tries again
            raise
        moved += 1
    return moved


def upsert(
    collection: Any,
    docs: Iterable[dict[str, Any]],
    key: Sequence[str],
    batch: int = 500,
    *,
    earliest: Sequence[str] = (),
    create: bool = True,
) -> dict[str, int]:
    """Upsert documents by their key fields in bulk, under their natural _id; returns inserted/updated counts.

    Fields in `earliest` only ever move earlier ($min): a movie's first_seen_at survives the raw
    records that Kafka's retention has removed since. With `create=False` a document missing its
    key's match is not created: reviews add sentiment to movies, they never make stub movies.
    """
    from pymongo import UpdateOne

    inserted = updated = 0
    ops: list[Any] = []

    def flush() -> None:
        nonlocal inserted, updated, ops
        if ops:
            res = collection.bulk_write(ops, ordered=False)
            inserted += res.upserted_count
            updated += res.matched_count
            ops = []

    for doc in docs:
        update: dict[str, Any] = {"$set": {k: v for k, v in doc.items() if k not in earliest and k != "_id"}}
        if first := {k: doc[k] for k in earliest if doc.get(k) is not None}:
            update["$min"] = first
        ops.append(UpdateOne({"_id": natural_id(doc, key)}, update, upsert=create))
        if len(ops) >= batch:
            flush()
    flush()
    return {"inserted": inserted, "updated": updated}


def cleanup(db: Any, days: int, now: datetime | None = None) -> dict[str, int]:
    """Delete documents older than `days` from every collection with a retention date."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
    return {name: db[name].delete_many({field: {"$lt": cutoff}}).deleted_count for name, field in RETENTION.items()}


def client_from_env(environ: dict[str, str] | None = None) -> Any:
    import pymongo

    c = conn.get("mongo_default", environ)
    return pymongo.MongoClient(conn.mongo_uri(c), serverSelectionTimeoutMS=20000), (c.schema or DATABASE)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m airyard.movies.store")
    sub = parser.add_subparsers(dest="command", required=True)
    clean = sub.add_parser("cleanup", help="delete documents beyond the retention period")
    clean.add_argument("--days", type=int, required=True)
    args = parser.parse_args(argv)
    client, database = client_from_env()
    with client:
        deleted = cleanup(client[database], args.days)
    print(json.dumps({"retention_days": args.days, "deleted": deleted}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
