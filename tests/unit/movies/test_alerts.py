"""airyard.alerts delivers to an SMTP server and a webhook (the stdlib fakes of tests/fakes)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from airyard import alerts

from tests.fakes import smtp_sink, webhook
from tests.services import free_port


@pytest.fixture
def sinks(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[smtp_sink.Mailbox, webhook.WebhookReceiver]]:
    smtp_port, http_port, hook_port = free_port(), free_port(), free_port()
    servers, box = smtp_sink.serve("127.0.0.1", smtp_port, http_port)
    hook_server, receiver = webhook.serve("127.0.0.1", hook_port)
    smtp = {"conn_type": "smtp", "host": "127.0.0.1", "port": smtp_port, "login": "u", "password": "p"}
    smtp["extra"] = {"from_email": "airyard@example.org", "to": "oncall@example.org, data@example.org"}
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", json.dumps(smtp))
    slack = {"conn_type": "slackwebhook", "host": f"http://127.0.0.1:{hook_port}/services", "password": "T0/B0/x"}
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_WEBHOOK", json.dumps(slack))
    yield box, receiver
    for s in [*servers, hook_server]:
        s.shutdown()


def test_notify_sends_email_and_webhook(sinks: tuple[smtp_sink.Mailbox, webhook.WebhookReceiver]) -> None:
    box, receiver = sinks
    result = alerts.notify("quality breached", "score 0.5", severity="warning")
    assert (result.email, result.slack, result.errors) == ("sent", "sent", [])
    [mail] = box.messages
    assert mail["subject"] == "[airyard][WARNING] quality breached"
    assert mail["to"] == ["oncall@example.org", "data@example.org"]
    assert "score 0.5" in mail["body"]
    [post] = receiver.messages
    assert post["path"] == "/services/T0/B0/x"
    assert post["body"]["text"].startswith("*[airyard][WARNING] quality breached*")


def test_failure_callback_describes_the_task(sinks: tuple[smtp_sink.Mailbox, webhook.WebhookReceiver]) -> None:
    box, receiver = sinks
    ti = SimpleNamespace(dag_id="movie_data_ingestion", task_id="extract_popular_movies", run_id="r1", try_number=4)
    alerts.on_failure_callback({"task_instance": ti, "exception": RuntimeError("TMDB down")})
    assert box.messages[0]["subject"] == "[airyard][CRITICAL] Task failed: movie_data_ingestion.extract_popular_movies"
    assert "RuntimeError('TMDB down')" in box.messages[0]["body"]
    assert "extract_popular_movies" in receiver.messages[0]["body"]["text"]


def test_unconfigured_and_broken_channels_never_raise(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_SMTP_DEFAULT", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_SLACK_WEBHOOK", raising=False)
    assert alerts.notify("x", "y").delivered is False
    closed = free_port()
    monkeypatch.setenv(
        "AIRFLOW_CONN_SLACK_WEBHOOK", json.dumps({"conn_type": "http", "host": f"http://127.0.0.1:{closed}/h"})
    )
    result = alerts.notify("x", "y")
    assert result.slack == "failed"
    assert result.errors
