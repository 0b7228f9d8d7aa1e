"""Fixtures for tests that run against the kind cluster (`make e2e` creates it first), and the
summary every e2e session ends with (reports/e2e-summary.md, or $E2E_SUMMARY)."""

from __future__ import annotations

import os
import shlex
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from devkit import kube

# hack/e2e.sh runs two sessions side by side (the shared platform's modules, the others), each
# with a summary of its own, then merges them.
SUMMARY = kube.REPO / os.environ.get("E2E_SUMMARY", "reports/e2e-summary.md")
# nodeid -> scenario (the test's docstring, first line), result and seconds (setup + call + teardown)
_results: dict[str, dict[str, Any]] = {}
_started = time.monotonic()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Modules that read what the pipelines left behind come last (the sort is stable).
    items.sort(key=lambda item: item.get_closest_marker("after_pipelines") is not None)
    for item in items:
        item.add_marker(pytest.mark.e2e)
        doc = getattr(getattr(item, "function", None), "__doc__", None) or ""
        scenario = " ".join(doc.strip().split("\n\n")[0].split()) or item.name.removeprefix("test_").replace("_", " ")
        _results[item.nodeid] = {"scenario": scenario, "result": "not run", "seconds": 0.0}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    entry = _results.setdefault(report.nodeid, {"scenario": report.nodeid, "result": "not run", "seconds": 0.0})
    entry["seconds"] += report.duration
    if entry["result"].startswith(("failed", "error")):  # the first failure is the result
        return
    if report.failed:
        entry["result"] = "failed" if report.when == "call" else f"error ({report.when})"
    elif report.skipped:
        entry["result"] = "skipped"
    elif report.when == "setup":
        # Until its call reports: a session stopped mid-test (Ctrl-C) leaves it so, never "passed".
        entry["result"] = "interrupted"
    elif report.when == "call":
        entry["result"] = "passed"


def summary_rows() -> list[tuple[str, str, str, str]]:
    return [
        (e["scenario"], nodeid, e["result"], f"{e['seconds']:.0f} s")
        for nodeid, e in _results.items()
        if e["result"] != "not run"
    ]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The e2e summary, printed and saved to reports/e2e-summary.md (scenario, test, result, duration)."""
    rows = summary_rows()
    if not rows:
        return
    counts: dict[str, int] = {}
    for _, _, result, _ in rows:
        counts[result] = counts.get(result, 0) + 1
    total = time.monotonic() - _started
    tally = ", ".join(f"{n} {r}" for r, n in sorted(counts.items()))
    command = shlex.join(["pytest", *sys.argv[1:]])
    terminalreporter.write_sep("=", f"e2e summary: {tally} in {total:.0f} s")
    width = max(len(r[1]) for r in rows)
    for scenario, nodeid, result, seconds in rows:
        terminalreporter.write_line(f"{result:<8} {seconds:>7}  {nodeid:<{width}}  {scenario}")
    lines = [
        "# e2e summary",
        "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC · `{command}` · {tally} · {total:.0f} s",
        "",
        "| scenario | test | result | duration |",
        "|---|---|---|---|",
        *(f"| {s.replace('|', '/')} | `{n}` | {r} | {d} |" for s, n, r, d in rows),
    ]
    SUMMARY.parent.mkdir(exist_ok=True)
    SUMMARY.write_text("\n".join(lines) + "\n")
    terminalreporter.write_line(f"saved to {SUMMARY.relative_to(kube.REPO)}")


@pytest.fixture(scope="session", autouse=True)
def cluster_reachable() -> None:
    """Fail fast, with the fix, when there is no cluster: these tests are never skipped."""
    try:
        kube.kubectl("get", "--raw", "/readyz", timeout=20)
    except Exception as exc:  # noqa: BLE001 - any failure means the same to the user
        pytest.exit(f"no reachable Kubernetes cluster ({exc}); run `make cluster` first", returncode=1)


@pytest.fixture
def namespace() -> Iterator[str]:
    """A namespace of its own for one test, enforcing the restricted Pod Security Standard."""
    name = f"e2e-{uuid.uuid4().hex[:8]}"
    kube.apply(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": name, "labels": {"pod-security.kubernetes.io/enforce": "restricted"}},
        }
    )
    yield name
    kube.kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture(scope="session")
def outside_world() -> Iterator[None]:
    """The fakes may be reached as the outside world for the whole session (kube.outside_world)."""
    with kube.outside_world():
        yield


@pytest.fixture(autouse=True)
def platform_sees_the_fakes(request: pytest.FixtureRequest) -> None:
    """The installed platform's tests (mark shared_platform) reach the fakes as the outside world.
    Only their session sets the fakes' policies up and removes them: the other session, which
    may end first, leaves them alone."""
    if request.node.get_closest_marker("shared_platform"):
        request.getfixturevalue("outside_world")
