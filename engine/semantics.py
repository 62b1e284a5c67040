"""What each leaf test means, in plain Python: the specification durable_rules must agree with.

Absent means "key not there or null". Every comparison is false on an absent field; only
`missing` holds there. Equality is type-strict (true is not 1), as JSON values are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine import ast
from engine.regex import full_match

MISSING: Any = object()


def lookup(data: Any, path: tuple[str, ...]) -> Any:
    """The value at `path` below `data`, or MISSING."""
    value = data
    for segment in path:
        if not isinstance(value, Mapping):
            return MISSING
        value = value.get(segment, MISSING)
    return MISSING if value is None else value


def same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    return type(a) is type(b) and a == b


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _member(value: Any, leaf: ast.Leaf) -> bool:
    try:
        found: bool = (isinstance(value, bool), value) in leaf.members
        return found
    except TypeError:  # unhashable (a list or object where a plain value was expected)
        return False


def leaf_holds(leaf: ast.Leaf, value: Any) -> bool:
    """Does `leaf` hold for `value` (already looked up; MISSING when absent)?"""
    op = leaf.op
    if op == "exists":
        return value is not MISSING
    if op == "missing":
        return value is MISSING
    if value is MISSING:
        return False
    if op == "eq":
        return same(value, leaf.value)
    if op == "ne":
        return not same(value, leaf.value)
    if op in ("lt", "lte", "gt", "gte"):
        if not (_number(value) and _number(leaf.value)):
            return False
        number, bound = float(value), float(leaf.value)  # type: ignore[arg-type]
        if op == "lt":
            return number < bound
        if op == "lte":
            return number <= bound
        return number > bound if op == "gt" else number >= bound
    if op in ("in", "in_list"):
        return _member(value, leaf)
    if op in ("not_in", "not_in_list"):
        return not _member(value, leaf)
    if op == "contains":
        return isinstance(value, list) and any(same(item, leaf.value) for item in value)
    if op == "contains_any":
        return isinstance(value, list) and any(_member(item, leaf) for item in value)
    if op == "matches":
        return isinstance(value, str) and full_match(str(leaf.value), value)
    if op == "not_matches":
        return isinstance(value, str) and not full_match(str(leaf.value), value)
    raise ValueError(f"unknown operator {op}")
