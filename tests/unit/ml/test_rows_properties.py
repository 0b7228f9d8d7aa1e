"""Observation rows of the ML pipelines, thrown arbitrary values (hypothesis): a usable row or a
quarantined one with its reason, never an exception, which would fail the validation of every batch.

The rows come out of ml.observations (double precision and integer columns) through pandas: NULLs
are None or NaN, and PostgreSQL's double precision holds Infinity, which JSON (and jsonb) do not.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from airyard_ml.schema import FEATURE_LIMIT, FEATURES, LABEL, quarantine_json, row_problem
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.unit.shapes import almost, json_values

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
GOOD = {"id": 7, "batch": "b1", "home_form": 0.4, "away_form": -0.2, "rest_diff": 1.0, "travel_km": 3.5, LABEL: 1}
#: What a row of the table can hold: a double precision column also holds NaN and the infinities.
column_values = st.one_of(st.none(), st.floats(), st.integers(), st.sampled_from([0, 1, 0.0, 1.0]), json_values)
rows = st.one_of(
    almost(GOOD),
    st.fixed_dictionaries({"id": st.integers(1, 10**6), "batch": st.text(max_size=5)}).flatmap(
        lambda base: st.fixed_dictionaries({c: column_values for c in (*FEATURES, LABEL)}).map(base.__or__)
    ),
)


def _strict(doc: str) -> Any:
    return json.loads(doc, parse_constant=lambda c: pytest.fail(f"{c} is not JSON that jsonb takes"))


@PROPERTY
@given(rows)
@example({**GOOD, "travel_km": math.inf})  # quarantined as Infinity, which jsonb refuses
@example({**GOOD, "travel_km": "far"})  # ValueError out of float()
@example({**GOOD, "travel_km": [1.0]})  # TypeError out of float()
@example({**GOOD, "travel_km": 10**400})  # OverflowError out of float()
@example({**GOOD, LABEL: True})
def test_every_row_is_usable_or_quarantined_with_a_reason(row: dict[str, Any]) -> None:
    reason = row_problem(row)
    if reason is None:
        features = [row[c] for c in FEATURES]
        assert all(type(v) in (int, float) and abs(v) <= FEATURE_LIMIT for v in features)
        assert type(row[LABEL]) in (int, float)
        assert row[LABEL] in (0, 1)
        return
    assert reason
    record = _strict(quarantine_json(row))
    assert set(record) == set(row)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({}, None),
        ({"home_form": None}, "missing home_form"),
        ({"home_form": math.nan, LABEL: None}, "missing home_form, label"),
        ({LABEL: 2}, "label 2 not in {0, 1}"),
        ({LABEL: 1.0}, None),  # an integer column with a NULL in the frame comes out as float
        ({"travel_km": 51.0}, "travel_km beyond +-50"),
        ({"travel_km": -math.inf}, "travel_km beyond +-50"),
        ({"travel_km": "far"}, "travel_km not a number"),
    ],
)
def test_reasons_are_the_pipelines(change: dict[str, Any], reason: str | None) -> None:
    assert row_problem({**GOOD, **change}) == reason


def test_quarantined_infinity_is_text_and_null_is_null() -> None:
    record = _strict(quarantine_json({**GOOD, "travel_km": math.inf, "home_form": math.nan}))
    assert (record["travel_km"], record["home_form"]) == ("inf", None)
