"""The rule language: parse and validate rule files into the AST (pack.yaml and list files:
engine.language.packfile).

Every problem found is reported (not only the first), each with its file, line and column,
so that a compliance analyst fixes a pack in one round. The evaluator only ever sees what
passes here.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable

from engine.codes import Code
from engine.errors import DiagnosticSink, Position
from engine.language import hints, syntax
from engine.language.contract import (
    RESERVED_NAMES,
    FieldSpec,
    Kind,
    is_country,
    is_currency,
    is_date,
    is_subdivision,
)
from engine.language.operators import (
    OPERATORS,
    TAKES_PATH,
    Fields,
    Op,
    Operand,
    Operator,
    single_of,
    values_of,
)
from engine.language.regex import RegexError, check_pattern
from engine.language.yamlsource import Reader, YMap, YNode, YScalar, YSeq

RULE_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
RULE_KEYS = ("id", "title", "factor", "kind", "points", "when", "rationale", "source",
             "legal_basis", "enabled", "tags", "effective_from", "effective_until",
             "at_least")
LEGAL_BASIS_KEYS = ("instrument", "provision", "url", "as_of")
LEGAL_BASIS_REQUIRED = LEGAL_BASIS_KEYS
# an official text is linked over https; anything else (a file path, a bare name) is refused
LEGAL_URL = re.compile(r"^https://[A-Za-z0-9.-]+\.[A-Za-z]{2,}(/\S*)?$")
RULE_FILE_KEYS = ("rules",)
# Required keys of a rule (the JSON Schemas for editors are generated from these too).
RULE_REQUIRED = ("id", "title", "factor", "kind", "points", "when")


# ---------------------------------------------------------------------------------------------
# rules


class RuleParser:
    """Parses rule files against the factors and lists of one pack."""

    def __init__(self, sink: DiagnosticSink, factors: tuple[syntax.Factor, ...],
                 lists: dict[str, syntax.RefList], contract: FieldSpec) -> None:
        self.r = Reader(sink)
        self.contract = contract
        self.sink = sink
        self.factors = {f.id: f for f in factors}
        self.lists = lists
        self.seen_ids: dict[str, Position] = {}
        self.index = 0

    def parse_file(self, node: YNode | None, label: str) -> list[syntax.Rule]:
        if node is None:  # unreadable: already reported
            return []
        m = self.r.mapping(node, "a rule file", Position(label, 1, 1))
        if m is None:
            return []
        self.r.keys(m, RULE_FILE_KEYS, RULE_FILE_KEYS, "rule file")
        rules = []
        for item in self.r.seq(m.get("rules"), "rules"):
            rule = self.parse_rule(item, m.pos)
            if rule is not None:
                rules.append(rule)
        return rules

    def parse_rule(self, node: YNode, pos: Position) -> syntax.Rule | None:
        r = self.r
        m = r.mapping(node, "a rule", pos)
        if m is None:
            return None
        errors_before = len(self.sink.errors)
        r.keys(m, RULE_KEYS, RULE_REQUIRED, "rule", hints.RULE_KEY_CONFUSIONS)
        rid = self._rule_id(m)
        title = r.text(m.get("title"), "title", max_length=300)
        factor = self._factor(m)
        kind = self._kind(m)
        points = self._points(m, kind)
        at_least = self._at_least(m, kind)
        when_node = m.get("when")
        when = self.condition(when_node, self.contract, "", 0) if when_node is not None else None
        rationale, source, legal_basis = self._documentation(m, rid or "rule")
        enabled = r.boolean(m.get("enabled"), "enabled")
        tags = tuple(t for t in (r.text(i, "tag", max_length=64) for i in
                                 r.seq(m.get("tags"), "tags")) if t)
        start = r.date(m.get("effective_from"), "effective_from")
        end = r.date(m.get("effective_until"), "effective_until")
        if start and end and end < start:
            self.sink.error(Code.BAD_WINDOW, "effective_until is before effective_from",
                            m.values["effective_until"].pos)
        self.index += 1
        if len(self.sink.errors) > errors_before or None in (rid, title, factor, kind,
                                                              points, when):
            return None
        assert rid and title and factor and kind and points is not None and when is not None
        return syntax.Rule(rid, title, factor, kind, points, when, rationale or "", source or "",
                        enabled if enabled is not None else True, tags, start, end, m.pos,
                        self.index, legal_basis, at_least)

    def _rule_id(self, m: YMap) -> str | None:
        """The rule's id, unique in the pack (the first use is remembered)."""
        rid = self.r.text(m.get("id"), "rule id", pattern=RULE_ID)
        if rid is not None:
            if rid in self.seen_ids:
                first = self.seen_ids[rid]
                where = f"line {first.line}" if first.file == m.pos.file else \
                    f"{first.file}:{first.line}"
                self.sink.error(Code.DUPLICATE_ID, f"duplicate rule id '{rid}' (first at {where}): rule "
                                "ids are unique in the pack; `riskrules new rule` picks a free "
                                "one", m.values["id"].pos)
            else:
                self.seen_ids[rid] = m.values["id"].pos
        return rid

    def _factor(self, m: YMap) -> str | None:
        factor = self.r.text(m.get("factor"), "factor")
        if factor is not None and factor not in self.factors:
            self.sink.error(Code.UNKNOWN_FACTOR, f"unknown factor '{factor}'"
                            f"{hints.suggest(factor, list(self.factors))} (the factors of pack.yaml: "
                            f"{', '.join(self.factors)})", m.values["factor"].pos)
        return factor

    def _kind(self, m: YMap) -> syntax.RuleKind | None:
        kind_text = self.r.text(m.get("kind"), "kind")
        if kind_text is None:
            return None
        try:
            return syntax.RuleKind(kind_text)
        except ValueError:
            self.sink.error(Code.BAD_VALUE, f"kind '{kind_text}' must be risk, mitigation or "
                            f"knockout{hints.suggest(kind_text, [k.value for k in syntax.RuleKind])}",
                            m.values["kind"].pos)
            return None

    def _points(self, m: YMap, kind: syntax.RuleKind | None) -> float | None:
        """Points: negative for a mitigation, 0 or more otherwise, within ±100, in cents."""
        points = self.r.number(m.get("points"), "points")
        if points is not None and kind is not None:
            ppos = m.values["points"].pos
            if kind is syntax.RuleKind.MITIGATION and points >= 0:
                self.sink.error(Code.BAD_POINTS, "a mitigation's points must be negative (it lowers the "
                                f"score): write points: -{_plain(abs(points)) or 10}", ppos)
            elif kind is not syntax.RuleKind.MITIGATION and points < 0:
                self.sink.error(Code.BAD_POINTS, f"a {kind.value} rule's points must be 0 or more: a rule "
                                "that lowers the score is kind: mitigation", ppos)
            elif abs(points) > 100:
                self.sink.error(Code.BAD_POINTS, "points must be between -100 and 100", ppos)
            elif round(points * 100) != points * 100:
                self.sink.error(Code.BAD_POINTS, "points may have at most two decimals", ppos)
        return points

    def _at_least(self, m: YMap, kind: syntax.RuleKind | None) -> str | None:
        """The floor a risk rule sets on the decision."""
        at_least = self.r.text(m.get("at_least"), "at_least")
        if at_least is not None:
            apos = m.values["at_least"].pos
            if at_least not in syntax.FLOOR_DECISIONS:
                self.sink.error(Code.BAD_VALUE, "at_least must be one of "
                                f"{', '.join(syntax.FLOOR_DECISIONS)}", apos)
            elif kind is not None and kind is not syntax.RuleKind.RISK:
                self.sink.error(Code.MISPLACED_FLOOR,
                                f"only a risk rule sets a floor (at_least); a {kind.value} "
                                "rule cannot", apos)
        return at_least

    def _documentation(self, m: YMap, label: str
                       ) -> tuple[str | None, str | None, tuple[syntax.LegalBasis, ...]]:
        """Rationale, source and legal basis, each a warning when absent."""
        rationale = self.r.text(m.get("rationale"), "rationale")
        source = self.r.text(m.get("source"), "source")
        if rationale is None and "rationale" not in m.values:
            self.sink.warning(Code.NO_RATIONALE, f"rule {label} has no rationale: add 'rationale:' saying "
                              "what the reviewer should do when it fires, and why", m.pos)
        if source is None and "source" not in m.values:
            self.sink.warning(Code.NO_SOURCE, f"rule {label} has no source: add 'source:' naming the "
                              "regulation, guidance or article it comes from", m.pos)
        legal_basis = self.legal_basis(m.get("legal_basis"))
        if "legal_basis" not in m.values:
            self.sink.warning(Code.NO_LEGAL_BASIS, f"rule {label} has no legal_basis", m.pos)
        return rationale, source, legal_basis

    def legal_basis(self, node: YNode | None) -> tuple[syntax.LegalBasis, ...]:
        """`legal_basis`: one mapping or a non-empty list of them (instrument, provision, url,
        as_of)."""
        if node is None:
            return ()
        r = self.r
        items: list[YNode] = [node] if isinstance(node, YMap) else r.seq(node, "legal_basis")
        if isinstance(node, YSeq) and not items:
            self.sink.error(Code.EMPTY, "legal_basis needs at least one entry", node.pos)
        found: list[syntax.LegalBasis] = []
        for item in items:
            m = r.mapping(item, "a legal_basis entry", node.pos)
            if m is None:
                continue
            r.keys(m, LEGAL_BASIS_KEYS, LEGAL_BASIS_REQUIRED, "legal_basis entry")
            instrument = r.text(m.get("instrument"), "instrument", max_length=300)
            provision = r.text(m.get("provision"), "provision", max_length=300)
            url = r.text(m.get("url"), "url", max_length=2000)
            if url is not None and not LEGAL_URL.match(url):
                self.sink.error(Code.WRONG_TYPE, f"url '{url[:80]}' must be an https:// address of the "
                                "official text", m.values["url"].pos)
                url = None
            as_of = r.date(m.get("as_of"), "as_of")
            if instrument and provision and url and as_of:
                found.append(syntax.LegalBasis(instrument, provision, url, as_of))
        return tuple(found)

    # -- conditions ---------------------------------------------------------------------------

    def condition(self, node: YNode, scope: FieldSpec, where: str, depth: int) -> syntax.Condition | None:
        """Parse a condition whose paths are relative to `scope` (the proposal or a list item)."""
        if depth > 32:
            self.sink.error(Code.WRONG_TYPE, "condition nested more than 32 levels deep", node.pos)
            return None
        if not isinstance(node, YMap):
            self.sink.error(Code.WRONG_TYPE, "a condition must be a mapping (a test, all, any, not, "
                            "some or every): write a test as {path: FIELD, OPERATOR: VALUE}",
                            node.pos)
            return None
        keys = set(node.values)
        combinators = keys & set(syntax.COMBINATORS)
        if combinators:
            if len(keys) != 1:
                self.sink.error(Code.WRONG_TYPE, f"'{sorted(combinators)[0]}' must stand alone in its "
                                "mapping: put every test inside it", node.pos)
                return None
            key = next(iter(keys))
            child = node.values[key]
            if key == "not":
                inner = self.condition(child, scope, where, depth + 1)
                return syntax.Not(inner, node.pos) if inner is not None else None
            items = self.r.seq(child, key)
            if isinstance(child, YSeq) and not items:
                self.sink.error(Code.EMPTY, f"'{key}' needs at least one condition", child.pos)
                return None
            parsed = [self.condition(i, scope, where, depth + 1) for i in items]
            if not items or any(p is None for p in parsed):
                return None
            conds = tuple(p for p in parsed if p is not None)
            return syntax.All(conds, node.pos) if key == "all" else syntax.Any(conds, node.pos)
        return self.test(node, scope, where, depth)

    # Complexity D (23, radon), kept in one piece: tells a leaf, a quantifier and the known
    # confusions of a test apart, each with its own hint.
    def test(self, node: YMap, scope: FieldSpec, where: str, depth: int) -> syntax.Condition | None:
        ops = [k for k in node.order if k in syntax.LEAF_OPERATORS or k in syntax.QUANTIFIERS]
        for key in node.order:
            if key != "path" and key not in ops:
                self.sink.error(Code.UNKNOWN_KEY, hints.unknown_operator(key), node.keys[key])
                return None
        if len(ops) > 1:
            self.sink.error(Code.WRONG_TYPE, f"a test needs exactly one operator, found {', '.join(ops)}: "
                            "write one test per operator and combine them under 'all:' or "
                            "'any:'", node.pos)
            return None
        if not ops:
            self.sink.error(Code.WRONG_TYPE, "a test needs exactly one operator, as in {path: country, "
                            f"eq: RU}} (the operators: {', '.join(hints.OPERATORS)})", node.pos)
            return None
        op = ops[0]
        operand = node.values[op]
        if op in TAKES_PATH:
            if "path" in node.values:
                self.sink.error(Code.WRONG_TYPE, f"write '{op}: PATH' without a separate 'path'",
                                node.keys["path"])
                return None
            path_node: YNode | None = operand
        else:
            path_node = node.values.get("path")
        if path_node is None:
            if scope.kind in (Kind.OBJECT, Kind.LIST) or op in syntax.QUANTIFIERS:
                self.sink.error(Code.MISSING_KEY, f"'{op}' needs a 'path'", node.pos)
                return None
            path: tuple[str, ...] = ()
            spec: FieldSpec | None = scope
        else:
            resolved = self.path(path_node, scope, where)
            if resolved is None:
                return None
            path, spec = resolved
        assert spec is not None
        full = ".".join(p for p in (where, *path) if p) or "the item"
        pos = node.keys[op]
        if op in syntax.QUANTIFIERS:
            if spec.kind is not Kind.LIST or spec.item is None:
                self.sink.error(Code.OPERATOR_MISFIT,
                                f"'{op}' needs a list field; {full} is {spec.kind.value}",
                                pos)
                return None
            inner = self.condition(operand, spec.item, f"{full}[]", depth + 1)
            return syntax.Quantifier(op, path, inner, node.pos) if inner is not None else None
        return self.leaf(OPERATORS[Op(op)], operand, path, spec, full, pos)

    def path(self, node: YNode, scope: FieldSpec, where: str) -> tuple[tuple[str, ...], FieldSpec] | None:
        text = self.r.text(node, "path", max_length=200)
        if text is None:
            return None
        segments = tuple(text.split("."))
        for segment in segments:
            if segment in RESERVED_NAMES or segment.startswith("$") or segment.startswith("_"):
                self.sink.error(Code.RESERVED_NAME, f"'{segment}' is a reserved name and cannot be used in a "
                                "path", node.pos)
                return None
        if scope.kind is not Kind.OBJECT:
            self.sink.error(Code.UNKNOWN_PATH, f"the items of {where or 'this list'} are plain values: "
                            "leave 'path' out to test the item itself", node.pos)
            return None
        spec = scope
        for i, segment in enumerate(segments):
            if spec.kind is Kind.LIST:
                prefix = ".".join(segments[:i])
                rest = ".".join(segments[i:])
                self.sink.error(Code.UNKNOWN_PATH, f"path '{text}' steps through the list '{prefix}': use "
                                f"some/every on '{prefix}', as in {{path: {prefix}, some: "
                                f"{{path: {rest}, ...}}}}", node.pos)
                return None
            if spec.kind is not Kind.OBJECT or segment not in spec.fields:
                choices = list(spec.fields) if spec.kind is Kind.OBJECT else []
                level = ".".join(segments[:i]) or where or "the proposal"
                valid = f"; the fields of {level} are {', '.join(choices)}" if choices else \
                    f"; {level} is {hints.describe_kind(spec)}, it has no fields"
                self.sink.error(Code.UNKNOWN_PATH, f"unknown path '{text}'"
                                f"{' in ' + where if where else ''}{hints.suggest(segment, choices)}"
                                f"{valid}", node.pos)
                return None
            spec = spec.fields[segment]
        return segments, spec

    def leaf(self, operator: Operator, operand: YNode, path: tuple[str, ...], spec: FieldSpec,
             full: str, pos: Position) -> syntax.Leaf | None:
        """The test `operator: operand` on the field `spec` at `path`, type-checked: the
        operator's declaration (`engine.language.operators`) says which fields and operand it takes."""
        sink, op, fields = self.sink, operator.op, operator.fields
        if operator.operand is Operand.PATH:
            return syntax.Leaf(op, path, pos=pos)
        if fields is Fields.PLAIN_LIST:
            if not fields.accepts(spec) or spec.item is None:
                sink.error(Code.OPERATOR_MISFIT, f"'{op}' needs {fields.value}; {full} is "
                           f"{hints.describe_kind(spec)}{hints.containment_hint(op, spec, full)}", pos)
                return None
            return self.operand_leaf(operator, operand, path, spec.item, full, pos)
        if spec.kind in (Kind.LIST, Kind.OBJECT):
            sink.error(Code.OPERATOR_MISFIT, f"'{op}' cannot test {full}, which is "
                       f"{hints.describe_kind(spec)}"
                       f"{hints.whole_list_hint(operator, spec, full)}", pos)
            return None
        if operator.operand is Operand.LIST_NAME:
            return self.list_leaf(operator, operand, path, spec, full, pos)
        if operator.operand is Operand.PATTERN:
            return self.pattern_leaf(operator, operand, path, spec, full, pos)
        if not fields.accepts(spec):
            sink.error(Code.OPERATOR_MISFIT,
                       f"'{op}' needs {fields.value}; {full} is {hints.describe_kind(spec)}", pos)
            return None
        return self.operand_leaf(operator, operand, path, spec, full, pos)

    def operand_leaf(self, operator: Operator, operand: YNode, path: tuple[str, ...],
                     spec: FieldSpec, full: str, pos: Position) -> syntax.Leaf | None:
        """A test taking one value or several, each checked against `spec`."""
        op = operator.op
        if operator.operand is Operand.VALUES:
            values = self.operand_values(op, operand, spec, full)
            return None if values is None else syntax.Leaf(op, path, values=values, pos=pos)
        if operator.fields is Fields.PLAIN_LIST and isinstance(operand, YSeq):
            self.sink.error(Code.WRONG_TYPE, f"'{op}' takes one value: for several, use "
                            f"'{operator.several}'", operand.pos)
            return None
        value = self.operand_value(operand, spec, full)
        return None if value is _BAD else syntax.Leaf(op, path, value=value, pos=pos)

    def pattern_leaf(self, operator: Operator, operand: YNode, path: tuple[str, ...],
                     spec: FieldSpec, full: str, pos: Position) -> syntax.Leaf | None:
        op = operator.op
        if not path and operator.needs_path:
            self.sink.error(Code.OPERATOR_MISFIT, f"'{op}' cannot test the items of a plain list; test a "
                            "named field, or list the values with in/contains_any", pos)
            return None
        if not operator.fields.accepts(spec):
            self.sink.error(Code.OPERATOR_MISFIT, f"'{op}' needs {operator.fields.value}; {full} is "
                            f"{hints.describe_kind(spec)}", pos)
            return None
        pattern = self.r.text(operand, "pattern", max_length=500)
        if pattern is None:
            return None
        try:
            check_pattern(pattern)
        except RegexError as exc:
            self.sink.error(Code.BAD_PATTERN, f"invalid pattern: {exc}", operand.pos)
            return None
        return syntax.Leaf(op, path, value=pattern, pos=pos)

    def list_leaf(self, operator: Operator, operand: YNode, path: tuple[str, ...],
                  spec: FieldSpec, full: str, pos: Position) -> syntax.Leaf | None:
        op = operator.op
        if isinstance(operand, YSeq):
            values_op = values_of(op)
            self.sink.error(Code.WRONG_TYPE, f"'{op}' takes the name of a reference list, not values: to "
                            f"test against these values use '{values_op}' (the lists: "
                            f"{', '.join(sorted(self.lists))})", operand.pos)
            return None
        name = self.r.text(operand, "list name")
        if name is None:
            return None
        ref = self.lists.get(name)
        if ref is None:
            self.sink.error(Code.UNKNOWN_LIST, f"unknown list '{name}'"
                            f"{hints.suggest(name, list(self.lists))}: "
                            f"the lists of lists/ are {', '.join(sorted(self.lists))}",
                            operand.pos)
            return None
        if not operator.fields.accepts(spec):
            self.sink.error(Code.OPERATOR_MISFIT, f"'{op}' needs {operator.fields.value}; {full} is "
                            f"{hints.describe_kind(spec)}", pos)
            return None
        fits = {Kind.COUNTRY: "country", Kind.CURRENCY: "currency",
                Kind.SUBDIVISION: "subdivision"}.get(spec.kind, "string")
        if ref.kind != fits:
            self.sink.error(Code.OPERATOR_MISFIT, f"list '{name}' holds {ref.kind} values but {full} is "
                            f"{hints.describe_kind(spec)}", operand.pos)
            return None
        if spec.kind is Kind.ENUM:
            for entry in ref.entries:
                if entry.value not in spec.choices:
                    self.sink.error(Code.BAD_VALUE, f"list '{name}' entry '{entry.value}' is not a value "
                                    f"of {full} ({', '.join(spec.choices)})", operand.pos)
                    return None
        return syntax.Leaf(op, path, values=ref.values, list_name=name, pos=pos)

    def operand_values(self, op: Op, node: YNode, spec: FieldSpec,
                       full: str) -> tuple[object, ...] | None:
        if not isinstance(node, YSeq) or not node.items:
            self.sink.error(Code.WRONG_TYPE, self.values_hint(op, node), node.pos)
            return None
        values = [self.operand_value(item, spec, full) for item in node.items]
        if any(v is _BAD for v in values):
            return None
        unique = tuple(dict.fromkeys(values))
        return unique

    def values_hint(self, op: Op, node: YNode) -> str:
        """Why `op` needs a list of values here, and what the analyst probably meant."""
        single, listed = single_of(op), OPERATORS[op].listed
        value = node.value if isinstance(node, YScalar) else None
        if isinstance(node, YSeq):
            return f"'{op}' needs at least one value"
        if listed and isinstance(value, str) and value in self.lists:
            return (f"'{value}' is a reference list and '{op}' takes values: to test against "
                    f"the list use '{listed}: {value}'")
        if value is not None and not isinstance(value, bool | dt.date):
            return (f"'{op}' takes a list of values, as in '{op}: [{value}]'; for one value "
                    f"use '{single}: {value}'")
        return f"'{op}' takes a list of values, as in '{op}: [a, b]'"

    def operand_value(self, node: YNode, spec: FieldSpec, full: str) -> object:
        if not isinstance(node, YScalar) or node.value is None:
            self.sink.error(Code.WRONG_TYPE, f"expected a single value for {full}", node.pos)
            return _BAD
        value = node.value
        check = _VALUE_CHECKS.get(spec.kind)
        if check is None or not check[0](value):
            expected = check[1] if check else spec.kind.value
            self.sink.error(Code.OPERATOR_MISFIT, f"{full} is {hints.describe_kind(spec)}: "
                            f"expected {expected}, "
                            f"got {value!r}{hints.yaml_read_hint(value, spec)}", node.pos)
            return _BAD
        if spec.kind is Kind.ENUM and value not in spec.choices:
            self.sink.error(Code.BAD_VALUE, f"'{value}' is not a value of {full}"
                            f"{hints.suggest(str(value), spec.choices)} (the values: "
                            f"{', '.join(spec.choices)})", node.pos)
            return _BAD
        if spec.kind is Kind.COUNTRY and not is_country(str(value)):
            self.sink.error(Code.BAD_VALUE, f"'{value}' is not an ISO 3166-1 alpha-2 country code"
                            f"{hints.country_code(str(value))}", node.pos)
            return _BAD
        if spec.kind is Kind.CURRENCY and not is_currency(str(value)):
            self.sink.error(Code.BAD_VALUE, f"'{value}' is not a currency code", node.pos)
            return _BAD
        if spec.kind is Kind.SUBDIVISION and not is_subdivision(str(value)):
            self.sink.error(Code.BAD_VALUE, f"'{value}' is not an ISO 3166-2 subdivision code", node.pos)
            return _BAD
        if spec.kind is Kind.DATE and isinstance(value, dt.date):
            value = value.isoformat()
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return value


_BAD = object()


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


_VALUE_CHECKS: dict[Kind, tuple[Callable[[object], bool], str]] = {
    Kind.NUMBER: (_is_number, "a number"),
    Kind.INTEGER: (lambda v: _is_number(v) and float(v).is_integer(), "a whole number"),  # type: ignore[arg-type]
    Kind.BOOLEAN: (lambda v: isinstance(v, bool), "true or false"),
    Kind.STRING: (lambda v: isinstance(v, str), "text"),
    Kind.ENUM: (lambda v: isinstance(v, str), "text"),
    Kind.COUNTRY: (lambda v: isinstance(v, str), "a country code"),
    Kind.CURRENCY: (lambda v: isinstance(v, str), "a currency code"),
    Kind.SUBDIVISION: (lambda v: isinstance(v, str), "a subdivision code"),
    Kind.DATE: (lambda v: isinstance(v, str | dt.date) and is_date(str(v)), "a date YYYY-MM-DD"),
}


def _plain(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and value else \
        (f"{value:g}" if value else "")
