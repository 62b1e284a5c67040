"""Turns fired rules into factor scores, the overall score, its band and the decision.

Formula (documented for users in README.md and rules/README.md):
- inherent factor score = clamp(Σ points of fired risk and knockout rules, 0, 100);
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

from engine import ast


class FactorScore(NamedTuple):
    factor: ast.Factor
    inherent: float
    score: float
    contribution: float


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


def score(factors: Sequence[ast.Factor], bands: Sequence[ast.Band], knockout_decision: str,
          fired: Sequence[ast.Rule]) -> Scores:
    # Points carry at most two decimals (the language checks it): sum them as integer cents.
    risk = dict.fromkeys((f.id for f in factors), 0)
    relief = dict.fromkeys((f.id for f in factors), 0)
    knocked_out = False
    for rule in fired:
        cents = round(rule.points * 100)
        if rule.kind is ast.RuleKind.MITIGATION:
            relief[rule.factor] += cents
        else:
            risk[rule.factor] += cents
            knocked_out = knocked_out or rule.kind is ast.RuleKind.KNOCKOUT
    inherent_by = {fid: max(0, min(10_000, cents)) for fid, cents in risk.items()}
    residual_by = {fid: max(0, inherent_by[fid] + relief[fid]) for fid in risk}
    # Exact arithmetic on integers: weights as fractions over a common denominator, so a
    # factor's term in cents is numerator / total exactly.
    weights = _integer_weights(tuple(f.weight for f in factors))
    total = sum(weights)
    numerators = [w * residual_by[f.id] for w, f in zip(weights, factors, strict=True)]
    inherent_numerator = sum(w * inherent_by[f.id] for w, f in zip(weights, factors, strict=True))
    score_cents = _div_half_up(sum(numerators), total)
    contributions = _largest_remainder(numerators, total, score_cents)
    band = bands[0]
    for candidate in bands:
        if score_cents >= round(candidate.min_score * 100):
            band = candidate
    decision = knockout_decision if knocked_out else band.decision
    return Scores(
        inherent=_div_half_up(inherent_numerator, total) / 100,
        score=score_cents / 100,
        band=band.name,
        decision=decision,
        factors=tuple(
            FactorScore(f, inherent_by[f.id] / 100, residual_by[f.id] / 100, cents / 100)
            for f, cents in zip(factors, contributions, strict=True)),
    )


def _largest_remainder(numerators: Sequence[int], denominator: int, total_cents: int) -> list[int]:
    """Whole cents per term numerator/denominator (each its floor or ceiling) summing to
    `total_cents`; the largest remainders get the extra cents, ties in declared order."""
    floors = [n // denominator for n in numerators]
    short = total_cents - sum(floors)
    order = sorted(range(len(numerators)), key=lambda i: (-(numerators[i] % denominator), i))
    for i in order[:max(0, short)]:
        floors[i] += 1
    return floors
