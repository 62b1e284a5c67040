"""What each leaf test means, in plain Python: the specification durable_rules must agree with.

Absent means "key not there or null". Every comparison is false on an absent field; only
`missing` holds there. Equality is type-strict (true is not 1), as JSON values are.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from engine import syntax
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


def _member(value: Any, leaf: syntax.Leaf) -> bool:
    try:
        found: bool = (isinstance(value, bool), value) in leaf.members
        return found
    except TypeError:  # unhashable (a list or object where a plain value was expected)
        return False


def leaf_holds(leaf: syntax.Leaf, value: Any) -> bool:
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


# -- compiled forms ------------------------------------------------------------------------------
# The explainer runs once per fired rule and once per rule that reads an absent field, so it
# uses closures specialised per path and per test, built once when a pack loads. They must
# mean exactly what `lookup` and `leaf_holds` mean (property-tested in tests/engine).

Getter = Callable[[Any], Any]
Test = Callable[[Any], bool]


def getter(path: tuple[str, ...]) -> Getter:
    """`lookup(data, path)` as a closure for one path; () gives the scope itself, unchanged
    (an item of a plain list is tested as it is)."""
    if not path:
        return _itself

    def along_path(data: Any) -> Any:
        value = data
        for segment in path:
            if type(value) is not dict and not isinstance(value, Mapping):
                return MISSING
            value = value.get(segment)
        return MISSING if value is None else value

    return along_path


def _itself(data: Any) -> Any:
    return data


def _equal_to(target: Any) -> Test:
    """`same(value, target)` for one target (value never MISSING here)."""
    if isinstance(target, bool):
        return lambda value: value is target
    if _number(target):
        return lambda value: _number(value) and value == target
    kind = type(target)
    return lambda value: type(value) is kind and value == target


def _member_of(leaf: syntax.Leaf) -> Test:
    """`_member(value, leaf)` for one leaf: plain set membership when every member is a string
    (then only a string can be a member), the type-tagged test otherwise."""
    if all(type(v) is str for v in leaf.values):
        strings = frozenset(leaf.values)
        return lambda value: isinstance(value, str) and value in strings
    return lambda value: _member(value, leaf)


def leaf_test(leaf: syntax.Leaf) -> Test:
    """`leaf_holds(leaf, value)` as a closure over `value` for one leaf."""
    op = leaf.op
    if op == "exists":
        return lambda value: value is not MISSING
    if op == "missing":
        return lambda value: value is MISSING
    test = _positive_test(leaf)
    return lambda value: value is not MISSING and test(value)


def _positive_test(leaf: syntax.Leaf) -> Test:
    op = leaf.op
    if op == "eq":
        return _equal_to(leaf.value)
    if op == "ne":
        equal = _equal_to(leaf.value)
        return lambda value: not equal(value)
    if op in ("lt", "lte", "gt", "gte"):
        if not _number(leaf.value):
            return lambda value: False
        bound = float(leaf.value)  # type: ignore[arg-type]
        compare = {"lt": float.__lt__, "lte": float.__le__, "gt": float.__gt__,
                   "gte": float.__ge__}[op]
        return lambda value: _number(value) and compare(float(value), bound)
    if op in ("in", "in_list"):
        return _member_of(leaf)
    if op in ("not_in", "not_in_list"):
        member = _member_of(leaf)
        return lambda value: not member(value)
    if op == "contains":
        equal = _equal_to(leaf.value)
        return lambda value: isinstance(value, list) and any(equal(i) for i in value)
    if op == "contains_any":
        member = _member_of(leaf)
        return lambda value: isinstance(value, list) and any(member(i) for i in value)
    if op in ("matches", "not_matches"):
        pattern = re.compile(str(leaf.value), re.DOTALL)
        wanted = op == "matches"
        return lambda value: isinstance(value, str) and \
            (pattern.fullmatch(value) is not None) is wanted
    raise ValueError(f"unknown operator {op}")


def compile_holds(cond: syntax.Condition) -> Test:
    """The two-valued truth of a condition (as written, or normalised) as a closure over the
    data: what the reference interpreter's `holds` means, except that a field holding
    something other than a list has no items (in a validated proposal it is always a list).
    Loops are written out: generator expressions cost more than the tests they run."""
    if isinstance(cond, syntax.Leaf):
        get, test = getter(cond.path), leaf_test(cond)
        return lambda data: test(get(data))
    if isinstance(cond, syntax.Not):
        inner = compile_holds(cond.item)
        return lambda data: not inner(data)
    if isinstance(cond, syntax.Quantifier):
        return _quantifier_holds(cond)
    parts = tuple(compile_holds(c) for c in cond.items)
    if isinstance(cond, syntax.Any):
        def any_part(data: Any) -> bool:
            for part in parts:  # noqa: SIM110 (no generator: see the docstring)
                if part(data):
                    return True
            return False

        return any_part

    def every_part(data: Any) -> bool:
        for part in parts:  # noqa: SIM110 (no generator: see the docstring)
            if not part(data):
                return False
        return True

    return every_part


def _quantifier_holds(q: syntax.Quantifier) -> Test:
    get, per_item = getter(q.path), compile_holds(q.condition)
    if q.kind == "some":
        def some(data: Any) -> bool:
            items = get(data)
            if isinstance(items, list):
                for item in items:
                    if per_item(item):
                        return True
            return False

        return some

    def every(data: Any) -> bool:
        items = get(data)
        if isinstance(items, list):
            for item in items:
                if not per_item(item):
                    return False
        return True

    return every
