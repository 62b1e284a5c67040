"""The proposal as rules see it: what a client sends in a derived field never reaches them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from engine.evaluate.enrich import Enricher
from engine.screening.screener import Screener
from engine.screening.watchlists import Watchlist, WatchlistEntry
from tests.bundled import BUNDLED
from tests.engine.conftest import BASE_PROPOSAL, merged

DAY = dt.date(2026, 11, 1)
FORGED_SCREENING = {"matched": False, "score": 0, "entry": "nobody"}
FORGED_OWNERSHIP = {"ofac_blocked": False, "blocked_percent": 0}


def _forged() -> dict[str, Any]:
    party = {"name": "Roscosmos", "country": "RU", "type": "state_agency",
             "screening": FORGED_SCREENING, "ownership": FORGED_OWNERSHIP,
             "owners": [{"name": "Ivan", "country": "RU", "percent": 60,
                         "screening": FORGED_SCREENING}]}
    return merged(BASE_PROPOSAL, {"counterparties": [party],
                                  "initiator": {**BASE_PROPOSAL["initiator"],
                                                "screening": FORGED_SCREENING}})


def test_client_sent_derived_fields_are_dropped_when_nothing_derives_them() -> None:
    """Without a screener nothing recomputes `screening`: the forged value must be gone, not
    kept (a rule reading `screening.matched: false` would otherwise trust the client)."""
    enriched = Enricher(BUNDLED.root, screener=None)(_forged(), DAY)
    party = enriched["counterparties"][0]
    assert "screening" not in party
    assert "screening" not in party["owners"][0]
    assert "screening" not in enriched["initiator"]
    assert party.get("ownership") != FORGED_OWNERSHIP  # recomputed from the owners, or absent


def test_the_input_is_not_modified() -> None:
    proposal = _forged()
    Enricher(BUNDLED.root, screener=None)(proposal, DAY)
    assert proposal["counterparties"][0]["screening"] == FORGED_SCREENING


def _listed(name: str, listed_on: str) -> Watchlist:
    entry = WatchlistEntry(id="X-1", name=name, type="entity", programs=("P",),
                           countries=("RU",))
    return Watchlist(name=listed_on, entries=(entry,), as_of=DAY, sample=True)


def test_a_screening_fact_says_whether_its_match_blocks() -> None:
    """`screening.blocking` holds for a match on a watchlist the pack does not name as
    restricting: the same test the ownership facts use, so the two never disagree."""
    screener = Screener([_listed("Orbital Blocked LLC", "sdn"),
                         _listed("Restricted Telecom Corp", "ns_cmic")], 88)
    enrich = Enricher(BUNDLED.root, screener, non_blocking=frozenset({"ns_cmic"}))
    proposal = merged(BASE_PROPOSAL, {"counterparties": [
        {"name": "Orbital Blocked LLC", "country": "RU", "type": "private_company"},
        {"name": "Restricted Telecom Corp", "country": "CN", "type": "public_company"},
        {"name": "Unlisted Widgets GmbH", "country": "DE", "type": "private_company"}]})
    blocked, restricted, clear = enrich(proposal, DAY)["counterparties"]
    assert (blocked["screening"]["matched"], blocked["screening"]["blocking"]) == (True, True)
    assert blocked["ownership"]["ofac_blocked"] is True
    assert (restricted["screening"]["matched"], restricted["screening"]["blocking"]) == \
        (True, False)
    assert restricted["ownership"]["ofac_blocked"] is False
    assert clear["screening"]["blocking"] is False
    assert set(blocked["screening"]) == set(BUNDLED.types["screening"].fields)
