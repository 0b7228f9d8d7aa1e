"""MongoDB operators of the platform layer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airyard import services
from airyard.operators.freshness import FreshnessCheckOperator


class MongoFreshnessCheckOperator(FreshnessCheckOperator):
    """Freshness of a collection: the largest `field` (a datetime) of its documents.

    :param service: the pipeline's MongoDB identity ("mongodb:movies"); its connection is used.
    """

    def __init__(self, *, service: str, collection: str, field: str, **kwargs: Any) -> None:
        kwargs.setdefault("executor_config", services.executor_config(service))
        super().__init__(**kwargs)
        self.mongo_conn_id = services.connection(service)
        self.collection = collection
        self.field = field

    @property
    def source(self) -> str:
        return f"MongoDB collection {self.collection} (newest {self.field})"

    def latest(self, context: Any) -> tuple[datetime | None, dict[str, Any]]:
        from airyard.mongo.hooks import MongoHook

        with MongoHook(self.mongo_conn_id) as hook:
            newest = hook.database()[self.collection].find_one({}, sort=[(self.field, -1)], projection={self.field: 1})
        return (newest or {}).get(self.field), {"collection": self.collection, "field": self.field}
