"""Scoring: the formula, rounding, bands, knockouts and the assessment invariants."""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from engine import Pack
from engine.errors import Position
from engine.evaluate.scoring import Scorer, _largest_remainder, score
from engine.language import syntax
from tests.engine import strategies
from tests.engine.conftest import BASE_PROPOSAL, MINIPACK, merged

P = Position("t")
FACTORS = (syntax.Factor("a", "A", 3, "", P), syntax.Factor("b", "B", 1, "", P),
           syntax.Factor("c", "C", 2.5, "", P))
BANDS = (syntax.Band("low", 0, "approve", P), syntax.Band("medium", 25, "review", P),
         syntax.Band("high", 50, "escalate", P), syntax.Band("critical", 75, "reject", P))


def rule(factor: str, kind: str, points: float, index: int = 0) -> syntax.Rule:
    return syntax.Rule(f"R{index}", "t", factor, syntax.RuleKind(kind), points, syntax.Leaf("exists", ("title",)),
                    "", "", True, (), None, None, P, index)


def test_weighted_average_with_clamping_and_mitigation() -> None:
    fired = [rule("a", "risk", 80, 1), rule("a", "risk", 40, 2),  # 120 → clamped to 100
             rule("a", "mitigation", -30, 3),                     # residual 70
             rule("b", "risk", 20, 4)]
    s = score(FACTORS, BANDS, "reject", fired)
    # inherent = (3*100 + 1*20 + 2.5*0) / 6.5 ; residual = (3*70 + 20) / 6.5
    assert s.inherent == round(320 / 6.5, 2) == 49.23
    assert s.score == round(230 / 6.5, 2) == 35.38
    assert [f.score for f in s.factors] == [70.0, 20.0, 0.0]
    assert [f.inherent for f in s.factors] == [100.0, 20.0, 0.0]
    assert [f.raw for f in s.factors] == [120.0, 20.0, 0.0]  # the clamp stays visible
    assert (s.band, s.decision) == ("medium", "review")


def test_mitigation_cannot_push_a_factor_below_zero() -> None:
    s = score(FACTORS, BANDS, "reject", [rule("b", "risk", 10, 1), rule("b", "mitigation", -50, 2)])
    assert s.factors[1].score == 0.0
    assert s.score == 0.0 and s.inherent == round(10 / 6.5, 2)


def test_knockout_forces_decision_but_band_follows_score() -> None:
    s = score(FACTORS, BANDS, "reject", [rule("c", "knockout", 10, 1)])
    assert s.decision == "reject"
    assert s.band == "low"


def test_band_thresholds_are_inclusive() -> None:
    # weight share of factor a is 3/6.5; 50 points on it → 23.08; 55 → 25.38
    assert score(FACTORS, BANDS, "reject", [rule("a", "risk", 54.166)]).band == "medium"
    assert score(FACTORS, BANDS, "reject", [rule("a", "risk", 54.0)]).band == "low"
    single = (syntax.Factor("a", "A", 1, "", P),)
    assert score(single, BANDS, "reject", [rule("a", "risk", 75)]).band == "critical"
    assert score(single, BANDS, "reject", [rule("a", "risk", 74.99)]).band == "high"


_KINDS = st.sampled_from(["risk", "mitigation", "knockout"])
_FIRED = st.lists(st.tuples(st.sampled_from("abc"), _KINDS,
                            st.integers(min_value=-5000, max_value=15000).map(lambda c: c / 100)),
                  max_size=12)


@given(pack_rules=_FIRED, fired=st.lists(st.integers(min_value=0, max_value=40), max_size=12),
       outsiders=_FIRED)
def test_a_packs_scorer_scores_as_the_one_off_formula(
        pack_rules: list[tuple[str, str, float]], fired: list[int],
        outsiders: list[tuple[str, str, float]]) -> None:
    """The pack's Scorer works each rule's term out once; a rule it was not built with (even
    one reusing a pack rule's id) is scored by its own points, kind and factor."""
    known = [rule(f, k, p, i) for i, (f, k, p) in enumerate(pack_rules)]
    others = [rule(f, k, p, i) for i, (f, k, p) in enumerate(outsiders)]
    chosen = [known[i] for i in fired if i < len(known)] + others
    scorer = Scorer(FACTORS, BANDS, "reject", known)
    assert scorer(chosen) == score(FACTORS, BANDS, "reject", chosen)


@given(st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=8),
       st.integers(min_value=1, max_value=10**6))
def test_largest_remainder_sums_exactly(numerators: list[int], denominator: int) -> None:
    total = (2 * sum(numerators) + denominator) // (2 * denominator)
    cents = _largest_remainder(numerators, denominator, total)
    assert sum(cents) == total
    assert all(abs(c - Fraction(n, denominator)) < 1 for c, n in zip(cents, numerators, strict=True))


@settings(max_examples=60, deadline=None)
@given(proposal=strategies.proposal())
def test_assessment_invariants(minipack: Pack, proposal: dict[str, Any]) -> None:
    doc = minipack.assess(proposal, validate=False).to_dict()
    assert abs(sum(f["contribution"] for f in doc["factors"]) - doc["score"]) <= 0.01
    assert doc["score"] <= doc["inherent_score"]
    mitigated = any(h["kind"] == "mitigation" for f in doc["factors"] for h in f["rules"])
    if not mitigated:
        assert doc["score"] == doc["inherent_score"]
    assert [f["factor"] for f in doc["factors"]] == [f.id for f in minipack.factors]
    for factor in doc["factors"]:
        for hit in factor["rules"]:
            assert hit["evidence"], hit
    assert (doc["decision"] == "reject") if doc["knockouts"] else True


def test_the_same_proposal_gives_the_same_assessment_in_another_process(minipack: Pack) -> None:
    proposal = merged(BASE_PROPOSAL, {
        "counterparties": [{"name": "Roscosmos", "country": "RU", "type": "state_agency"}],
        "payments": {"rails": ["crypto"], "usd_share": 0.1},
        "technologies": [{"name": "stage", "category": "launch_vehicles", "export_control": "itar"}]})
    here = minipack.assess(proposal).to_dict()
    code = ("import json,sys; from engine import load_pack; "
            f"p=load_pack({str(MINIPACK)!r}); d=p.assess(json.load(sys.stdin)).to_dict(); "
            "print(json.dumps(d))")
    out = subprocess.run([sys.executable, "-c", code], input=json.dumps(proposal), text=True,
                         capture_output=True, check=True, cwd=Path(__file__).parents[3])
    there = json.loads(out.stdout)
    for doc in (here, there):
        doc.pop("created_at")
    assert here == there
    assert here["score"] > 0 and here["factors"][0]["rules"]
