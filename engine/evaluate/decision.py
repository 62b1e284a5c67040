"""The final decision of an assessment: the strictest of the band's decision, every floor and
every knockout, raised to the pack's `incomplete_decision` when an absent field could make a
knockout or a floor fire (a provisional decision); and the knockouts and floors that were
checked and found clear.

The vocabulary and its order are `engine.language.syntax.DECISIONS`; the interpretive definition this
module must agree with is `engine.evaluate.reference.decide`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from engine.evaluate.missing import Reading, Truth
from engine.language import syntax


class Unsettled(NamedTuple):
    """A knockout or floor that did not fire but could, once the absent `paths` are known."""

    rule: syntax.Rule
    decision: str
    paths: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        return {"rule": self.rule.id, "title": self.rule.title, "kind": self.rule.kind.value,
                "decision": self.decision, "paths": list(self.paths)}


class Outcome(NamedTuple):
    decision: str
    band_decision: str
    floors: tuple[syntax.Rule, ...]
    provisional: bool
    unsettled: tuple[Unsettled, ...]
    checked_clear: tuple[syntax.Rule, ...]


def clear_entry(rule: syntax.Rule) -> dict[str, object]:
    """A checked-and-clear knockout or floor as the assessment lists it."""
    out: dict[str, object] = {"rule": rule.id, "title": rule.title, "kind": rule.kind.value}
    if rule.at_least is not None:
        out["at_least"] = rule.at_least
    return out


class Decider:
    """`decider(fired, band_decision, readings, day)` → the Outcome, for one pack."""

    def __init__(self, rules: Sequence[syntax.Rule], knockout_decision: str,
                 incomplete_decision: str) -> None:
        self._decisive = tuple(r for r in rules if r.decisive)
        self._knockout = knockout_decision
        self._incomplete = incomplete_decision

    def forces(self, rule: syntax.Rule) -> str:
        """The decision `rule` forces (knockout) or sets as a floor when it fires."""
        if rule.kind is syntax.RuleKind.KNOCKOUT:
            return self._knockout
        return rule.at_least or syntax.DECISIONS[0]

    def __call__(self, fired: Sequence[syntax.Rule], band_decision: str,
                 readings: Iterable[tuple[syntax.Rule, Reading]], day: dt.date) -> Outcome:
        decision = band_decision
        floors: list[syntax.Rule] = []
        fired_ids: set[str] = set()
        for rule in fired:
            fired_ids.add(rule.id)
            if rule.kind is syntax.RuleKind.KNOCKOUT:
                decision = syntax.strictest(decision, self._knockout)
            elif rule.at_least is not None:
                floors.append(rule)
                decision = syntax.strictest(decision, rule.at_least)
        unsettled: list[Unsettled] = []
        unsettled_ids: set[str] = set()
        for rule, (truth, paths) in readings:
            if truth is Truth.UNKNOWN and rule.decisive and rule.id not in fired_ids:
                unsettled.append(Unsettled(rule, self.forces(rule), tuple(sorted(paths))))
                unsettled_ids.add(rule.id)
        strictness = syntax.STRICTNESS
        provisional = any(strictness[u.decision] > strictness[decision] for u in unsettled)
        if provisional:
            decision = syntax.strictest(decision, self._incomplete)
        clear = tuple(r for r in self._decisive
                      if r.id not in fired_ids and r.id not in unsettled_ids
                      and r.active_on(day))
        unsettled.sort(key=lambda u: u.rule.index)
        return Outcome(decision, band_decision, tuple(floors), provisional, tuple(unsettled),
                       clear)
