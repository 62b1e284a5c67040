"""The derived ownership facts agree with the reference definition on generated graphs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.evaluate.derive import Deriver
from engine.evaluate.reference import ownership_share
from tests.bundled import BUNDLED

NAMES = ["S", "A", "B", "C", "D"]


def _owners(depth: int) -> st.SearchStrategy[list[dict[str, Any]]]:
    leaf = st.fixed_dictionaries({"name": st.sampled_from(NAMES), "country": st.just("AE")},
                                 optional={"percent": st.sampled_from([0, 10, 24, 25, 26,
                                                                       49.5, 50, 51, 100])})
    if depth == 0:
        return st.lists(leaf, max_size=3)
    node = st.builds(lambda base, below: {**base, "owners": below} if below else base, leaf,
                     _owners(depth - 1))
    return st.lists(node, max_size=3)


def _capped(owners: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Direct holdings scaled to at most 100 % (the contract refuses more)."""
    total = sum(o.get("percent", 0) for o in owners)
    out = []
    for item in owners:
        owner = dict(item)
        if total > 100 and "percent" in owner:
            owner["percent"] = owner["percent"] * 100 / total
        if "owners" in owner:
            owner["owners"] = _capped(owner["owners"])
        out.append(owner)
    return out


@settings(max_examples=300, deadline=None)
@given(owners=_owners(3), listed=st.sets(st.sampled_from(NAMES), max_size=2))
def test_ownership_agrees_with_the_reference(owners: list[dict[str, Any]],
                                              listed: set[str]) -> None:
    party = {"name": "P", "country": "AE", "type": "private_company",
             "owners": _capped(owners)}
    proposal = {"title": "t", "initiator": {"name": "U", "country": "US",
                                            "type": "private_company"},
                "counterparties": [party], "deal": {"type": "other"}, "sectors": ["other"]}
    Deriver(BUNDLED.root)(proposal, dt.date(2026, 11, 27),
                          lambda p, _: {"matched": p.get("name") in listed, "score": 0})
    facts = proposal["counterparties"][0]["ownership"]
    share, blocked = ownership_share(party, lambda n: n.get("name") in listed)
    assert abs(facts["blocked_percent"] - share) < 1e-3
    assert facts["ofac_blocked"] is blocked
