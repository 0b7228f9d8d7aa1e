"""Object store operators of the platform layer."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from airflow.sdk.exceptions import AirflowException

from airyard import services
from airyard.objectstore import delta
from airyard.operators.freshness import FreshnessCheckOperator


class DeltaFreshnessCheckOperator(FreshnessCheckOperator):
    """Freshness of the Delta table at `delta_path` (s3:// or s3a://): the time of its last commit.

    :param service: the pipeline's object store identity ("objectstore:domains"); its connection is used.
    """

    template_fields: Sequence[str] = ("delta_path",)

    def __init__(self, *, delta_path: str, service: str, **kwargs: Any) -> None:
        kwargs.setdefault("executor_config", services.executor_config(service))
        super().__init__(**kwargs)
        self.delta_path = delta_path
        self.aws_conn_id = services.resolve([service])[0].connection

    @property
    def source(self) -> str:
        return f"Delta table {self.delta_path}"

    def latest(self, context: Any) -> tuple[datetime | None, dict[str, Any]]:
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        try:
            commit = delta.last_commit(S3Hook(aws_conn_id=self.aws_conn_id).get_conn(), self.delta_path)
        except FileNotFoundError as exc:
            raise AirflowException(str(exc)) from exc
        return commit.committed_at, {"path": self.delta_path, "version": commit.version, "operation": commit.operation}
