"""Turns fired rules into factor scores, the overall score, its band and the decision.

Formula (documented for users in README.md and rules/README.md):
- inherent factor score = clamp(Σ points of fired risk and knockout rules, 0, 100);
- residual factor score = max(0, inherent factor score + Σ points of fired mitigations);
- overall score = Σ weightᵢ · factor scoreᵢ / Σ weights (inherent and residual alike);
- a factor's contribution is its term of the residual sum.

Arithmetic is exact (fractions) and rounded once, to cents, half up; contributions are
rounded with the largest-remainder method so that they add up to the score exactly. The same
inputs give the same cents on every platform.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from engine import ast


@dataclass(frozen=True)
class FactorScore:
    factor: ast.Factor
    inherent: float
    score: float
    contribution: float


@dataclass(frozen=True)
class Scores:
    inherent: float
    score: float
    band: str
    decision: str
    factors: tuple[FactorScore, ...]


def _cents(value: Fraction) -> int:
    """Round half up to a whole number of cents (values here are never negative)."""
    scaled = value * 100
    return int(scaled + Fraction(1, 2)) if scaled >= 0 else -int(-scaled + Fraction(1, 2))


def _clamp(value: Fraction, low: int, high: int) -> Fraction:
    return max(Fraction(low), min(Fraction(high), value))


def score(factors: Sequence[ast.Factor], bands: Sequence[ast.Band], knockout_decision: str,
          fired: Sequence[ast.Rule]) -> Scores:
    risk: dict[str, Fraction] = {f.id: Fraction(0) for f in factors}
    relief: dict[str, Fraction] = {f.id: Fraction(0) for f in factors}
    knocked_out = False
    for rule in fired:
        if rule.kind is ast.RuleKind.MITIGATION:
            relief[rule.factor] += Fraction(rule.points)
        else:
            risk[rule.factor] += Fraction(rule.points)
            knocked_out = knocked_out or rule.kind is ast.RuleKind.KNOCKOUT
    total_weight = sum((Fraction(f.weight) for f in factors), Fraction(0))
    inherent_by = {fid: _clamp(points, 0, 100) for fid, points in risk.items()}
    residual_by = {fid: max(Fraction(0), inherent_by[fid] + relief[fid]) for fid in risk}
    terms = [Fraction(f.weight) * residual_by[f.id] / total_weight for f in factors]
    inherent_total = sum((Fraction(f.weight) * inherent_by[f.id] / total_weight
                          for f in factors), Fraction(0))
    score_cents = _cents(sum(terms, Fraction(0)))
    contributions = _largest_remainder(terms, score_cents)
    band = bands[0]
    for candidate in bands:
        if Fraction(score_cents, 100) >= Fraction(candidate.min_score):
            band = candidate
    decision = knockout_decision if knocked_out else band.decision
    return Scores(
        inherent=_cents(inherent_total) / 100,
        score=score_cents / 100,
        band=band.name,
        decision=decision,
        factors=tuple(
            FactorScore(f, _cents(inherent_by[f.id]) / 100, _cents(residual_by[f.id]) / 100,
                        cents / 100)
            for f, cents in zip(factors, contributions, strict=True)),
    )


def _largest_remainder(terms: Sequence[Fraction], total_cents: int) -> list[int]:
    """Cents per term, each floor or ceil of its exact value, summing to `total_cents`."""
    scaled = [t * 100 for t in terms]
    floors = [int(s) for s in scaled]
    short = total_cents - sum(floors)
    order = sorted(range(len(terms)), key=lambda i: (-(scaled[i] - floors[i]), i))
    for i in order[:max(0, short)]:
        floors[i] += 1
    return floors
