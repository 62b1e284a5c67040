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

import json
from collections.abc import Callable, Iterator
from pathlib import Path

from engine.language import contract, packfile, syntax
from engine.language import parser as language
from engine.language.contract import Contract, FieldSpec, Kind
from engine.screening import watchlists
from engine.tooling import testcases
from engine.tooling.schemaparts import (
    DATE,
    NUMBER,
    TEXT,
    Conditions,
    Defs,
    Schema,
    closed,
    described_text,
    document,
    proposal_schema,
    ref,
)

SCHEMA_DIR = "schema"


# ---------------------------------------------------------------------------------------------
# the five documents


def pack_schema() -> Schema:
    """pack.yaml."""
    factor = closed({
        "id": {"type": "string", "pattern": packfile.NAME.pattern,
               "description": "the factor's id, lower_snake_case; rules name it in `factor`"},
        "label": described_text("the factor's name in assessments"),
        "weight": {"type": "number", "exclusiveMinimum": 0,
                   "description": "relative weight (each is divided by the sum of all)"},
        "description": described_text("what the factor covers"),
    }, packfile.FACTOR_KEYS, packfile.FACTOR_REQUIRED)
    band = closed({
        "band": {"enum": list(syntax.BAND_NAMES), "description": "the band's name"},
        "min": {"type": "number", "minimum": 0,
                "description": "lower bound of the band (inclusive); the first band starts at 0"},
        "decision": {"enum": list(syntax.DECISIONS), "description": "decision for scores in "
                     "this band"},
    }, packfile.BAND_KEYS, packfile.BAND_KEYS)
    knockouts = closed({
        "decision": {"enum": list(syntax.DECISIONS),
                     "description": "decision forced when any knockout rule fires"},
    }, packfile.KNOCKOUT_KEYS, packfile.KNOCKOUT_KEYS)
    screening = closed({
        "threshold": {"type": "number", "exclusiveMinimum": 0, "description": "fuzzy score "
                      "(0-100) at or above which a party's name matches a watchlist entry"},
        "watchlists": {"type": "array", "items": described_text("a watchlist file, relative to the pack"),
                       "description": "watchlist files screened against every party"},
        "max_age_days": {"type": "integer", "minimum": 1,
                         "description": "a watchlist whose as_of is older than this is stale: "
                                        "a warning in check, a flag in every assessment"},
        "production": {"type": "boolean", "description": "refuse to load when a watchlist is "
                                                         "sample data, stale or empty"},
    }, packfile.SCREENING_KEYS, packfile.SCREENING_REQUIRED)
    review = closed({
        "four_eyes": {"type": "boolean", "description": "approving a deal the engine escalated "
                      "or rejected needs a second approval by a different reviewer"},
    }, packfile.REVIEW_KEYS, ())
    root = closed({
        "name": described_text("the pack's name"),
        "version": {**TEXT, "description": "the pack's version (text: quote a bare number)"},
        "description": described_text("what the pack scores"),
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
    return document("riskrules pack.yaml", "Name, version, factors, bands, knockout "
                     "decision and screening settings of a rule pack.", root, {})


def _legal_basis() -> Schema:
    entry = closed({
        "instrument": described_text("the law, regulation or order (e.g. 31 CFR Part 589)"),
        "provision": described_text("article or section (e.g. 589.201)"),
        "url": {"type": "string", "pattern": language.LEGAL_URL.pattern,
                "description": "the official text (eCFR, Federal Register, EUR-Lex, ...)"},
        "as_of": {**DATE, "description": "when the text was checked"},
    }, language.LEGAL_BASIS_KEYS, language.LEGAL_BASIS_REQUIRED)
    return {"description": "the law behind the rule: one entry or a list of them",
            "oneOf": [entry, {"type": "array", "minItems": 1, "items": entry}]}


def rules_schema(declared: Contract) -> Schema:
    """A rule file (a top-level `rules:` list), its paths from the pack's contract."""
    defs = Defs(declared)
    when = Conditions(defs).condition(declared.root, "")
    mitigation = syntax.RuleKind.MITIGATION.value
    rule = closed({
        "id": {"type": "string", "pattern": language.RULE_ID.pattern,
               "description": "unique in the pack: a letter, then letters, digits, - and _"},
        "title": described_text("one line saying what the rule detects"),
        "factor": {"type": "string", "pattern": packfile.NAME.pattern,
                   "description": "one of the factor ids of pack.yaml"},
        "kind": {"enum": [k.value for k in syntax.RuleKind], "description": "risk and knockout "
                 "rules add points (a knockout also forces the knockout decision); a "
                 "mitigation subtracts them"},
        "points": {"type": "number", "description": "risk and knockout: 0 or more; "
                   "mitigation: negative"},
        "when": {**when, "description": "the condition under which the rule fires"},
        "rationale": described_text("what the reviewer should do when this fires, and why it matters"),
        "source": described_text("where the consideration comes from (the article's quote)"),
        "legal_basis": _legal_basis(),
        "enabled": {"type": "boolean", "description": "default true"},
        "tags": {"type": "array", "items": described_text("a tag")},
        "effective_from": {**DATE, "description": "the rule does not fire before this date"},
        "effective_until": {**DATE, "description": "the rule does not fire after this date"},
        "at_least": {"enum": list(syntax.FLOOR_DECISIONS), "description": "risk rules only: a "
                     "floor; when the rule fires, the decision is at least this"},
    }, language.RULE_KEYS, language.RULE_REQUIRED)
    rule["if"] = {"required": ["kind"], "properties": {"kind": {"const": mitigation}}}
    rule["then"] = {"properties": {"points": {"exclusiveMaximum": 0}}}
    rule["else"] = {"properties": {"points": {"minimum": 0}}}
    defs.defs["rule"] = rule
    root = closed({"rules": {"type": "array", "items": ref("rule")}},
                   language.RULE_FILE_KEYS, language.RULE_FILE_KEYS)
    return document("riskrules rule file", "A list of rules: id, title, factor, kind, points "
                     "and the condition (`when`) under which each fires.", root, defs.defs)


def list_schema() -> Schema:
    """A reference list (`lists/NAME.yaml`)."""
    defs = Defs()
    entry = closed({
        "value": {**TEXT, "description": "the listed value (a country list: ISO 3166-1 alpha-2; "
                  "a currency list: ISO 4217 code or crypto ticker)"},
        "note": described_text("what the value is (for readers)"),
        "source": described_text("where the entry comes from"),
        "since": {"type": ["integer", "string"], "description": "optional: a year or a date"},
    }, packfile.ENTRY_KEYS, packfile.ENTRY_REQUIRED)
    defs.defs["entry"] = entry
    root = closed({
        "name": {"type": "string", "pattern": packfile.NAME.pattern,
                 "description": "must equal the file name without .yaml"},
        "description": described_text("what the list holds and why"),
        "kind": {"enum": list(packfile.LIST_KINDS), "description": "country values are ISO "
                 "3166-1 alpha-2 codes; currency values ISO 4217 codes or crypto tickers"},
        "as_of": {**DATE, "description": "when the list was compiled"},
        "source": described_text("where the list comes from"),
        "entries": {"type": "array", "items": ref("entry")},
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
    return document("riskrules reference list", "A named reference list used by in_list and "
                     "not_in_list, each entry with a note and a source.", root, defs.defs)


def watchlist_schema() -> Schema:
    """A sanctions watchlist in the pack's canonical YAML (`watchlists/*.yaml`)."""
    defs = Defs()
    entry = closed({
        "id": {"type": ["string", "integer"], "minLength": 1, "pattern": r"\S",
               "description": "the entry's id in its list (an OFAC entry number may be "
                              "written unquoted)"},
        "name": described_text("the listed name"),
        "aliases": {"type": "array", "items": described_text("another name, any script")},
        "type": {"enum": list(watchlists.ENTRY_TYPES), "default": "other"},
        "programs": {"type": "array", "items": described_text("a sanctions programme")},
        "countries": {"type": "array", "items": defs.value(FieldSpec(Kind.COUNTRY), "country")},
        "source": described_text("the list within a consolidated file the entry comes from (e.g. "
                        "'Entity List (EL) - Bureau of Industry and Security')"),
    }, watchlists.ENTRY_KEYS, watchlists.ENTRY_REQUIRED)
    defs.defs["entry"] = entry
    root = closed({
        "name": {"type": "string", "pattern": watchlists.LIST_NAME.pattern,
                 "description": "the watchlist's name (reported as screening.list)"},
        "description": described_text("what the watchlist holds"),
        "source": described_text("who publishes it"),
        "as_of": {**DATE, "description": "the publication date of the data"},
        "sample": {"type": "boolean", "description": "true for sample data, not a full list"},
        "license": described_text("the data's licence"),
        "entries": {"type": "array", "items": ref("entry")},
    }, watchlists.LIST_KEYS, watchlists.LIST_REQUIRED)
    return document("riskrules watchlist", "A sanctions watchlist in the pack's canonical "
                     "YAML (import published lists with `riskrules lists import`).", root,
                     defs.defs)


def tests_schema(declared: Contract) -> Schema:
    """A rule-test file (`tests/*.yaml`), inline proposals from the pack's contract."""
    defs = Defs(declared)
    bounds = {
        "gte": {**NUMBER, "description": "at least"},
        "lte": {**NUMBER, "description": "at most"},
        "between": {"type": "array", "prefixItems": [NUMBER, NUMBER], "minItems": 2,
                    "maxItems": 2, "description": "[low, high], both included"},
    }
    expected_range = closed(bounds, testcases.RANGE_KEYS, ())
    expected_range.update({"minProperties": 1, "if": {"required": ["between"]},
                           "then": {"maxProperties": 1}})
    defs.defs["range"] = {"description": "a number (exact) or a range: {gte: a}, {lte: b}, "
                          "{gte: a, lte: b} or {between: [a, b]}",
                          "anyOf": [NUMBER, expected_range]}
    rule_ids: Schema = {"type": "array", "items": {"type": "string",
                                                    "pattern": language.RULE_ID.pattern}}
    expect = closed({
        "decision": {"enum": list(syntax.DECISIONS)},
        "band": {"enum": list(syntax.BAND_NAMES)},
        "score": ref("range"),
        "fired": {**rule_ids, "description": "rules that must fire"},
        "not_fired": {**rule_ids, "description": "rules that must not fire"},
        "knockouts": {**rule_ids, "description": "exactly the knockouts that must fire "
                      "([] for none)"},
        "factor_scores": {"type": "object", "propertyNames": {"pattern": packfile.NAME.pattern},
                          "additionalProperties": ref("range"),
                          "description": "factor id: expected (residual) factor score"},
        "missing_information": {"type": "array", "items": described_text("a field path"),
                                "description": "paths that must be reported as missing"},
        "floors": {**rule_ids, "description": "exactly the floors (rules with at_least) that "
                   "must fire ([] for none)"},
        "provisional": {"type": "boolean", "description": "whether the decision must be "
                        "provisional (an absent field could trigger a knockout or a floor)"},
    }, testcases.EXPECT_KEYS, (), "what the assessment must show (at least one expectation)")
    expect["minProperties"] = 1
    proposal = proposal_schema(declared.root, defs, "")
    defs.defs["proposal"] = proposal
    case = closed({
        "name": described_text("what the case shows"),
        "proposal": {"description": "a JSON file (relative to this test file) or an inline "
                     "proposal", "anyOf": [described_text("path to a JSON proposal"), ref("proposal")]},
        "as_of": {**DATE, "description": "assessment date (default today)"},
        "expect": expect,
    }, testcases.CASE_KEYS, ("name", "proposal", "expect"))
    root = closed({"cases": {"type": "array", "minItems": 1, "items": case}},
                   testcases.TOP_KEYS, ("cases",))
    return document("riskrules rule tests", "Cases for `riskrules test`: a proposal and "
                     "what its assessment must show.", root, defs.defs)


def contract_schema() -> Schema:
    """contract.yaml: the pack's proposal contract."""
    from engine.language import contractfile as cf

    field = ref("field")
    pair = {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 2}
    count: Schema = {"type": "integer", "minimum": 0}
    declaration = closed({
        "type": {"type": "string", "description": "a built-in type ("
                 + ", ".join([*cf.SCALAR_KINDS, "list", "object"])
                 + ") or the name of one of types:"},
        "description": described_text("what the field means (shown in docs/fields.md and OpenAPI)"),
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
        "items_sum": closed({"field": {"type": "string"}, "max": NUMBER},
                             ("field", "max"), ("field", "max"),
                             "the items' number field adds up to at most max"),
        "acyclic_by": {"type": "array", "items": {"type": "string"}, "minItems": 1,
                       "description": "fields identifying an item: an item may not repeat an "
                                      "ancestor (ownership cycles)"},
    }, cf.FIELD_KEYS, (), "a field declaration")
    derivation = closed({
        "name": described_text("the derivation's name"),
        "description": described_text("what the engine computes, and from what"),
        "fields": {"type": "array", "items": {"type": "string"},
                   "description": "the derived fields it writes (pattern paths)"},
    }, cf.DERIVED_KEYS, ("name", "description"))
    root = closed({
        "version": {**TEXT, "description": "the contract's version (text: quote it)"},
        "description": described_text("what a proposal is"),
        "types": {"type": "object", "additionalProperties": field,
                  "description": "named types (objects, enumerations) fields may use"},
        "fields": {"type": "object", "additionalProperties": field,
                   "description": "the proposal's top-level fields"},
        "derived": {"type": "array", "items": derivation,
                    "description": "facts the engine computes before matching"},
    }, cf.TOP_KEYS, cf.TOP_REQUIRED)
    return document("riskrules contract.yaml", "The proposal contract a rule pack declares: "
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
