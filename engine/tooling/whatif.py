"""What would change the decision: counterfactual readings of one proposal under one pack.

Two questions a reviewer asks, answered by re-running the engine itself (no model of it):

- **Missing information**: for each absent field that decided some rule, the decision with
  the field present. Candidate values come from the tests the pack's rules apply to that
  field (each bound of a comparison and its neighbours, a member of each list and a value
  outside all of them, every choice of an enumeration, true and false) and from the
  contract; the proposal is assessed with each one, and the most lenient outcome (the
  *benign* value) and the strictest (the *adverse* value) are reported.
- **Band edge**: for a deal whose residual score is within `margin` points of a band
  threshold, the smallest sets of changes that move it across: fired risk or knockout
  rules that would not fire, absent mitigations that would, or (upwards) fired
  mitigations that would not. The search tries every set of one change, then of two, and so
  on (exact up to `max_changes`), scoring and deciding each with the pack's own formula and
  decision rules (floors, knockouts and the provisional raise included).

No Flask, no storage: `api/` and the pages call `what_if(pack, proposal)`.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.evaluate.explain import join
from engine.evaluate.scoring import Scores
from engine.language import syntax
from engine.language.contract import FieldSpec, Kind, iso_countries
from engine.language.syntax import DECISIONS

SEVERITY = {name: rank for rank, name in enumerate(DECISIONS)}
DEFAULT_MARGIN = 5.0
DEFAULT_MAX_CHANGES = 3
MAX_CANDIDATES = 40          # values tried per missing field
MAX_EVALUATIONS = 50_000     # scorer calls of one band-edge search
_INDEX = re.compile(r"\[\d+\]")
_STEP = re.compile(r"([^.\[\]]+)((?:\[\d+\])*)")


def severity(decision: str) -> int:
    """Rank of a decision, strictest highest (unknown names rank above every known one)."""
    return SEVERITY.get(decision, len(SEVERITY))


@dataclass(frozen=True)
class Outcome:
    """Decision, band and residual score of one (hypothetical) assessment."""

    decision: str
    band: str
    score: float

    def key(self) -> tuple[int, float]:
        return severity(self.decision), self.score

    def to_dict(self) -> dict[str, Any]:
        return {"decision": self.decision, "band": self.band, "score": self.score}


@dataclass(frozen=True)
class Trial:
    """One value tried for a missing field and what the engine made of it."""

    value: Any
    outcome: Outcome

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, **self.outcome.to_dict()}


@dataclass(frozen=True)
class FieldEffect:
    """A missing field: the rules it decided, its most lenient and strictest values."""

    path: str
    rules: tuple[str, ...]
    benign: Trial
    adverse: Trial
    tried: int

    @property
    def decisive(self) -> bool:
        """Whether supplying the field can change the decision."""
        return self.benign.outcome.decision != self.adverse.outcome.decision

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "rules": list(self.rules), "decisive": self.decisive,
                "benign": self.benign.to_dict(), "adverse": self.adverse.to_dict(),
                "values_tried": self.tried}


@dataclass(frozen=True)
class Change:
    """One hypothetical change of the fired set: a rule that would (not) fire."""

    rule: str
    title: str
    kind: str
    factor: str
    points: float
    fires: bool  # True: an absent mitigation that would fire; False: a fired rule that would not

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "title": self.title, "kind": self.kind,
                "factor": self.factor, "points": self.points,
                "change": "would fire" if self.fires else "would not fire"}


@dataclass(frozen=True)
class EdgeMove:
    """A smallest set of changes that moves the score across a band threshold."""

    direction: str  # "down" (a more lenient band) or "up"
    threshold: float
    changes: tuple[Change, ...]
    outcome: Outcome

    def to_dict(self) -> dict[str, Any]:
        return {"direction": self.direction, "threshold": self.threshold,
                "changes": [c.to_dict() for c in self.changes],
                "outcome": self.outcome.to_dict()}


@dataclass(frozen=True)
class WhatIf:
    """Everything `what_if` found for one proposal."""

    current: Outcome
    fields: tuple[FieldEffect, ...]
    margin: float
    edges: tuple[EdgeMove, ...] = ()
    near_edges: tuple[tuple[str, float], ...] = field(default=())  # (direction, threshold)
    complete: bool = True  # False when a band-edge search hit MAX_EVALUATIONS

    def to_dict(self) -> dict[str, Any]:
        return {
            "current": self.current.to_dict(),
            "missing_fields": [f.to_dict() for f in self.fields],
            "band_edge": {
                "margin": self.margin,
                "near": [{"direction": d, "threshold": t} for d, t in self.near_edges],
                "moves": [e.to_dict() for e in self.edges],
                "complete": self.complete,
            },
        }


# ---------------------------------------------------------------------------------------------
# paths


def pattern_of(path: str) -> str:
    """`counterparties[0].owners` → `counterparties[].owners`."""
    return _INDEX.sub("[]", path)


def spec_at(pattern: str, root: FieldSpec) -> FieldSpec | None:
    """The contract spec of a pattern path (lists crossed by `[]`), or None."""
    spec: FieldSpec | None = root
    for segment in pattern.split("."):
        name, items = segment.removesuffix("[]"), segment.endswith("[]")
        if spec is None or spec.kind is not Kind.OBJECT or name not in spec.fields:
            return None
        spec = spec.fields[name]
        if items:
            spec = spec.item if spec.kind is Kind.LIST else None
    return spec


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set an indexed path (`counterparties[0].state_owned`) in place, creating objects."""
    steps: list[str | int] = []
    for match in _STEP.finditer(path):
        steps.append(match.group(1))
        steps.extend(int(i) for i in re.findall(r"\d+", match.group(2)))
    if not steps:
        raise ValueError(f"not a path: {path!r}")
    node: Any = data
    for step, following in itertools.pairwise(steps):
        child = node[step] if isinstance(step, int) else node.get(step)
        if child is None:
            child = [] if isinstance(following, int) else {}
            node[step] = child
        node = child
    node[steps[-1]] = value


# ---------------------------------------------------------------------------------------------
# candidate values


def _leaves(cond: syntax.Condition, prefix: str = "") -> Iterator[tuple[str, syntax.Leaf]]:
    """Every leaf of a condition with its full pattern path."""
    if isinstance(cond, syntax.Leaf):
        yield join(prefix, ".".join(cond.path)), cond
    elif isinstance(cond, syntax.Quantifier):
        yield from _leaves(cond.condition, f"{join(prefix, '.'.join(cond.path))}[]")
    elif isinstance(cond, syntax.Not):
        yield from _leaves(cond.item, prefix)
    else:
        for item in cond.items:
            yield from _leaves(item, prefix)


def _operands(leaf: syntax.Leaf) -> list[Any]:
    if leaf.values:
        return list(leaf.values)
    return [] if leaf.value is None else [leaf.value]


def _numbers(bounds: Sequence[float], spec: FieldSpec) -> list[Any]:
    step: float = 1
    if spec.kind is Kind.NUMBER and spec.minimum is not None and spec.maximum is not None:
        step = min(1.0, (spec.maximum - spec.minimum) / 100)
    out: list[Any] = []
    for bound in bounds:
        out += [bound - step, bound, bound + step]
    for edge in (spec.minimum, spec.maximum):
        if edge is not None:
            out.append(edge)
    lo = spec.minimum if spec.minimum is not None else float("-inf")
    hi = spec.maximum if spec.maximum is not None else float("inf")
    kept = [v for v in out if lo <= v <= hi]
    if spec.kind is Kind.INTEGER:
        kept = [int(v) for v in kept if float(v).is_integer()]
    else:
        kept = [int(v) if float(v).is_integer() else round(v, 6) for v in kept]
    return kept or [0]


def _outside(spec: FieldSpec, used: set[Any]) -> Any:
    """A value of the field's kind that none of the tests named."""
    if spec.kind is Kind.COUNTRY:
        pool: Sequence[Any] = sorted(iso_countries())
    elif spec.kind is Kind.ENUM:
        pool = spec.choices
    elif spec.kind is Kind.CURRENCY:
        pool = ("USD", "EUR", "GBP", "CHF", "JPY")
    else:
        pool = ("unspecified",)
    for value in pool:
        if value not in used:
            return value
    return None


def _scalar_values(spec: FieldSpec, leaves: Sequence[syntax.Leaf]) -> list[Any]:
    if spec.kind is Kind.BOOLEAN:
        return [True, False]
    if spec.kind.is_numeric:
        bounds = [float(v) for leaf in leaves for v in _operands(leaf)
                  if isinstance(v, int | float) and not isinstance(v, bool)]
        return _numbers(bounds, spec)
    used: set[Any] = set()
    out: list[Any] = []
    for leaf in leaves:
        for value in _operands(leaf)[:3]:
            if isinstance(value, str) and value not in used:
                used.add(value)
                out.append(value)
        used.update(v for v in _operands(leaf) if isinstance(v, str))
    if spec.kind is Kind.ENUM:
        out += [c for c in spec.choices if c not in out]
    outside = _outside(spec, used)
    if outside is not None and outside not in out:
        out.append(outside)
    return out


def _placeholder(spec: FieldSpec) -> Any:
    """A neutral value for a required field that is not the one being varied."""
    if spec.kind is Kind.COUNTRY:
        return "US"
    if spec.kind is Kind.CURRENCY:
        return "USD"
    if spec.kind is Kind.ENUM:
        return spec.choices[0]
    if spec.kind.is_numeric:
        return spec.minimum or 0
    if spec.kind is Kind.BOOLEAN:
        return False
    if spec.kind is Kind.LIST:
        return []
    if spec.kind is Kind.OBJECT:
        return _object_with(spec, {})
    return "hypothetical"


def _object_with(spec: FieldSpec, given: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(given)
    for name, sub in spec.fields.items():
        if name not in out and sub.required and not sub.derived:
            out[name] = _placeholder(sub)
    for first, second in spec.together:
        if first in out and second not in out:
            out[second] = _placeholder(spec.fields[second])
    return out


# Complexity D (25, radon), kept in one piece: one branch per field kind, each proposing the values
# the rules' leaves on that field make worth trying.
def candidate_values(pattern: str, spec: FieldSpec, rules: Sequence[syntax.Rule]) -> list[Any]:
    """Values worth trying for the absent field at `pattern`, given the rules that read it."""
    leaves: dict[str, list[syntax.Leaf]] = {}
    for rule in rules:
        for where, leaf in _leaves(rule.when):
            if where == pattern or where.startswith((pattern + ".", pattern + "[]")):
                leaves.setdefault(where, []).append(leaf)
    out: list[Any] = []
    if spec.kind is Kind.LIST and spec.item is not None:
        out.append([])
        if spec.item.kind is Kind.OBJECT:
            out += [[obj] for obj in candidate_values(pattern + "[]", spec.item, rules)
                    if obj != {}]
        else:
            items = leaves.get(pattern + "[]", [])
            singles = _scalar_values(spec.item, items) if items else []
            for leaf in leaves.get(pattern, []):
                singles += [v for v in _operands(leaf) if v not in singles]
            out += [[v] for v in singles]
            if len(singles) > 1:
                out.append(singles)
    elif spec.kind is Kind.OBJECT:
        out.append(_object_with(spec, {}))
        for name, sub in spec.fields.items():
            below = f"{pattern}.{name}"
            if sub.derived or not any(w == below or w.startswith((below + ".", below + "["))
                                      for w in leaves):
                continue
            for value in candidate_values(below, sub, rules):
                out.append(_object_with(spec, {name: value}))
    else:
        out = _scalar_values(spec, leaves.get(pattern, []))
    unique: list[Any] = []
    for value in out:
        if value not in unique:
            unique.append(value)
    return unique[:MAX_CANDIDATES]


# ---------------------------------------------------------------------------------------------
# the analysis


def _outcome(assessment: Any) -> Outcome:
    return Outcome(assessment.decision, assessment.band, float(assessment.score))


def missing_field_effects(pack: Any, proposal: Mapping[str, Any], day: dt.date,
                          missing: Sequence[tuple[str, Sequence[str]]]) -> list[FieldEffect]:
    """For each missing field, the most lenient and strictest outcomes with it supplied."""
    created = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    effects: list[FieldEffect] = []
    for path, rule_ids in missing:
        pattern = pattern_of(path)
        spec = spec_at(pattern, pack.contract.root)
        if spec is None or spec.derived:
            continue
        rules = [r for r in (pack.rule(rid) for rid in rule_ids) if r is not None]
        trials: list[Trial] = []
        for value in candidate_values(pattern, spec, rules):
            changed = copy.deepcopy(dict(proposal))
            set_path(changed, path, copy.deepcopy(value))
            # a hypothetical: the proposal was validated, the supplied value is the rules' own
            trials.append(Trial(value, _outcome(pack.assess(changed, as_of=day,
                                                            created_at=created,
                                                            validate=False))))
        if not trials:
            continue
        benign = min(trials, key=lambda t: t.outcome.key())
        adverse = max(trials, key=lambda t: t.outcome.key())
        effects.append(FieldEffect(path, tuple(rule_ids), benign, adverse, len(trials)))
    return effects


def _band_index(pack: Any, band: str) -> int:
    return next(i for i, b in enumerate(pack.bands) if b.name == band)


Decide = Callable[[Sequence[syntax.Rule]], tuple[Scores, str]]


def band_edge_moves(pack: Any, decide: Decide, fired: Sequence[syntax.Rule], day: dt.date, *,
                    margin: float = DEFAULT_MARGIN, max_changes: int = DEFAULT_MAX_CHANGES,
                    limit: int = 3) -> tuple[list[tuple[str, float]], list[EdgeMove], bool]:
    """The thresholds within `margin` of the score and, for each, up to `limit` smallest sets
    of changes that cross it (fewest changes first, then the furthest move). `decide` gives
    the scores and decision of a fired set (`Pack.decider`). Returns (near thresholds, moves,
    complete)."""
    now, _ = decide(fired)
    index = _band_index(pack, now.band)
    bands = pack.bands
    near: list[tuple[str, float]] = []
    if index > 0 and now.score - bands[index].min_score <= margin:
        near.append(("down", float(bands[index].min_score)))
    if index + 1 < len(bands) and bands[index + 1].min_score - now.score <= margin:
        near.append(("up", float(bands[index + 1].min_score)))
    fired_ids = {r.id for r in fired}
    moves: list[EdgeMove] = []
    complete = True
    for direction, threshold in near:
        if direction == "down":
            options = [Change(r.id, r.title, r.kind.value, r.factor, r.points, False)
                       for r in fired if r.kind is not syntax.RuleKind.MITIGATION]
            options += [Change(r.id, r.title, r.kind.value, r.factor, r.points, True)
                        for r in pack.rules if r.kind is syntax.RuleKind.MITIGATION
                        and r.id not in fired_ids and r.active_on(day)]
        else:
            options = [Change(r.id, r.title, r.kind.value, r.factor, r.points, False)
                       for r in fired if r.kind is syntax.RuleKind.MITIGATION]
        found, done = _smallest_sets(pack, decide, fired, options, direction, index,
                                     max_changes)
        complete = complete and done
        found.sort(key=lambda m: (len(m[0]), m[1].score if direction == "down" else -m[1].score))
        moves += [EdgeMove(direction, threshold, changes, outcome)
                  for changes, outcome in found[:limit]]
    return near, moves, complete


def _smallest_sets(pack: Any, decide: Decide, fired: Sequence[syntax.Rule],
                   options: Sequence[Change], direction: str, index: int,
                   max_changes: int) -> tuple[list[tuple[tuple[Change, ...], Outcome]], bool]:
    by_id = {r.id: r for r in pack.rules}
    budget = MAX_EVALUATIONS
    for size in range(1, min(max_changes, len(options)) + 1):
        found: list[tuple[tuple[Change, ...], Outcome]] = []
        for combo in itertools.combinations(options, size):
            budget -= 1
            if budget < 0:
                return found, False
            gone = {c.rule for c in combo if not c.fires}
            added = [by_id[c.rule] for c in combo if c.fires]
            scores, decision = decide([r for r in fired if r.id not in gone] + added)
            moved = _band_index(pack, scores.band)
            if (moved < index) if direction == "down" else (moved > index):
                found.append((combo, Outcome(decision, scores.band, scores.score)))
        if found:
            return found, True
    return [], True


def what_if(pack: Any, proposal: Mapping[str, Any], *, as_of: dt.date | None = None,
            margin: float = DEFAULT_MARGIN, max_changes: int = DEFAULT_MAX_CHANGES) -> WhatIf:
    """What would change the decision on `proposal` (already validated) under `pack`."""
    day = as_of or dt.datetime.now(dt.UTC).date()
    created = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    assessment = pack.assess(proposal, as_of=day, created_at=created)
    effects = missing_field_effects(pack, proposal, day, assessment.missing_information)
    fired = [hit.rule for hit in assessment.hits]
    near, moves, complete = band_edge_moves(pack, pack.decider(proposal, day), fired, day,
                                            margin=margin, max_changes=max_changes)
    return WhatIf(_outcome(assessment), tuple(effects), margin, tuple(moves), tuple(near),
                  complete)
