"""Turns fired rules into factor scores, the overall score, its band and the decision.

Formula (documented for users in README.md and rules/README.md):
- raw factor points = Σ points of fired risk and knockout rules (shown, so the clamp is visible);
- inherent factor score = clamp(raw factor points, 0, 100);
- residual factor score = max(0, inherent factor score + Σ points of fired mitigations);
- overall score = Σ weightᵢ · factor scoreᵢ / Σ weights (inherent and residual alike);
- a factor's contribution is its term of the residual sum.

Arithmetic is exact (integers) and rounded once, to cents, half up; contributions are
rounded with the largest-remainder method so that they add up to the score exactly. The same
inputs give the same cents on every platform.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from functools import cache
from math import lcm
from typing import NamedTuple

from engine.language import syntax


class FactorScore(NamedTuple):
    factor: syntax.Factor
    inherent: float
    score: float
    contribution: float
    raw: float = 0.0  # Σ points of the fired risk and knockout rules, before the clamp to 0..100


class Scores(NamedTuple):
    inherent: float
    score: float
    band: str
    decision: str
    factors: tuple[FactorScore, ...]


def _div_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half up (both non-negative)."""
    return (2 * numerator + denominator) // (2 * denominator)


@cache
def _integer_weights(weights: tuple[float, ...]) -> tuple[int, ...]:
    """The weights scaled to integers with the same ratios (exact: floats are binary fractions)."""
    fractions = [Fraction(w) for w in weights]
    scale = lcm(*(f.denominator for f in fractions))
    return tuple(int(f * scale) for f in fractions)


class Scorer:
    """The formula for one pack, with everything that does not depend on the fired rules
    (factor positions, integer weights, band thresholds in cents, each rule's cents) worked
    out once: `scorer(fired)` runs on every assessment."""

    def __init__(self, factors: Sequence[syntax.Factor], bands: Sequence[syntax.Band],
                 knockout_decision: str, rules: Sequence[syntax.Rule] = ()) -> None:
        self._factors = tuple(factors)
        self._position = {f.id: i for i, f in enumerate(self._factors)}
        self._weights = _integer_weights(tuple(f.weight for f in self._factors))
        self._total = sum(self._weights)
        self._bands = tuple((round(b.min_score * 100), b) for b in bands)
        self._knockout_decision = knockout_decision
        self._terms = {r.id: self._term(r) for r in rules}

    def _term(self, rule: syntax.Rule) -> tuple[syntax.Rule, int, int, bool, bool]:
        """(rule, factor position, cents, is a mitigation, is a knockout)."""
        # Points carry at most two decimals (the language checks it): integer cents are exact.
        return (rule, self._position[rule.factor], round(rule.points * 100),
                rule.kind is syntax.RuleKind.MITIGATION, rule.kind is syntax.RuleKind.KNOCKOUT)

    def __call__(self, fired: Sequence[syntax.Rule]) -> Scores:
        count = len(self._factors)
        risk, relief = [0] * count, [0] * count
        knocked_out = False
        for rule in fired:
            term = self._terms.get(rule.id)
            if term is None or term[0] is not rule:  # a rule from outside the pack
                term = self._term(rule)
            _, position, cents, mitigation, knockout = term
            if mitigation:
                relief[position] += cents
            else:
                risk[position] += cents
                knocked_out = knocked_out or knockout
        inherent = [max(0, min(10_000, cents)) for cents in risk]
        residual = [max(0, a + b) for a, b in zip(inherent, relief, strict=True)]
        # Exact arithmetic on integers: weights as fractions over a common denominator, so a
        # factor's term in cents is numerator / total exactly.
        weights, total = self._weights, self._total
        numerators = [w * cents for w, cents in zip(weights, residual, strict=True)]
        inherent_numerator = sum(w * cents for w, cents in zip(weights, inherent, strict=True))
        score_cents = _div_half_up(sum(numerators), total)
        contributions = _largest_remainder(numerators, total, score_cents)
        band = self._bands[0][1]
        for threshold, candidate in self._bands:
            if score_cents >= threshold:
                band = candidate
        return Scores(
            inherent=_div_half_up(inherent_numerator, total) / 100,
            score=score_cents / 100,
            band=band.name,
            decision=self._knockout_decision if knocked_out else band.decision,
            factors=tuple(
                FactorScore(f, i / 100, r / 100, c / 100, p / 100)
                for f, i, r, c, p in zip(self._factors, inherent, residual, contributions, risk,
                                         strict=True)),
        )


def score(factors: Sequence[syntax.Factor], bands: Sequence[syntax.Band], knockout_decision: str,
          fired: Sequence[syntax.Rule]) -> Scores:
    """The scores of `fired` (for one-off use: a pack keeps its Scorer)."""
    return Scorer(factors, bands, knockout_decision)(fired)


def _largest_remainder(numerators: Sequence[int], denominator: int, total_cents: int) -> list[int]:
    """Whole cents per term numerator/denominator (each its floor or ceiling) summing to
    `total_cents`; the largest remainders get the extra cents, ties in declared order."""
    floors = [n // denominator for n in numerators]
    short = total_cents - sum(floors)
    if short <= 0:
        return floors
    order = sorted(range(len(numerators)), key=lambda i: (-(numerators[i] % denominator), i))
    for i in order[:short]:
        floors[i] += 1
    return floors
