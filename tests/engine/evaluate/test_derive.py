"""Derived facts: hand-worked ownership graphs (OFAC 50 Percent Rule, EU owned or controlled),
screening of every party of every role and every owner at every depth, licence validity per
item on the assessment date, and the proving chain in the evidence."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from engine import load_pack
from engine.errors import ProposalError
from engine.evaluate.derive import Deriver
from tests.bundled import BUNDLED, validate

ROOT = Path(__file__).resolve().parents[3]
DAY = dt.date(2026, 11, 27)
LISTED = {"S", "S1", "S2", "S3"}  # the names our fake screening lists


def _screen(party: dict[str, Any], path: str = "") -> dict[str, Any]:
    return {"matched": party.get("name") in LISTED,
            "score": 100 if party.get("name") in LISTED else 10}


def o(name: str, percent: float | None = None, *owners: dict[str, Any], controls: bool = False,
      country: str = "RU") -> dict[str, Any]:
    """An owner; `owners` are its own owners."""
    out: dict[str, Any] = {"name": name, "country": country}
    if percent is not None:
        out["percent"] = percent
    if controls:
        out["controls"] = True
    if owners:
        out["owners"] = list(owners)
    return out


def derived(*owners: dict[str, Any], name: str = "P") -> dict[str, Any]:
    """The ownership facts of a counterparty `name` with these owners."""
    proposal = {
        "title": "t", "initiator": {"name": "Us", "country": "US", "type": "private_company"},
        "counterparties": [{"name": name, "country": "AE", "type": "private_company",
                            **({"owners": list(owners)} if owners else {})}],
        "deal": {"type": "other"}, "sectors": ["other"]}
    validate(proposal)
    Deriver(BUNDLED.root)(proposal, DAY, _screen)
    facts: dict[str, Any] = proposal["counterparties"][0]["ownership"]
    return facts


# (what the graph shows, owners, OFAC blocked %, OFAC blocked, EU owned or controlled)
GRAPHS: list[tuple[str, list[dict[str, Any]], float, bool, bool]] = [
    ("two 25 % blocked holders: 50 % in aggregate",
     [o("S1", 25), o("S2", 25), o("X", 50)], 50, True, False),
    ("two 24 % blocked holders: not blocked", [o("S1", 24), o("S2", 24)], 48, False, False),
    ("49/51: the listed 51 % holder blocks", [o("S", 51), o("X", 49)], 51, True, True),
    ("49/51: the listed 49 % holder does not", [o("S", 49), o("X", 51)], 49, False, False),
    ("exactly 50 % by one holder: OFAC yes, EU no (over 50 %)", [o("S", 50)], 50, True, False),
    ("chain through a blocked intermediate passes its 60 % on in full",
     [o("X", 60, o("S", 50)), o("Y", 40)], 60, True, False),
    ("a 40 % blocked share of an intermediate stops there",
     [o("X", 100, o("S", 40), o("Y", 60))], 0, False, False),
    ("direct and indirect add up: 30 % listed + 25 % through a blocked intermediate",
     [o("S1", 30), o("X", 25, o("S2", 60)), o("Y", 45)], 55, True, True),
    ("an intermediate blocked in the aggregate (25 + 25) passes 50 % on",
     [o("X", 50, o("S1", 25), o("S2", 25)), o("Y", 50)], 50, True, False),
    ("three levels, 100 % each", [o("A", 100, o("B", 100, o("S", 100)))], 100, True, True),
    ("control without majority (EU): a 10 % listed holder with a veto",
     [o("S", 10, controls=True), o("X", 90)], 10, False, True),
    ("control by an unlisted owner is no finding", [o("X", 10, controls=True)], 0, False,
     False),
    ("control through an intermediate the listed person controls",
     [o("X", 5, o("S", 10, controls=True), controls=True), o("Y", 95)], 0, False, True),
    ("EU aggregation: 26 + 25 listed is over 50 %", [o("S1", 26), o("S2", 25)], 51, True,
     True),
    ("an unlisted owner chain holds nothing blocked", [o("A", 70, o("B", 100)), o("C", 30)],
     0, False, False),
    ("a listed owner without a percent: unknown, counted as 0", [o("S")], 0, False, False),
]


@pytest.mark.parametrize(("graph", "owners", "percent", "ofac", "eu"), GRAPHS,
                         ids=[g[0] for g in GRAPHS])
def test_hand_worked_ownership_graphs(graph: str, owners: list[dict[str, Any]], percent: float,
                                      ofac: bool, eu: bool) -> None:
    facts = derived(*owners)
    assert (facts["blocked_percent"], facts["ofac_blocked"], facts["eu_owned_or_controlled"]) \
        == (percent, ofac, eu), facts
    if ofac or eu:
        assert facts["chain"], "a finding comes with the chain that proves it"


def test_the_chain_names_every_holding_on_the_way() -> None:
    facts = derived(o("A", 100, o("B", 100, o("S", 100))))
    assert facts["chain"] == [
        "counterparties[0].owners[0] (A, 100 %): blocked by ownership (100 %)",
        "counterparties[0].owners[0].owners[0] (B, 100 %): blocked by ownership (100 %)",
        "counterparties[0].owners[0].owners[0].owners[0] (S, 100 %): listed"]
    assert facts["depth"] == 3 and facts["listed_owner"] is True


def test_owner_countries_and_unknown_percent_are_collected_at_every_depth() -> None:
    facts = derived(o("A", 60, o("B", None, country="IR"), country="CN"), o("C", 40,
                                                                            country="AE"))
    assert facts["owner_countries"] == ["CN", "IR", "AE"]
    assert facts["percent_unknown"] is True and facts["ofac_blocked"] is False


@pytest.mark.parametrize(("owners", "path", "message"), [
    ([o("Q", 50, o("P", 100, country="AE")), o("R", 50)], "counterparties[0].owners[0].owners[0]",
     "ownership cycle"),
    ([o("A", 60), o("B", 50)], "counterparties[0].owners", "add up to 110, over 100"),
    ([o("A", 10, o("A", 10))], "counterparties[0].owners[0].owners[0]", "ownership cycle"),
])
def test_malformed_ownership_graphs_are_refused_with_the_path(owners: list[dict[str, Any]],
                                                               path: str, message: str) -> None:
    proposal = {
        "title": "t", "initiator": {"name": "Us", "country": "US", "type": "private_company"},
        "counterparties": [{"name": "P", "country": "AE", "type": "private_company",
                            "owners": owners}],
        "deal": {"type": "other"}, "sectors": ["other"]}
    with pytest.raises(ProposalError) as info:
        validate(proposal)
    assert [(e.path, message in e.message) for e in info.value.errors] == [(path, True)]


def test_ownership_deeper_than_the_bound_is_refused() -> None:
    deepest: dict[str, Any] = o("L9", 100)
    for level in range(8, 0, -1):
        deepest = o(f"L{level}", 100, deepest)
    with pytest.raises(ProposalError) as info:
        derived(deepest)
    (error,) = info.value.errors
    assert error.path.endswith(".owners") and "more than 8 levels" in error.message


def test_every_party_of_every_role_and_every_owner_is_screened() -> None:
    proposal = json.loads((ROOT / "examples" / "launch-jv-roscosmos.json").read_text())
    bank = {"name": "Bank", "country": "RU", "owners": [o("S", 60)]}
    proposal.update(
        end_users=[{"name": "E", "country": "RU", "type": "private_company"}],
        consignees=[{"name": "C", "country": "KZ", "type": "private_company"}],
        intermediaries=[{"name": "I", "country": "AE", "type": "private_company",
                         "owners": [o("A", 100, o("S", 100))]}],
        payments={"legs": [{"originator_bank": bank, "correspondents": [dict(bank)],
                            "beneficiary_bank": {"name": "B2", "country": "CN"}}],
                  "crypto_providers": [{"name": "S", "country": "RU"}]})
    validate(proposal)
    Deriver(BUNDLED.root)(proposal, DAY, _screen)
    leg = proposal["payments"]["legs"][0]
    assert leg["originator_bank"]["ownership"]["ofac_blocked"] is True
    assert leg["correspondents"][0]["screening"]["matched"] is False
    assert leg["beneficiary_bank"]["screening"] == {"matched": False, "score": 10}
    assert proposal["payments"]["crypto_providers"][0]["screening"]["matched"] is True
    assert proposal["intermediaries"][0]["owners"][0]["owners"][0]["screening"]["matched"]
    assert proposal["intermediaries"][0]["ownership"]["blocked_percent"] == 100
    for role in ("end_users", "consignees"):
        assert "screening" in proposal[role][0] and "ownership" in proposal[role][0]


LICENSED: dict[str, Any] = {
    "technologies": [{"name": "star tracker", "category": "navigation", "eccn": "7A004"},
                     {"name": "test rig", "category": "other"}],
    "counterparties": [{"name": "Geo Co", "country": "IN", "type": "private_company"}],
    "end_users": [{"name": "Geo Labs", "country": "IN", "type": "university"}],
    "licences": [{"regime": "ear", "number": "D111", "items": ["Star Tracker"],
                  "parties": ["Geo Co", "Geo Labs"], "valid_from": "2026-01-01",
                  "valid_until": "2026-12-31"},
                 {"regime": "ear", "number": "D222", "items": ["test rig"],
                  "parties": ["Geo Co"], "valid_until": "2026-06-30"}],
}


@pytest.mark.parametrize(("day", "tracker", "rig_uncovered"), [
    (dt.date(2026, 11, 27), (True, ["D111"]), ["Geo Co", "Geo Labs"]),
    (dt.date(2027, 1, 1), (False, []), ["Geo Co", "Geo Labs"]),
    (dt.date(2026, 3, 1), (True, ["D111"]), ["Geo Labs"]),
    (dt.date(2025, 12, 31), (False, []), ["Geo Labs"]),
])
def test_licence_validity_per_item_on_the_as_of_date(day: dt.date, tracker: tuple[bool, list[str]],
                                                    rig_uncovered: list[str]) -> None:
    proposal = {"title": "t", "initiator": {"name": "Us", "country": "US",
                                            "type": "private_company"},
                "deal": {"type": "supply_agreement"}, "sectors": ["space"],
                **json.loads(json.dumps(LICENSED))}
    validate(proposal)
    Deriver(BUNDLED.root)(proposal, day, None)
    star, rig = proposal["technologies"]
    assert (star["licence"]["valid"], star["licence"]["numbers"]) == tracker
    assert rig["licence"]["valid"] is False
    assert rig["licence"]["uncovered_parties"] == rig_uncovered


def test_a_licence_ending_before_it_starts_is_refused() -> None:
    proposal = {"title": "t", "initiator": {"name": "Us", "country": "US",
                                            "type": "private_company"},
                "counterparties": [{"name": "A", "country": "IN", "type": "university"}],
                "deal": {"type": "other"}, "sectors": ["other"],
                "licences": [{"regime": "ear", "number": "D1", "items": ["x"], "parties": ["A"],
                              "valid_from": "2026-05-01", "valid_until": "2026-04-30"}]}
    with pytest.raises(ProposalError) as info:
        validate(proposal)
    assert [e.path for e in info.value.errors] == ["licences[0].valid_until"]


def test_a_rule_on_derived_ownership_shows_the_chain_in_its_evidence(tmp_path: Path) -> None:
    import shutil

    root = tmp_path / "pack"
    shutil.copytree(ROOT / "tests" / "engine" / "fixtures" / "minipack", root)
    (root / "pack.yaml").write_text((root / "pack.yaml").read_text()
                                    + "screening:\n  threshold: 88\n"
                                    "  watchlists: [watchlists/sdn.yaml]\n")
    (root / "watchlists").mkdir()
    shutil.copy(ROOT / "rules" / "watchlists" / "sdn_sample.yaml", root / "watchlists" / "sdn.yaml")
    (root / "rules.yaml").write_text(
        "rules:\n  - {id: B-1, title: blocked by ownership, factor: security, kind: knockout,"
        " points: 100, rationale: r, source: s,\n"
        "     when: {path: counterparties, some: {path: ownership.ofac_blocked, eq: true}}}\n")
    pack = load_pack(root)
    try:
        sanctioned = pack.screener.watchlists[0].entries[0].name
        proposal = {
            "title": "t", "initiator": {"name": "Us", "country": "US",
                                        "type": "private_company"},
            "counterparties": [{"name": "Gulf Holding", "country": "AE",
                                "type": "private_company",
                                "owners": [{"name": "Dubai Vehicle", "country": "AE",
                                            "percent": 60, "owners": [
                                                {"name": sanctioned, "country": "RU",
                                                 "percent": 55}]}]}],
            "deal": {"type": "other"}, "sectors": ["other"]}
        doc = pack.assess(proposal, as_of=DAY).to_dict()
        assert doc["decision"] == "reject"
        evidence = doc["knockouts"][0]["evidence"]
        assert evidence[0]["path"] == "counterparties[0].ownership.ofac_blocked"
        assert evidence[1]["path"] == "counterparties[0].ownership.chain"
        assert evidence[1]["value"][0].startswith("counterparties[0].owners[0] (Dubai Vehicle, "
                                                  "60 %): blocked by ownership (55 %)")
        assert sanctioned in evidence[1]["value"][1]
    finally:
        pack.close()


def _screen_on_lists(party: dict[str, Any], path: str = "") -> dict[str, Any]:
    """S is on the blocking list, R on a sectoral list, E on an export-control list."""
    lists = {"S": "sdn", "R": "ssi", "E": "entity_list"}
    name = party.get("name")
    return {"matched": name in lists, "score": 100 if name in lists else 10,
            "list": lists.get(name, "")}


@pytest.mark.parametrize(("owners", "percent", "ofac", "eu", "listed"), [
    ([o("R", 60), o("X", 40)], 0, False, False, True),        # sectoral majority: no block
    ([o("E", 100)], 0, False, False, True),                    # Entity List owner: no block
    ([o("R", 30, controls=True), o("X", 70)], 0, False, False, True),
    ([o("S", 30), o("R", 30), o("X", 40)], 30, False, False, True),
    ([o("X", 60, o("S", 50)), o("R", 40)], 60, True, False, True),
])
def test_only_blocking_watchlists_block_by_ownership(owners: list[dict[str, Any]],
                                                     percent: float, ofac: bool, eu: bool,
                                                     listed: bool) -> None:
    proposal = {
        "title": "t", "initiator": {"name": "Us", "country": "US", "type": "private_company"},
        "counterparties": [{"name": "P", "country": "AE", "type": "private_company",
                            "owners": owners}],
        "deal": {"type": "other"}, "sectors": ["other"]}
    validate(proposal)
    Deriver(BUNDLED.root, frozenset({"ssi", "entity_list"}))(proposal, DAY, _screen_on_lists)
    facts = proposal["counterparties"][0]["ownership"]
    assert (facts["blocked_percent"], facts["ofac_blocked"], facts["eu_owned_or_controlled"],
            facts["listed_owner"]) == (percent, ofac, eu, listed), facts


def test_a_licence_of_the_wrong_regime_covers_nothing() -> None:
    proposal = {"title": "t", "initiator": {"name": "Us", "country": "US",
                                            "type": "private_company"},
                "counterparties": [{"name": "Geo Co", "country": "IN",
                                    "type": "private_company"}],
                "deal": {"type": "supply_agreement"}, "sectors": ["space"],
                "technologies": [{"name": "payload", "category": "satellites",
                                  "export_control": "itar"},
                                 {"name": "bus", "category": "satellites",
                                  "export_control": "ear_controlled"}],
                "licences": [{"regime": "ear", "number": "D1", "items": ["payload", "bus"],
                              "parties": ["Geo Co"]}]}
    validate(proposal)
    Deriver(BUNDLED.root)(proposal, DAY, None)
    payload, bus = proposal["technologies"]
    assert payload["licence"]["valid"] is False  # an ITAR item needs an ITAR licence
    assert bus["licence"]["valid"] is True
