"""Legal content of the bundled pack (rule pack v2): legal bases, and decisions that must not
depend on what the law does not distinguish."""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine import Pack, load_pack

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "rules"
EXAMPLES = ROOT / "examples"
DAY = dt.date(2026, 11, 27)


@pytest.fixture(scope="module")
def pack() -> Iterator[Pack]:
    loaded = load_pack(RULES)
    yield loaded
    loaded.close()


def _example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
    return data


def test_every_bundled_rule_has_a_legal_basis_on_an_official_site(pack: Pack) -> None:
    official = ("https://www.ecfr.gov/", "https://eur-lex.europa.eu/", "https://ofac.treasury.gov/",
                "https://www.federalregister.gov/", "https://www.fincen.gov/",
                "https://www.bis.gov/", "https://www.fatf-gafi.org/",
                "https://www.legislation.gov.uk/")
    for rule in pack.rules:
        assert rule.legal_basis, rule.id
        for basis in rule.legal_basis:
            assert basis.url.startswith(official), (rule.id, basis.url)
            assert basis.as_of <= DAY


def test_a_fired_rule_carries_its_legal_basis_into_the_assessment(pack: Pack) -> None:
    assessment = pack.assess(_example("telecom-upgrade-iran-via-turkey.json"), as_of=DAY)
    hits = {h["rule"]: h for h in assessment.to_dict()["knockouts"]}
    assert "KO-004" in hits
    urls = [b["url"] for b in hits["KO-004"]["legal_basis"]]
    assert "https://www.ecfr.gov/current/title-31/section-560.204" in urls


def _moved(proposal: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    """The same proposal with every party, owner, jurisdiction and data destination in `old`
    moved to `new`, and settlement in US dollars (so that the currency cannot differ)."""
    moved = json.loads(json.dumps(proposal).replace(f'"{old}"', f'"{new}"'))
    moved["payments"] = {**moved.get("payments", {}), "currencies": ["USD"], "usd_share": 1}
    return moved


# A BRICS member or partner next to a non-BRICS country that no cited source treats
# differently (neither is under a sanctions programme, an arms embargo or a data-security
# designation; where one is a FinCEN/BIS transshipment point, the deals have no Russian or
# Belarusian nexus, so that the list does not apply).
PAIRS = [("IN", "MX"), ("BR", "AR"), ("ZA", "KE"), ("EG", "MA"), ("AE", "SA"), ("ID", "PH"),
         ("MY", "LK")]


@pytest.mark.parametrize("example", ["ev-licensing-india.json", "satellite-payload-india-soe.json",
                                     "cloud-contract-india.json"])
@pytest.mark.parametrize(("brics", "other"), PAIRS)
def test_brics_membership_alone_does_not_change_the_decision(
        pack: Pack, example: str, brics: str, other: str) -> None:
    base = _moved(_example(example), "IN", brics)
    twin = _moved(base, brics, other)
    assert json.dumps(base) != json.dumps(twin)
    a = pack.assess(copy.deepcopy(base), as_of=DAY)
    b = pack.assess(copy.deepcopy(twin), as_of=DAY)
    assert (a.decision, a.band, a.score) == (b.decision, b.band, b.score), (
        sorted(h.rule.id for h in a.hits), sorted(h.rule.id for h in b.hits))
    assert any(h.rule.id == "SE-013" for h in a.hits)
    assert not any(h.rule.id == "SE-013" for h in b.hits)


EMBARGOED_ROLES = [
    ("end_users", lambda p, c: p.update(end_users=[{"name": "Pars Data Co", "country": c,
                                          "type": "private_company"}])),
    ("consignees", lambda p, c: p.update(consignees=[{"name": "Pars Freight", "country": c,
                                          "type": "private_company"}])),
    ("intermediaries", lambda p, c: p.update(intermediaries=[{"name": "Pars Agent", "country": c,
                                          "type": "private_company"}])),
    ("correspondent bank", lambda p, c: p["payments"].update(legs=[{
        "originator_bank": {"name": "Ameriabank", "country": "AM"},
        "correspondents": [{"name": "Parsian Clearing", "country": c}],
        "beneficiary_bank": {"name": "Ardshinbank", "country": "AM"}}])),
    ("beneficiary bank", lambda p, c: p["payments"].update(legs=[{
        "originator_bank": {"name": "Citibank N.A.", "country": "US"},
        "beneficiary_bank": {"name": "Tejarat Exchange", "country": c}}])),
]


@pytest.mark.parametrize("country", ["IR", "KP", "CU"])
@pytest.mark.parametrize(("role", "place"), EMBARGOED_ROLES, ids=[r for r, _ in EMBARGOED_ROLES])
def test_a_party_of_any_role_in_an_embargoed_country_stops_the_deal(
        pack: Pack, role: str, place: Any, country: str) -> None:
    """KO-003 reads every role: an Armenian reseller is no screen for an end user, consignee,
    intermediary or bank in Iran, North Korea or Cuba (31 CFR 560.204: exports made
    indirectly); with the party in Armenia the stop does not fire."""
    near_miss = _example("imagery-subscription-yerevan-reseller-yerevan-end-user.json")
    near_miss.pop("end_users")
    proposal = copy.deepcopy(near_miss)
    place(proposal, country)
    stopped = pack.assess(proposal, as_of=DAY)
    assert "KO-003" in {h.rule.id for h in stopped.knockouts} and stopped.decision == "reject"
    place(near_miss, "AM")
    passed = pack.assess(near_miss, as_of=DAY)
    assert not passed.knockouts and passed.decision != "reject"
