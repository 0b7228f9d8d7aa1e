"""Alertmanager's receivers from the pipelines' own alert connections.

The platform's alerts go where the pipelines' alerts go (plugins/airyard/alerts.py): the
``smtp_default`` and ``slack_webhook`` Airflow connections, kept by the user as AIRFLOW_CONN_<ID>
keys of a Secret in the tasks namespace. This writes Alertmanager's configuration from that Secret
(once, before Alertmanager starts; then as a sidecar that follows the Secret and has Alertmanager
reload), so there is one place to say where alerts go.

    python3 -m airyard_toolbox.alert_receivers --namespace NS --secret NAME --out FILE [--once]

The connections read as the providers read them: smtp (host, port, login, password; extra ``to``,
``from_email``, ``disable_ssl``, ``disable_tls``) and slackwebhook (password = the whole URL, or
host = the base URL and password = the token).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airyard_toolbox.kubeapi import ApiError, KubeApi
from airyard_toolbox.retry import patiently

RECEIVER = "airyard"
SLACK_BASE_URL = "https://hooks.slack.com/services"


@dataclass
class Connection:
    """An Airflow connection, from either of the forms AIRFLOW_CONN_<ID> may take."""

    conn_type: str = ""
    host: str = ""
    port: int | None = None
    login: str = ""
    password: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def parse_connection(value: str) -> Connection:
    """The JSON form ({"conn_type": …}) or the URI form (type://login:password@host:port?extra)."""
    value = value.strip()
    if value.startswith("{"):
        raw = json.loads(value)
        extra = raw.get("extra") or {}
        return Connection(
            conn_type=str(raw.get("conn_type", "")),
            host=str(raw.get("host") or ""),
            port=int(raw["port"]) if raw.get("port") else None,
            login=str(raw.get("login") or ""),
            password=str(raw.get("password") or ""),
            extra=json.loads(extra) if isinstance(extra, str) else dict(extra),
        )
    uri = urllib.parse.urlsplit(value)
    query = dict(urllib.parse.parse_qsl(uri.query))
    extra = json.loads(query.pop("__extra__")) if "__extra__" in query else query
    host = urllib.parse.unquote(uri.hostname or "")
    # Airflow's URI form keeps a scheme of the host itself in the host part (http%3A%2F%2F…).
    if uri.path and uri.path != "/" and "://" in host:
        host += urllib.parse.unquote(uri.path)
    return Connection(
        conn_type=uri.scheme.replace("-", "_"),
        host=host,
        port=uri.port,
        login=urllib.parse.unquote(uri.username or ""),
        password=urllib.parse.unquote(uri.password or ""),
        extra=extra,
    )


def _flag(extra: dict[str, Any], key: str) -> bool:
    return str(extra.get(key, False)).strip().lower() in {"true", "1", "yes", "on"}


def email_config(conn: Connection) -> dict[str, Any] | None:
    """Alertmanager's email_config, or None without a host or recipients (as the pipelines skip)."""
    recipients = [r.strip() for r in str(conn.extra.get("to", "")).split(",") if r.strip()]
    if not conn.host or not recipients:
        return None
    ssl = not _flag(conn.extra, "disable_ssl")
    # The provider's default port is SMTPS (465) unless SSL is off; Alertmanager speaks implicit
    # TLS on port 465 and STARTTLS (require_tls) elsewhere.
    port = conn.port or (465 if ssl else 25)
    config: dict[str, Any] = {
        "to": ", ".join(recipients),
        "from": conn.extra.get("from_email") or conn.login or "airyard@localhost",
        "smarthost": f"{conn.host}:{port}",
        "require_tls": not _flag(conn.extra, "disable_tls") and port != 465,
        "send_resolved": True,
        "headers": {"Subject": "[airyard][{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}"},
    }
    if conn.login:
        config |= {"auth_username": conn.login, "auth_password": conn.password}
    return config


def slack_config(conn: Connection) -> dict[str, Any] | None:
    """Alertmanager's slack_config for the webhook, or None without one."""
    if not conn.password:
        return None
    if conn.password.startswith(("http://", "https://")):
        url = conn.password
    else:
        url = f"{(conn.host or SLACK_BASE_URL).rstrip('/')}/{conn.password.lstrip('/')}"
    return {
        "api_url": url,
        "send_resolved": True,
        "title": "[airyard][{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}",
        "text": "{{ range .Alerts }}{{ .Annotations.summary }}\n{{ .Annotations.description }}\n{{ end }}",
    }


def render(
    connections: dict[str, str], smtp_id: str, slack_id: str, group_wait: str, repeat_interval: str
) -> dict[str, Any]:
    """Alertmanager's configuration: one route to one receiver with every configured channel."""
    receiver: dict[str, Any] = {"name": RECEIVER}
    for conn_id, key, build in (
        (smtp_id, "email_configs", email_config),
        (slack_id, "slack_configs", slack_config),
    ):
        value = connections.get(f"AIRFLOW_CONN_{conn_id.upper()}")
        built = build(parse_connection(value)) if value else None
        if built is not None:
            receiver[key] = [built]
    return {
        "route": {
            "receiver": RECEIVER,
            # One notification per rule and pipeline: a pipeline's breach does not wait for the
            # group_interval of another pipeline's breach of the same rule, already firing.
            "group_by": ["alertname", "pipeline"],
            "group_wait": group_wait,
            "group_interval": "5m",
            "repeat_interval": repeat_interval,
        },
        "receivers": [receiver],
    }


def read_secret(api: KubeApi, namespace: str, name: str) -> dict[str, str]:
    """The Secret's keys, decoded; none when it does not exist (no receivers configured yet)."""
    try:
        secret = api.request("GET", f"/api/v1/namespaces/{namespace}/secrets/{name}")
    except ApiError as err:
        if err.status == 404:
            return {}
        raise
    return {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}


def write_if_changed(path: Path, text: str) -> bool:
    if path.exists() and path.read_text() == text:
        return False
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return True


def channels(config: dict[str, Any]) -> str:
    receiver = config["receivers"][0]
    names = [k.removesuffix("_configs") for k in ("email_configs", "slack_configs") if k in receiver]
    return ", ".join(names) or "none (alerts are not sent)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--smtp-connection", default="smtp_default")
    parser.add_argument("--slack-connection", default="slack_webhook")
    parser.add_argument("--group-wait", default="30s")
    parser.add_argument("--repeat-interval", default="4h")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--once", action="store_true", help="write the file and exit")
    parser.add_argument("--every", type=float, default=30, help="seconds between two reads")
    parser.add_argument("--reload-url", default="", help="POSTed after each change")
    args = parser.parse_args(argv)
    api = KubeApi.in_cluster()
    while True:
        try:
            # The first read of a new pod may be refused until its network policy is in force.
            connections = (
                patiently("the Kubernetes API", lambda: read_secret(api, args.namespace, args.secret))
                if args.once
                else read_secret(api, args.namespace, args.secret)
            )
            config = render(
                connections, args.smtp_connection, args.slack_connection, args.group_wait, args.repeat_interval
            )
            # JSON is YAML: Alertmanager reads it, and the toolbox needs no YAML library.
            if write_if_changed(args.out, json.dumps(config, indent=2) + "\n"):
                print(f"receivers: {channels(config)}", flush=True)
                if args.reload_url:
                    urllib.request.urlopen(urllib.request.Request(args.reload_url, method="POST"), timeout=10)
        except Exception as err:  # the sidecar keeps the last good configuration
            if args.once:
                raise
            print(f"receivers: not updated: {err}", file=sys.stderr, flush=True)
        if args.once:
            return 0
        time.sleep(args.every)


if __name__ == "__main__":
    sys.exit(main())
