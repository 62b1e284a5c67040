"""The reference interpreter: evaluates the rule AST, as written, in plain Python.

Used by tests only, as the oracle the fast paths must agree with: the durable_rules
compilation (the differential property test; it evaluates the original AST, `not` included,
so the test also checks the negation push-down of engine.language.normalize), and the closures that
engine.evaluate.explain and engine.evaluate.missing compile for evidence and missing information.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from engine.evaluate.explain import EVERY_EMPTY, Evidence, join, negation
from engine.evaluate.missing import NO_PATHS, Reading, Truth
from engine.evaluate.semantics import MISSING, leaf_holds, lookup
from engine.language import syntax
from engine.language.operators import OPERATORS


def holds(cond: syntax.Condition, data: Any) -> bool:
    if isinstance(cond, syntax.Leaf):
        return leaf_holds(cond, lookup(data, cond.path) if cond.path else data)
    if isinstance(cond, syntax.All):
        return all(holds(c, data) for c in cond.items)
    if isinstance(cond, syntax.Any):
        return any(holds(c, data) for c in cond.items)
    if isinstance(cond, syntax.Not):
        return not holds(cond.item, data)
    items = lookup(data, cond.path)
    items = items if isinstance(items, list) else [] if items is MISSING else [items]
    if cond.kind == "some":
        return any(holds(cond.condition, item) for item in items)
    return all(holds(cond.condition, item) for item in items)


def fired_rules(rules: Iterable[syntax.Rule], proposal: Any, day: dt.date) -> list[str]:
    """Ids of the rules that fire on `proposal` (already enriched with screening) on `day`."""
    return [r.id for r in rules if r.active_on(day) and holds(r.when, proposal)]


def evidence(cond: syntax.Condition, data: Any, prefix: str = "") -> list[Evidence] | None:
    """The evidence that normalised `cond` holds on `data`, or None when it does not hold."""
    if isinstance(cond, syntax.Leaf):
        return _leaf_evidence(cond, data, prefix)
    if isinstance(cond, syntax.Any):  # the first alternative that holds
        return next((e for e in (evidence(i, data, prefix) for i in cond.items) if e is not None),
                    None)
    if isinstance(cond, syntax.All):
        found = [evidence(item, data, prefix) for item in cond.items]
        if any(e is None for e in found):
            return None
        return [e for part in found if part is not None for e in part]
    if isinstance(cond, syntax.Quantifier):
        return _quantifier_evidence(cond, data, prefix)
    raise TypeError(f"not a normalised condition: {cond!r}")


def _leaf_evidence(cond: syntax.Leaf, data: Any, prefix: str) -> list[Evidence] | None:
    value = lookup(data, cond.path) if cond.path else data
    if not leaf_holds(cond, value):
        return None
    shown = None if value is MISSING else value
    return [Evidence(join(prefix, ".".join(cond.path)), shown, cond.describe())]


def _quantifier_evidence(cond: syntax.Quantifier, data: Any, prefix: str) -> list[Evidence] | None:
    """`some` shows the items that hold; `every` all of them, or the empty list it holds on."""
    where = join(prefix, ".".join(cond.path))
    items = lookup(data, cond.path)
    if cond.negates is not None:  # `not contains x` as written: the list itself
        shown = None if items is MISSING else items
        return [Evidence(where, shown, negation(cond.negates))] if holds(cond, data) else None
    listed = items if isinstance(items, list) else []
    per_item = [evidence(cond.condition, item, f"{where}[{i}]") for i, item in enumerate(listed)]
    held_items = [e for part in per_item if part is not None for e in part]
    if cond.kind == "some":
        return held_items or None
    if any(part is None for part in per_item):
        return None
    return held_items or [Evidence(where, None if items is MISSING else [], EVERY_EMPTY)]


def needed_absent_paths(cond: syntax.Condition, data: Any, prefix: str = "") -> Reading:
    """Three-valued reading of the original condition (a comparison on an absent field is
    UNKNOWN) and the absent fields that decided it: the definition of missing information."""
    if isinstance(cond, syntax.Leaf):
        value = lookup(data, cond.path) if cond.path else data
        if value is not MISSING:
            return (Truth.TRUE if leaf_holds(cond, value) else Truth.FALSE), NO_PATHS
        blamed = frozenset({join(prefix, ".".join(cond.path))})
        decided = OPERATORS[cond.op].on_absent
        if decided is not None:  # exists, missing
            return (Truth.TRUE if decided else Truth.FALSE), blamed
        return Truth.UNKNOWN, blamed
    if isinstance(cond, syntax.Not):
        truth, paths = needed_absent_paths(cond.item, data, prefix)
        return {Truth.TRUE: Truth.FALSE, Truth.FALSE: Truth.TRUE}.get(truth, truth), paths
    if isinstance(cond, syntax.Quantifier):
        where = join(prefix, ".".join(cond.path))
        items = lookup(data, cond.path)
        if items is MISSING:
            return Truth.UNKNOWN, frozenset({where})
        results = [needed_absent_paths(cond.condition, item, f"{where}[{i}]")
                   for i, item in enumerate(items if isinstance(items, list) else [])]
        return _combine(results, any_of=cond.kind == "some")
    results = [needed_absent_paths(item, data, prefix) for item in cond.items]
    return _combine(results, any_of=isinstance(cond, syntax.Any))


def _combine(results: list[Reading], *, any_of: bool) -> Reading:
    decisive = Truth.TRUE if any_of else Truth.FALSE
    other = Truth.FALSE if any_of else Truth.TRUE
    for wanted in (decisive, Truth.UNKNOWN):
        picked = [paths for truth, paths in results if truth is wanted]
        if picked:
            return wanted, frozenset().union(*picked)
    return other, frozenset().union(*(paths for _, paths in results))


# Complexity D (21, radon), kept in one piece: the definition engine.evaluate.decision is tested
# against, kept readable as one piece.
def decide(rules: Iterable[syntax.Rule], proposal: Any, day: dt.date, band_decision: str,
           knockout_decision: str, incomplete_decision: str) -> dict[str, Any]:
    """The definition of the final decision (engine.evaluate.decision must agree): the strictest of the
    band's decision, every fired knockout's and every fired floor's; when a knockout or floor
    that did not fire reads UNKNOWN (an absent field could make it fire) and would be stricter,
    the decision is provisional and at least `incomplete_decision`."""
    order = list(syntax.DECISIONS)

    def forces(rule: syntax.Rule) -> str:
        return knockout_decision if rule.kind is syntax.RuleKind.KNOCKOUT else str(rule.at_least)

    active = [r for r in rules if r.active_on(day)]
    decisive = [r for r in active if r.kind is syntax.RuleKind.KNOCKOUT or
                (r.kind is syntax.RuleKind.RISK and r.at_least is not None)]
    fired = [r for r in decisive if holds(r.when, proposal)]
    base = max([band_decision, *(forces(r) for r in fired)], key=order.index)
    unsettled = [r for r in decisive if r not in fired
                 and needed_absent_paths(r.when, proposal)[0] is Truth.UNKNOWN]
    provisional = any(order.index(forces(r)) > order.index(base) for r in unsettled)
    final = max(base, incomplete_decision, key=order.index) if provisional else base
    return {
        "decision": final,
        "provisional": provisional,
        "floors": [r.id for r in fired if r.kind is syntax.RuleKind.RISK],
        "unsettled": [r.id for r in unsettled],
        "checked_clear": [r.id for r in decisive if r not in fired and r not in unsettled],
    }


def ownership_share(node: Any, listed: Any) -> tuple[float, bool]:
    """The definition of the OFAC 50 Percent Rule aggregate (engine.evaluate.derive must agree): the
    share of `node` held by blocked owners, an owner being blocked when `listed(owner)` or when
    blocked owners hold 50 % or more of it; returns (share, node itself blocked)."""
    share = 0.0
    for owner in node.get("owners") or []:
        held = owner.get("percent")
        if isinstance(held, bool) or not isinstance(held, int | float):
            held = 0.0
        if ownership_share(owner, listed)[1]:
            share += held
    share = min(share, 100.0)
    return share, bool(listed(node)) or share >= 50
