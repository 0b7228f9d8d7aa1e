"""The dashboard page renders every section offline (no script) and escapes data."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from airflow.api_fastapi.core_api.security import get_user
from airyard.movies import dashboard
from fastapi.testclient import TestClient


def test_render_has_all_sections_and_no_scripts() -> None:
    now = datetime.now(UTC)
    data = {
        "generated_at": now,
        "runs": {
            "movie_data_ingestion": [{"run_id": "r<1>", "state": "success", "start_date": now, "duration": "40 s"}]
        },
        "failed_tasks": [
            {
                "dag_id": "movie_data_processing",
                "task_id": "analyze_sentiment",
                "run_id": "x",
                "end_date": now,
                "try_number": 2,
            }
        ],
        "volume": [("01-01 10:00", 120.0), ("01-01 11:00", 118.0)],
        "dead_letters": [("01-01 10:00", 2.0), ("01-01 11:00", 3.0)],
        "scores": [("a", 1.0), ("b", 0.5)],
        "report": {
            "score": 0.5,
            "threshold": 0.8,
            "breached": True,
            "generated_at": now,
            "checks": [{"check": "volume", "passed": False}],
        },
        "genres": [("Drama", 20.0)],
        "counts": {"movies": 68},
    }
    page = dashboard.render(data)
    for section in ("status", "quality", "volume", "analytics", "health", "alerts"):
        assert f'id="{section}"' in page
    assert "<script" not in page
    assert "http" not in page.split("<body>")[1]
    assert page.count("<svg") == 4
    assert "r&lt;1&gt;" in page
    assert "analyze_sentiment" in page
    assert "threshold 0.80" in page


def test_empty_state_renders() -> None:
    empty = {
        "generated_at": datetime.now(UTC),
        "runs": {},
        "failed_tasks": [],
        "volume": [],
        "dead_letters": [],
        "scores": [],
        "report": None,
        "genres": [],
        "counts": {},
    }
    page = dashboard.render(empty)
    assert "no quality report yet" in page
    assert "never run" in page


EMPTY = {
    "generated_at": datetime.now(UTC),
    "runs": {},
    "failed_tasks": [],
    "volume": [],
    "dead_letters": [],
    "scores": [],
    "report": None,
    "genres": [],
    "counts": {"movies": 3},
}


def test_pages_need_a_signed_in_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dashboard, "collect", lambda: EMPTY)
    app = dashboard.create_app()
    client = TestClient(app)
    for path in ("/dashboard", "/api/summary"):
        assert client.get(path).status_code == 401, path
    app.dependency_overrides[get_user] = lambda: object()
    page = client.get("/dashboard")
    assert page.status_code == 200
    assert 'id="quality"' in page.text
    assert client.get("/api/summary").json()["counts"] == {"movies": 3}
