"""Alerts shared by every pipeline: e-mail through an SMTP connection and a Slack-style webhook.

Connections (Airflow connections, e.g. AIRFLOW_CONN_<ID> keys in the Secret
airyard-airflow-external-connections):

- ``smtp_default`` (type smtp): host, port, login/password (optional). Extra: ``from_email``,
  ``to`` (comma-separated recipients), ``use_ssl`` / ``use_starttls`` (default: neither; set
  ``use_starttls`` for a real relay).
- ``slack_webhook`` (type slackwebhook or http): the webhook URL, either whole in ``host`` or as
  ``host`` + ``password`` (the provider's convention: host ``https://hooks…/services``, password
  ``T…/B…/…``). The body is Slack's incoming-webhook JSON ``{"text": …}``.

Both channels are optional: an unconfigured channel is skipped with a log line, a failing one is
logged and reported in the result, so an alert never raises out of a callback. The standard library
does the talking (smtplib, urllib), so this module also works outside Airflow's providers.
"""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

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


def _flag(extra: Mapping[str, Any], key: str) -> bool:
    return str(extra.get(key, "false")).lower() in {"1", "true", "yes"}


def send_email(subject: str, body: str, *, conn_id: str = SMTP_CONN_ID, to: Sequence[str] | None = None) -> bool:
    """Send a plain-text e-mail; False if the connection or recipients are missing."""
    conn = _connection(conn_id)
    if conn is None or not conn.host:
        log.info("alerts: no %s connection, e-mail skipped", conn_id)
        return False
    extra = conn.extra_dejson
    recipients = list(to or [r.strip() for r in str(extra.get("to", "")).split(",") if r.strip()])
    if not recipients:
        log.info("alerts: %s has no recipients (extra 'to'), e-mail skipped", conn_id)
        return False
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = extra.get("from_email") or conn.login or "airyard@localhost"
    msg["To"] = ", ".join(recipients)
    msg.set_content(body)
    port = int(conn.port or (465 if _flag(extra, "use_ssl") else 25))
    timeout = float(extra.get("timeout", 30))
    smtp: smtplib.SMTP
    if _flag(extra, "use_ssl"):
        smtp = smtplib.SMTP_SSL(conn.host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(conn.host, port, timeout=timeout)
    with smtp:
        if _flag(extra, "use_starttls"):
            smtp.starttls(context=ssl.create_default_context())
        if conn.login and conn.password:
            smtp.login(conn.login, conn.password)
        smtp.send_message(msg)
    return True


def webhook_url(conn: Any) -> str:
    """The webhook URL of a connection: host alone, or host + password (the Slack provider's form)."""
    host = (conn.host or "").rstrip("/")
    password = conn.password or ""
    if password.startswith(("http://", "https://")):
        return password
    if host and not host.startswith(("http://", "https://")):
        host = f"https://{host}"
    return f"{host}/{password.lstrip('/')}" if password else host


def send_slack(text: str, *, conn_id: str = SLACK_CONN_ID) -> bool:
    """Post ``{"text": …}`` to the webhook; False if the connection is missing."""
    conn = _connection(conn_id)
    if conn is None or not (conn.host or conn.password):
        log.info("alerts: no %s connection, webhook skipped", conn_id)
        return False
    req = urllib.request.Request(
        webhook_url(conn),
        data=json.dumps({"text": text}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        if resp.status >= 300:
            raise RuntimeError(f"webhook answered HTTP {resp.status}")
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
