"""Explanations: the evidence behind each fired rule and the summary sentence.

durable_rules decides which rules fire; this module shows why. Evidence is read from the
normalised condition of a fired rule: every test on the path that made it hold (of a choice,
the first alternative that holds), with the actual value at an indexed path
(`counterparties[0].country`), each test shown as the analyst wrote it (`not contains x`, not
the per-item form `not` was normalised to). If the explainer cannot see a
fired rule hold, the two disagree and we refuse to issue an assessment (EngineError) rather
than publish an unexplained score. Each rule's evidence function is compiled once, when the
pack loads; `engine.evaluate.reference.evidence` is the interpretive definition it must agree with.
Missing information is engine.evaluate.missing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from engine.evaluate.semantics import MISSING, compile_holds, getter, leaf_test
from engine.language import syntax
from engine.language.operators import OPERATORS, Op


class Evidence(NamedTuple):
    """One test that held: where (an indexed path), the value found there, the test."""

    path: str
    value: Any
    test: str

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "value": self.value, "test": self.test}


EvidenceFn = Callable[[Any, str], "list[Evidence] | None"]
EVERY_EMPTY = "every: the list is empty or absent"


def join(prefix: str, tail: str) -> str:
    """`prefix.tail`, either side possibly empty (the scope itself or the top level)."""
    if not prefix:
        return tail
    return f"{prefix}.{tail}" if tail else prefix


def compile_evidence(cond: syntax.Condition) -> EvidenceFn:
    """A function (data, prefix) → the evidence that normalised `cond` holds on `data`, or
    None when it does not hold. Built once per rule when the pack loads."""
    if isinstance(cond, syntax.Leaf):
        return _leaf_evidence(cond)
    if isinstance(cond, syntax.All):
        parts = tuple(compile_evidence(c) for c in cond.items)

        def every_part(data: Any, prefix: str) -> list[Evidence] | None:
            out: list[Evidence] = []
            for part in parts:
                found = part(data, prefix)
                if found is None:
                    return None
                out += found
            return out

        return every_part
    if isinstance(cond, syntax.Any):
        choices = tuple(compile_evidence(c) for c in cond.items)

        def first_choice(data: Any, prefix: str) -> list[Evidence] | None:
            for choice in choices:
                found = choice(data, prefix)
                if found is not None:
                    return found
            return None

        return first_choice
    if isinstance(cond, syntax.Quantifier):
        return _quantifier_evidence(cond)
    raise TypeError(f"not a normalised condition: {cond!r}")


def _leaf_evidence(leaf: syntax.Leaf) -> EvidenceFn:
    get, test = getter(leaf.path), leaf_test(leaf)
    tail, text = ".".join(leaf.path), leaf.describe()

    def one_leaf(data: Any, prefix: str) -> list[Evidence] | None:
        value = get(data)
        if not test(value):
            return None
        return [Evidence(join(prefix, tail), None if value is MISSING else value, text)]

    return one_leaf


def _quantifier_evidence(q: syntax.Quantifier) -> EvidenceFn:
    if q.negates is not None:
        return _negated_containment(q, q.negates)
    get, per_item, tail = getter(q.path), compile_evidence(q.condition), ".".join(q.path)
    if q.kind == "some":
        def some_item(data: Any, prefix: str) -> list[Evidence] | None:
            items = get(data)
            if not isinstance(items, list):
                return None
            where = join(prefix, tail)
            out: list[Evidence] = []
            for i, item in enumerate(items):
                found = per_item(item, f"{where}[{i}]")
                if found is not None:
                    out += found
            return out or None

        return some_item

    def every_item(data: Any, prefix: str) -> list[Evidence] | None:
        items = get(data)
        where = join(prefix, tail)
        if not isinstance(items, list) or not items:
            return [Evidence(where, None if items is MISSING else [], EVERY_EMPTY)]
        out: list[Evidence] = []
        for i, item in enumerate(items):
            found = per_item(item, f"{where}[{i}]")
            if found is None:
                return None
            out += found
        return out

    return every_item


def negation(written: syntax.Leaf) -> str:
    """The evidence text of a test written under `not`: `not contains export_license`."""
    return f"not {written.describe()}"


def _negated_containment(q: syntax.Quantifier, written: syntax.Leaf) -> EvidenceFn:
    """`not contains x`, normalised to `every item ne x`, shown as written: the list itself."""
    get, holds, tail, text = getter(q.path), compile_holds(q), ".".join(q.path), negation(written)

    def negated(data: Any, prefix: str) -> list[Evidence] | None:
        if not holds(data):
            return None
        items = get(data)
        return [Evidence(join(prefix, tail), None if items is MISSING else items, text)]

    return negated


GUARD_TEST = OPERATORS[Op.EXISTS].word


def _extends(path: str, base: str) -> bool:
    """`path` is `base` itself or a field or item below it (`technologies[0].hs_code`)."""
    return path == base or path.startswith((f"{base}.", f"{base}["))


def without_implied_guards(found: list[Evidence]) -> list[Evidence]:
    """The evidence without the `exists` tests that another test shown already implies.

    Rules guard a list test with `exists` (`technologies` exists, then some technology's
    `hs_code` matches): the value found at `technologies[0].hs_code` proves the guard, and
    showing the guard would dump the whole list into the evidence. A guard stays when nothing
    below its path is shown (the rule asks only that the field is given)."""
    tested = [e.path for e in found if e.test != GUARD_TEST]
    return [e for e in found
            if e.test != GUARD_TEST or not any(_extends(p, e.path) for p in tested)]


CHAIN_TEST = "the holdings that prove it (derived)"
_INDEX = re.compile(r"\[(\d+)\]")


def _at(data: Any, path: str) -> Any:
    """The value at an indexed path (`counterparties[0].ownership`), or None."""
    node = data
    for part in path.split("."):
        name, _, rest = part.partition("[")
        node = node.get(name) if isinstance(node, dict) else None
        for index in _INDEX.findall("[" + rest) if rest else ():
            node = node[int(index)] if isinstance(node, list) and int(index) < len(node) \
                else None
    return node


def with_chains(found: list[Evidence], data: Any) -> list[Evidence]:
    """The evidence, with the proving chain of holdings after each derived ownership fact a
    rule looked at (`counterparties[0].ownership.ofac_blocked` → `...ownership.chain`)."""
    out: list[Evidence] = []
    shown: set[str] = set()
    for item in found:
        out.append(item)
        head, marker, tail = item.path.rpartition(".ownership.")
        if not marker or tail == "chain":
            continue
        where = f"{head}.ownership.chain"
        if where in shown:
            continue
        chain = _at(data, f"{head}.ownership")
        chain = chain.get("chain") if isinstance(chain, dict) else None
        if chain:
            shown.add(where)
            out.append(Evidence(where, list(chain), CHAIN_TEST))
    return out


def summary(band: str, score: float, top_factor: str | None, top_contribution: float,
            knockouts: list[tuple[str, str]], decision: str, *,
            floors: Sequence[tuple[str, str, str]] = (),
            unsettled: Sequence[tuple[str, Sequence[str]]] = ()) -> str:
    """One human sentence: band, score, top factor, knockouts, floors, decision, and when the
    decision is provisional, the absent facts that would settle it."""
    head = f"{band.capitalize()} risk (score {score:.2f} of 100)"
    if top_factor is None:
        body = "no risk rule fired"
    else:
        body = f"driven mostly by {top_factor} ({top_contribution:.2f} points)"
    text = f"{head}, {body}"
    if knockouts:
        names = "; ".join(f"{rid} {title}" for rid, title in knockouts)
        plural, verb = ("knockout", "forces") if len(knockouts) == 1 else ("knockouts", "force")
        text += f"; {len(knockouts)} {plural} ({names}) {verb} {decision}"
    if floors:
        names = "; ".join(f"{rid} {title} (at least {least})" for rid, title, least in floors)
        plural = "floor" if len(floors) == 1 else "floors"
        text += f"; {len(floors)} {plural} ({names})"
    if floors or not knockouts:
        text += f": {decision}"
    if unsettled:
        paths = sorted({p for _, ps in unsettled for p in ps})
        rules = ", ".join(rid for rid, _ in unsettled)
        text += (f"; provisional: {', '.join(paths)} not given, and could trigger {rules}: "
                 "give them to settle the decision")
    return text + "."
