"""The proposal as rules see it: what a client sends in a derived field never reaches them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from engine.evaluate.enrich import Enricher
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
