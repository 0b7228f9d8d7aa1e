"""airyard_toolbox.alert_receivers: Alertmanager's receivers from the pipelines' connections."""

from __future__ import annotations

import json
from pathlib import Path

from airyard_toolbox import alert_receivers as ar

SMTP = {
    "conn_type": "smtp",
    "host": "relay.example.org",
    "port": 2525,
    "login": "alerts",
    "password": "s3cret",
    "extra": {"to": "oncall@example.org, data@example.org", "from_email": "airyard@example.org", "disable_ssl": True},
}
SLACK = {"conn_type": "slackwebhook", "host": "http://hooks.internal/services", "password": "T0/B0/x"}


def _render(connections: dict[str, str]) -> dict:
    return ar.render(connections, "smtp_default", "slack_webhook", "30s", "4h")


def test_both_channels_from_the_json_form_as_the_providers_read_them() -> None:
    config = _render({"AIRFLOW_CONN_SMTP_DEFAULT": json.dumps(SMTP), "AIRFLOW_CONN_SLACK_WEBHOOK": json.dumps(SLACK)})
    assert config["route"]["receiver"] == "airyard"
    assert (config["route"]["group_wait"], config["route"]["repeat_interval"]) == ("30s", "4h")
    assert config["route"]["group_by"] == ["alertname", "pipeline"]
    (receiver,) = config["receivers"]
    (email,) = receiver["email_configs"]
    assert email["to"] == "oncall@example.org, data@example.org"
    assert email["from"] == "airyard@example.org"
    assert email["smarthost"] == "relay.example.org:2525"
    assert (email["auth_username"], email["auth_password"]) == ("alerts", "s3cret")
    # SSL off, TLS not disabled: STARTTLS, as the smtp provider would.
    assert email["require_tls"] is True
    (slack,) = receiver["slack_configs"]
    assert slack["api_url"] == "http://hooks.internal/services/T0/B0/x"


def test_the_uri_form_and_a_whole_webhook_url() -> None:
    smtp = "smtp://relay.example.org:25?to=oncall%40example.org&disable_ssl=true&disable_tls=true"
    slack = "slackwebhook://:https%3A%2F%2Fhooks.example.org%2Fservices%2FT1%2FB1%2Fy@"
    config = _render({"AIRFLOW_CONN_SMTP_DEFAULT": smtp, "AIRFLOW_CONN_SLACK_WEBHOOK": slack})
    (email,) = config["receivers"][0]["email_configs"]
    assert (email["smarthost"], email["to"]) == ("relay.example.org:25", "oncall@example.org")
    assert email["require_tls"] is False
    assert "auth_username" not in email
    (hook,) = config["receivers"][0]["slack_configs"]
    assert hook["api_url"] == "https://hooks.example.org/services/T1/B1/y"


def test_smtps_by_default_and_slacks_own_base_url() -> None:
    smtp = {"conn_type": "smtp", "host": "mail.example.org", "extra": {"to": "a@example.org"}}
    config = _render(
        {"AIRFLOW_CONN_SMTP_DEFAULT": json.dumps(smtp), "AIRFLOW_CONN_SLACK_WEBHOOK": json.dumps({"password": "T/B/z"})}
    )
    (email,) = config["receivers"][0]["email_configs"]
    assert (email["smarthost"], email["require_tls"]) == ("mail.example.org:465", False)
    assert config["receivers"][0]["slack_configs"][0]["api_url"] == "https://hooks.slack.com/services/T/B/z"


def test_unconfigured_channels_are_left_out_as_the_pipelines_skip_them() -> None:
    no_recipients = {"conn_type": "smtp", "host": "relay.example.org", "extra": {}}
    config = _render({"AIRFLOW_CONN_SMTP_DEFAULT": json.dumps(no_recipients), "AIRFLOW_CONN_TMDB_DEFAULT": "{}"})
    assert config["receivers"] == [{"name": "airyard"}]
    assert ar.channels(config) == "none (alerts are not sent)"


def test_the_file_is_rewritten_only_when_the_receivers_change(tmp_path: Path) -> None:
    out = tmp_path / "alertmanager.yml"
    assert ar.write_if_changed(out, "a") is True
    assert ar.write_if_changed(out, "a") is False
    assert ar.write_if_changed(out, "b") is True
    assert out.read_text() == "b"
