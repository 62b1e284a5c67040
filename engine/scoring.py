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


def _round_half_up(cents: Fraction) -> int:
    """Round a non-negative amount of cents to a whole cent, half up."""
    return int(cents + Fraction(1, 2))


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
    weights = [Fraction(f.weight) for f in factors]
    total_weight = sum(weights, Fraction(0))
    # terms in cents: weight share × factor cents
    terms = [w * residual_by[f.id] / total_weight for w, f in zip(weights, factors, strict=True)]
    inherent_total = sum((w * inherent_by[f.id] / total_weight
                          for w, f in zip(weights, factors, strict=True)), Fraction(0))
    score_cents = _round_half_up(sum(terms, Fraction(0)))
    contributions = _largest_remainder(terms, score_cents)
    band = bands[0]
    for candidate in bands:
        if score_cents >= round(candidate.min_score * 100):
            band = candidate
    decision = knockout_decision if knocked_out else band.decision
    return Scores(
        inherent=_round_half_up(inherent_total) / 100,
        score=score_cents / 100,
        band=band.name,
        decision=decision,
        factors=tuple(
            FactorScore(f, inherent_by[f.id] / 100, residual_by[f.id] / 100, cents / 100)
            for f, cents in zip(factors, contributions, strict=True)),
    )


def _largest_remainder(terms: Sequence[Fraction], total_cents: int) -> list[int]:
    """Whole cents per term (each the floor or ceiling of its exact value) summing to
    `total_cents`; the largest remainders get the extra cents, ties in declared order."""
    floors = [int(t) for t in terms]
    short = total_cents - sum(floors)
    order = sorted(range(len(terms)), key=lambda i: (-(terms[i] - floors[i]), i))
    for i in order[:max(0, short)]:
        floors[i] += 1
    return floors
