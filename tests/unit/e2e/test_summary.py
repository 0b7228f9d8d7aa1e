"""The e2e summary's result per test, from pytest's setup, call and teardown reports."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.e2e import conftest


def result_of(*phases: tuple[str, str]) -> str:
    nodeid = f"t{len(conftest._results)}"
    for when, outcome in phases:
        report = SimpleNamespace(
            nodeid=nodeid, duration=1.0, when=when, failed=outcome == "failed", skipped=outcome == "skipped"
        )
        conftest.pytest_runtest_logreport(report)
    assert conftest._results[nodeid]["seconds"] == len(phases)
    return conftest._results[nodeid]["result"]


@pytest.mark.parametrize(
    ("phases", "expected"),
    [
        ((("setup", "passed"), ("call", "passed"), ("teardown", "passed")), "passed"),
        ((("setup", "passed"), ("call", "failed"), ("teardown", "failed")), "failed"),
        ((("setup", "failed"), ("teardown", "passed")), "error (setup)"),
        ((("setup", "passed"), ("call", "passed"), ("teardown", "failed")), "error (teardown)"),
        ((("setup", "skipped"), ("teardown", "passed")), "skipped"),
        # Ctrl-C during the call: pytest reports no call, and the test must not read as passed.
        ((("setup", "passed"),), "interrupted"),
    ],
)
def test_result(phases: tuple[tuple[str, str], ...], expected: str) -> None:
    assert result_of(*phases) == expected
