"""The metrics stack on the running platform (charts/metrics): every dashboard panel's query
returns data once the pipelines have run, an alert that fires reaches the pipelines' own
receivers (the SMTP and webhook connections), and the overview dashboard renders in a browser.

The module runs after the pipelines' modules (mark after_pipelines): their runs are what the
pipeline panels show.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

import pytest
import requests

from devkit import airflow, browser, fakes, kube

pytestmark = [pytest.mark.shared_platform, pytest.mark.after_pipelines]

NS = airflow.NAMESPACE
REL = airflow.RELEASE
REPORTS = kube.REPO / "reports"


@pytest.fixture(scope="module")
def store() -> Iterator[str]:
    with kube.port_forward(f"service/{REL}-metrics-store", NS, 8428) as port:
        yield f"http://127.0.0.1:{port}"


def query(store: str, expr: str) -> list[dict]:
    response = requests.get(f"{store}/api/v1/query", params={"query": expr}, timeout=60)
    response.raise_for_status()
    body = response.json()
    assert body["status"] == "success", body
    return body["data"]["result"]


def panels() -> list[tuple[str, str, str]]:
    """(dashboard, panel, query) of every dashboard the store's UI serves, as installed."""
    data = kube.get("configmap", f"{REL}-metrics-dashboards", NS)["data"]
    return [
        (dashboard["title"], panel.get("title", ""), expr)
        for dashboard in (json.loads(text) for _, text in sorted(data.items()))
        for row in dashboard["rows"]
        for panel in row["panels"]
        for expr in panel["expr"]
    ]


def test_every_dashboard_panel_shows_data(store: str) -> None:
    """Every panel of every dashboard returns data after the pipelines' runs."""
    all_panels = panels()
    assert len(all_panels) >= 40
    empty: list[str] = []

    def every_panel_has_data() -> bool:
        empty[:] = [f"{d} / {p}: {e}" for d, p, e in all_panels if not query(store, e)]
        return not empty

    try:
        kube.wait_until("every panel has data", every_panel_has_data, timeout=300, interval=15)
    except TimeoutError:
        pytest.fail("panels without data:\n" + "\n".join(empty))
    print(f"\n{len(all_panels)} queries of {len({d for d, _, _ in all_panels})} dashboards return data")


def test_metrics_of_every_layer_arrive(store: str) -> None:
    """Airflow (StatsD, tags as labels), Kubernetes (kube-state-metrics, cAdvisor, kubelet), the
    services (exporter, MinIO) and the pipelines' own figures are all in the store."""
    jobs = {r["metric"]["job"] for r in query(store, "up == 1")}
    assert {"airflow", "kube-state-metrics", "services", "objectstore", "kubelet", "cadvisor"} <= jobs, jobs
    tasks = query(store, "airflow_ti_finish")
    assert tasks, "no airflow_ti_finish: no task finished since the metrics stack started"
    assert {"dag_id", "task_id", "state"} <= set(tasks[0]["metric"]), tasks[0]
    # Only the tagged names (legacy_names_on: False): none with a DAG's id in the name.
    dag_ids = {r["metric"]["dag_id"] for r in tasks}
    names = {r["metric"]["__name__"] for r in query(store, 'count by (__name__) ({__name__=~"airflow_.+"})')}
    assert not {n for n in names if any(d in n for d in dag_ids)}, sorted(names)
    services = {r["metric"]["service"]: r["value"][1] for r in query(store, "airyard_up")}
    expected = ("postgresql", "redis", "kafka", "mongodb", "objectstore", "mlflow", "model_serving")
    assert services == dict.fromkeys(expected, "1"), services
    pipelines = {r["metric"]["pipeline"] for r in query(store, "airyard_pipeline_records_total")}
    print(f"\nscrape jobs: {sorted(jobs)}; pipelines reporting records: {sorted(pipelines)}")


#: A pipeline of this run's own. The alert an earlier run of this test sent resolved after the test
#: had put back a Secret without channels, so no resolve was recorded; until repeat_interval (4 h),
#: Alertmanager would take the same alert, with the same labels, as already sent.
PIPELINE = f"e2e_alerts_{uuid.uuid4().hex[:8]}"
STALE = f"airflow.airyard.freshness.{{which}}.{PIPELINE}.bronze:{{value}}|g"


def send_statsd(*lines: str) -> None:
    """StatsD packets as a task's freshness check sends them, from Airflow's scheduler pod (the
    exporter admits Airflow's pods and worker pods only)."""
    script = (
        "import socket, sys\n"
        "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "for line in sys.argv[1:]:\n"
        f"    s.sendto(line.encode(), ('{REL}-statsd', 9125))\n"
    )
    kube.kubectl("exec", "-n", NS, f"deploy/{REL}-scheduler", "-c", "scheduler", "--", "python3", "-c", script, *lines)


def received(port_forwarded: int, path: str = "/messages") -> list[dict]:
    return requests.get(f"http://127.0.0.1:{port_forwarded}{path}", timeout=10).json()


def test_a_firing_alert_reaches_the_pipelines_receivers() -> None:
    """A layer past its freshness limit fires LayerFreshnessBreached; Alertmanager sends it to the
    e-mail and webhook connections the pipelines' alerts use, read from their Secret."""
    connections = {k: json.dumps(v) for k, v in fakes.alert_receivers(NS, "metrics-e2e").items()}
    with (
        fakes.serving(NS, "metrics-e2e-fakes", fakes.receiver_specs("metrics-e2e")),
        kube.secret_keys("airyard-airflow-external-connections", airflow.TASKS_NAMESPACE, connections),
        kube.port_forward(f"service/{REL}-metrics-alertmanager", NS, 9093) as manager,
        kube.port_forward("pod/metrics-e2e-smtp", NS, 8025) as smtp,
        kube.port_forward("pod/metrics-e2e-webhook", NS, 8080) as webhook,
    ):
        started = time.monotonic()

        def receivers_in_force() -> bool:
            # Alertmanager shows a webhook URL as <secret>: the SMTP relay names the change.
            config = received(manager, "/api/v2/status")["config"]["original"]
            return "metrics-e2e-smtp" in config and "slack_configs" in config

        kube.wait_until("Alertmanager has the receivers", receivers_in_force, timeout=180, interval=5)
        followed = time.monotonic() - started
        send_statsd(STALE.format(which="max_age_seconds", value=60), STALE.format(which="age_seconds", value=7200))
        try:
            # Other layers' alerts (firing or resolved) may reach the receivers too: only this one counts.
            def ours(text: str) -> bool:
                return "LayerFreshnessBreached" in text and PIPELINE in text and "RESOLVED" not in text

            def delivered() -> bool:
                mails = [m for m in received(smtp) if ours(m["raw"])]
                hooks = [h for h in received(webhook) if ours(json.dumps(h))]
                return bool(mails and hooks)

            kube.wait_until("the alert in the mailbox and at the webhook", delivered, timeout=300, interval=5)
            mail = next(m for m in received(smtp) if ours(m["raw"]))
            assert mail["to"] == ["oncall@example.org"]
            assert "FIRING" in mail["subject"], mail["subject"]
            hook = next(h for h in received(webhook) if ours(json.dumps(h)))
            assert hook["path"] == "/services/T0/B0/e2e"
        finally:
            send_statsd(STALE.format(which="age_seconds", value=0))
        took = time.monotonic() - started
        print(f"\nreceivers followed the Secret in {followed:.0f} s; the alert was delivered {took:.0f} s after")


def test_the_overview_dashboard_renders_in_a_browser(store: str) -> None:
    """The overview dashboard as `make metrics` shows it, rendered by headless Chromium."""
    png = browser.screenshot(
        f"{store}/vmui/#/dashboards", REPORTS / "metrics-overview.png", width=1600, height=1300, wait_ms=20000
    )
    assert png.stat().st_size > 50_000
    print(f"\noverview screenshot: {png}")
