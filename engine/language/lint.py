"""Warnings about packs that load but are probably wrong: dead rules, duplicates, unused lists.

Warnings never stop a pack from loading; `riskrules check --strict` turns them into failures.
"""

from __future__ import annotations

from collections.abc import Iterator

from engine.codes import Code
from engine.errors import DiagnosticSink
from engine.language import syntax
from engine.language.operators import OPERATORS, Admits, Bound, operands, same


def lint(spec: syntax.PackSpec, conditions: dict[str, syntax.Condition], sink: DiagnosticSink) -> None:
    seen: dict[tuple[str, syntax.Condition], syntax.Rule] = {}
    for rule in spec.rules:
        cond = conditions.get(rule.id)
        if cond is None:
            continue
        reason = contradiction(cond)
        if reason:
            sink.warning(Code.NEVER_FIRES, f"rule {rule.id} can never fire: {reason}", rule.pos)
        key = (rule.factor, cond)
        if key in seen:
            first = seen[key]
            sink.warning(Code.SAME_CONDITION,
                         f"rule {rule.id} has the same condition as {first.id} in factor "
                         f"{rule.factor} (line {first.pos.line} of {first.pos.file}): one "
                         "shadows the other", rule.pos)
        else:
            seen[key] = rule
    _unused_lists(spec, sink)


def _unused_lists(spec: syntax.PackSpec, sink: DiagnosticSink) -> None:
    used = {leaf.list_name for rule in spec.rules for leaf in leaves(rule.when) if leaf.list_name}
    for name, ref in sorted(spec.lists.items()):
        if name not in used:
            sink.warning(Code.UNUSED_LIST, f"list {name} is not used by any rule", ref.pos)


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


def _admitted(leaf: syntax.Leaf, admits: Admits) -> tuple[object, ...] | None:
    """The only values `leaf` admits (ONE_OF), or the values it refuses (NONE_OF)."""
    return operands(leaf) if OPERATORS[leaf.op].admits is admits else None


def _conflict(a: syntax.Leaf, b: syntax.Leaf) -> str | None:
    where = ".".join(a.path) or "the item"
    first, second = OPERATORS[a.op], OPERATORS[b.op]
    if first.on_absent is True and b.op != a.op:
        return f"{where} is required missing and tested with '{b.op}'"
    at_once = f"{where} cannot be {a.describe()} and {b.describe()} at once"
    allowed = _admitted(a, Admits.ONE_OF)
    if allowed is not None:
        other = _admitted(b, Admits.ONE_OF)
        if other is not None and not any(same(x, y) for x in allowed for y in other):
            return at_once
        banned = _admitted(b, Admits.NONE_OF)
        if banned is not None and all(any(same(x, y) for y in banned) for x in allowed):
            return at_once
    if first.bound is Bound.LOWER and second.bound is Bound.UPPER:
        low, high = float(a.value), float(b.value)  # type: ignore[arg-type]
        if low > high or (low == high and (first.strict or second.strict)):
            return at_once
    return None
