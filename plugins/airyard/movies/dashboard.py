"""The movie pipeline dashboard: /movie_pipeline/dashboard on the Airflow api-server.

Pipeline status (recent runs of the three DAGs), data-quality metrics (latest report and score
history), volume charts (records per ingestion run, movies per genre), failed-task alerts and
system health (document counts). Self-contained HTML with inline SVG charts: no script, no CDN,
so it works offline. Signed-in Airflow users only (the UI's session cookie or a bearer token).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

DAG_IDS = ("movie_data_ingestion", "movie_data_processing", "data_quality_monitoring")
STATE_COLOURS = {"success": "#2e7d32", "failed": "#c62828", "running": "#1565c0", "queued": "#6d6d6d"}


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def bar_chart(title: str, points: Sequence[tuple[str, float]], colour: str = "#1565c0", width: int = 560) -> str:
    """An inline SVG bar chart of (label, value) points."""
    height, pad = 180, 30
    if not points:
        return f'<figure><figcaption>{esc(title)}</figcaption><p class="empty">no data yet</p></figure>'
    top = max(v for _, v in points) or 1.0
    bw = (width - 2 * pad) / len(points)
    bars = []
    for i, (label, value) in enumerate(points):
        h = (height - 2 * pad) * value / top
        x, y = pad + i * bw, height - pad - h
        bars.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(bw - 2, 1):.1f}" height="{h:.1f}" fill="{colour}">'
            f"<title>{esc(label)}: {value:g}</title></rect>"
        )
        if len(points) <= 24:
            bars.append(
                f'<text x="{x + bw / 2:.1f}" y="{height - pad + 12}" font-size="9" text-anchor="middle">'
                f"{esc(str(label)[-11:])}</text>"
            )
    axis = (
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#999"/>'
        f'<text x="{pad}" y="{pad - 8}" font-size="10">max {top:g}</text>'
    )
    return (
        f'<figure><figcaption>{esc(title)}</figcaption><svg role="img" aria-label="{esc(title)}" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">{axis}{"".join(bars)}</svg></figure>'
    )


def line_chart(
    title: str, points: Sequence[tuple[str, float]], threshold: float | None = None, width: int = 560
) -> str:
    """An inline SVG line chart of values in [0, 1] (quality scores), with the threshold line."""
    height, pad = 160, 30
    if not points:
        return f'<figure><figcaption>{esc(title)}</figcaption><p class="empty">no data yet</p></figure>'
    step = (width - 2 * pad) / max(len(points) - 1, 1)

    def y(v: float) -> float:
        return height - pad - (height - 2 * pad) * max(0.0, min(1.0, v))

    path = " ".join(f"{'M' if i == 0 else 'L'}{pad + i * step:.1f},{y(v):.1f}" for i, (_, v) in enumerate(points))
    dots = "".join(
        f'<circle cx="{pad + i * step:.1f}" cy="{y(v):.1f}" r="3" '
        f'fill="{"#c62828" if threshold and v < threshold else "#2e7d32"}">'
        f"<title>{esc(label)}: {v:.2f}</title></circle>"
        for i, (label, v) in enumerate(points)
    )
    limit = ""
    if threshold is not None:
        limit = (
            f'<line x1="{pad}" y1="{y(threshold):.1f}" x2="{width - pad}" y2="{y(threshold):.1f}" stroke="#c62828" '
            f'stroke-dasharray="4 3"/><text x="{width - pad}" y="{y(threshold) - 4:.1f}" font-size="10" '
            f'text-anchor="end">threshold {threshold:.2f}</text>'
        )
    return (
        f'<figure><figcaption>{esc(title)}</figcaption><svg role="img" aria-label="{esc(title)}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}"><line x1="{pad}" y1="{height - pad}" x2="{width - pad}" '
        f'y2="{height - pad}" stroke="#999"/>{limit}<path d="{path}" fill="none" stroke="#1565c0" stroke-width="2"/>'
        f"{dots}</svg></figure>"
    )


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if isinstance(value, datetime) else esc(value)


def render(data: dict[str, Any]) -> str:
    """The page from the collected data (see collect())."""
    runs_rows = []
    for dag_id in DAG_IDS:
        runs = data["runs"].get(dag_id, [])
        last = runs[0] if runs else {}
        badges = "".join(
            f'<span class="dot" style="background:{STATE_COLOURS.get(r["state"], "#999")}" title="{esc(r["run_id"])}: '
            f'{esc(r["state"])}"></span>'
            for r in reversed(runs)
        )
        runs_rows.append(
            f'<tr><td>{esc(dag_id)}</td><td class="state-{esc(last.get("state"))}">'
            f"{esc(last.get('state', 'never run'))}</td>"
            f"<td>{_when(last.get('start_date'))}</td><td>{esc(last.get('duration'))}</td><td>{badges}</td></tr>"
        )
    rep = data.get("report") or {}
    if rep:
        checks = "".join(
            f'<li class="{"ok" if c.get("passed") else "bad"}">{"✔" if c.get("passed") else "✘"} {esc(c.get("check"))}'
            f"</li>"
            for c in rep.get("checks", [])
        )
        quality = (
            f'<p class="score {"bad" if rep.get("breached") else "ok"}">score <b>{rep.get("score", 0):.2f}</b> '
            f"(threshold {rep.get('threshold', 0):.2f}) — {_when(rep.get('generated_at'))}</p><ul>{checks}</ul>"
        )
    else:
        quality = '<p class="empty">no quality report yet</p>'
    failed = "".join(
        f"<tr><td>{esc(f['dag_id'])}</td><td>{esc(f['task_id'])}</td><td>{esc(f['run_id'])}</td>"
        f"<td>{_when(f.get('end_date'))}</td><td>{esc(f.get('try_number'))}</td></tr>"
        for f in data["failed_tasks"]
    )
    failed_block = (
        f"<table><tr><th>DAG</th><th>task</th><th>run</th><th>ended</th><th>try</th></tr>{failed}</table>"
        if failed
        else '<p class="ok">no failed tasks in the last 7 days</p>'
    )
    health = "".join(f"<tr><td>{esc(k)}</td><td>{esc(v)}</td></tr>" for k, v in data["counts"].items())
    volume = bar_chart("Records per ingestion run", data["volume"])
    dead = bar_chart("Dead letters per ingestion run", data["dead_letters"], colour="#c62828")
    genres = bar_chart("Movies per genre", data["genres"], colour="#6a1b9a")
    scores = line_chart("Quality score per run", data["scores"], threshold=rep.get("threshold"))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Movie Pipeline Dashboard</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; background: #fafafa; }}
h1 {{ margin: 0 0 .2rem; }} .sub {{ color: #666; margin-bottom: 1rem; }}
section {{ background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: .8rem 1rem; margin-bottom: 1rem; }}
.grid {{ display: grid; grid-template-columns: repeat(auto-fit, minmax(580px, 1fr)); gap: 1rem; }}
table {{ border-collapse: collapse; width: 100%; }}
td, th {{ border-bottom: 1px solid #eee; padding: .3rem .5rem; text-align: left; }}
.dot {{ display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 2px; }}
.ok {{ color: #2e7d32; }} .bad {{ color: #c62828; }} .empty {{ color: #888; }}
.state-success {{ color: #2e7d32; }} .state-failed {{ color: #c62828; }} .state-running {{ color: #1565c0; }}
figure {{ margin: 0; }} figcaption {{ font-weight: 600; margin-bottom: .3rem; }} ul {{ list-style: none; padding: 0; }}
</style></head><body>
<h1>Movie Pipeline Dashboard</h1>
<div class="sub">TMDB → Kafka → Spark → MongoDB · generated {_when(data["generated_at"])}</div>
<section id="status"><h2>Pipeline status</h2><table><tr><th>DAG</th><th>last run</th><th>started</th><th>duration</th>
<th>recent runs</th></tr>{"".join(runs_rows)}</table></section>
<div class="grid">
<section id="quality"><h2>Data quality</h2>{quality}{scores}</section>
<section id="volume"><h2>Processing volume</h2>{volume}{dead}</section>
<section id="analytics"><h2>Analytics</h2>{genres}</section>
<section id="health"><h2>System health</h2>
<table><tr><th>collection</th><th>documents</th></tr>{health}</table></section>
</div>
<section id="alerts"><h2>Failed-task alerts</h2>{failed_block}</section>
</body></html>"""


def collect_airflow(days: int = 7) -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]]]:
    """Recent runs per DAG and failed task instances, from Airflow's metadata database."""
    from airflow.models import DagRun, TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    since = datetime.now(UTC) - timedelta(days=days)
    runs: dict[str, list[dict[str, Any]]] = {}
    with create_session() as session:
        for dag_id in DAG_IDS:
            rows = session.scalars(
                select(DagRun).where(DagRun.dag_id == dag_id).order_by(DagRun.run_after.desc()).limit(12)
            ).all()
            runs[dag_id] = [
                {
                    "run_id": r.run_id,
                    "state": str(r.state.value if hasattr(r.state, "value") else r.state),
                    "start_date": r.start_date,
                    "duration": (
                        f"{(r.end_date - r.start_date).total_seconds():.0f} s" if r.end_date and r.start_date else ""
                    ),
                }
                for r in rows
            ]
        tis = session.scalars(
            select(TaskInstance)
            .where(TaskInstance.dag_id.in_(DAG_IDS), TaskInstance.state == "failed", TaskInstance.end_date >= since)
            .order_by(TaskInstance.end_date.desc())
            .limit(20)
        ).all()
        failed = [
            {
                "dag_id": t.dag_id,
                "task_id": t.task_id,
                "run_id": t.run_id,
                "end_date": t.end_date,
                "try_number": t.try_number,
            }
            for t in tis
        ]
    return runs, failed


def collect_mongo(db: Any) -> dict[str, Any]:
    from airyard.movies import GENRE_STATS, MOVIES, PEOPLE, PIPELINE_METRICS, QUALITY_REPORTS, REVIEWS

    metrics = list(db[PIPELINE_METRICS].find({}, sort=[("recorded_at", -1)], limit=48))[::-1]
    reports = list(db[QUALITY_REPORTS].find({}, sort=[("generated_at", -1)], limit=30))[::-1]
    genres = list(db[GENRE_STATS].find({}, sort=[("movie_count", -1)], limit=19))

    def label(doc: dict[str, Any], field: str) -> str:
        value = doc.get(field)
        return value.strftime("%m-%d %H:%M") if isinstance(value, datetime) else str(doc.get("run_id", ""))

    return {
        "volume": [(label(m, "recorded_at"), float(m.get("records", 0))) for m in metrics],
        "dead_letters": [(label(m, "recorded_at"), float(m.get("dead_letters", 0))) for m in metrics],
        "scores": [(label(r, "generated_at"), float(r.get("score", 0))) for r in reports],
        "report": reports[-1] if reports else None,
        "genres": [(str(g.get("genre") or g.get("genre_id")), float(g.get("movie_count", 0))) for g in genres],
        "counts": {
            name: db[name].count_documents({})
            for name in (MOVIES, PEOPLE, REVIEWS, GENRE_STATS, PIPELINE_METRICS, QUALITY_REPORTS)
        },
    }


def collect(mongo_conn_id: str = "mongo_default") -> dict[str, Any]:
    from airyard.mongo.hooks import MongoHook

    runs, failed = collect_airflow()
    with MongoHook(mongo_conn_id) as hook:
        mongo = collect_mongo(hook.database())
    return {"generated_at": datetime.now(UTC), "runs": runs, "failed_tasks": failed, **mongo}


def create_app() -> Any:
    """The FastAPI sub-application the plugin mounts at /movie_pipeline."""
    from airflow.api_fastapi.core_api.security import get_user
    from fastapi import Depends, FastAPI
    from fastapi.concurrency import run_in_threadpool
    from fastapi.responses import HTMLResponse, JSONResponse

    app = FastAPI(title="airyard movie pipeline", docs_url=None, redoc_url=None, openapi_url=None)

    # Depends() as a default, not the GetUserDep annotation: with postponed annotations FastAPI
    # resolves names in module globals, where an import local to this function is not, and the
    # parameter silently becomes a required query parameter (422 instead of 401).
    signed_in = Depends(get_user)

    @app.get("/dashboard", response_class=HTMLResponse)
    async def dashboard(user: Any = signed_in) -> HTMLResponse:
        data = await run_in_threadpool(collect)
        return HTMLResponse(render(data), headers={"Cache-Control": "no-store"})

    @app.get("/api/summary")
    async def summary(user: Any = signed_in) -> JSONResponse:
        data = await run_in_threadpool(collect)
        rep = data.get("report") or {}
        return JSONResponse(
            {
                "runs": {k: [r["state"] for r in v] for k, v in data["runs"].items()},
                "failed_tasks": len(data["failed_tasks"]),
                "counts": data["counts"],
                "quality_score": rep.get("score"),
                "quality_breached": rep.get("breached"),
            }
        )

    return app
