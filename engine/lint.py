"""Warnings about packs that load but are probably wrong: dead rules, duplicates, unused lists.

Warnings never stop a pack from loading; `riskrules check --strict` turns them into failures.
"""

from __future__ import annotations

from collections.abc import Iterator

from engine import syntax
from engine.errors import DiagnosticSink
from engine.semantics import same


def lint(spec: syntax.PackSpec, conditions: dict[str, syntax.Condition], sink: DiagnosticSink) -> None:
    seen: dict[tuple[str, syntax.Condition], syntax.Rule] = {}
    for rule in spec.rules:
        cond = conditions.get(rule.id)
        if cond is None:
            continue
        reason = contradiction(cond)
        if reason:
            sink.warning("W010", f"rule {rule.id} can never fire: {reason}", rule.pos)
        key = (rule.factor, cond)
        if key in seen:
            first = seen[key]
            sink.warning("W011", f"rule {rule.id} has the same condition as {first.id} in factor "
                         f"{rule.factor} (line {first.pos.line} of {first.pos.file}): one "
                         "shadows the other", rule.pos)
        else:
            seen[key] = rule
    _unused_lists(spec, sink)


def _unused_lists(spec: syntax.PackSpec, sink: DiagnosticSink) -> None:
    used = {leaf.list_name for rule in spec.rules for leaf in leaves(rule.when) if leaf.list_name}
    for name, ref in sorted(spec.lists.items()):
        if name not in used:
            sink.warning("W030", f"list {name} is not used by any rule", ref.pos)


def leaves(cond: syntax.Condition) -> Iterator[syntax.Leaf]:
    if isinstance(cond, syntax.Leaf):
        yield cond
    elif isinstance(cond, syntax.Not):
        yield from leaves(cond.item)
    elif isinstance(cond, syntax.Quantifier):
        yield from leaves(cond.condition)
    else:
        for item in cond.items:
            yield from leaves(item)


def contradiction(cond: syntax.Condition) -> str | None:
    """Why a normalised condition can never hold, when that is evident, else None."""
    if isinstance(cond, syntax.Leaf):
        return None
    if isinstance(cond, syntax.Quantifier):
        reason = contradiction(cond.condition)
        return reason if reason and cond.kind == "some" else None
    if isinstance(cond, syntax.Any):
        reasons = [contradiction(i) for i in cond.items]
        return reasons[0] if all(reasons) else None
    if isinstance(cond, syntax.Not):
        return None
    for item in cond.items:
        reason = contradiction(item)
        if reason:
            return reason
    tests = [i for i in cond.items if isinstance(i, syntax.Leaf)]
    for i, a in enumerate(tests):
        for b in tests[i + 1:]:
            if a.path == b.path:
                reason = _conflict(a, b) or _conflict(b, a)
                if reason:
                    return reason
    return None


def _allowed(leaf: syntax.Leaf) -> tuple[object, ...] | None:
    if leaf.op == "eq":
        return (leaf.value,)
    if leaf.op in ("in", "in_list"):
        return leaf.values
    return None


def _conflict(a: syntax.Leaf, b: syntax.Leaf) -> str | None:
    where = ".".join(a.path) or "the item"
    if a.op == "missing" and b.op != "missing":
        return f"{where} is required missing and tested with '{b.op}'"
    allowed = _allowed(a)
    if allowed is not None:
        other = _allowed(b)
        if other is not None and not any(same(x, y) for x in allowed for y in other):
            return f"{where} cannot be {a.describe()} and {b.describe()} at once"
        if b.op in ("ne", "not_in", "not_in_list"):
            banned = (b.value,) if b.op == "ne" else b.values
            if all(any(same(x, y) for y in banned) for x in allowed):
                return f"{where} cannot be {a.describe()} and {b.describe()} at once"
    bounds = {"gt", "gte"}, {"lt", "lte"}
    if a.op in bounds[0] and b.op in bounds[1]:
        low, high = float(a.value), float(b.value)  # type: ignore[arg-type]
        if low > high or (low == high and (a.op == "gt" or b.op == "lt")):
            return f"{where} cannot be {a.describe()} and {b.describe()} at once"
    return None
