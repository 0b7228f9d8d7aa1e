"""airyard.alerts delivers through the providers' notifiers to an SMTP server and a webhook (the stdlib
fakes of tests/fakes)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from airflow.sdk.exceptions import AirflowFailException
from airyard import alerts

from tests.fakes import smtp_sink, webhook
from tests.services import free_port


@pytest.fixture
def sinks(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[smtp_sink.Mailbox, webhook.WebhookReceiver]]:
    smtp_port, http_port, hook_port = free_port(), free_port(), free_port()
    servers, box = smtp_sink.serve("127.0.0.1", smtp_port, http_port)
    hook_server, receiver = webhook.serve("127.0.0.1", hook_port)
    smtp = {"conn_type": "smtp", "host": "127.0.0.1", "port": smtp_port, "login": "u", "password": "p"}
    smtp["extra"] = {
        "from_email": "airyard@example.org",
        "to": "oncall@example.org, data@example.org",
        "disable_ssl": True,
        "disable_tls": True,
    }
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
        "AIRFLOW_CONN_SLACK_WEBHOOK",
        json.dumps({"conn_type": "slackwebhook", "host": f"http://127.0.0.1:{closed}", "password": "h"}),
    )
    result = alerts.notify("x", "y")
    assert result.slack == "failed"
    assert result.errors


class Alert(alerts.AlertOperator):
    def message(self, context: dict) -> tuple[str, str]:
        return f"checks of {context['run_id']} failed", "check_gold_freshness"


def test_the_alert_operator_alerts_then_fails_the_gate(
    sinks: tuple[smtp_sink.Mailbox, webhook.WebhookReceiver],
) -> None:
    box, receiver = sinks
    with pytest.raises(AirflowFailException, match="checks of r1 failed"):
        Alert(task_id="alert_on_failure", severity="critical", fail=True).execute({"run_id": "r1"})
    assert box.messages[0]["subject"] == "[airyard][CRITICAL] checks of r1 failed"
    assert "check_gold_freshness" in receiver.messages[0]["body"]["text"]


def test_an_alert_that_must_be_delivered_fails_when_no_channel_is_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_SMTP_DEFAULT", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_SLACK_WEBHOOK", raising=False)
    assert Alert(task_id="a").execute({"run_id": "r2"})["email"] == "skipped"
    with pytest.raises(RuntimeError, match="not delivered"):
        Alert(task_id="a", require_delivery=True).execute({"run_id": "r2"})
