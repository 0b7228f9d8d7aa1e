"""Alerts of every pipeline, sent through Airflow's notifiers: the smtp provider's SmtpNotifier and
the slack provider's SlackWebhookNotifier.

Connections (Airflow connections, e.g. AIRFLOW_CONN_<ID> keys in the Secret
airyard-airflow-external-connections), in the providers' own forms:

- ``smtp_default`` (type smtp): host, port, login/password (optional). Extra: ``from_email``,
  ``disable_ssl`` / ``disable_tls`` (the provider's defaults: SSL on), and ``to``, the
  comma-separated recipients, which the platform adds.
- ``slack_webhook`` (type slackwebhook): password = the webhook token (``T…/B…/…``) or the whole
  URL; host = the base URL (empty: Slack's). The body is Slack's ``{"text": …}``.

Both channels are optional: an unconfigured channel is skipped with a log line, a failing one is
logged and reported in the result, so an alert never raises out of a callback.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

log = logging.getLogger(__name__)

SMTP_CONN_ID = "smtp_default"
SLACK_CONN_ID = "slack_webhook"


@dataclass
class AlertResult:
    """What happened to each channel: sent, skipped (not configured) or failed (the error)."""

    email: str = "skipped"
    slack: str = "skipped"
    errors: list[str] = field(default_factory=list)

    @property
    def delivered(self) -> bool:
        return "sent" in (self.email, self.slack)


def _connection(conn_id: str) -> Any | None:
    from airflow.sdk import BaseHook

    try:
        return BaseHook.get_connection(conn_id)
    except Exception:  # noqa: BLE001 - any lookup failure means "not configured"
        return None


def send_email(subject: str, body: str, *, conn_id: str = SMTP_CONN_ID, to: Sequence[str] | None = None) -> bool:
    """Send `body` as preformatted text; False if the connection or its recipients are missing."""
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    conn = _connection(conn_id)
    if conn is None or not conn.host:
        log.info("alerts: no %s connection, e-mail skipped", conn_id)
        return False
    extra = conn.extra_dejson
    recipients = list(to or [r.strip() for r in str(extra.get("to", "")).split(",") if r.strip()])
    if not recipients:
        log.info("alerts: %s has no recipients (extra 'to'), e-mail skipped", conn_id)
        return False
    SmtpNotifier(
        to=recipients,
        from_email=extra.get("from_email") or conn.login or "airyard@localhost",
        subject=subject,
        html_content=f"<pre>{html.escape(body, quote=False)}</pre>",
        smtp_conn_id=conn_id,
    ).notify({})
    return True


def send_slack(text: str, *, conn_id: str = SLACK_CONN_ID) -> bool:
    """Post ``{"text": …}`` to the webhook; False if the connection is missing."""
    from airflow.providers.slack.notifications.slack_webhook import SlackWebhookNotifier

    conn = _connection(conn_id)
    if conn is None or not conn.password:
        log.info("alerts: no %s connection, webhook skipped", conn_id)
        return False
    SlackWebhookNotifier(slack_webhook_conn_id=conn_id, text=text, timeout=30).notify({})
    return True


def notify(
    subject: str,
    body: str,
    *,
    severity: str = "warning",
    smtp_conn_id: str = SMTP_CONN_ID,
    slack_conn_id: str = SLACK_CONN_ID,
    to: Sequence[str] | None = None,
) -> AlertResult:
    """Send one alert on every configured channel; never raises."""
    result = AlertResult()
    title = f"[airyard][{severity.upper()}] {subject}"
    try:
        result.email = "sent" if send_email(title, body, conn_id=smtp_conn_id, to=to) else "skipped"
    except Exception as exc:
        result.email = "failed"
        result.errors.append(f"email: {exc}")
        log.exception("alerts: e-mail failed")
    try:
        result.slack = "sent" if send_slack(f"*{title}*\n{body}", conn_id=slack_conn_id) else "skipped"
    except Exception as exc:
        result.slack = "failed"
        result.errors.append(f"slack: {exc}")
        log.exception("alerts: webhook failed")
    log.info("alerts: %s -> email %s, slack %s", subject, result.email, result.slack)
    return result


def failure_message(context: Mapping[str, Any]) -> tuple[str, str]:
    """Subject and body describing a failed task from its Airflow context."""
    ti = context.get("task_instance") or context.get("ti")
    dag_id = getattr(ti, "dag_id", None) or getattr(context.get("dag"), "dag_id", "?")
    task_id = getattr(ti, "task_id", "?")
    run_id = getattr(ti, "run_id", None) or context.get("run_id", "?")
    try_number = getattr(ti, "try_number", "?")
    exc = context.get("exception")
    subject = f"Task failed: {dag_id}.{task_id}"
    body = "\n".join(
        [
            f"DAG:       {dag_id}",
            f"Task:      {task_id}",
            f"Run:       {run_id}",
            f"Try:       {try_number}",
            f"Error:     {exc!r}" if exc is not None else "Error:     (see the task log)",
        ]
    )
    return subject, body


def on_failure_callback(context: Mapping[str, Any]) -> None:
    """``on_failure_callback`` for default_args: alert on every configured channel."""
    subject, body = failure_message(context)
    notify(subject, body, severity="critical")


class AlertOperator(BaseOperator):
    """Send the alert a pipeline composes in ``message(context)`` on every configured channel.

    :param severity: the alert's level, in its title.
    :param fail: fail the task after alerting (a gate that must show the run as failed).
    :param require_delivery: fail when no channel delivered it.
    """

    def __init__(
        self,
        *,
        severity: str = "warning",
        fail: bool = False,
        require_delivery: bool = False,
        smtp_conn_id: str = SMTP_CONN_ID,
        slack_conn_id: str = SLACK_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.severity = severity
        self.fail = fail
        self.require_delivery = require_delivery
        self.smtp_conn_id = smtp_conn_id
        self.slack_conn_id = slack_conn_id

    def message(self, context: Any) -> tuple[str, str]:
        """The alert's subject and body."""
        raise NotImplementedError

    def execute(self, context: Any) -> dict[str, Any]:
        subject, body = self.message(context)
        result = notify(
            subject, body, severity=self.severity, smtp_conn_id=self.smtp_conn_id, slack_conn_id=self.slack_conn_id
        )
        outcome = {"subject": subject, "email": result.email, "slack": result.slack}
        self.log.info("ALERT %s: %s (email %s, slack %s)", subject, body, result.email, result.slack)
        if self.require_delivery and not result.delivered:
            raise RuntimeError(f"alert not delivered: email {result.email}, slack {result.slack} {result.errors}")
        if self.fail:
            raise AirflowFailException(f"{subject} (alert: email {result.email}, slack {result.slack})")
        return outcome
