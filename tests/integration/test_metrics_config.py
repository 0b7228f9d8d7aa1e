"""charts/metrics' configuration read by the programs that run it (the airyard/metrics image):
every alert rule and dashboard query parses (vmalert -dryRun, as the alerting pod's init
container does at install), the scrape configuration loads, and a query that only the full parser
can refuse stops the install with the rule's name."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.chart.helm import find, render
from tests.services import TAG

IMAGE = f"airyard/metrics:{TAG}"


def _config_files(tmp_path: Path, values: dict[str, Any] | None = None) -> Path:
    data = find(render("metrics", values), "ConfigMap", "test-metrics")["data"]
    for name, text in data.items():
        (tmp_path / name).write_text(text)
    tmp_path.chmod(0o755)
    return tmp_path


def _run(config: Path, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", "run", "--rm", "-v", f"{config}:/etc/metrics:ro", IMAGE, *command],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_every_rule_and_dashboard_query_parses(tmp_path: Path) -> None:
    config = _config_files(tmp_path)
    rules = ("-rule=/etc/metrics/rules.yml", "-rule=/etc/metrics/dashboard-queries.yml")
    proc = _run(config, "vmalert", "-dryRun", *rules)
    assert proc.returncode == 0, proc.stderr
    groups = yaml.safe_load((config / "rules.yml").read_text())["groups"]
    assert sum(len(g["rules"]) for g in groups) >= 11


def test_a_query_that_does_not_parse_is_refused_naming_its_rule(tmp_path: Path) -> None:
    # Balanced brackets pass the render; only the parser sees that `by` needs a label list.
    bad = {"name": "team", "rules": [{"alert": "TeamLag", "expr": "sum(airyard_kafka_consumergroup_lag) by > 1"}]}
    config = _config_files(tmp_path, {"alerting": {"extraGroups": [bad]}})
    proc = _run(config, "vmalert", "-dryRun", "-rule=/etc/metrics/rules.yml")
    assert proc.returncode != 0
    assert "TeamLag" in proc.stderr, proc.stderr


def test_the_scrape_configuration_loads(tmp_path: Path) -> None:
    config = _config_files(tmp_path)
    proc = _run(
        config,
        "victoria-metrics",
        "-promscrape.config=/etc/metrics/scrape.yml",
        "-promscrape.config.strictParse=true",
        "-promscrape.config.dryRun",
    )
    assert proc.returncode == 0, proc.stderr
