"""Derived facts, computed on the enriched proposal before matching, as the pack's contract
declares them (a derived field's type names the derivation):

- `screening` (type `screening`): every object of the proposal that carries it (every party
  of every role and every owner at every depth) is screened by name and aliases;
- `ownership` (type `ownership`): for every party and owner, the OFAC 50 Percent Rule
  aggregate of blocked holders (direct or indirect; an owner blocked by ownership passes its
  holding on in full), the EU "owned or controlled" test (over 50 %, or control), listed
  owners at any depth, and the chain of holdings that proves a finding;
- `licence` (type `licence_status`): for every technology, whether licence records in force
  on the assessment date, of a regime that can authorise its export (an ITAR item needs an
  ITAR licence, an EAR item an EAR licence), cover it for every receiving party.

Only a match on a *blocking* watchlist blocks: the deriver is given the names of the
watchlists that block no property (sectoral lists such as the SSI List, export-control
end-user lists such as the Entity List), and an owner matched only on one of those counts as
listed (`listed_owner`) but not as blocked (`blocked_percent`, `ofac_blocked`,
`eu_owned_or_controlled`).

Which objects get which derivation is planned once per contract (by walking its types); the
walk over a proposal follows the data only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

from engine.language.contract import FieldSpec, Kind

SCREENING, OWNERSHIP, LICENCE = "screening", "ownership", "licence_status"
DERIVATIONS = (SCREENING, OWNERSHIP, LICENCE)
RECIPIENT_ROLES = ("counterparties", "end_users", "consignees")
OFAC_THRESHOLD = 50.0  # OFAC: 50 % or more in the aggregate
EU_THRESHOLD = 50.0  # EU: more than 50 %
# the licence regimes that can authorise an item, by its claimed export-control status
EXPORT_REGIMES = ("itar", "ear", "eu_dual_use", "uk")
LICENCE_REGIMES = {"itar": ("itar",), "ear_controlled": ("ear",),
                   "dual_use": ("ear", "eu_dual_use", "uk")}


def blocking_match(non_blocking: frozenset[str] = frozenset()) -> Callable[[Any], bool]:
    """Whether a screening fact is a match on a blocking watchlist (one not named in
    `non_blocking`)."""
    def blocks(screening: Any) -> bool:
        return isinstance(screening, dict) and screening.get("matched") is True and \
            screening.get("list") not in non_blocking
    return blocks


ANY_MATCH = blocking_match()


class _Plan:
    """For one object type: which derived fields it carries, and where to descend."""

    __slots__ = ("children", "derived")

    def __init__(self) -> None:
        self.derived: dict[str, str] = {}  # field name -> derivation (type name)
        self.children: list[tuple[str, bool, _Plan]] = []  # (field, is a list, plan)


def _plan(spec: FieldSpec, plans: dict[int, _Plan]) -> _Plan:
    found = plans.get(id(spec.fields))
    if found is not None:
        return found
    plan = _Plan()
    plans[id(spec.fields)] = plan
    for name, sub in spec.fields.items():  # derived fields first: a type may nest itself
        if sub.derived and sub.kind is Kind.OBJECT and sub.name in DERIVATIONS:
            plan.derived[name] = sub.name
    for name, sub in spec.fields.items():
        if sub.derived:
            continue
        inner = sub.item if sub.kind is Kind.LIST and sub.item is not None else sub
        if inner.kind is Kind.OBJECT:
            child = _plan(inner, plans)
            if child.derived or child.children:
                plan.children.append((name, inner is not sub, child))
    return plan


def _walk(plan: _Plan, node: Any, path: str) -> Iterator[tuple[str, dict[str, Any], _Plan]]:
    """Every object below `node` (itself first) with a derived field, children before the
    parent's ownership is needed: yields in pre-order; callers needing post-order reverse."""
    if not isinstance(node, dict):
        return
    if plan.derived:
        yield path, node, plan
    for name, many, child in plan.children:
        value = node.get(name)
        where = f"{path}.{name}" if path else name
        if many and isinstance(value, list):
            for i, item in enumerate(value):
                yield from _walk(child, item, f"{where}[{i}]")
        elif not many:
            yield from _walk(child, value, where)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _pct(value: float) -> int | float:
    rounded = round(value, 4)
    return int(rounded) if rounded.is_integer() else rounded


# Complexity E (36, radon), kept in one piece: one pass over the owners accumulating every ownership
# fact at once; split, each part would re-walk the owners or pass nine accumulators around.
def ownership(node: dict[str, Any], path: str, owners_field: str = "owners",
              blocks: Callable[[Any], bool] | None = None) -> dict[str, Any]:
    """The ownership facts of `node`, from its owners' (already computed) facts; `blocks`
    tells a blocking watchlist match from a sectoral or export-control one (default: every
    match blocks)."""
    blocks = blocks or ANY_MATCH
    blocked = eu = 0.0
    controlled = listed = unknown = False
    best = 0.0
    chain: list[str] = []
    countries: dict[str, None] = {}
    depth = 0
    owners = node.get(owners_field)
    for i, owner in enumerate(owners if isinstance(owners, list) else ()):
        if not isinstance(owner, dict):
            continue
        where = f"{path}.{owners_field}[{i}]" if path else f"{owners_field}[{i}]"
        facts = owner.get("ownership") or {}
        screening = owner.get("screening") or {}
        own_matched = screening.get("matched") is True
        own_listed = blocks(screening)
        score = _number(screening.get("score")) or 0.0
        best = max(best, score, _number(facts.get("max_owner_score")) or 0.0)
        share = _number(owner.get("percent"))
        if share is None:
            unknown = True
            share = 0.0
        name = owner.get("name")
        label = f"{where} ({name}, {_pct(share)} %)"
        if own_listed or facts.get("ofac_blocked") is True:
            blocked += share
            why = "listed" if own_listed else \
                f"blocked by ownership ({facts.get('blocked_percent')} %)"
            chain.append(f"{label}: {why}")
            if not own_listed:
                chain.extend(facts.get("chain") or ())
        elif own_matched:
            chain.append(f"{label}: on {screening.get('list')} (restricted, not blocked)")
        if own_listed or facts.get("eu_owned_or_controlled") is True:
            eu += share
            if owner.get("controls") is True:
                controlled = True
                if not (own_listed or facts.get("ofac_blocked") is True):
                    chain.append(f"{label}: controls, owned or controlled by listed persons")
                    chain.extend(facts.get("chain") or ())
                else:
                    chain.append(f"{where} controls")
        listed = listed or own_matched or facts.get("listed_owner") is True
        unknown = unknown or facts.get("percent_unknown") is True
        country = owner.get("country")
        if isinstance(country, str):
            countries[country] = None
        for c in facts.get("owner_countries") or ():
            countries[c] = None
        depth = max(depth, 1 + int(facts.get("depth") or 0))
    self_listed = blocks(node.get("screening"))
    blocked = min(blocked, 100.0)
    ofac = self_listed or blocked >= OFAC_THRESHOLD
    eu_found = self_listed or eu > EU_THRESHOLD or controlled
    return {
        "blocked_percent": _pct(blocked),
        "ofac_blocked": ofac,
        "eu_owned_or_controlled": eu_found,
        "listed_owner": listed,
        "max_owner_score": _pct(best),
        "owner_countries": list(countries),
        "percent_unknown": unknown,
        "depth": depth,
        "chain": chain if (ofac or eu_found or listed) else [],
    }


def _in_force(licence: dict[str, Any], day: str) -> bool:
    start, end = licence.get("valid_from"), licence.get("valid_until")
    return (not isinstance(start, str) or start <= day) and \
        (not isinstance(end, str) or day <= end)


def _key(text: Any) -> str:
    return " ".join(text.casefold().split()) if isinstance(text, str) else ""


# Complexity D (21, radon), kept in one piece: one pass over the licences; each branch is a
# condition of a licence covering an item.
def licence_status(item: dict[str, Any], data: dict[str, Any], day: str) -> dict[str, Any]:
    """Whether licences in force on `day` cover `item` for every receiving party."""
    recipients: dict[str, str] = {}
    for role in RECIPIENT_ROLES:
        for party in data.get(role) or ():
            if isinstance(party, dict) and isinstance(party.get("name"), str):
                recipients.setdefault(_key(party["name"]), party["name"])
    name = _key(item.get("name"))
    regimes_ok = LICENCE_REGIMES.get(str(item.get("export_control")), EXPORT_REGIMES)
    covered: set[str] = set()
    numbers: list[str] = []
    regimes: list[str] = []
    for licence in data.get("licences") or ():
        if not isinstance(licence, dict) or not _in_force(licence, day) or \
                licence.get("regime") not in regimes_ok:
            continue
        if name not in {_key(i) for i in licence.get("items") or ()}:
            continue
        parties = {_key(p) for p in licence.get("parties") or ()} & set(recipients)
        if not parties:
            continue
        covered |= parties
        numbers.append(str(licence.get("number")))
        if licence.get("regime") not in regimes:
            regimes.append(str(licence.get("regime")))
    uncovered = [label for key, label in recipients.items() if key not in covered]
    return {"valid": bool(recipients) and not uncovered, "numbers": numbers,
            "regimes": regimes, "uncovered_parties": uncovered}


class Deriver:
    """`derive(data, day, screen)` writes every derived fact into `data` (an enriched copy)."""

    def __init__(self, contract: FieldSpec, non_blocking: frozenset[str] = frozenset()) -> None:
        self._plan = _plan(contract, {})
        self._blocks = blocking_match(non_blocking)

    @property
    def active(self) -> bool:
        return bool(self._plan.derived or self._plan.children)

    def __call__(self, data: dict[str, Any], day: dt.date,
                 screen: Callable[[dict[str, Any], str], dict[str, Any]] | None) -> None:
        nodes = list(_walk(self._plan, data, ""))
        today = day.isoformat()
        for path, node, plan in nodes:
            for name, kind in plan.derived.items():
                if kind == SCREENING and screen is not None:
                    node[name] = screen(node, path)
        # owners come after their party in pre-order: reversed, every owner is done first
        for path, node, plan in reversed(nodes):
            for name, kind in plan.derived.items():
                if kind == OWNERSHIP:
                    node[name] = ownership(node, path, blocks=self._blocks)
                elif kind == LICENCE:
                    node[name] = licence_status(node, data, today)
