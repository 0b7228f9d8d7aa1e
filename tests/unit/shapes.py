"""Hypothesis strategies shared by the record parsers' property tests: arbitrary JSON, and "almost
valid" records (a real example with one field, at any depth, replaced by arbitrary JSON or removed).

The property every parser must have: a record becomes a valid output or a rejection with a reason,
never an exception, since an exception fails the whole batch for one bad record.
"""

from __future__ import annotations

import copy
import json
import math
from typing import Any

from hypothesis import strategies as st

#: Text as JSON can carry it once decoded, without lone surrogates (those have explicit tests).
text = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)
#: Integers at the edges of what the stores hold (int32, int64) and far past them.
edge_ints = st.sampled_from([0, -1, 2**31 - 1, 2**31, 2**63 - 1, 2**63, -(2**63) - 1, 10**30, 10**400])
scalars = st.none() | st.booleans() | st.integers() | edge_ints | st.floats() | text


def _containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(children, max_size=4) | st.dictionaries(text, children, max_size=4)


#: Any JSON value, including what Python's json module accepts beyond the standard (NaN, Infinity).
json_values = st.recursive(scalars, _containers, max_leaves=12)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path into nested dicts and lists, the containers' own paths included."""
    found: list[tuple[Any, ...]] = []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, child in items:
        found.append((*prefix, key))
        found.extend(_paths(child, (*prefix, key)))
    return found


def _mutated(valid: Any, path: tuple[Any, ...], replacement: Any, remove: bool) -> Any:
    out = copy.deepcopy(valid)
    parent = out
    for key in path[:-1]:
        parent = parent[key]
    if remove:
        del parent[path[-1]]
    else:
        parent[path[-1]] = replacement
    return out


def almost(valid: Any) -> st.SearchStrategy[Any]:
    """`valid` with one field (at any depth) replaced by an arbitrary JSON value, or removed."""
    paths = _paths(valid)
    return st.builds(_mutated, st.just(valid), st.sampled_from(paths), json_values, st.booleans())


def records(valid: Any) -> st.SearchStrategy[Any]:
    """What a parser meets: any JSON value, or a near miss of a real record."""
    return json_values | almost(valid)


def strict_json(value: Any) -> str:
    """The value as standard JSON in UTF-8 (what Kafka, Spark and jsonb read); raises if it is not."""
    text_ = json.dumps(value, allow_nan=False, ensure_ascii=False)
    text_.encode("utf-8")  # lone surrogates do not encode
    return text_


def finite(value: Any) -> bool:
    return isinstance(value, float) and math.isfinite(value)
