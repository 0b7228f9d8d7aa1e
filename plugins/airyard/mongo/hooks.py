"""The platform's MongoDB hook: the official provider's, with the settings FerretDB needs."""

from __future__ import annotations

from typing import Any

from airflow.providers.mongo.hooks.mongo import MongoHook as ProviderMongoHook


class MongoHook(ProviderMongoHook):
    """A ``mongo`` connection (schema = database, extra authSource), as the provider reads it.

    Datetimes come back timezone-aware, so they compare with ``datetime.now(UTC)``; server
    selection waits 20 s, so a task rides out a MongoDB pod's restart instead of failing.
    Use it as a context manager: the client closes on exit.
    """

    hook_name = "MongoDB (airyard)"

    def get_conn(self) -> Any:
        self.extras.setdefault("tz_aware", True)
        self.extras.setdefault("serverSelectionTimeoutMS", 20000)
        return super().get_conn()

    def database(self) -> Any:
        """The connection's database (its schema)."""
        return self.get_conn()[self.connection.schema]
