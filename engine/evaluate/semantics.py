"""What each leaf test means, in plain Python: the specification durable_rules must agree with.

Absent means "key not there or null". Every comparison is false on an absent field; only
`missing` holds there. Equality is type-strict (true is not 1), as JSON values are. What each
operator means on a present value is declared with the operator (`engine.language.operators`); this
module adds paths, absence and the compiled forms of whole conditions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from engine.language import syntax
from engine.language.operators import OPERATORS, Test, same

__all__ = ["MISSING", "Getter", "Test", "compile_holds", "getter", "leaf_holds", "leaf_test",
           "lookup", "same"]

MISSING: Any = object()


def lookup(data: Any, path: tuple[str, ...]) -> Any:
    """The value at `path` below `data`, or MISSING."""
    value = data
    for segment in path:
        if not isinstance(value, Mapping):
            return MISSING
        value = value.get(segment, MISSING)
    return MISSING if value is None else value


def leaf_holds(leaf: syntax.Leaf, value: Any) -> bool:
    """Does `leaf` hold for `value` (already looked up; MISSING when absent)?"""
    operator = OPERATORS[leaf.op]
    if value is MISSING:
        return bool(operator.on_absent)
    return operator.holds(leaf, value)


# -- compiled forms ------------------------------------------------------------------------------
# The explainer runs once per fired rule and once per rule that reads an absent field, so it
# uses closures specialised per path and per test, built once when a pack loads. They must
# mean exactly what `lookup` and `leaf_holds` mean (property-tested in tests/engine).

Getter = Callable[[Any], Any]


def getter(path: tuple[str, ...]) -> Getter:
    """`lookup(data, path)` as a closure for one path; () gives the scope itself, unchanged
    (an item of a plain list is tested as it is)."""
    if not path:
        return _itself
    if len(path) == 1:  # the common case, written out
        (key,) = path

        def one_field(data: Any) -> Any:
            if type(data) is not dict and not isinstance(data, Mapping):
                return MISSING
            value = data.get(key)
            return MISSING if value is None else value

        return one_field

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


def leaf_test(leaf: syntax.Leaf) -> Test:
    """`leaf_holds(leaf, value)` as a closure over `value` for one leaf."""
    operator = OPERATORS[leaf.op]
    if operator.on_absent is not None:  # exists, missing: decided by the absence alone
        absent_holds = operator.on_absent
        return lambda value: (value is MISSING) is absent_holds
    test = operator.test(leaf)
    return lambda value: value is not MISSING and test(value)


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
