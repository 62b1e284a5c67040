"""Explanations: the evidence behind each fired rule, missing information, the summary sentence.

durable_rules decides which rules fire; this module shows why. Evidence is read from the
normalised condition of a fired rule: every test on the path that made it hold, with the
actual value at an indexed path (`counterparties[0].country`). If the explainer cannot see a
fired rule hold, the two disagree and we refuse to issue an assessment (EngineError) rather
than publish an unexplained score.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from engine import ast
from engine.contract import FieldSpec, Kind
from engine.semantics import MISSING, leaf_holds, lookup


@dataclass(frozen=True)
class Evidence:
    path: str
    value: Any
    test: str

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "value": self.value, "test": self.test}


def _join(prefix: str, path: tuple[str, ...]) -> str:
    tail = ".".join(path)
    if not prefix:
        return tail
    return f"{prefix}.{tail}" if tail else prefix


def evidence(cond: ast.Condition, data: Any, prefix: str = "") -> list[Evidence] | None:
    """The evidence that `cond` (normalised) holds on `data`, or None when it does not hold."""
    if isinstance(cond, ast.Leaf):
        value = lookup(data, cond.path) if cond.path else data
        if not leaf_holds(cond, value):
            return None
        shown = None if value is MISSING else value
        return [Evidence(_join(prefix, cond.path), shown, cond.describe())]
    if isinstance(cond, ast.All):
        out: list[Evidence] = []
        for item in cond.items:
            found = evidence(item, data, prefix)
            if found is None:
                return None
            out.extend(found)
        return out
    if isinstance(cond, ast.Any):
        held = [found for item in cond.items
                if (found := evidence(item, data, prefix)) is not None]
        return [e for found in held for e in found] if held else None
    if isinstance(cond, ast.Quantifier):
        return _quantifier(cond, data, prefix)
    raise TypeError(f"not a normalised condition: {cond!r}")


def _quantifier(q: ast.Quantifier, data: Any, prefix: str) -> list[Evidence] | None:
    where = _join(prefix, q.path)
    items = lookup(data, q.path)
    items = items if isinstance(items, list) else []
    per_item = [evidence(q.condition, item, f"{where}[{i}]") for i, item in enumerate(items)]
    if q.kind == "some":
        held = [e for found in per_item if found is not None for e in found]
        return held or None
    if any(found is None for found in per_item):
        return None
    if not items:
        shown: list[Any] | None = None if lookup(data, q.path) is MISSING else []
        return [Evidence(where, shown, "every: the list is empty or absent")]
    return [e for found in per_item if found is not None for e in found]


class Truth(Enum):
    TRUE = 1
    FALSE = 0
    UNKNOWN = 2


def needed_absent_paths(cond: ast.Condition, data: Any, prefix: str = "") -> tuple[Truth, set[str]]:
    """Three-valued reading of the original condition: which absent fields decided the outcome.

    A comparison on an absent field is UNKNOWN here (the language says false; the reviewer
    should know it was not given). The returned paths are the absent fields on which the
    result depends: these make up the assessment's `missing_information`.
    """
    if isinstance(cond, ast.Leaf):
        value = lookup(data, cond.path) if cond.path else data
        if value is not MISSING:
            return (Truth.TRUE if leaf_holds(cond, value) else Truth.FALSE), set()
        where = _join(prefix, cond.path)
        if cond.op in ("exists", "missing"):
            return (Truth.TRUE if cond.op == "missing" else Truth.FALSE), {where}
        return Truth.UNKNOWN, {where}
    if isinstance(cond, ast.Not):
        truth, paths = needed_absent_paths(cond.item, data, prefix)
        flipped = {Truth.TRUE: Truth.FALSE, Truth.FALSE: Truth.TRUE}.get(truth, truth)
        return flipped, paths
    if isinstance(cond, ast.Quantifier):
        where = _join(prefix, cond.path)
        items = lookup(data, cond.path)
        if items is MISSING:
            return Truth.UNKNOWN, {where}
        results = [needed_absent_paths(cond.condition, item, f"{where}[{i}]")
                   for i, item in enumerate(items if isinstance(items, list) else [])]
        return _combine(results, any_of=cond.kind == "some")
    if isinstance(cond, ast.All | ast.Any):
        results = [needed_absent_paths(item, data, prefix) for item in cond.items]
        return _combine(results, any_of=isinstance(cond, ast.Any))
    raise TypeError(f"not a condition: {cond!r}")


def _combine(results: list[tuple[Truth, set[str]]], *, any_of: bool) -> tuple[Truth, set[str]]:
    decisive = Truth.TRUE if any_of else Truth.FALSE
    other = Truth.FALSE if any_of else Truth.TRUE
    for wanted in (decisive, Truth.UNKNOWN):
        picked = [paths for truth, paths in results if truth is wanted]
        if picked:
            return wanted, set().union(*picked)
    return other, set().union(*(paths for _, paths in results)) if results else set()


def read_paths(cond: ast.Condition, prefix: str = "") -> frozenset[str]:
    """Every field path a condition reads, with its ancestors, in pattern form
    (`counterparties[].owners[].country`): used to skip the three-valued reading of rules
    that read no absent field."""
    out: set[str] = set()
    if isinstance(cond, ast.Leaf):
        out.add(_join(prefix, cond.path))
    elif isinstance(cond, ast.Quantifier):
        where = _join(prefix, cond.path)
        out.add(where)
        out |= read_paths(cond.condition, f"{where}[]")
    elif isinstance(cond, ast.Not):
        out |= read_paths(cond.item, prefix)
    else:
        for item in cond.items:
            out |= read_paths(item, prefix)
    with_ancestors: set[str] = set()
    for path in out:
        parts = path.split(".")
        for i in range(1, len(parts) + 1):
            with_ancestors.add(".".join(parts[:i]).removesuffix("[]"))
    return frozenset(with_ancestors)


def absent_paths(data: Any, spec: FieldSpec, prefix: str = "") -> set[str]:
    """The topmost absent fields of the contract in `data`, in pattern form."""
    out: set[str] = set()
    for name, sub in spec.fields.items():
        path = f"{prefix}{name}"
        value = data.get(name) if isinstance(data, dict) else None
        if value is None:
            out.add(path)
        elif sub.kind is Kind.OBJECT:
            out |= absent_paths(value, sub, f"{path}.")
        elif sub.kind is Kind.LIST and sub.item is not None and sub.item.kind is Kind.OBJECT \
                and isinstance(value, list):
            for item in value:
                out |= absent_paths(item, sub.item, f"{path}[].")
    return out


def summary(band: str, score: float, top_factor: str | None, top_contribution: float,
            knockouts: list[tuple[str, str]], decision: str) -> str:
    """One human sentence: band, score, top factor, knockouts, decision."""
    head = f"{band.capitalize()} risk (score {score:.2f} of 100)"
    if top_factor is None:
        body = "no risk rule fired"
    else:
        body = f"driven mostly by {top_factor} ({top_contribution:.2f} points)"
    if knockouts:
        names = "; ".join(f"{rid} {title}" for rid, title in knockouts)
        plural = "knockout" if len(knockouts) == 1 else "knockouts"
        return f"{head}, {body}; {len(knockouts)} {plural} ({names}) force(s) {decision}."
    return f"{head}, {body}: {decision}."
