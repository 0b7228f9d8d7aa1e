"""Fixtures of the plugin tests."""

from __future__ import annotations

from unittest import mock

import pytest


@pytest.fixture
def stats(monkeypatch: pytest.MonkeyPatch) -> mock.Mock:
    """The Task SDK's Stats facade as airyard.metrics calls it: a mock that records every metric sent."""
    from airyard import metrics

    facade = mock.Mock(name="Stats")
    monkeypatch.setattr(metrics, "Stats", facade)
    return facade


def sent(stats: mock.Mock) -> dict[str, float]:
    """The metrics sent, by name: a counter's increments summed, a gauge's last value."""
    figures: dict[str, float] = {}
    for call in stats.incr.call_args_list:
        figures[call.args[0]] = figures.get(call.args[0], 0) + call.kwargs["count"]
    for call in stats.gauge.call_args_list:
        figures[call.args[0]] = call.args[1]
    return figures
