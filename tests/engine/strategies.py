"""Hypothesis strategies for conditions and proposals over small value domains (so rules fire)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import strategies as st

from engine.language import syntax
from engine.language.operators import OPERATORS, Op, Operand

COUNTRIES = ["RU", "US", "CN", "IR", "AE"]
RAILS = ["swift", "crypto", "cips", "barter"]
SECTORS = ["space", "payments", "energy"]
TYPES = ["state_agency", "private_company", "government"]
EXPORT = ["itar", "dual_use", "not_controlled", "unknown"]
TRANSFER = ["none", "limited", "substantial", "full"]
AMOUNTS = [0, 1_000_000, 100_000_000, 450_000_000.5]
SHARES = [0.0, 0.2, 0.25, 1.0]
TITLES = ["Launch deal", "launch", "EV plant", "Ro\u0441kosmos \u00e9 deal", ""]
PATTERNS = [".*[Ll]aunch.*", "EV.*", "[A-Z].*", "(Launch|EV) .*", "x?", ".*deal", ".*[Ll]a.*",
            "Ro.*", ".*(os|me).*"]

# (path, kind, domain) of plain fields at the top scope
TOP_SCALARS: list[tuple[tuple[str, ...], str, list[Any]]] = [
    (("title",), "text", TITLES),
    (("deal", "type"), "enum", ["joint_venture", "other"]),
    (("deal", "value", "amount"), "number", AMOUNTS),
    (("deal", "duration_months"), "number", [1, 60, 120]),
    (("technology_transfer",), "enum", TRANSFER),
    (("payments", "usd_share"), "number", SHARES),
    (("public_profile",), "enum", ["low", "high"]),
    (("data_sharing", "personal_data"), "bool", [True, False]),
]
TOP_LISTS: list[tuple[tuple[str, ...], list[Any]]] = [
    (("payments", "rails"), RAILS),
    (("sectors",), SECTORS),
    (("deal", "jurisdictions"), COUNTRIES),
    (("mitigations",), ["escrow", "exit_clause"]),
]
PARTY_SCALARS: list[tuple[tuple[str, ...], str, list[Any]]] = [
    (("country",), "country", COUNTRIES),
    (("type",), "enum", TYPES),
    (("state_owned",), "bool", [True, False]),
    (("screening", "matched"), "bool", [True, False]),
    (("name",), "text", ["Roscosmos", "Acme", "\u0420\u043e\u0441\u043a\u043e\u0441\u043c\u043e\u0441"]),
]
OWNER_SCALARS: list[tuple[tuple[str, ...], str, list[Any]]] = [
    (("country",), "country", COUNTRIES),
    (("percent",), "number", [10, 50, 75.5]),
]
TECH_SCALARS: list[tuple[tuple[str, ...], str, list[Any]]] = [
    (("export_control",), "enum", EXPORT),
    (("category",), "enum", ["satellites", "chips", "other"]),
]


# The operators drawn for each kind of field, so that every operator of the registry
# (engine.language.operators) is generated: tests/engine/language/test_operators.py checks that none is left out
# (`not_matches` comes from the normalisation of `not matches`).
_PLAIN = [Op.EQ, Op.NE, Op.IN, Op.NOT_IN, Op.EXISTS, Op.MISSING]
_LISTED = [Op.IN_LIST, Op.NOT_IN_LIST]
OPERATORS_BY_KIND: dict[str, list[Op]] = {
    "text": [*_PLAIN, *_LISTED, Op.MATCHES],
    "enum": [*_PLAIN, *_LISTED],
    "country": [*_PLAIN, *_LISTED],
    "bool": _PLAIN,
    "number": [*_PLAIN, Op.LT, Op.LTE, Op.GT, Op.GTE],
    "list": [Op.CONTAINS, Op.CONTAINS_ANY, Op.EXISTS, Op.MISSING],
}
# the tests of an item of a plain list (the item itself, no path)
ITEM_OPERATORS = [Op.EQ, Op.NE, Op.IN, Op.NOT_IN, Op.IN_LIST, Op.NOT_IN_LIST]
LIST_NAME = "generated_list"


def _leaf(scalars: list[tuple[tuple[str, ...], str, list[Any]]],
          lists: list[tuple[tuple[str, ...], list[Any]]]) -> st.SearchStrategy[syntax.Condition]:
    options = [st.tuples(st.just(path), st.sampled_from(OPERATORS_BY_KIND[kind]), st.just(domain))
               for path, kind, domain in scalars]
    options += [st.tuples(st.just(path), st.sampled_from(OPERATORS_BY_KIND["list"]),
                          st.just(domain)) for path, domain in lists]
    return st.one_of(options).flatmap(_make_leaf)


def _make_leaf(spec: tuple[tuple[str, ...], Op, list[Any]]) -> st.SearchStrategy[syntax.Condition]:
    """A test of `op` on `path` with operands drawn from `domain`, by the operator's operand."""
    path, op, domain = spec
    operand = OPERATORS[op].operand
    if operand is Operand.PATH:
        return st.just(syntax.Leaf(op, path))
    if operand is Operand.PATTERN:
        return st.sampled_from(PATTERNS).map(lambda p: syntax.Leaf(op, path, value=p))
    if operand is Operand.VALUE:
        return st.sampled_from(domain).map(lambda v: syntax.Leaf(op, path, value=v))
    several = st.lists(st.sampled_from(domain), min_size=1, max_size=3, unique=True)
    name = LIST_NAME if operand is Operand.LIST_NAME else None
    return several.map(lambda vs: syntax.Leaf(op, path, values=tuple(vs), list_name=name))


def _item_self(domain: list[Any]) -> st.SearchStrategy[syntax.Condition]:
    return st.tuples(st.just(()), st.sampled_from(ITEM_OPERATORS), st.just(domain)).flatmap(
        _make_leaf)


def window(day: dt.date) -> st.SearchStrategy[tuple[dt.date | None, dt.date | None]]:
    """A rule's effective window (from, until) around `day`: open, closed, on its edges."""
    edges = st.sampled_from([None, day - dt.timedelta(days=1), day, day + dt.timedelta(days=1)])
    return st.tuples(edges, edges)


def _combine(base: st.SearchStrategy[syntax.Condition], depth: int) -> st.SearchStrategy[syntax.Condition]:
    return st.recursive(base, lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3).map(lambda xs: syntax.All(tuple(xs))),
        st.lists(inner, min_size=1, max_size=3).map(lambda xs: syntax.Any(tuple(xs))),
        inner.map(syntax.Not),
    ), max_leaves=depth)


def owner_condition() -> st.SearchStrategy[syntax.Condition]:
    return _combine(_leaf(OWNER_SCALARS, []), 3)


def party_condition() -> st.SearchStrategy[syntax.Condition]:
    owners = st.tuples(st.sampled_from(["some", "every"]), owner_condition()).map(
        lambda t: syntax.Quantifier(t[0], ("owners",), t[1]))
    aliases = st.tuples(st.sampled_from(["some", "every"]), _item_self(["Acme", "Roscosmos"])).map(
        lambda t: syntax.Quantifier(t[0], ("aliases",), t[1]))
    return _combine(st.one_of(_leaf(PARTY_SCALARS, []), owners, aliases), 4)


def condition() -> st.SearchStrategy[syntax.Condition]:
    parties = st.tuples(st.sampled_from(["some", "every"]), party_condition()).map(
        lambda t: syntax.Quantifier(t[0], ("counterparties",), t[1]))
    techs = st.tuples(st.sampled_from(["some", "every"]), _combine(_leaf(TECH_SCALARS, []), 3)).map(
        lambda t: syntax.Quantifier(t[0], ("technologies",), t[1]))
    juris = st.tuples(st.sampled_from(["some", "every"]), _item_self(COUNTRIES)).map(
        lambda t: syntax.Quantifier(t[0], ("deal", "jurisdictions"), t[1]))
    base = st.one_of(_leaf(TOP_SCALARS, TOP_LISTS), parties, techs, juris)
    return _combine(base, 6)


def list_choice() -> st.SearchStrategy[syntax.Condition]:
    """`some`/`every` over counterparties of a choice (`any`) between party conditions: tests
    on different fields and list tests over owners and aliases, the marked choices of the
    compiler (engine.compile.compiler)."""
    choice = st.lists(party_condition(), min_size=2, max_size=4).map(
        lambda xs: syntax.Any(tuple(xs)))
    inner = st.one_of(choice, st.tuples(party_condition(), choice).map(
        lambda t: syntax.All((t[0], t[1]))))
    return st.tuples(st.sampled_from(["some", "every"]), inner).map(
        lambda t: syntax.Quantifier(t[0], ("counterparties",), t[1]))


@st.composite
def _optional_fields(draw: st.DrawFn, fields: dict[str, st.SearchStrategy[Any]]) -> dict[str, Any]:
    return {k: draw(s) for k, s in fields.items() if draw(st.booleans())}


def owner() -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(lambda base, extra: {**base, **extra},
                     st.fixed_dictionaries({"name": st.sampled_from(["Ivan", "Acme"]),
                                            "country": st.sampled_from(COUNTRIES)}),
                     _optional_fields({"percent": st.sampled_from([10, 50, 75.5])}))


def party() -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(lambda base, extra: {**base, **extra},
                     st.fixed_dictionaries({"name": st.sampled_from(["Roscosmos", "Acme"]),
                                            "country": st.sampled_from(COUNTRIES),
                                            "type": st.sampled_from(TYPES)}),
                     _optional_fields({
                         "state_owned": st.booleans(),
                         "aliases": st.lists(st.sampled_from(["Acme", "Roscosmos", "X"]), max_size=2),
                         "owners": st.lists(owner(), max_size=2),
                         "screening": st.fixed_dictionaries({"matched": st.booleans(), "score": st.sampled_from([0, 90])}),
                     }))


def proposal() -> st.SearchStrategy[dict[str, Any]]:
    deal = st.builds(lambda base, extra: {**base, **extra},
                     st.fixed_dictionaries({"type": st.sampled_from(["joint_venture", "other"])}),
                     _optional_fields({
                         "value": _optional_fields({"amount": st.sampled_from(AMOUNTS),
                                                    "currency": st.just("USD")}),
                         "duration_months": st.sampled_from([1, 60, 120]),
                         "jurisdictions": st.lists(st.sampled_from(COUNTRIES), max_size=3),
                     }))
    return st.builds(lambda base, extra: {**base, **extra},
                     st.fixed_dictionaries({
                         "title": st.sampled_from(TITLES),
                         "initiator": st.just({"name": "Us", "country": "US", "type": "private_company"}),
                         "counterparties": st.lists(party(), min_size=1, max_size=3),
                         "deal": deal,
                         "sectors": st.lists(st.sampled_from(SECTORS), min_size=1, max_size=2),
                     }),
                     _optional_fields({
                         "technologies": st.lists(st.fixed_dictionaries({
                             "name": st.just("t"), "category": st.sampled_from(["satellites", "chips", "other"]),
                             "export_control": st.sampled_from(EXPORT)}), max_size=3),
                         "technology_transfer": st.sampled_from(TRANSFER),
                         "payments": _optional_fields({
                             "rails": st.lists(st.sampled_from(RAILS), max_size=3),
                             "usd_share": st.sampled_from(SHARES)}),
                         "public_profile": st.sampled_from(["low", "high"]),
                         "data_sharing": _optional_fields({"personal_data": st.booleans()}),
                         "mitigations": st.lists(st.sampled_from(["escrow", "exit_clause"]), max_size=2),
                     }))
