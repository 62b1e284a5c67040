"""Floors, provisional decisions and checked-and-clear knockouts: the language, the assessment,
and agreement with the reference definition (engine.evaluate.reference.decide) on generated packs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from engine import load_pack
from engine.compile.compiler import NotExpressible, compile_rules
from engine.errors import PackError, Position, RulesetRejected
from engine.evaluate.reference import decide
from engine.language import syntax
from engine.language.normalize import normalize
from engine.pack import Pack
from tests.bundled import BUNDLED
from tests.engine import strategies
from tests.engine.conftest import BASE_PROPOSAL, merged

DAY = dt.date(2026, 11, 1)
POS = Position("gen")

RULES = """
rules:
  - id: FL-ESC
    title: Russian counterparty
    factor: security
    kind: risk
    points: 1
    at_least: escalate
    when: {path: counterparties, some: {path: country, eq: RU}}
  - id: FL-REV
    title: Crypto rail
    factor: money
    kind: risk
    points: 1
    at_least: review
    when: {path: payments.rails, contains: crypto}
  - id: KO-IR
    title: Iranian counterparty
    factor: security
    kind: knockout
    points: 100
    when: {path: counterparties, some: {path: country, eq: IR}}
  - id: KO-SHARE
    title: No USD at all
    factor: money
    kind: knockout
    points: 10
    when: {path: payments.usd_share, eq: 0}
  - id: KO-OLD
    title: Expired knockout
    factor: money
    kind: knockout
    points: 10
    effective_until: 2020-01-01
    when: {exists: title}
  - id: R-PLAIN
    title: Plain risk
    factor: money
    kind: risk
    points: 1
    when: {path: public_profile, eq: high}
"""

COMPLETE = merged(BASE_PROPOSAL, {"payments": {"rails": ["swift"], "usd_share": 1.0},
                                  "public_profile": "low"})


@pytest.fixture
def pack(make_pack: Callable[..., Path]) -> Any:
    loaded = load_pack(make_pack(RULES))
    yield loaded
    loaded.close()


def _assess(pack: Pack, proposal: dict[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = pack.assess(proposal, as_of=DAY).to_dict()
    return doc


def test_a_complete_clean_proposal_is_approved_not_provisional_with_its_checks_listed(
        pack: Pack) -> None:
    doc = _assess(pack, COMPLETE)
    assert doc["decision"] == "approve" and doc["band_decision"] == "approve"
    assert doc["provisional"] is False and doc["unsettled"] == [] and doc["floors"] == []
    # the expired knockout was not evaluated; the plain risk rule is not a check
    assert [c["rule"] for c in doc["checked_clear"]] == ["FL-ESC", "FL-REV", "KO-IR", "KO-SHARE"]
    assert doc["checked_clear"][0] == {"rule": "FL-ESC", "title": "Russian counterparty",
                                       "kind": "risk", "at_least": "escalate"}


def test_a_floor_raises_a_low_score_and_is_listed_like_a_knockout(pack: Pack) -> None:
    ru = merged(COMPLETE, {"counterparties": [{"name": "A", "country": "RU",
                                               "type": "private_company"}]})
    doc = _assess(pack, ru)
    assert doc["band"] == "low" and doc["band_decision"] == "approve"
    assert doc["decision"] == "escalate"
    assert [f["rule"] for f in doc["floors"]] == ["FL-ESC"]
    assert doc["floors"][0]["at_least"] == "escalate"
    assert doc["floors"][0]["evidence"][0]["path"] == "counterparties[0].country"
    assert "FL-ESC" not in [c["rule"] for c in doc["checked_clear"]]
    assert "1 floor (FL-ESC Russian counterparty (at least escalate)): escalate" in doc["summary"]


def test_the_strictest_floor_wins_and_a_knockout_beats_every_floor(pack: Pack) -> None:
    both = merged(COMPLETE, {"counterparties": [{"name": "A", "country": "RU",
                                                 "type": "private_company"}],
                             "payments": {"rails": ["crypto"], "usd_share": 1.0}})
    assert _assess(pack, both)["decision"] == "escalate"
    review_only = merged(COMPLETE, {"payments": {"rails": ["crypto"], "usd_share": 1.0}})
    assert _assess(pack, review_only)["decision"] == "review"
    knocked = merged(both, {"counterparties": [
        {"name": "A", "country": "RU", "type": "private_company"},
        {"name": "B", "country": "IR", "type": "private_company"}]})
    doc = _assess(pack, knocked)
    assert doc["decision"] == "reject"
    assert {f["rule"] for f in doc["floors"]} == {"FL-ESC", "FL-REV"}
    assert [k["rule"] for k in doc["knockouts"]] == ["KO-IR"]


def test_an_absent_field_that_could_fire_a_knockout_makes_the_decision_provisional(
        pack: Pack) -> None:
    gap = {**COMPLETE, "payments": {"rails": ["swift"]}}  # usd_share left out
    doc = _assess(pack, gap)
    assert doc["band_decision"] == "approve"
    assert doc["decision"] == "review" and doc["provisional"] is True
    assert doc["unsettled"] == [{"rule": "KO-SHARE", "title": "No USD at all",
                                 "kind": "knockout", "decision": "reject",
                                 "paths": ["payments.usd_share"]}]
    assert "KO-SHARE" not in [c["rule"] for c in doc["checked_clear"]]
    assert "provisional: payments.usd_share not given" in doc["summary"]


def test_not_provisional_when_the_unsettled_rule_could_not_make_it_stricter(
        pack: Pack) -> None:
    # already rejected by a knockout: a second possible knockout cannot change the decision
    gap = merged({**COMPLETE, "payments": {"rails": ["swift"]}}, {
                            "counterparties": [{"name": "B", "country": "IR",
                                                "type": "private_company"}]})
    doc = _assess(pack, gap)
    assert doc["decision"] == "reject" and doc["provisional"] is False
    assert [u["rule"] for u in doc["unsettled"]] == ["KO-SHARE"]


def test_the_pack_sets_the_incomplete_decision(make_pack: Callable[..., Path]) -> None:
    root = make_pack(RULES)
    text = (root / "pack.yaml").read_text()
    (root / "pack.yaml").write_text(text + "incomplete_decision: escalate\n")
    strict = load_pack(root)
    try:
        doc = _assess(strict, {**COMPLETE, "payments": {"rails": ["swift"]}})
        assert doc["decision"] == "escalate" and doc["provisional"] is True
    finally:
        strict.close()


@pytest.mark.parametrize(("snippet", "code", "where"), [
    ("    at_least: escalate\n", "E023", "knockout"),
    ("    at_least: reject\n", "E018", "risk"),
])
def test_floors_are_checked(make_pack: Callable[..., Path], snippet: str, code: str,
                            where: str) -> None:
    kind = "knockout" if where == "knockout" else "risk"
    rules = ("rules:\n  - id: X\n    title: t\n    factor: money\n"
             f"    kind: {kind}\n    points: 1\n{snippet}"
             "    when: {exists: title}\n")
    with pytest.raises(PackError) as info:
        load_pack(make_pack(rules))
    found = [d for d in info.value.diagnostics if d.code == code]
    assert found and found[0].position.line == 7, info.value.diagnostics


def test_an_approving_incomplete_decision_is_refused(make_pack: Callable[..., Path]) -> None:
    root = make_pack(RULES)
    (root / "pack.yaml").write_text((root / "pack.yaml").read_text()
                                    + "incomplete_decision: approve\n")
    with pytest.raises(PackError) as info:
        load_pack(root)
    assert [d.code for d in info.value.diagnostics if d.code.startswith("E")] == ["E018"]


# ---------------------------------------------------------------------------------------------
# generated packs against the reference definition

BANDS = (syntax.Band("low", 0, "approve", POS), syntax.Band("medium", 20, "review", POS),
         syntax.Band("high", 40, "escalate", POS), syntax.Band("critical", 60, "reject", POS))


def _rule(index: int, cond: syntax.Condition, shape: tuple[str, str | None, float]) -> syntax.Rule:
    kind, at_least, points = shape
    return syntax.Rule(id=f"R{index}", title=f"rule {index}", factor="f", kind=syntax.RuleKind(kind),
                    points=-points if kind == "mitigation" else points, when=cond,
                    rationale="", source="", enabled=True, tags=(), effective_from=None,
                    effective_until=None, pos=POS, index=index, at_least=at_least)


SHAPES = st.sampled_from([("risk", None, 30.0), ("risk", "review", 5.0),
                          ("risk", "escalate", 0.0), ("knockout", None, 100.0),
                          ("mitigation", None, 20.0)])


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules=st.lists(st.tuples(strategies.condition(), SHAPES), min_size=1, max_size=5),
       proposals=st.lists(strategies.proposal(), min_size=1, max_size=4),
       incomplete=st.sampled_from(syntax.INCOMPLETE_DECISIONS))
def test_assessment_decisions_agree_with_the_reference(
        rules: list[tuple[syntax.Condition, tuple[str, str | None, float]]],
        proposals: list[dict[str, Any]], incomplete: str) -> None:
    built = tuple(_rule(i, c, shape) for i, (c, shape) in enumerate(rules))
    spec = syntax.PackSpec(root="gen", name="gen", version="1", description="",
                        factors=(syntax.Factor("f", "F", 1, "", POS),), bands=BANDS,
                        knockout_decision="reject", screening=None, lists={}, rules=built,
                        files=(), incomplete_decision=incomplete)
    try:
        conditions = {r.id: normalize(r.when) for r in built}
        compiled = compile_rules(built, conditions)
        pack = Pack(spec=spec, digest="sha256:" + "0" * 64, diagnostics=(), compiled=compiled,
                    conditions=conditions, contract=BUNDLED)
    except (NotExpressible, RulesetRejected):
        reject()
    try:
        for proposal in proposals:
            a = pack.assess(proposal, as_of=DAY, validate=False)
            band_decision = {b.name: b.decision for b in BANDS}[a.band]
            expected = decide(built, pack.enrich(proposal, DAY), DAY, band_decision, "reject",
                              incomplete)
            doc = a.to_dict()
            actual = {"decision": doc["decision"], "provisional": doc["provisional"],
                      "floors": [f["rule"] for f in doc["floors"]],
                      "unsettled": [u["rule"] for u in doc["unsettled"]],
                      "checked_clear": [c["rule"] for c in doc["checked_clear"]]}
            assert actual == expected, (proposal, built)
            assert not (doc["provisional"] and doc["decision"] == "approve")
    finally:
        pack.close()
