"""What to tell an analyst after a mistake: suggestions above a similarity floor (the one
did-you-mean), the valid choices where there are few, the known confusions of the rule
language, and the operator that fits a field's type.

The checkers (`engine.language.parser`, `engine.language.yamlsource.Reader`,
`engine.tooling.testcases`) state the problem; the helpers here add what to do about it, in one
place, so that every diagnostic answers with its fix.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Iterable

import pycountry

from engine.language import syntax
from engine.language.contract import FieldSpec, Kind
from engine.language.operators import Op, Operator

# Below this similarity (difflib ratio) a "did you mean" misleads more than it helps:
# 'nato_members' is not 'brics_members' (0.64); 'titel' is 'title' (0.80).
SIMILARITY_FLOOR = 0.75

OPERATORS: tuple[str, ...] = (*syntax.LEAF_OPERATORS, *syntax.QUANTIFIERS, *syntax.COMBINATORS)

# Operators analysts bring from other languages, and what this one calls them.
OPERATOR_CONFUSIONS: dict[str, str] = {
    "==": "eq", "=": "eq", "===": "eq", "equals": "eq", "equal": "eq", "is": "eq",
    "!=": "ne", "<>": "ne", "!==": "ne", "neq": "ne", "not_eq": "ne", "not_equal": "ne",
    "is_not": "ne",
    "<": "lt", "<=": "lte", "=<": "lte", ">": "gt", ">=": "gte", "=>": "gte",
    "one_of": "in", "is_in": "in", "none_of": "not_in", "not in": "not_in",
    "includes": "contains", "has": "contains", "includes_any": "contains_any",
    "has_any": "contains_any", "contains_one_of": "contains_any",
    "regex": "matches", "match": "matches", "pattern": "matches", "like": "matches",
    "present": "exists", "exist": "exists", "defined": "exists", "is_set": "exists",
    "absent": "missing", "not_exists": "missing", "undefined": "missing",
    "is_missing": "missing",
    "list": "in_list", "in_set": "in_list", "not_list": "not_in_list",
    "and": "all", "or": "any", "each": "every", "for_all": "every", "for_any": "some",
}

# Keys of a rule that analysts write under another name.
RULE_KEY_CONFUSIONS: dict[str, str] = {
    "condition": "when", "conditions": "when", "if": "when", "match": "when",
    "score": "points", "weight": "points", "risk_points": "points",
    "type": "kind", "name": "title", "description": "rationale", "reason": "rationale",
    "category": "factor", "reference": "source",
}

# Keys of a test that come from "operator/value" styles of other rule engines.
TEST_STYLE_KEYS = ("op", "operator", "value", "values", "field")


def suggest(word: str, choices: Iterable[str]) -> str:
    """' (did you mean 'X'?)' when a choice is close enough to `word`, else ''."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=SIMILARITY_FLOOR)
    return f" (did you mean '{close[0]}'?)" if close else ""


def one_of(choices: Iterable[str]) -> str:
    """'a, b or c'."""
    items = list(choices)
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} or {items[-1]}"


def unknown_operator(key: str) -> str:
    """The message for an unknown key in a test: the confusion's fix, or a close operator,
    and the operators."""
    listing = f"the operators: {', '.join(OPERATORS)}"
    if key in OPERATOR_CONFUSIONS:
        word = OPERATOR_CONFUSIONS[key]
        why = "operators are words: " if not key[:1].isalpha() else ""
        return f"unknown operator '{key}': {why}use '{word}' ({listing})"
    if key in TEST_STYLE_KEYS:
        if key == "field":
            return "unknown operator 'field': the field of a test is its 'path', as in " \
                "{path: country, eq: RU}"
        return f"unknown operator '{key}': write the operator as the key and its value after " \
            f"it, as in {{path: country, eq: RU}} ({listing})"
    return f"unknown operator '{key}'{suggest(key, OPERATORS)} ({listing})"


def country_code(value: str) -> str:
    """' (Russia is RU)' when `value` names a country (name, official name, alpha-3, or the
    start of a name), else ''."""
    text = value.strip()
    if len(text) < 3:
        return ""
    try:
        return f" ({text} is {pycountry.countries.lookup(text).alpha_2})"
    except LookupError:
        pass
    try:
        found = pycountry.countries.search_fuzzy(text)
    except LookupError:
        return ""
    start = text.casefold()
    codes = [c.alpha_2 for c in found
             if any(str(getattr(c, attr, "")).casefold().startswith(start)
                    for attr in ("name", "common_name", "official_name"))]
    return f" ({text} is {one_of(codes)})" if codes else ""


def yaml_read_hint(value: object, spec: FieldSpec) -> str:
    """YAML turns NO, yes, off into booleans, 0042 into a number, 2026-07-01 into a date."""
    if spec.kind in (Kind.BOOLEAN, Kind.NUMBER, Kind.INTEGER):
        return ""
    if isinstance(value, bool | int | float | dt.date):
        return " (YAML read the unquoted value as " + {bool: "true/false", int: "a number",
                                                      float: "a number"}.get(
            type(value), "a date") + ": put it in quotes)"
    return ""


def containment_hint(op: Op, spec: FieldSpec, full: str) -> str:
    """`contains` on a single value: the analyst meant `in`, `eq` or `matches`."""
    if spec.kind is Kind.LIST:
        return f": use some/every to look inside the items of {full}"
    if spec.kind is Kind.OBJECT:
        return f": test one of its fields with a dotted path ({full}.FIELD)"
    options = ["'in: [...]' for one of several values"]
    if op is Op.CONTAINS:
        options.insert(0, "'eq' for one value")
        if spec.kind is Kind.STRING:
            options.append("'matches: \".*word.*\"' for text inside it")
    return f": to test {full} itself use {one_of(options)}"


def whole_list_hint(operator: Operator, spec: FieldSpec, full: str) -> str:
    """A single-value operator on a list or object field, and the operator that fits."""
    if spec.kind is Kind.OBJECT:
        return f": test one of its fields with a dotted path ({full}.FIELD)"
    item = spec.item
    if item is None or item.kind in (Kind.OBJECT, Kind.LIST):
        return f": use some/every with the paths of its items inside, as in {{path: {full}, " \
            "some: {...}}"
    if operator.on_list:
        return f": to test its items use '{operator.on_list.replace('FIELD', full)}'"
    return " (use contains, contains_any, some or every)"


def describe_kind(spec: FieldSpec) -> str:
    if spec.kind is Kind.LIST and spec.item is not None:
        return f"a list of {spec.item.kind.value}"
    article = "an" if spec.kind.value[0] in "aeiou" else "a"
    return f"{article} {spec.kind.value}"
