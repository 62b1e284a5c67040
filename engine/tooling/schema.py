"""JSON Schemas (Draft 2020-12) for editors, generated from the models the compiler validates with.

An analyst editing the pack in an editor with the YAML language server gets completion and
red squiggles from `rules/schema/*.json`. Those files are generated here from the key tuples
and enumerations of `engine.language.parser`, `engine.language.syntax`,
`engine.screening.watchlists`, `engine.tooling.testcases` and the proposal contract
(`engine.language.contract`), so that they cannot say something the checker does not:
`riskrules schema --check` (run in CI) fails when the committed files drift.

The schemas check structure (keys, required keys, types, enumerations, operators and the
paths they may test, operand types per field); what needs the whole pack (unknown factor or
list names, band order, duplicate ids) stays with `riskrules check`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from engine.language import contract, packfile, syntax
from engine.language import parser as language
from engine.language.contract import Contract, FieldSpec, Kind
from engine.language.operators import (
    COMBINATOR_HELP,
    OPERATORS,
    QUANTIFIER_HELP,
    WRITTEN,
    Fields,
    Operand,
    Operator,
)
from engine.screening import watchlists
from engine.tooling import testcases

DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_DIR = "schema"

Schema = dict[str, Any]

# What each operator means, shown by editors on hover and completion. Every operator of the
# language needs an entry: a new operator without one fails schema generation (and its test).
OPERATOR_HELP: dict[str, str] = {**{op: OPERATORS[op].help for op in WRITTEN},
                                  **QUANTIFIER_HELP, **COMBINATOR_HELP}

TEXT: Schema = {"type": "string", "minLength": 1, "pattern": r"\S"}
DATE: Schema = {"type": "string", "format": "date", "description": "a date, YYYY-MM-DD"}
NUMBER: Schema = {"type": "number"}
SCALAR_TYPES = ["string", "number", "boolean"]


def _text(description: str) -> Schema:
    return {**TEXT, "description": description}


def _closed(properties: dict[str, Schema], keys: Sequence[str], required: Sequence[str],
            description: str = "") -> Schema:
    """An object with exactly the keys the checker allows (in its order) and its required ones.

    `properties` must describe every key of `keys` and nothing else: the generator fails
    rather than ship a schema whose keys differ from the checker's."""
    if list(properties) != list(keys):
        raise ValueError(f"schema keys {list(properties)} differ from the checker's {list(keys)}")
    out: Schema = {"type": "object"}
    if description:
        out["description"] = description
    out["properties"] = properties
    if required:
        out["required"] = list(required)
    out["additionalProperties"] = False
    return out


def _document(title: str, description: str, root: Schema, defs: dict[str, Schema]) -> Schema:
    doc: Schema = {"$schema": DIALECT, "title": title, "description": description, **root}
    if defs:
        doc["$defs"] = dict(sorted(defs.items()))
    return doc


def _ref(name: str) -> Schema:
    return {"$ref": f"#/$defs/{name}"}


# ---------------------------------------------------------------------------------------------
# names for the contract's shared parts (enumerations and object specs), for readable $defs


def _contract_names(declared: Contract | None) -> tuple[dict[tuple[str, ...], str], dict[int, str]]:
    """Enumerations and object specs of the contract, named after its declared types
    (`deal_type`, `party`)."""
    enums: dict[tuple[str, ...], str] = {}
    objects: dict[int, str] = {}
    if declared is not None:
        objects[id(declared.root.fields)] = "proposal"
    for name, value in sorted((declared.types if declared else {}).items()):
        if value.kind is Kind.ENUM:
            enums.setdefault(value.choices, name)
        elif value.kind is Kind.OBJECT:
            objects.setdefault(id(value.fields), name)
    return enums, objects


class _Defs:
    """Collects the `$defs` of one schema document: value types and proposal object shapes."""

    def __init__(self, declared: Contract | None = None) -> None:
        self.defs: dict[str, Schema] = {}
        self.enum_names, self.object_names = _contract_names(declared)

    def add(self, name: str, build: Callable[[], Schema]) -> Schema:
        """A reference to `name`, defining it on first use (`build` may refer to it: recursion)."""
        if name not in self.defs:
            self.defs[name] = {}  # reserve first: a recursive build must see it as defined
            self.defs[name] = build()
        return _ref(name)

    def enum_name(self, spec: FieldSpec, where: str) -> str:
        return self.enum_names.get(spec.choices) or where.replace("[]", "").replace(".", "_")

    def value(self, spec: FieldSpec, where: str) -> Schema:
        """The schema of one plain value of a field (an operand of eq, in, contains ...)."""
        kind = spec.kind
        if kind is Kind.ENUM:
            return self.add(f"enum.{self.enum_name(spec, where)}",
                            lambda: {"enum": list(spec.choices)})
        if kind is Kind.COUNTRY:
            return self.add("country", lambda: {
                "type": "string", "enum": sorted(contract.iso_countries()),
                "description": "ISO 3166-1 alpha-2 country code, upper case"})
        if kind is Kind.CURRENCY:
            return self.add("currency", lambda: {
                "type": "string", "pattern": contract.CRYPTO_TICKER.pattern,
                "description": "ISO 4217 currency code or crypto ticker (USD, RUB, USDT)"})
        if kind is Kind.SUBDIVISION:
            return self.add("subdivision", lambda: {
                "type": "string", "pattern": "^[A-Z]{2}-[A-Z0-9]{1,3}$",
                "description": "ISO 3166-2 subdivision code (UA-43)"})
        if kind is Kind.DATE:
            return {"type": "string", "format": "date", "description": "YYYY-MM-DD"}
        if kind in (Kind.NUMBER, Kind.INTEGER, Kind.BOOLEAN, Kind.STRING):
            return {"type": kind.value}
        raise TypeError(f"{where}: a {kind.value} field has no plain value")

    def type_name(self, spec: FieldSpec, where: str) -> str:
        """A short stable name for a field's type: `country`, `deal_types`, `list.party`."""
        if spec.kind is Kind.ENUM:
            return self.enum_name(spec, where)
        if spec.kind is Kind.LIST and spec.item is not None:
            return f"list.{self.type_name(spec.item, f'{where}[]')}"
        if spec.kind is Kind.OBJECT:
            return self.object_names.get(id(spec.fields)) or where.replace("[]", "") or "object"
        return str(spec.kind.value)


def describe(spec: FieldSpec, defs: _Defs, where: str) -> str:
    """How an editor presents a field: its type, then the contract's description."""
    if spec.kind is Kind.LIST and spec.item is not None:
        item = spec.item
        item_type = defs.type_name(item, where + "[]") if item.kind is Kind.OBJECT else \
            item.kind.value
        what = f"list of {item_type}"
        hint = "test with some/every" if item.kind is Kind.OBJECT else \
            "test with contains, contains_any, some or every"
        text = f"{what} ({hint})"
    elif spec.kind is Kind.OBJECT:
        text = "object (test its fields with a dotted path)"
    elif spec.kind is Kind.ENUM:
        text = f"one of {', '.join(spec.choices)}"
    else:
        text = spec.kind.value
    if spec.derived:
        text += "; computed by the engine's screening"
    return f"{text}: {spec.description}" if spec.description else text


# ---------------------------------------------------------------------------------------------
# conditions: one definition per scope (the proposal, or the items of a list)


class _Conditions:
    """The recursive condition schema, per scope, with the paths and operand types of each.

    A condition's paths are relative to its scope: the proposal at the top of `when`, the
    item inside `some`/`every`. Object scopes list their paths (so editors complete them and
    unknown paths are refused) and refine, per path, which operators apply and what operand
    they take. Lists of plain values are scopes without paths: the test applies to the item.
    """

    def __init__(self, defs: _Defs) -> None:
        self.defs = defs

    def condition(self, spec: FieldSpec, where: str) -> Schema:
        """A reference to the condition schema of the scope `spec` (the proposal or an item)."""
        if spec.kind is Kind.OBJECT:
            name = f"condition.{self.defs.type_name(spec, where)}"
            return self.defs.add(name, lambda: self._object_scope(spec, where, name))
        name = f"condition.item.{self.defs.type_name(spec, where)}"
        return self.defs.add(name, lambda: self._value_scope(spec, where, name))

    def _combinators(self, name: str) -> dict[str, Schema]:
        itself = _ref(name)
        return {
            "all": {"type": "array", "minItems": 1, "items": itself,
                    "description": OPERATOR_HELP["all"]},
            "any": {"type": "array", "minItems": 1, "items": itself,
                    "description": OPERATOR_HELP["any"]},
            "not": {**itself, "description": OPERATOR_HELP["not"]},
        }

    def _object_scope(self, spec: FieldSpec, where: str, name: str) -> Schema:
        paths = contract.all_paths(spec)
        specs = {p: _resolved(p, spec) for p in paths}
        path_enum = self.defs.add(f"paths.{name.removeprefix('condition.')}", lambda: {
            "type": "string",
            "enum": paths,
            "enumDescriptions": [describe(specs[p], self.defs, _join(where, p)) for p in paths],
        })
        properties: dict[str, Schema] = self._combinators(name)
        properties["path"] = {**path_enum, "description": "the field to test, a dotted path "
                              + ("into the proposal" if not where else "relative to the item")}
        for op in WRITTEN:
            operator = OPERATORS[op]
            if operator.operand is Operand.PATH:
                properties[op] = {**path_enum, "description": f"{op}: PATH — {operator.help}"}
            else:
                properties[op] = {**_generic_operand(operator), "description": operator.help}
        for quantifier in syntax.QUANTIFIERS:
            properties[quantifier] = {"type": "object", "description": OPERATOR_HELP[quantifier]}
        alone = [*syntax.COMBINATORS,
                 *(op for op in WRITTEN if OPERATORS[op].operand is Operand.PATH)]
        by_type: dict[str, list[str]] = {}
        for path in paths:
            kind = specs[path].kind
            ops = "ops.object" if kind is Kind.OBJECT else \
                f"ops.{self.defs.type_name(specs[path], _join(where, path))}"
            self.defs.add(ops, functools.partial(self._operators, specs[path], _join(where, path)))
            by_type.setdefault(ops, []).append(path)
        refine = [{"if": {"required": ["path"], "properties": {"path": {"enum": group}}},
                   "then": _ref(ops)} for ops, group in by_type.items()]
        return {
            "type": "object",
            "description": "a condition on " + (
                f"each {name.removeprefix('condition.')} (paths relative to it)" if where
                else "the proposal") +
                           ": all, any, not, or a test {path: PATH, OPERATOR: OPERAND} "
                           "(exists/missing: {exists: PATH})",
            "properties": properties,
            "additionalProperties": False,
            "if": {"anyOf": [{"required": [k]} for k in alone]},
            "then": {"maxProperties": 1},
            "else": {"required": ["path"], "minProperties": 2, "maxProperties": 2},
            "allOf": refine,
        }

    def _value_scope(self, spec: FieldSpec, where: str, name: str) -> Schema:
        properties = self._combinators(name)
        properties.update(self._operator_schemas(spec, where, named=False))
        return {
            "type": "object",
            "description": f"a condition on each item of a list of plain {spec.kind.value} "
                           "values: all, any, not, or one operator without a path",
            "properties": properties,
            "additionalProperties": False,
            "minProperties": 1,
            "maxProperties": 1,
        }

    def _operators(self, spec: FieldSpec, where: str) -> Schema:
        """The operators a test may apply to a field of this type, with their operands."""
        allowed = self._operator_schemas(spec, where, named=True)
        return {
            "description": f"the operators that apply to {describe(spec, self.defs, where)}",
            "propertyNames": {"enum": ["path", *allowed]},
            "properties": allowed,
        }

    def _operator_schemas(self, spec: FieldSpec, where: str, *, named: bool) -> dict[str, Schema]:
        """The operators whose declaration (`engine.language.operators`) accepts `spec`, with their
        operands, as `RuleParser.leaf` checks them; `named` is false for the items of a plain
        list (tested without a path)."""
        if spec.kind is Kind.OBJECT:
            return {}
        if spec.kind is Kind.LIST:
            return self._list_operators(spec, where)
        value = self.defs.value(spec, where)
        return {op: self._operand(operator, value) for op in WRITTEN
                if (operator := OPERATORS[op]).operand is not Operand.PATH
                and operator.fields.accepts(spec) and (named or not operator.needs_path)}

    def _list_operators(self, spec: FieldSpec, where: str) -> dict[str, Schema]:
        """On a list field: the containment tests (a list of plain values) and some/every."""
        out: dict[str, Schema] = {}
        if spec.item is None:
            return out
        containment = [OPERATORS[op] for op in WRITTEN
                       if OPERATORS[op].fields is Fields.PLAIN_LIST and
                       OPERATORS[op].fields.accepts(spec)]
        if containment:
            value = self.defs.value(spec.item, f"{where}[]")
            out = {operator.op: self._operand(operator, value) for operator in containment}
        inner = self.condition(spec.item, f"{where}[]")
        for quantifier in syntax.QUANTIFIERS:
            out[quantifier] = {**inner, "description": OPERATOR_HELP[quantifier]}
        return out

    @staticmethod
    def _operand(operator: Operator, value: Schema) -> Schema:
        """The operand of `operator` on a field whose values `value` describes."""
        if operator.operand is Operand.VALUES:
            return _values(value, operator.help)
        if operator.operand is Operand.LIST_NAME:
            return _list_name(operator.help)
        if operator.operand is Operand.PATTERN:
            return {**TEXT, "description": operator.help}
        return {**value, "description": operator.help}


def _resolved(path: str, scope: FieldSpec) -> FieldSpec:
    spec = contract.resolve(path, scope)
    if spec is None:  # all_paths and resolve disagree: a contract bug, not user input
        raise ValueError(f"contract path {path!r} does not resolve")
    return spec


def _join(where: str, path: str) -> str:
    return f"{where}.{path}" if where else path


def _values(value: Schema, description: str) -> Schema:
    return {"type": "array", "minItems": 1, "items": value, "description": description}


def _list_name(description: str) -> Schema:
    return {"type": "string", "pattern": packfile.NAME.pattern,
            "description": f"{description} (a list's name is its file name without .yaml)"}


def _generic_operand(operator: Operator) -> Schema:
    """The operand of `operator` before the path is known (refined per path by the `ops.*`
    defs)."""
    if operator.operand is Operand.VALUES:
        return {"type": "array", "minItems": 1, "items": {"type": SCALAR_TYPES}}
    if operator.operand is Operand.LIST_NAME:
        return {"type": "string", "pattern": packfile.NAME.pattern}
    if operator.operand is Operand.PATTERN:
        return dict(TEXT)
    if operator.fields is Fields.NUMBER:
        return dict(NUMBER)
    return {"type": SCALAR_TYPES}


# ---------------------------------------------------------------------------------------------
# the proposal, for inline proposals in rule tests


def proposal_schema(spec: FieldSpec, defs: _Defs, where: str = "") -> Schema:
    """The proposal contract as JSON Schema (derived fields left out: clients never send them)."""
    kind = spec.kind
    out: Schema
    if kind is Kind.OBJECT:
        name = defs.object_names.get(id(spec.fields))
        if name is not None and where:
            return _with_description(defs.add(f"proposal.{name}", lambda: proposal_schema(
                spec, defs, "")), spec)
        fields = {k: proposal_schema(v, defs, _join(where, k))
                  for k, v in spec.fields.items() if not v.derived}
        out = {"type": "object", "properties": fields}
        required = [k for k, v in spec.fields.items() if v.required and not v.derived]
        if required:
            out["required"] = required
        if spec.together:
            out["dependentRequired"] = {a: [b] for a, b in spec.together}
        out["additionalProperties"] = False
    elif kind is Kind.LIST:
        if spec.item is None:
            raise TypeError(f"contract list {where!r} has no item spec")
        out = {"type": "array", "items": proposal_schema(spec.item, defs, f"{where}[]")}
        if spec.min_length is not None:
            out["minItems"] = spec.min_length
        if spec.max_length is not None:
            out["maxItems"] = spec.max_length
    else:
        out = dict(defs.value(spec, where))
        if kind is Kind.STRING:
            out["pattern"] = f"^(?:{spec.pattern})$" if spec.pattern else \
                contract.text_pattern(spec)
            if spec.min_length is not None:
                out["minLength"] = spec.min_length
            if spec.max_length is not None:
                out["maxLength"] = spec.max_length
        if spec.minimum is not None:
            out["minimum"] = spec.minimum
        if spec.maximum is not None:
            out["maximum"] = spec.maximum
        if spec.default is not None:
            out["default"] = spec.default
    return _with_description(out, spec)


def _with_description(schema: Schema, spec: FieldSpec) -> Schema:
    return {**schema, "description": spec.description} if spec.description else schema


# ---------------------------------------------------------------------------------------------
# the five documents


def pack_schema() -> Schema:
    """pack.yaml."""
    factor = _closed({
        "id": {"type": "string", "pattern": packfile.NAME.pattern,
               "description": "the factor's id, lower_snake_case; rules name it in `factor`"},
        "label": _text("the factor's name in assessments"),
        "weight": {"type": "number", "exclusiveMinimum": 0,
                   "description": "relative weight (each is divided by the sum of all)"},
        "description": _text("what the factor covers"),
    }, packfile.FACTOR_KEYS, packfile.FACTOR_REQUIRED)
    band = _closed({
        "band": {"enum": list(syntax.BAND_NAMES), "description": "the band's name"},
        "min": {"type": "number", "minimum": 0,
                "description": "lower bound of the band (inclusive); the first band starts at 0"},
        "decision": {"enum": list(syntax.DECISIONS), "description": "decision for scores in "
                     "this band"},
    }, packfile.BAND_KEYS, packfile.BAND_KEYS)
    knockouts = _closed({
        "decision": {"enum": list(syntax.DECISIONS),
                     "description": "decision forced when any knockout rule fires"},
    }, packfile.KNOCKOUT_KEYS, packfile.KNOCKOUT_KEYS)
    screening = _closed({
        "threshold": {"type": "number", "exclusiveMinimum": 0, "description": "fuzzy score "
                      "(0-100) at or above which a party's name matches a watchlist entry"},
        "watchlists": {"type": "array", "items": _text("a watchlist file, relative to the pack"),
                       "description": "watchlist files screened against every party"},
        "max_age_days": {"type": "integer", "minimum": 1,
                         "description": "a watchlist whose as_of is older than this is stale: "
                                        "a warning in check, a flag in every assessment"},
        "production": {"type": "boolean", "description": "refuse to load when a watchlist is "
                                                         "sample data, stale or empty"},
    }, packfile.SCREENING_KEYS, packfile.SCREENING_REQUIRED)
    review = _closed({
        "four_eyes": {"type": "boolean", "description": "approving a deal the engine escalated "
                      "or rejected needs a second approval by a different reviewer"},
    }, packfile.REVIEW_KEYS, ())
    root = _closed({
        "name": _text("the pack's name"),
        "version": {**TEXT, "description": "the pack's version (text: quote a bare number)"},
        "description": _text("what the pack scores"),
        "factors": {"type": "array", "minItems": 1, "items": factor,
                    "description": "risk factors, in the order assessments list them"},
        "bands": {"type": "array", "minItems": 1, "items": band,
                  "description": "score bands in the order low, medium, high, critical, with "
                                 "strictly increasing minimums"},
        "knockouts": knockouts,
        "screening": screening,
        "incomplete_decision": {"enum": list(syntax.INCOMPLETE_DECISIONS), "description": "the "
                                "least decision when an absent field could make a knockout or "
                                "a floor fire (the assessment is then provisional); default "
                                "review"},
        "review": review,
    }, packfile.PACK_KEYS, packfile.PACK_REQUIRED)
    return _document("riskrules pack.yaml", "Name, version, factors, bands, knockout "
                     "decision and screening settings of a rule pack.", root, {})


def _legal_basis() -> Schema:
    entry = _closed({
        "instrument": _text("the law, regulation or order (e.g. 31 CFR Part 589)"),
        "provision": _text("article or section (e.g. 589.201)"),
        "url": {"type": "string", "pattern": language.LEGAL_URL.pattern,
                "description": "the official text (eCFR, Federal Register, EUR-Lex, ...)"},
        "as_of": {**DATE, "description": "when the text was checked"},
    }, language.LEGAL_BASIS_KEYS, language.LEGAL_BASIS_REQUIRED)
    return {"description": "the law behind the rule: one entry or a list of them",
            "oneOf": [entry, {"type": "array", "minItems": 1, "items": entry}]}


def rules_schema(declared: Contract) -> Schema:
    """A rule file (a top-level `rules:` list), its paths from the pack's contract."""
    defs = _Defs(declared)
    when = _Conditions(defs).condition(declared.root, "")
    mitigation = syntax.RuleKind.MITIGATION.value
    rule = _closed({
        "id": {"type": "string", "pattern": language.RULE_ID.pattern,
               "description": "unique in the pack: a letter, then letters, digits, - and _"},
        "title": _text("one line saying what the rule detects"),
        "factor": {"type": "string", "pattern": packfile.NAME.pattern,
                   "description": "one of the factor ids of pack.yaml"},
        "kind": {"enum": [k.value for k in syntax.RuleKind], "description": "risk and knockout "
                 "rules add points (a knockout also forces the knockout decision); a "
                 "mitigation subtracts them"},
        "points": {"type": "number", "description": "risk and knockout: 0 or more; "
                   "mitigation: negative"},
        "when": {**when, "description": "the condition under which the rule fires"},
        "rationale": _text("what the reviewer should do when this fires, and why it matters"),
        "source": _text("where the consideration comes from (the article's quote)"),
        "legal_basis": _legal_basis(),
        "enabled": {"type": "boolean", "description": "default true"},
        "tags": {"type": "array", "items": _text("a tag")},
        "effective_from": {**DATE, "description": "the rule does not fire before this date"},
        "effective_until": {**DATE, "description": "the rule does not fire after this date"},
        "at_least": {"enum": list(syntax.FLOOR_DECISIONS), "description": "risk rules only: a "
                     "floor; when the rule fires, the decision is at least this"},
    }, language.RULE_KEYS, language.RULE_REQUIRED)
    rule["if"] = {"required": ["kind"], "properties": {"kind": {"const": mitigation}}}
    rule["then"] = {"properties": {"points": {"exclusiveMaximum": 0}}}
    rule["else"] = {"properties": {"points": {"minimum": 0}}}
    defs.defs["rule"] = rule
    root = _closed({"rules": {"type": "array", "items": _ref("rule")}},
                   language.RULE_FILE_KEYS, language.RULE_FILE_KEYS)
    return _document("riskrules rule file", "A list of rules: id, title, factor, kind, points "
                     "and the condition (`when`) under which each fires.", root, defs.defs)


def list_schema() -> Schema:
    """A reference list (`lists/NAME.yaml`)."""
    defs = _Defs()
    entry = _closed({
        "value": {**TEXT, "description": "the listed value (a country list: ISO 3166-1 alpha-2; "
                  "a currency list: ISO 4217 code or crypto ticker)"},
        "note": _text("what the value is (for readers)"),
        "source": _text("where the entry comes from"),
        "since": {"type": ["integer", "string"], "description": "optional: a year or a date"},
    }, packfile.ENTRY_KEYS, packfile.ENTRY_REQUIRED)
    defs.defs["entry"] = entry
    root = _closed({
        "name": {"type": "string", "pattern": packfile.NAME.pattern,
                 "description": "must equal the file name without .yaml"},
        "description": _text("what the list holds and why"),
        "kind": {"enum": list(packfile.LIST_KINDS), "description": "country values are ISO "
                 "3166-1 alpha-2 codes; currency values ISO 4217 codes or crypto tickers"},
        "as_of": {**DATE, "description": "when the list was compiled"},
        "source": _text("where the list comes from"),
        "entries": {"type": "array", "items": _ref("entry")},
    }, packfile.LIST_KEYS, packfile.LIST_REQUIRED)
    typed = {"country": Kind.COUNTRY, "currency": Kind.CURRENCY}
    refine = []
    for list_kind in packfile.LIST_KINDS:
        if list_kind in typed:
            value = defs.value(FieldSpec(typed[list_kind]), list_kind)
            refine.append({
                "if": {"required": ["kind"], "properties": {"kind": {"const": list_kind}}},
                "then": {"properties": {"entries": {"items": {"properties": {"value": value}}}}},
            })
    root["allOf"] = refine
    return _document("riskrules reference list", "A named reference list used by in_list and "
                     "not_in_list, each entry with a note and a source.", root, defs.defs)


def watchlist_schema() -> Schema:
    """A sanctions watchlist in the pack's canonical YAML (`watchlists/*.yaml`)."""
    defs = _Defs()
    entry = _closed({
        "id": {"type": ["string", "integer"], "minLength": 1, "pattern": r"\S",
               "description": "the entry's id in its list (an OFAC entry number may be "
                              "written unquoted)"},
        "name": _text("the listed name"),
        "aliases": {"type": "array", "items": _text("another name, any script")},
        "type": {"enum": list(watchlists.ENTRY_TYPES), "default": "other"},
        "programs": {"type": "array", "items": _text("a sanctions programme")},
        "countries": {"type": "array", "items": defs.value(FieldSpec(Kind.COUNTRY), "country")},
        "source": _text("the list within a consolidated file the entry comes from (e.g. "
                        "'Entity List (EL) - Bureau of Industry and Security')"),
    }, watchlists.ENTRY_KEYS, watchlists.ENTRY_REQUIRED)
    defs.defs["entry"] = entry
    root = _closed({
        "name": {"type": "string", "pattern": watchlists.LIST_NAME.pattern,
                 "description": "the watchlist's name (reported as screening.list)"},
        "description": _text("what the watchlist holds"),
        "source": _text("who publishes it"),
        "as_of": {**DATE, "description": "the publication date of the data"},
        "sample": {"type": "boolean", "description": "true for sample data, not a full list"},
        "license": _text("the data's licence"),
        "entries": {"type": "array", "items": _ref("entry")},
    }, watchlists.LIST_KEYS, watchlists.LIST_REQUIRED)
    return _document("riskrules watchlist", "A sanctions watchlist in the pack's canonical "
                     "YAML (import published lists with `riskrules lists import`).", root,
                     defs.defs)


def tests_schema(declared: Contract) -> Schema:
    """A rule-test file (`tests/*.yaml`), inline proposals from the pack's contract."""
    defs = _Defs(declared)
    bounds = {
        "gte": {**NUMBER, "description": "at least"},
        "lte": {**NUMBER, "description": "at most"},
        "between": {"type": "array", "prefixItems": [NUMBER, NUMBER], "minItems": 2,
                    "maxItems": 2, "description": "[low, high], both included"},
    }
    expected_range = _closed(bounds, testcases.RANGE_KEYS, ())
    expected_range.update({"minProperties": 1, "if": {"required": ["between"]},
                           "then": {"maxProperties": 1}})
    defs.defs["range"] = {"description": "a number (exact) or a range: {gte: a}, {lte: b}, "
                          "{gte: a, lte: b} or {between: [a, b]}",
                          "anyOf": [NUMBER, expected_range]}
    rule_ids: Schema = {"type": "array", "items": {"type": "string",
                                                    "pattern": language.RULE_ID.pattern}}
    expect = _closed({
        "decision": {"enum": list(syntax.DECISIONS)},
        "band": {"enum": list(syntax.BAND_NAMES)},
        "score": _ref("range"),
        "fired": {**rule_ids, "description": "rules that must fire"},
        "not_fired": {**rule_ids, "description": "rules that must not fire"},
        "knockouts": {**rule_ids, "description": "exactly the knockouts that must fire "
                      "([] for none)"},
        "factor_scores": {"type": "object", "propertyNames": {"pattern": packfile.NAME.pattern},
                          "additionalProperties": _ref("range"),
                          "description": "factor id: expected (residual) factor score"},
        "missing_information": {"type": "array", "items": _text("a field path"),
                                "description": "paths that must be reported as missing"},
        "floors": {**rule_ids, "description": "exactly the floors (rules with at_least) that "
                   "must fire ([] for none)"},
        "provisional": {"type": "boolean", "description": "whether the decision must be "
                        "provisional (an absent field could trigger a knockout or a floor)"},
    }, testcases.EXPECT_KEYS, (), "what the assessment must show (at least one expectation)")
    expect["minProperties"] = 1
    proposal = proposal_schema(declared.root, defs, "")
    defs.defs["proposal"] = proposal
    case = _closed({
        "name": _text("what the case shows"),
        "proposal": {"description": "a JSON file (relative to this test file) or an inline "
                     "proposal", "anyOf": [_text("path to a JSON proposal"), _ref("proposal")]},
        "as_of": {**DATE, "description": "assessment date (default today)"},
        "expect": expect,
    }, testcases.CASE_KEYS, ("name", "proposal", "expect"))
    root = _closed({"cases": {"type": "array", "minItems": 1, "items": case}},
                   testcases.TOP_KEYS, ("cases",))
    return _document("riskrules rule tests", "Cases for `riskrules test`: a proposal and "
                     "what its assessment must show.", root, defs.defs)


def contract_schema() -> Schema:
    """contract.yaml: the pack's proposal contract."""
    from engine.language import contractfile as cf

    field = _ref("field")
    pair = {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 2}
    count: Schema = {"type": "integer", "minimum": 0}
    declaration = _closed({
        "type": {"type": "string", "description": "a built-in type ("
                 + ", ".join([*cf.SCALAR_KINDS, "list", "object"])
                 + ") or the name of one of types:"},
        "description": _text("what the field means (shown in docs/fields.md and OpenAPI)"),
        "example": {"description": "an example value"},
        "required": {"type": "boolean", "description": "default false"},
        "default": {"description": "the value rules see when the field is absent"},
        "derived": {"type": "boolean", "description": "computed by the engine, refused from "
                    "clients"},
        "enum": {"type": "array", "items": {"type": "string", "pattern": cf.FIELD_NAME.pattern},
                 "minItems": 1, "description": "the values of an enum"},
        "values_from": {"type": "string", "description": "an enum's values from a list of "
                        "lists/"},
        "min": {**NUMBER, "description": "least number"},
        "max": {**NUMBER, "description": "greatest number"},
        "min_length": {**count, "description": "shortest string"},
        "max_length": {**count, "description": "longest string (every string is bounded)"},
        "pattern": {"type": "string", "description": "a string's pattern (whole text, the "
                    "`matches` subset)"},
        "checks": {"type": "array", "items": {"enum": list(contract.FIELD_CHECKS)},
                   "description": "named value checks (name: at least one letter)"},
        "min_items": {**count, "description": "fewest items"},
        "max_items": {**count, "description": "most items (every list is bounded)"},
        "items": {"anyOf": [{"type": "string"}, field], "description": "a list's item type"},
        "fields": {"type": "object", "additionalProperties": field,
                   "description": "an object's fields"},
        "together": {"type": "array", "items": pair, "description": "[a, b]: b is required "
                     "when a is given"},
        "ordered": {"type": "array", "items": pair, "description": "[a, b] dates: b is not "
                    "before a"},
        "max_depth": {"type": "integer", "minimum": 1, "maximum": cf.MAX_DEPTH_LIMIT,
                      "description": "how deep a list of a type nesting itself may go"},
        "items_sum": _closed({"field": {"type": "string"}, "max": NUMBER},
                             ("field", "max"), ("field", "max"),
                             "the items' number field adds up to at most max"),
        "acyclic_by": {"type": "array", "items": {"type": "string"}, "minItems": 1,
                       "description": "fields identifying an item: an item may not repeat an "
                                      "ancestor (ownership cycles)"},
    }, cf.FIELD_KEYS, (), "a field declaration")
    derivation = _closed({
        "name": _text("the derivation's name"),
        "description": _text("what the engine computes, and from what"),
        "fields": {"type": "array", "items": {"type": "string"},
                   "description": "the derived fields it writes (pattern paths)"},
    }, cf.DERIVED_KEYS, ("name", "description"))
    root = _closed({
        "version": {**TEXT, "description": "the contract's version (text: quote it)"},
        "description": _text("what a proposal is"),
        "types": {"type": "object", "additionalProperties": field,
                  "description": "named types (objects, enumerations) fields may use"},
        "fields": {"type": "object", "additionalProperties": field,
                   "description": "the proposal's top-level fields"},
        "derived": {"type": "array", "items": derivation,
                    "description": "facts the engine computes before matching"},
    }, cf.TOP_KEYS, cf.TOP_REQUIRED)
    return _document("riskrules contract.yaml", "The proposal contract a rule pack declares: "
                     "types and fields with their bounds, descriptions and examples.", root,
                     {"field": declaration})


SCHEMAS: dict[str, Callable[[Contract], Schema]] = {
    "pack": lambda _: pack_schema(),
    "contract": lambda _: contract_schema(),
    "rules": rules_schema,
    "list": lambda _: list_schema(),
    "watchlist": lambda _: watchlist_schema(),
    "tests": tests_schema,
}


def file_name(name: str) -> str:
    return f"{name}.schema.json"


def render(schema: Schema) -> str:
    """The committed text of a schema: stable, so that `--check` compares bytes."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def generate(declared: Contract) -> Iterator[tuple[str, str]]:
    """(file name, text) of every schema, for a pack with this contract."""
    for name, build in SCHEMAS.items():
        yield file_name(name), render(build(declared))


def write(directory: str | Path, declared: Contract) -> list[Path]:
    """Write every schema into `directory` (created if needed); returns the files written."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in generate(declared):
        target = folder / name
        target.write_text(text, encoding="utf-8", newline="\n")
        written.append(target)
    return written


def stale(directory: str | Path, declared: Contract) -> list[str]:
    """Names of the schema files in `directory` that are missing or differ from what
    `generate` produces (empty: the committed schemas are current)."""
    folder = Path(directory)
    out = []
    for name, text in generate(declared):
        try:
            current = (folder / name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            current = None
        if current != text:
            out.append(name)
    return out
