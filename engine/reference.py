"""The reference interpreter: evaluates the rule AST, as written, in plain Python.

Used by tests only, as the oracle the durable_rules compilation must agree with (the
differential property test). It evaluates the original AST, `not` included, so the test
also checks the negation push-down of engine.normalize.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from engine import ast
from engine.semantics import MISSING, leaf_holds, lookup


def holds(cond: ast.Condition, data: Any) -> bool:
    if isinstance(cond, ast.Leaf):
        return leaf_holds(cond, lookup(data, cond.path) if cond.path else data)
    if isinstance(cond, ast.All):
        return all(holds(c, data) for c in cond.items)
    if isinstance(cond, ast.Any):
        return any(holds(c, data) for c in cond.items)
    if isinstance(cond, ast.Not):
        return not holds(cond.item, data)
    items = lookup(data, cond.path)
    items = items if isinstance(items, list) else [] if items is MISSING else [items]
    if cond.kind == "some":
        return any(holds(cond.condition, item) for item in items)
    return all(holds(cond.condition, item) for item in items)


def fired_rules(rules: Iterable[ast.Rule], proposal: Any, day: dt.date) -> list[str]:
    """Ids of the rules that fire on `proposal` (already enriched with screening) on `day`."""
    return [r.id for r in rules if r.active_on(day) and holds(r.when, proposal)]
