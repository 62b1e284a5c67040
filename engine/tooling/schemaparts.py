"""The building blocks of the editor JSON Schemas (engine.tooling.schema writes the documents):
closed objects with the checker's keys, readable `$defs` for the contract's shared parts, the
conditions of rules (one definition per scope, each operator with the operands its declaration
accepts) and the proposal of rule tests.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from engine.language import contract, packfile, syntax
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

DIALECT = "https://json-schema.org/draft/2020-12/schema"

Schema = dict[str, Any]

# What each operator means, shown by editors on hover and completion. Every operator of the
# language needs an entry: a new operator without one fails schema generation (and its test).
OPERATOR_HELP: dict[str, str] = {**{op: OPERATORS[op].help for op in WRITTEN},
                                  **QUANTIFIER_HELP, **COMBINATOR_HELP}

TEXT: Schema = {"type": "string", "minLength": 1, "pattern": r"\S"}
DATE: Schema = {"type": "string", "format": "date", "description": "a date, YYYY-MM-DD"}
NUMBER: Schema = {"type": "number"}
SCALAR_TYPES = ["string", "number", "boolean"]


def described_text(description: str) -> Schema:
    return {**TEXT, "description": description}


def closed(properties: dict[str, Schema], keys: Sequence[str], required: Sequence[str],
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


def document(title: str, description: str, root: Schema, defs: dict[str, Schema]) -> Schema:
    doc: Schema = {"$schema": DIALECT, "title": title, "description": description, **root}
    if defs:
        doc["$defs"] = dict(sorted(defs.items()))
    return doc


def ref(name: str) -> Schema:
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


class Defs:
    """Collects the `$defs` of one schema document: value types and proposal object shapes."""

    def __init__(self, declared: Contract | None = None) -> None:
        self.defs: dict[str, Schema] = {}
        self.enum_names, self.object_names = _contract_names(declared)

    def add(self, name: str, build: Callable[[], Schema]) -> Schema:
        """A reference to `name`, defining it on first use (`build` may refer to it: recursion)."""
        if name not in self.defs:
            self.defs[name] = {}  # reserve first: a recursive build must see it as defined
            self.defs[name] = build()
        return ref(name)

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


def describe(spec: FieldSpec, defs: Defs, where: str) -> str:
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


class Conditions:
    """The recursive condition schema, per scope, with the paths and operand types of each.

    A condition's paths are relative to its scope: the proposal at the top of `when`, the
    item inside `some`/`every`. Object scopes list their paths (so editors complete them and
    unknown paths are refused) and refine, per path, which operators apply and what operand
    they take. Lists of plain values are scopes without paths: the test applies to the item.
    """

    def __init__(self, defs: Defs) -> None:
        self.defs = defs

    def condition(self, spec: FieldSpec, where: str) -> Schema:
        """A reference to the condition schema of the scope `spec` (the proposal or an item)."""
        if spec.kind is Kind.OBJECT:
            name = f"condition.{self.defs.type_name(spec, where)}"
            return self.defs.add(name, lambda: self._object_scope(spec, where, name))
        name = f"condition.item.{self.defs.type_name(spec, where)}"
        return self.defs.add(name, lambda: self._value_scope(spec, where, name))

    def _combinators(self, name: str) -> dict[str, Schema]:
        itself = ref(name)
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
                   "then": ref(ops)} for ops, group in by_type.items()]
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


# Complexity D (23, radon), kept in one piece: one branch per field kind (contract.Kind), as the
# contract declares them.
def proposal_schema(spec: FieldSpec, defs: Defs, where: str = "") -> Schema:
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
