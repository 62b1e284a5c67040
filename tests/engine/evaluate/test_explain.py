"""Explanations: evidence points at real values, missing information is complete and exact."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import Pack, PackError, load_pack
from engine.compile.matcher import DurableMatcher
from engine.errors import RulesetRejected
from engine.evaluate import reference
from engine.evaluate.explain import Evidence, compile_evidence, summary, without_implied_guards
from engine.evaluate.missing import ALL_ABSENT, MissingInformation, compile_needed
from engine.evaluate.semantics import MISSING, compile_holds, leaf_holds, leaf_test
from engine.language import syntax
from engine.language.normalize import normalize
from tests.bundled import BUNDLED
from tests.engine import strategies
from tests.engine.conftest import BASE_PROPOSAL, merged

DAY = dt.date(2026, 6, 1)


def _resolve(data: Any, path: str) -> Any:
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        if part.startswith("["):
            data = data[int(part[1:-1])]
        else:
            data = data.get(part) if isinstance(data, dict) else None
    return data


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(proposal=strategies.proposal())
def test_evidence_paths_resolve_to_the_reported_values(minipack: Pack, proposal: dict[str, Any]) -> None:
    enriched = minipack.enrich(proposal)
    for hit in minipack.assess(proposal, as_of=DAY, validate=False).hits:
        for ev in hit.evidence:
            assert _resolve(enriched, ev.path) == ev.value, (hit.rule.id, ev)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(proposal=strategies.proposal())
def test_missing_information_prefilter_loses_nothing(minipack: Pack, proposal: dict[str, Any]) -> None:
    enriched = minipack.enrich(proposal)
    naive: dict[str, list[str]] = {}
    for rule in minipack.rules:
        for path in reference.needed_absent_paths(rule.when, enriched)[1]:
            naive.setdefault(path, []).append(rule.id)
    expected = tuple((p, tuple(ids)) for p, ids in sorted(naive.items()))
    assert minipack.missing_information(enriched, DAY) == expected


def _leaves(cond: syntax.Condition) -> list[syntax.Leaf]:
    if isinstance(cond, syntax.Leaf):
        return [cond]
    if isinstance(cond, syntax.Not):
        return _leaves(cond.item)
    if isinstance(cond, syntax.Quantifier):
        return _leaves(cond.condition)
    return [leaf for item in cond.items for leaf in _leaves(item)]


JSON_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from(
    [0.0, 0.2, 1.0, 50, 1e9, "RU", "itar", "launch", "", True, False, 1]),
    st.lists(st.sampled_from(["RU", "swift", "crypto", 1, True, 0.0]), max_size=3),
    st.text(max_size=4), st.dictionaries(st.sampled_from(["a", "country"]), st.none()))


@settings(max_examples=300, deadline=None)
@given(cond=strategies.condition(), values=st.lists(JSON_VALUES, max_size=6))
def test_compiled_leaf_tests_agree_with_leaf_holds(cond: syntax.Condition, values: list[Any]) -> None:
    for leaf in _leaves(cond):
        test = leaf_test(leaf)
        for value in [MISSING, *values, *leaf.values, leaf.value]:
            assert test(value) == leaf_holds(leaf, value), (leaf, value)


@settings(max_examples=300, deadline=None)
@given(cond=strategies.condition(), proposal=strategies.proposal())
def test_compiled_evidence_agrees_with_the_reference(cond: syntax.Condition,
                                                      proposal: dict[str, Any]) -> None:
    normalised = normalize(cond)
    assert compile_evidence(normalised)(proposal, "") == reference.evidence(normalised, proposal)


@settings(max_examples=300, deadline=None)
@given(cond=strategies.condition(), proposal=strategies.proposal())
def test_compiled_truth_agrees_with_the_reference(cond: syntax.Condition,
                                                  proposal: dict[str, Any]) -> None:
    """As written and normalised (proposals keep list fields lists, as validation ensures)."""
    assert compile_holds(cond)(proposal) == reference.holds(cond, proposal)
    normalised = normalize(cond)
    assert compile_holds(normalised)(proposal) == reference.holds(cond, proposal)


MISSING_INFORMATION = MissingInformation((), BUNDLED.root)


@settings(max_examples=300, deadline=None)
@given(cond=strategies.condition(), proposal=strategies.proposal())
def test_compiled_missing_information_agrees_with_the_reference(
        cond: syntax.Condition, proposal: dict[str, Any]) -> None:
    """Also with the skipping of parts that read no absent field (the set of absent fields
    of the proposal), which must not change the reading."""
    expected = reference.needed_absent_paths(cond, proposal)
    needed = compile_needed(cond)
    assert needed(proposal, "", ALL_ABSENT) == expected
    assert needed(proposal, "", MISSING_INFORMATION.absent(proposal)) == expected


def test_missing_information_names_fields_and_rules(minipack: Pack) -> None:
    doc = minipack.assess(BASE_PROPOSAL, as_of=DAY).to_dict()
    paths = {m["path"]: m["rules"] for m in doc["missing_information"]}
    assert paths["payments.usd_share"] == ["M-002"]
    assert set(paths["technologies"]) == {"S-002", "X-001"}
    assert "counterparties" not in paths  # given, so never missing


def test_a_rule_the_core_refuses_is_reported_at_its_position(
        make_pack: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> None:
    rules = ("rules:\n"
             "  - {id: OK, title: t, factor: security, kind: risk, points: 1, when: {path: title, eq: a}}\n"
             "  - {id: BIG, title: t, factor: security, kind: risk, points: 1, when: {path: title, eq: b}}\n")
    root = make_pack(rules)
    real_init = DurableMatcher.__init__

    def refusing(self: DurableMatcher, definitions: Any, **kw: Any) -> None:
        if any('"b"' in str(expr) or "'b'" in str(expr) for expr in definitions.values()):
            raise RulesetRejected("durable_rules refused the compiled ruleset: code 113")
        real_init(self, definitions, **kw)

    monkeypatch.setattr(DurableMatcher, "__init__", refusing)
    with pytest.raises(PackError) as caught:
        load_pack(root)
    found = [(d.code, d.position.line, d.message) for d in caught.value.diagnostics
             if d.code.startswith("E")]
    assert [(c, line) for c, line, _ in found] == [("E022", 3)]
    assert "rule BIG" in found[0][2]


def test_summary_names_band_score_top_factor_and_knockouts(minipack: Pack) -> None:
    proposal = merged(BASE_PROPOSAL, {"counterparties": [
        {"name": "Tehran Co", "country": "IR", "type": "government"}]})
    doc = minipack.assess(proposal, as_of=DAY).to_dict()
    assert doc["summary"].startswith(f"{doc['band'].capitalize()} risk (score {doc['score']:.2f}")
    assert "Security" in doc["summary"] and "K-001" in doc["summary"] and "reject" in doc["summary"]


def test_summary_agrees_verb_and_number_of_knockouts() -> None:
    one = summary("high", 50.0, "Security", 30.0, [("K-1", "Embargo")], "reject")
    two = summary("high", 50.0, "Security", 30.0, [("K-1", "Embargo"), ("K-2", "Listed")],
                  "reject")
    assert "1 knockout (K-1 Embargo) forces reject" in one
    assert "2 knockouts (K-1 Embargo; K-2 Listed) force reject" in two
    assert "(s)" not in one + two


# -- evidence as the analyst wrote the condition ----------------------------------------------

def _shown(cond: syntax.Condition, data: dict[str, Any]) -> list[tuple[str, Any, str]] | None:
    """The evidence of `cond` on `data`, compiled and by the reference (which must agree)."""
    normalised = normalize(cond)
    found = compile_evidence(normalised)(data, "")
    assert found == reference.evidence(normalised, data)
    return None if found is None else [(e.path, e.value, e.test) for e in found]


def test_not_contains_is_shown_as_written_not_per_item() -> None:
    cond = syntax.Not(syntax.Leaf("contains", ("mitigations",), value="export_license_obtained"))
    assert _shown(cond, {"mitigations": ["board_approval", "escrow"]}) == [
        ("mitigations", ["board_approval", "escrow"], "not contains export_license_obtained")]
    assert _shown(cond, {}) == [("mitigations", None, "not contains export_license_obtained")]
    assert _shown(cond, {"mitigations": ["export_license_obtained"]}) is None


def test_a_negated_test_is_shown_as_written_whether_present_or_absent() -> None:
    cond = syntax.Not(syntax.Leaf("eq", ("screening", "matched"), value=True))
    assert _shown(cond, {"screening": {"matched": False}}) == [
        ("screening.matched", False, "not eq true")]
    assert _shown(cond, {"screening": {}}) == [("screening.matched", None, "not eq true")]
    negated_twice = syntax.Not(cond)
    assert _shown(negated_twice, {"screening": {"matched": True}}) == [
        ("screening.matched", True, "eq true")]


def test_alternatives_are_not_shown_together() -> None:
    """KO-007's shape: both alternatives hold, the evidence is that of the first, so deal.type
    is shown once and nothing suggests both alternatives were needed."""
    cond = syntax.All((
        syntax.Leaf("eq", ("initiator", "country"), value="US"),
        syntax.Any((
            syntax.All((syntax.Leaf("in", ("deal", "type"), values=("joint_venture", "other")),
                        syntax.Leaf("contains", ("deal", "jurisdictions"), value="RU"))),
            syntax.All((syntax.Leaf("in", ("deal", "type"), values=("joint_venture",)),
                        syntax.Quantifier("some", ("counterparties",),
                                          syntax.Leaf("eq", ("country",), value="RU")))),
        )),
    ))
    data = {"initiator": {"country": "US"},
            "deal": {"type": "joint_venture", "jurisdictions": ["RU"]},
            "counterparties": [{"country": "RU"}]}
    shown = _shown(cond, data)
    assert shown == [("initiator.country", "US", "eq US"),
                     ("deal.type", "joint_venture", "in [joint_venture, other]"),
                     ("deal.jurisdictions", ["RU"], "contains RU")]
    data["deal"]["jurisdictions"] = ["CN"]  # only the second alternative holds now
    assert _shown(cond, data) == [("initiator.country", "US", "eq US"),
                                  ("deal.type", "joint_venture", "in [joint_venture]"),
                                  ("counterparties[0].country", "RU", "eq RU")]


GUARD_CASES = [
    # (evidence as (path, test), the paths kept)
    ([("technologies", "exists"), ("technologies[0].hs_code", "matches 84[0-9]{4}")],
     ["technologies[0].hs_code"]),
    ([("payments.legs", "exists"), ("payments.legs[0].correspondents", "exists"),
      ("payments.legs[0].correspondents[0].ownership.ofac_blocked", "eq true")],
     ["payments.legs[0].correspondents[0].ownership.ofac_blocked"]),
    # a guard the rule asks for by itself stays
    ([("export_licence", "exists")], ["export_licence"]),
    # a test on the guarded value itself implies it
    ([("deal.value", "exists"), ("deal.value", "gt 10")], ["deal.value"]),
    # a neighbour whose name only starts alike does not imply it
    ([("end_users", "exists"), ("end_users_count", "gt 1")], ["end_users", "end_users_count"]),
    # guards imply nothing about each other
    ([("consignees", "exists"), ("consignees[0].country", "exists")],
     ["consignees", "consignees[0].country"]),
]


@pytest.mark.parametrize(("found", "kept"), GUARD_CASES)
def test_exists_guards_implied_by_a_deeper_test_are_left_out(
        found: list[tuple[str, str]], kept: list[str]) -> None:
    shown = without_implied_guards([Evidence(path, "v", test) for path, test in found])
    assert [e.path for e in shown] == kept

