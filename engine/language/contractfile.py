"""Reading a pack's `contract.yaml` into a `Contract`: every problem reported with its file, line
and column, like every other pack file.

A contract declares named types (`types:`, objects or enumerations, which may refer to each
other and, through a list bounded by `max_depth`, to themselves: an owner's owners) and the
proposal's fields (`fields:`); each field has a type, bounds (every list and string is
bounded), a description, an example and whether it is required. See rules/README.md
("The proposal contract") for the format.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from engine.codes import Code
from engine.errors import DiagnosticSink, PackError, Position
from engine.language.contract import (
    FIELD_CHECKS,
    RESERVED_NAMES,
    Contract,
    Derivation,
    FieldSpec,
    Kind,
    is_country,
    is_currency,
    is_date,
    is_subdivision,
)
from engine.language.regex import RegexError, check_pattern, full_match
from engine.language.yamlsource import Reader, YMap, YNode, YScalar, YSeq, plain, read_file

CONTRACT_FILE = "contract.yaml"
TOP_KEYS = ("version", "description", "types", "fields", "derived")
TOP_REQUIRED = ("version", "fields")
FIELD_KEYS = ("type", "description", "example", "required", "default", "derived", "enum",
              "values_from", "min", "max", "min_length", "max_length", "pattern", "checks",
              "min_items",
              "max_items",
              "items", "fields", "together", "ordered", "max_depth", "items_sum", "acyclic_by")
DERIVED_KEYS = ("name", "description", "fields")
SCALAR_KINDS = {k.value: k for k in Kind if k not in (Kind.LIST, Kind.OBJECT)}
FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
MAX_DEPTH_LIMIT = 32
VALUE_CHECKS = {
    Kind.COUNTRY: (is_country, "an ISO 3166-1 alpha-2 country code"),
    Kind.SUBDIVISION: (is_subdivision, "an ISO 3166-2 subdivision code"),
    Kind.CURRENCY: (is_currency, "an ISO 4217 code or crypto ticker"),
    Kind.DATE: (is_date, "a date YYYY-MM-DD"),
}


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and \
        math.isfinite(value)


class _Reader:
    def __init__(self, label: str, sink: DiagnosticSink, lists: dict[str, Any]) -> None:
        self.label = label
        self.sink = sink
        self.lists = lists
        self.named: dict[str, FieldSpec] = {}
        self.raw_types: dict[str, YMap] = {}
        self.resolving: set[str] = set()
        self.in_derived = False  # inside a derived object: the engine writes it, no bounds

    def error(self, message: str, pos: Position, code: str = Code.CONTRACT_UNUSABLE) -> None:
        self.sink.error(code, message, pos)

    def keys(self, node: YMap, allowed: tuple[str, ...], what: str) -> None:
        Reader(self.sink).keys(node, allowed, (), what, listing="allowed")

    def scalar(self, node: YNode | None, what: str, check: Any, expected: str) -> Any:
        if node is None:
            return None
        if not isinstance(node, YScalar) or not check(node.value):
            self.error(f"{what} must be {expected}", node.pos, Code.WRONG_TYPE)
            return None
        return node.value

    def text(self, node: YNode | None, what: str) -> str | None:
        value = self.scalar(node, what, lambda v: isinstance(v, str) and v.strip(), "text")
        return value if isinstance(value, str) else None

    def count(self, node: YNode | None, what: str) -> int | None:
        value = self.scalar(node, what, lambda v: isinstance(v, int) and
                            not isinstance(v, bool) and v >= 0, "a whole number >= 0")
        return value if isinstance(value, int) else None

    # -- types ----------------------------------------------------------------------------

    def declare_types(self, node: YNode | None) -> None:
        if node is None:
            return
        if not isinstance(node, YMap):
            self.error("types must be a mapping of type name to declaration", node.pos, Code.WRONG_TYPE)
            return
        for name in node.order:
            decl = node.values[name]
            if not FIELD_NAME.match(name) or name in SCALAR_KINDS or name in ("list", "object"):
                self.error(f"type name '{name}' must be lower_snake_case and not a built-in "
                           "type", node.keys[name])
                continue
            if not isinstance(decl, YMap):
                self.error(f"type {name} must be a mapping", decl.pos, Code.WRONG_TYPE)
                continue
            self.raw_types[name] = decl
        # objects first, with their fields filled afterwards: types may refer to each other
        for name, decl in self.raw_types.items():
            if self._type_word(decl) == "object":
                self.named[name] = self._object_shell(decl, name)
        for name, decl in self.raw_types.items():
            if name in self.named:
                self._fill_fields(self.named[name], decl, name)
            else:
                self.resolve_named(name, decl.pos)

    def _type_word(self, decl: YMap) -> str | None:
        node = decl.get("type")
        if node is None and decl.get("fields") is not None:
            return "object"
        return node.value if isinstance(node, YScalar) and isinstance(node.value, str) else None

    def resolve_named(self, name: str, pos: Position) -> FieldSpec | None:
        if name in self.named:
            return self.named[name]
        decl = self.raw_types.get(name)
        if decl is None:
            choices = sorted([*SCALAR_KINDS, "list", "object", *self.raw_types])
            self.error(f"unknown type '{name}' (types: {', '.join(choices)})", pos)
            return None
        if name in self.resolving:
            self.error(f"type {name} refers to itself outside an object", pos)
            return None
        self.resolving.add(name)
        spec = self.field(decl, name, name)
        self.resolving.discard(name)
        if spec is not None:
            spec = replace(spec, name=name, required=False)
            self.named[name] = spec
        return spec

    def _object_shell(self, decl: YMap, name: str) -> FieldSpec:
        together = self._pairs(decl.get("together"), "together")
        ordered = self._pairs(decl.get("ordered"), "ordered")
        derived = self.scalar(decl.get("derived"), "derived", lambda v: isinstance(v, bool),
                              "true or false")
        return FieldSpec(Kind.OBJECT, fields={}, together=together, ordered=ordered, name=name,
                         derived=bool(derived),
                         description=self.text(decl.get("description"), "description") or "",
                         example=_example(decl.get("example")))

    def _pairs(self, node: YNode | None, what: str) -> tuple[tuple[str, str], ...]:
        if node is None:
            return ()
        out = []
        items = node.items if isinstance(node, YSeq) else []
        if not isinstance(node, YSeq):
            self.error(f"{what} must be a list of [field, field] pairs", node.pos, Code.WRONG_TYPE)
        for item in items:
            pair = [i.value for i in item.items if isinstance(i, YScalar)] \
                if isinstance(item, YSeq) else []
            if len(pair) != 2 or not all(isinstance(p, str) for p in pair):
                self.error(f"{what} must be a list of [field, field] pairs", item.pos, Code.WRONG_TYPE)
                continue
            out.append((str(pair[0]), str(pair[1])))
        return tuple(out)

    def _fill_fields(self, spec: FieldSpec, decl: YMap, where: str) -> None:
        outer = self.in_derived
        self.in_derived = outer or spec.derived
        try:
            self._fill(spec, decl, where)
        finally:
            self.in_derived = outer

    def _fill(self, spec: FieldSpec, decl: YMap, where: str) -> None:
        self.keys(decl, FIELD_KEYS, f"type {where}")
        node = decl.get("fields")
        if not isinstance(node, YMap):
            self.error(f"object {where} needs 'fields' (a mapping of field name to "
                       "declaration)", (node or decl).pos, Code.MISSING_KEY)
            return
        for fname in node.order:
            fnode = node.values[fname]
            if not FIELD_NAME.match(fname) or fname in RESERVED_NAMES:
                self.error(f"field name '{fname}' must be lower_snake_case and not reserved",
                           node.keys[fname])
                continue
            if not isinstance(fnode, YMap):
                self.error(f"field {where}.{fname} must be a mapping (type, description, ...)",
                           fnode.pos, Code.WRONG_TYPE)
                continue
            sub = self.field(fnode, f"{where}.{fname}", None)
            if sub is not None:
                if spec.derived and not sub.derived:
                    sub = replace(sub, derived=True)
                spec.fields[fname] = sub
        for a, b in (*spec.together, *spec.ordered):
            for f in (a, b):
                if f not in spec.fields:
                    self.error(f"'{f}' in together/ordered is not a field of {where}", decl.pos)
        for a, b in spec.ordered:
            if a in spec.fields and b in spec.fields and \
                    not spec.fields[a].kind is spec.fields[b].kind is Kind.DATE:
                self.error(f"ordered fields of {where} must both be dates", decl.pos)

    # -- one field ------------------------------------------------------------------------

    # Complexity D (23, radon), kept in one piece: the keys every field declaration shares (type,
    # description, required, derived, example, default) and their checks.
    def field(self, node: YMap, where: str, naming: str | None) -> FieldSpec | None:
        self.keys(node, FIELD_KEYS, f"field {where}")
        word = self._type_word(node)
        tnode = node.get("type")
        pos = tnode.pos if tnode is not None else node.pos
        if word is None:
            self.error(f"field {where} needs a 'type' (a built-in type or one of types:)",
                       pos, Code.MISSING_KEY)
            return None
        description = self.text(node.get("description"), "description")
        required = self.scalar(node.get("required"), "required", lambda v: isinstance(v, bool),
                               "true or false")
        derived = self.scalar(node.get("derived"), "derived", lambda v: isinstance(v, bool),
                              "true or false")
        example = _example(node.get("example"))
        base: FieldSpec | None
        if word == "object":
            base = FieldSpec(Kind.OBJECT, fields={}, together=self._pairs(
                node.get("together"), "together"), ordered=self._pairs(node.get("ordered"),
                                                                        "ordered"),
                name=naming or "", derived=bool(derived))
            self._fill_fields(base, node, where)
        elif word == "list":
            base = self._list(node, where)
        elif word in SCALAR_KINDS:
            base = self._scalar(node, SCALAR_KINDS[word], where, naming)
        else:
            named = self.resolve_named(word, pos)
            if named is None:
                return None
            base = named
            extra = [k for k in node.order if k not in ("type", "description", "example",
                                                       "required", "default", "derived")]
            if extra:
                self.error(f"field {where} uses type {word}: only description, example, "
                           f"required, default and derived may be added ({', '.join(extra)})",
                           node.keys[extra[0]])
        if base is None:
            return None
        spec = replace(base, required=bool(required),
                       description=description or base.description,
                       example=example if example is not None else base.example,
                       derived=bool(derived) or base.derived)
        default = node.get("default")
        if default is not None:
            value = plain(default)
            if not self._value_fits(spec, value):
                self.error(f"default of {where} is not a value of its type", default.pos)
            else:
                spec = replace(spec, default=value)
        if spec.example is not None and spec.kind not in (Kind.OBJECT, Kind.LIST) and \
                not self._value_fits(spec, spec.example):
            self.error(f"example of {where} is not a value of its type",
                       (node.get("example") or node).pos)
        if not spec.derived and not self.in_derived:
            self._bounded(spec, where, node.pos)
        return spec

    def _bounded(self, spec: FieldSpec, where: str, pos: Position) -> None:
        if spec.kind is Kind.STRING and spec.max_length is None:
            self.error(f"string {where} needs max_length: every string is bounded", pos,
                       Code.CONTRACT_UNBOUNDED)
        if spec.kind is Kind.LIST and spec.max_length is None:
            self.error(f"list {where} needs max_items: every list is bounded", pos,
                       Code.CONTRACT_UNBOUNDED)

    # Complexity D (27, radon), kept in one piece: one check per declaration key of a list field
    # (items, min/max_items, max_depth, items_sum, acyclic_by), each at its position.
    def _list(self, node: YMap, where: str) -> FieldSpec | None:
        items = node.get("items")
        if items is None:
            self.error(f"list {where} needs 'items' (a type name or a declaration)", node.pos,
                       Code.MISSING_KEY)
            return None
        item: FieldSpec | None
        if isinstance(items, YScalar) and isinstance(items.value, str):
            item = self._type_by_word(items.value, items.pos, f"{where}[]")
        elif isinstance(items, YMap):
            item = self.field(items, f"{where}[]", None)
        else:
            self.error(f"items of {where} must be a type name or a declaration", items.pos,
                       Code.WRONG_TYPE)
            return None
        if item is None:
            return None
        if item.kind is Kind.LIST:
            self.error(f"list {where} holds lists: wrap them in an object", items.pos)
            return None
        lo = self.count(node.get("min_items"), "min_items")
        hi = self.count(node.get("max_items"), "max_items")
        if lo is not None and hi is not None and hi < lo:
            self.error(f"max_items of {where} is below min_items", node.pos, Code.BAD_SETTINGS)
        depth = self.count(node.get("max_depth"), "max_depth")
        if depth is not None and not 1 <= depth <= MAX_DEPTH_LIMIT:
            self.error(f"max_depth of {where} must be 1 to {MAX_DEPTH_LIMIT}", node.pos, Code.BAD_SETTINGS)
            depth = None
        sum_field, sum_max = None, None
        sums = node.get("items_sum")
        if sums is not None:
            if isinstance(sums, YMap) and item.kind is Kind.OBJECT:
                sum_field = self.text(sums.get("field"), "items_sum field")
                sum_max = self.scalar(sums.get("max"), "items_sum max", _number, "a number")
                if sum_field is not None and (sum_field not in item.fields or
                                              not item.fields[sum_field].kind.is_numeric):
                    self.error(f"items_sum of {where}: '{sum_field}' is not a number field of "
                               "its items", sums.pos)
            else:
                self.error(f"items_sum of {where} must be {{field: F, max: N}} over a list "
                           "of objects", sums.pos, Code.WRONG_TYPE)
        acyclic: tuple[str, ...] = ()
        anode = node.get("acyclic_by")
        if anode is not None:
            names = [i.value for i in anode.items if isinstance(i, YScalar)] \
                if isinstance(anode, YSeq) else []
            if not names or item.kind is not Kind.OBJECT or \
                    any(n not in item.fields for n in names):
                self.error(f"acyclic_by of {where} must list fields of its items", anode.pos)
            else:
                acyclic = tuple(str(n) for n in names)
        return FieldSpec(Kind.LIST, item=item, min_length=lo, max_length=hi, max_depth=depth,
                         sum_field=sum_field, sum_maximum=sum_max, acyclic_by=acyclic)

    def _type_by_word(self, word: str, pos: Position, where: str) -> FieldSpec | None:
        if word in SCALAR_KINDS:
            kind = SCALAR_KINDS[word]
            if kind is Kind.ENUM:
                self.error(f"items of {where}: an enum needs its values; declare it", pos)
                return None
            if kind is Kind.STRING and not self.in_derived:
                self.error(f"items of {where}: a string needs max_length; declare it", pos,
                           Code.CONTRACT_UNBOUNDED)
                return None
            return FieldSpec(kind)
        return self.resolve_named(word, pos)

    # Complexity E (40, radon), kept in one piece: one check per declaration key of a scalar field
    # (enum, values_from, min/max, lengths, pattern, checks), each at its position.
    def _scalar(self, node: YMap, kind: Kind, where: str, naming: str | None) -> FieldSpec | None:
        choices: tuple[str, ...] = ()
        if kind is Kind.ENUM:
            enum, source = node.get("enum"), node.get("values_from")
            if enum is not None and isinstance(enum, YSeq) and enum.items:
                values = [i.value for i in enum.items if isinstance(i, YScalar)]
                if not all(isinstance(v, str) and FIELD_NAME.match(v) for v in values) or \
                        len(values) != len(enum.items):
                    self.error(f"enum values of {where} must be lower_snake_case text",
                               enum.pos, Code.WRONG_TYPE)
                    return None
                if len(set(values)) != len(values):
                    self.error(f"enum of {where} repeats a value", enum.pos, Code.DUPLICATE_ID)
                choices = tuple(str(v) for v in values)
            elif source is not None:
                name = self.text(source, "values_from")
                ref = self.lists.get(name or "")
                if ref is None:
                    self.error(f"values_from of {where}: unknown list '{name}'", source.pos,
                               Code.UNKNOWN_LIST)
                    return None
                choices = tuple(ref.values)
            else:
                self.error(f"enum {where} needs 'enum' (its values) or 'values_from' (a list "
                           "of lists/)", node.pos, Code.MISSING_KEY)
                return None
        lo = self.scalar(node.get("min"), "min", _number, "a number")
        hi = self.scalar(node.get("max"), "max", _number, "a number")
        if (lo is not None or hi is not None) and not kind.is_numeric:
            self.error(f"min/max apply to numbers; {where} is {kind.value}", node.pos, Code.WRONG_TYPE)
        if lo is not None and hi is not None and hi < lo:
            self.error(f"max of {where} is below min", node.pos, Code.BAD_SETTINGS)
        lo_len = self.count(node.get("min_length"), "min_length")
        hi_len = self.count(node.get("max_length"), "max_length")
        if (lo_len is not None or hi_len is not None) and kind is not Kind.STRING:
            self.error(f"min_length/max_length apply to strings; {where} is {kind.value}",
                       node.pos, Code.WRONG_TYPE)
        pattern = self.text(node.get("pattern"), "pattern")
        if pattern is not None:
            try:
                if kind is not Kind.STRING:
                    raise RegexError(f"pattern applies to strings; {where} is {kind.value}")
                check_pattern(pattern)
            except RegexError as exc:
                self.error(f"pattern of {where}: {exc}", node.values["pattern"].pos, Code.BAD_PATTERN)
                pattern = None
        checks: tuple[str, ...] = ()
        cnode = node.get("checks")
        if cnode is not None:
            names = [i.value for i in cnode.items if isinstance(i, YScalar)] \
                if isinstance(cnode, YSeq) else []
            unknown = [n for n in names if n not in FIELD_CHECKS]
            if not names or unknown or kind is not Kind.STRING:
                self.error(f"checks of {where} must list value checks of a string "
                           f"({', '.join(FIELD_CHECKS)})", cnode.pos, Code.BAD_VALUE)
            else:
                checks = tuple(str(n) for n in names)
        return FieldSpec(kind, choices=choices, minimum=lo, maximum=hi, min_length=lo_len,
                         max_length=hi_len, name=naming or "" if kind is Kind.ENUM else "",
                         pattern=pattern, checks=checks)

    def _value_fits(self, spec: FieldSpec, value: object) -> bool:
        kind = spec.kind
        if kind.is_numeric:
            if not isinstance(value, int | float) or not _number(value) or \
                    (kind is Kind.INTEGER and not float(value).is_integer()):
                return False
            return (spec.minimum is None or value >= spec.minimum) and \
                (spec.maximum is None or value <= spec.maximum)
        if kind is Kind.BOOLEAN:
            return isinstance(value, bool)
        if not isinstance(value, str):
            return False
        if kind is Kind.ENUM:
            return value in spec.choices
        check = VALUE_CHECKS.get(kind)
        if check is not None:
            return check[0](value)
        return (spec.max_length is None or len(value) <= spec.max_length) and \
            (spec.min_length is None or len(value) >= spec.min_length) and \
            (spec.pattern is None or full_match(spec.pattern, value))


def _example(node: YNode | None) -> object:
    return None if node is None else plain(node)


def _recursion(sink: DiagnosticSink, root: FieldSpec, pos: Position) -> None:
    """A type reachable from itself must nest through a list with max_depth on the way."""

    def walk(spec: FieldSpec, stack: tuple[int, ...], marks: tuple[int, ...], where: str) -> None:
        if spec.kind is Kind.LIST and spec.item is not None:
            mark = (*marks, len(stack)) if spec.max_depth is not None else marks
            walk(spec.item, stack, mark, f"{where}[]")
            return
        if spec.kind is not Kind.OBJECT:
            return
        key = id(spec.fields)
        if key in stack:
            entered = stack.index(key)
            if not any(m > entered for m in marks):
                sink.error(Code.CONTRACT_UNUSABLE, f"{where} nests type {spec.name or 'object'} in itself: "
                           "bound the list on the way with max_depth", pos)
            return
        for name, sub in spec.fields.items():
            walk(sub, (*stack, key), marks, f"{where}.{name}" if where else name)

    walk(root, (), (), "")


def parse_contract(node: YNode | None, label: str, sink: DiagnosticSink,
                   lists: dict[str, Any]) -> Contract | None:
    """Validate contract.yaml; None when it cannot be used (errors are in `sink`)."""
    if node is None:
        return None
    if not isinstance(node, YMap):
        sink.error(Code.WRONG_TYPE, "contract.yaml must be a mapping", node.pos)
        return None
    r = _Reader(label, sink, lists)
    r.keys(node, TOP_KEYS, "contract.yaml")
    for key in TOP_REQUIRED:
        if key not in node.values:
            sink.error(Code.MISSING_KEY, f"contract.yaml needs '{key}'", node.pos)
    version_node = node.get("version")
    version = None
    if isinstance(version_node, YScalar) and isinstance(version_node.value, str):
        version = version_node.value
    elif version_node is not None:
        sink.error(Code.WRONG_TYPE, "contract version must be text: quote it", version_node.pos)
    errors = len(sink.errors)
    r.declare_types(node.get("types"))
    fields = node.get("fields")
    root = FieldSpec(Kind.OBJECT, fields={}, name="proposal")
    if isinstance(fields, YMap):
        holder = YMap({"fields": fields}, {"fields": node.keys["fields"]}, node.pos, ["fields"])
        r._fill_fields(root, holder, "proposal")
    elif fields is not None:
        sink.error(Code.WRONG_TYPE, "fields must be a mapping of field name to declaration", fields.pos)
    derivations = _derivations(r, node.get("derived"))
    if len(sink.errors) == errors:
        _recursion(sink, root, node.pos)
    if len(sink.errors) > errors or version is None:
        return None
    return Contract(version=version, description=r.text(node.get("description"),
                                                        "description") or "",
                    root=root, types=dict(r.named), file=label, derivations=derivations)


def _derivations(r: _Reader, node: YNode | None) -> tuple[Derivation, ...]:
    if node is None:
        return ()
    if not isinstance(node, YSeq):
        r.error("derived must be a list of {name, description, fields}", node.pos, Code.WRONG_TYPE)
        return ()
    out = []
    for item in node.items:
        if not isinstance(item, YMap):
            r.error("a derivation must be a mapping", item.pos, Code.WRONG_TYPE)
            continue
        r.keys(item, DERIVED_KEYS, "derivation")
        name = r.text(item.get("name"), "derivation name")
        description = r.text(item.get("description"), "derivation description")
        fnode = item.get("fields")
        paths = [i.value for i in fnode.items if isinstance(i, YScalar)] \
            if isinstance(fnode, YSeq) else []
        if name and description:
            out.append(Derivation(name, description, tuple(str(p) for p in paths)))
        else:
            r.error("a derivation needs a name and a description", item.pos, Code.MISSING_KEY)
    return tuple(out)


def load_contract(root: str | Path) -> Contract:
    """The contract of the pack in directory `root` (with the pack's lists, which
    `values_from` may name), without loading the rules; PackError on any problem."""
    from engine.language.packfile import parse_list

    folder = Path(root)
    sink = DiagnosticSink()
    lists: dict[str, Any] = {}
    for list_file in sorted((folder / "lists").glob("*.yaml")):
        label = str(list_file)
        ref = parse_list(read_file(list_file, label, sink), list_file.stem, label, sink)
        if ref is not None:
            lists[ref.name] = ref
    file = folder / CONTRACT_FILE
    if not file.is_file():
        sink.error(Code.UNREADABLE, f"no {CONTRACT_FILE} in {folder}", Position(str(file), 1, 1))
        raise PackError(sink.sorted())
    found = parse_contract(read_file(file, str(file), sink), str(file), sink, lists)
    if found is None or sink.errors:
        raise PackError(sink.sorted())
    return found
