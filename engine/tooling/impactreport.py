"""The impact report: what `riskrules diff` shows, as data (engine.tooling.impact computes it).

Decision and band matrices, score deltas, per-rule fire counts, the proposals whose outcome
changed, failures, timing, and the differences the two packs declare (rules, lists, settings),
each with its JSON form; rendering belongs to the CLI.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from engine.language import syntax
from engine.pack import Pack

# ---------------------------------------------------------------------------------------------
# the report


@dataclass(frozen=True)
class Side:
    """What one pack made of one proposal: just what the comparison needs."""

    decision: str
    band: str
    score: float
    fired: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"decision": self.decision, "band": self.band, "score": self.score,
                "fired": list(self.fired)}


@dataclass(frozen=True)
class Outcome:
    """One proposal scored under both packs, or why it could not be (`error`)."""

    index: int
    origin: str
    label: str
    base: Side | None = None
    head: Side | None = None
    error: str | None = None  # "invalid" (breaks the contract) or "engine" (scoring failed)
    messages: tuple[str, ...] = ()


@dataclass(frozen=True)
class PackInfo:
    source: str
    name: str
    version: str
    digest: str
    rules: int

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "name": self.name, "version": self.version,
                "digest": self.digest, "rules": self.rules}


@dataclass(frozen=True)
class Matrix:
    """Counts of proposals by (base value, head value); `labels` orders rows and columns."""

    labels: tuple[str, ...]
    counts: Mapping[tuple[str, str], int]

    def get(self, base: str, head: str) -> int:
        return self.counts.get((base, head), 0)

    @property
    def changed(self) -> int:
        return sum(n for (b, h), n in self.counts.items() if b != h)

    def row_total(self, base: str) -> int:
        return sum(n for (b, _), n in self.counts.items() if b == base)

    def column_total(self, head: str) -> int:
        return sum(n for (_, h), n in self.counts.items() if h == head)

    def to_dict(self) -> dict[str, Any]:
        return {"labels": list(self.labels), "changed": self.changed,
                "counts": {b: {h: self.get(b, h) for h in self.labels} for b in self.labels}}


@dataclass(frozen=True)
class ScoreDeltas:
    """Distribution of head score − base score over the assessed proposals."""

    minimum: float | None
    median: float | None
    maximum: float | None
    increased: int
    decreased: int
    unchanged: int

    def to_dict(self) -> dict[str, Any]:
        return {"min": self.minimum, "median": self.median, "max": self.maximum,
                "increased": self.increased, "decreased": self.decreased,
                "unchanged": self.unchanged}


@dataclass(frozen=True)
class RuleCount:
    """A rule whose fire count differs between the packs, or that only one pack has."""

    rule: str
    title: str
    status: str  # "changed", "added" (head only) or "removed" (base only)
    base_fires: int | None
    head_fires: int | None
    base_points: float | None
    head_points: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "title": self.title, "status": self.status,
                "base": None if self.base_fires is None else
                {"fires": self.base_fires, "points": number(self.base_points)},
                "head": None if self.head_fires is None else
                {"fires": self.head_fires, "points": number(self.head_points)}}


@dataclass(frozen=True)
class RuleDifference:
    """A rule behind a changed decision: fired under one pack only, or with other points."""

    rule: str
    title: str
    change: str  # "base_only", "head_only" or "points"
    base_points: float | None
    head_points: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "title": self.title, "change": self.change,
                "base_points": number(self.base_points), "head_points": number(self.head_points)}


@dataclass(frozen=True)
class ScoreChange:
    """A proposal whose score changed (whether or not its decision did), with the delta."""

    index: int
    origin: str
    label: str
    base: Side
    head: Side

    @property
    def score_delta(self) -> float:
        return float(cents(self.head.score) - cents(self.base.score))

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "origin": self.origin, "label": self.label,
                "base": {"decision": self.base.decision, "band": self.base.band,
                         "score": self.base.score},
                "head": {"decision": self.head.decision, "band": self.head.band,
                         "score": self.head.score},
                "score_delta": self.score_delta}


@dataclass(frozen=True)
class ChangedProposal(ScoreChange):
    """A proposal whose decision or band changed: its score change and the rules behind it."""

    rules: tuple[RuleDifference, ...]

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "rules": [r.to_dict() for r in self.rules]}


@dataclass(frozen=True)
class Failure:
    index: int
    origin: str
    label: str
    kind: str
    messages: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "origin": self.origin, "label": self.label,
                "kind": self.kind, "messages": list(self.messages)}


@dataclass(frozen=True)
class PackChange:
    """One declared difference between the packs (a weight, a band, a rule's points, ...):
    what explains a changed decision when no rule fired differently."""

    kind: str  # factor | band | knockouts | screening | rule | list
    id: str
    field: str  # "added", "removed", or the attribute that changed
    base: Any = None
    head: Any = None

    def describe(self) -> str:
        if self.field in ("added", "removed"):
            return f"{self.kind} {self.id} {self.field}"
        if self.field == "condition":
            return f"{self.kind} {self.id}: condition changed (or a list it uses)"
        if self.field == "entries":
            parts = [f"+{v}" for v in self.head or ()] + [f"-{v}" for v in self.base or ()]
            return f"{self.kind} {self.id}: entries {' '.join(parts)}"
        return f"{self.kind} {self.id}: {self.field} {_show(self.base)} → {_show(self.head)}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id, "field": self.field,
                "base": _jsonable(self.base), "head": _jsonable(self.head),
                "description": self.describe()}


@dataclass(frozen=True)
class Timing:
    workers: int
    seconds: float
    proposals: int

    @property
    def proposals_per_second(self) -> float:
        return self.proposals / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"workers": self.workers, "seconds": round(self.seconds, 3),
                "proposals_per_second": round(self.proposals_per_second, 1)}


@dataclass(frozen=True)
class ImpactReport:
    """Everything `riskrules diff` prints, in every format."""

    base: PackInfo
    head: PackInfo
    as_of: dt.date
    total: int
    decisions: Matrix
    bands: Matrix
    scores: ScoreDeltas
    rules: tuple[RuleCount, ...]
    changed: tuple[ChangedProposal, ...]
    failures: tuple[Failure, ...]
    pack_changes: tuple[PackChange, ...]
    timing: Timing
    # every proposal whose score changed, in corpus order (`changed`: whose decision changed)
    score_changes: tuple[ScoreChange, ...] = ()

    @property
    def assessed(self) -> int:
        return self.total - len(self.failures)

    @property
    def invalid(self) -> int:
        return sum(1 for f in self.failures if f.kind == "invalid")

    @property
    def engine_failures(self) -> int:
        return sum(1 for f in self.failures if f.kind != "invalid")

    @property
    def identical_packs(self) -> bool:
        return self.base.digest == self.head.digest

    def to_dict(self, *, timing: bool = True) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "base": self.base.to_dict(),
            "head": self.head.to_dict(),
            "identical_packs": self.identical_packs,
            "as_of": self.as_of.isoformat(),
            "proposals": {"total": self.total, "assessed": self.assessed,
                          "invalid": self.invalid, "failed": self.engine_failures,
                          "decision_changed": len(self.changed),
                          "band_changed": self.bands.changed,
                          "score_changed": self.scores.increased + self.scores.decreased},
            "decisions": self.decisions.to_dict(),
            "bands": self.bands.to_dict(),
            "score_deltas": self.scores.to_dict(),
            "rules": [r.to_dict() for r in self.rules],
            "pack_changes": [c.to_dict() for c in self.pack_changes],
            "changed": [c.to_dict() for c in self.changed],
            "score_changes": [c.to_dict() for c in self.score_changes],
            "errors": [f.to_dict() for f in self.failures],
        }
        if timing:
            doc["timing"] = self.timing.to_dict()
        return doc


def number(value: float | None) -> int | float | None:
    """Points as a reader writes them: 40, not 40.0."""
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


def _show(value: Any) -> str:
    if isinstance(value, float):
        return str(number(value))
    if isinstance(value, dt.date):
        return value.isoformat()
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, float):
        return number(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    return value


def cents(score: float) -> Decimal:
    # Scores are rounded to cents by the engine; repr gives back exactly those digits.
    return Decimal(repr(score))


# ---------------------------------------------------------------------------------------------
# declared differences between the packs


_RULE_FIELDS = ("points", "kind", "factor", "enabled", "effective_from", "effective_until")


def pack_changes(base: Pack, head: Pack) -> tuple[PackChange, ...]:
    """What the head pack declares differently: factor weights, bands, knockout decision,
    screening settings, rules (added, removed, points, kind, condition, ...) and lists."""
    out: list[PackChange] = []
    old_factors = {f.id: f for f in base.factors}
    new_factors = {f.id: f for f in head.factors}
    for fid, f in new_factors.items():
        if fid not in old_factors:
            out.append(PackChange("factor", fid, "added", None, f.weight))
        elif old_factors[fid].weight != f.weight:
            out.append(PackChange("factor", fid, "weight", old_factors[fid].weight, f.weight))
    out += [PackChange("factor", fid, "removed", f.weight, None)
            for fid, f in old_factors.items() if fid not in new_factors]
    old_bands = {b.name: b for b in base.bands}
    new_bands = {b.name: b for b in head.bands}
    for name, band in new_bands.items():
        old = old_bands.get(name)
        if old is None:
            out.append(PackChange("band", name, "added", None, band.min_score))
            continue
        if old.min_score != band.min_score:
            out.append(PackChange("band", name, "min", old.min_score, band.min_score))
        if old.decision != band.decision:
            out.append(PackChange("band", name, "decision", old.decision, band.decision))
    out += [PackChange("band", name, "removed", b.min_score, None)
            for name, b in old_bands.items() if name not in new_bands]
    if base.spec.knockout_decision != head.spec.knockout_decision:
        out.append(PackChange("knockouts", "knockouts", "decision",
                              base.spec.knockout_decision, head.spec.knockout_decision))
    out += _screening_changes(base.spec.screening, head.spec.screening)
    out += _rule_changes(base.rules, head.rules)
    out += _list_changes(base.lists, head.lists)
    return tuple(out)


def _screening_changes(old: syntax.ScreeningSettings | None,
                       new: syntax.ScreeningSettings | None) -> list[PackChange]:
    out = []
    if (old.threshold if old else None) != (new.threshold if new else None):
        out.append(PackChange("screening", "screening", "threshold",
                              old.threshold if old else None, new.threshold if new else None))
    if (old.watchlists if old else ()) != (new.watchlists if new else ()):
        out.append(PackChange("screening", "screening", "watchlists",
                              list(old.watchlists) if old else [],
                              list(new.watchlists) if new else []))
    return out


def _rule_changes(old_rules: Sequence[syntax.Rule], new_rules: Sequence[syntax.Rule]) -> list[PackChange]:
    out = []
    old_by_id = {r.id: r for r in old_rules}
    new_ids = {r.id for r in new_rules}
    for rule in new_rules:
        old = old_by_id.get(rule.id)
        if old is None:
            out.append(PackChange("rule", rule.id, "added", None, rule.points))
            continue
        for name in _RULE_FIELDS:
            before, after = getattr(old, name), getattr(rule, name)
            if before != after:
                out.append(PackChange("rule", rule.id, name,
                                      before.value if isinstance(before, syntax.RuleKind) else before,
                                      after.value if isinstance(after, syntax.RuleKind) else after))
        if old.when != rule.when:  # positions do not take part in AST equality
            out.append(PackChange("rule", rule.id, "condition"))
    out += [PackChange("rule", r.id, "removed", r.points, None)
            for r in old_rules if r.id not in new_ids]
    return out


def _list_changes(old: Mapping[str, syntax.RefList],
                  new: Mapping[str, syntax.RefList]) -> list[PackChange]:
    out = []
    for name in sorted(set(old) | set(new)):
        if name not in old:
            out.append(PackChange("list", name, "added"))
        elif name not in new:
            out.append(PackChange("list", name, "removed"))
        else:
            before, after = set(old[name].values), set(new[name].values)
            if before != after:
                out.append(PackChange("list", name, "entries", sorted(before - after),
                                      sorted(after - before)))
    return out
