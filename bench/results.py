"""reports/bench.json (one section per part, merged run after run) and the tables printed from it."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
REPORT = Path(os.environ.get("BENCH_REPORT", str(REPO / "reports" / "bench.json")))
#: Bumped when a section's keys change meaning, so readers of older files can tell.
FORMAT = "airyard-bench/1"


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def load() -> dict[str, Any]:
    if REPORT.exists():
        doc = json.loads(REPORT.read_text())
        if doc.get("format") == FORMAT:
            return doc
    return {"format": FORMAT, "updated_at": None, "parts": {}}


def save_part(name: str, section: dict[str, Any]) -> None:
    """Replace one part's section; the other parts' last results stay."""
    doc = load()
    doc["parts"][name] = section
    doc["updated_at"] = now()
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    tmp = REPORT.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    tmp.replace(REPORT)
    print(f"\nwrote the '{name}' section of {REPORT.relative_to(REPO) if REPORT.is_relative_to(REPO) else REPORT}")


def percentile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    s = sorted(values)
    if not s:
        return math.nan
    pos = (len(s) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def summary(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "min": round(min(values), 2),
        "p50": round(percentile(values, 0.50), 2),
        "p95": round(percentile(values, 0.95), 2),
        "max": round(max(values), 2),
        "mean": round(sum(values) / len(values), 2),
    }


def target(name: str, value: float | None, limit: float, unit: str, *, at_most: bool = True) -> dict[str, Any]:
    """A target of issue 12 and whether this run met it (None: not measured)."""
    met = None if value is None else (value <= limit if at_most else value >= limit)
    return {"target": name, "value": value, "limit": limit, "unit": unit, "met": met}


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def table(title: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    cells = [[fmt(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(header)]
    line = "  ".join("-" * w for w in widths)
    out = [f"\n{title}", "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)), line]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(out)


def targets_table(targets: Sequence[dict[str, Any]]) -> str:
    verdict = {True: "met", False: "NOT met", None: "not measured"}
    rows = [
        (t["target"], f"{fmt(t['value'])} {t['unit']}", f"{fmt(t['limit'])} {t['unit']}", verdict[t["met"]])
        for t in targets
    ]
    return table("targets (issue 12)", ("target", "measured", "limit", "verdict"), rows)


def activity_line(act: dict[str, Any] | None, during: str = "the measurement") -> str:
    """How busy the machine was while a part measured (bench.cluster.activity)."""
    if not act:
        return "    machine activity: not recorded"
    by_ns = act.get("cpu_cores_by_namespace") or {}
    spent = ", ".join(f"{ns} {cores}" for ns, cores in list(by_ns.items())[:4])
    others = act.get("other_pods_running_before") or []
    listed = f" ({', '.join(others[:6])}{', …' if len(others) > 6 else ''})" if others else ""
    inside = f" (in it, cores by namespace: {spent})" if spent else ""
    return (
        f"    machine during {during}: {act['host_cpu_cores_busy']} of the cores busy, "
        f"{act['outside_cluster_cpu_cores']} of them outside the kind node{inside}; "
        f"{act.get('free_cpu_requests_millicores_before')}m CPU unrequested on the node; "
        f"{len(others)} other pods running{listed}"
    )
