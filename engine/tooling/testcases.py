"""Rule-test files read into cases: what each case sends and expects, every problem with its
FILE:LINE:COL.

Compliance analysts pin down what a pack must decide on given proposals (`rules/tests/*.yaml`);
this module reads those files (through the one located-YAML reader) into `Case`s. A case that
cannot be run as written (unknown rule or factor, missing proposal file, unknown key) carries
its errors, so that it is reported and never silently passes. Running them is
`engine.tooling.tester`.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.codes import Code
from engine.errors import (
    Diagnostic,
    DiagnosticSink,
    Position,
    Severity,
)
from engine.jsontext import MalformedJSON, loads_strict
from engine.language import syntax
from engine.language.hints import suggest
from engine.language.yamlsource import (
    Reader,
    YMap,
    YNode,
    YScalar,
    YSeq,
    parse_yaml,
    plain,
    read_date,
    unquoted_dates,
)
from engine.pack import Pack

TOP_KEYS = ("cases",)
CASE_KEYS = ("name", "proposal", "as_of", "expect")
EXPECT_KEYS = ("decision", "band", "score", "fired", "not_fired", "knockouts", "factor_scores",
               "missing_information", "floors", "provisional")
RANGE_KEYS = ("gte", "lte", "between")
TEST_FILE_SUFFIXES = (".yaml", ".yml")


# ---------------------------------------------------------------------------------------------
# what a case expects


@dataclass(frozen=True)
class Range:
    """An expected number: exact (`60`), or bounded (`{gte: 60}`, `{lte: 12}`, `{between: [a, b]}`)."""

    low: float | None = None
    high: float | None = None
    exact: float | None = None

    def holds(self, value: float) -> bool:
        if self.exact is not None:
            return value == self.exact
        if self.low is not None and value < self.low:
            return False
        return not (self.high is not None and value > self.high)

    def describe(self) -> str:
        if self.exact is not None:
            return number_text(self.exact)
        if self.low is not None and self.high is not None:
            return f"between {number_text(self.low)} and {number_text(self.high)}"
        if self.low is not None:
            return f">= {number_text(self.low)}"
        return f"<= {number_text(self.high if self.high is not None else math.inf)}"

    def to_json(self) -> object:
        if self.exact is not None:
            return json_number(self.exact)
        if self.low is not None and self.high is not None:
            return {"between": [json_number(self.low), json_number(self.high)]}
        if self.low is not None:
            return {"gte": json_number(self.low)}
        return {"lte": json_number(self.high if self.high is not None else math.inf)}


@dataclass(frozen=True)
class Expect:
    """Every expectation of one case; None / empty means "not checked"."""

    decision: str | None = None
    band: str | None = None
    score: Range | None = None
    fired: tuple[str, ...] = ()
    not_fired: tuple[str, ...] = ()
    knockouts: tuple[str, ...] | None = None
    factor_scores: tuple[tuple[str, Range], ...] = ()
    missing_information: tuple[str, ...] = ()
    floors: tuple[str, ...] | None = None
    provisional: bool | None = None


@dataclass(frozen=True)
class Case:
    """One test case. `errors` are the problems that keep it from running (reported as ERROR)."""

    name: str
    file: str
    pos: Position
    expect: Expect
    proposal: dict[str, Any] | None = None
    proposal_origin: str = "inline"
    proposal_node: YNode | None = None
    proposal_pos: Position | None = None
    as_of: dt.date | None = None
    errors: tuple[Diagnostic, ...] = ()
    warnings: tuple[Diagnostic, ...] = ()  # what `check --strict` reports; the case still runs

    @property
    def stem(self) -> str:
        """The test file's name without suffix: the JUnit classname."""
        return Path(self.file).stem


# ---------------------------------------------------------------------------------------------
# reading test files


def collect_files(paths: Iterable[str | Path]) -> tuple[list[Path], list[Diagnostic]]:
    """Test files named by `paths`: files as given, directories as their *.yaml / *.yml files
    in name order. A path that does not exist is a diagnostic."""
    files: list[Path] = []
    sink = DiagnosticSink()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir()
                                if p.is_file() and p.suffix in TEST_FILE_SUFFIXES))
        elif path.is_file():
            files.append(path)
        else:
            sink.error(Code.UNREADABLE, "no such test file or directory", Position(str(path), 1, 1))
    seen: set[Path] = set()
    unique = []
    for file in files:
        key = file.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(file)
    return unique, sink.items


def load_cases(paths: Iterable[str | Path], pack: Pack) -> tuple[list[Case], list[Diagnostic]]:
    """Read every case of the test files in `paths` (files or directories).

    Returns the cases, each carrying the errors that keep it from running, and the problems
    that belong to no case (unreadable file, YAML syntax, bad top level). Rule ids, factors,
    decisions and bands are checked against `pack` here, so that a typo is an error at its
    position rather than a test that can never pass (or, worse, never fail).
    """
    files, diagnostics = collect_files(paths)
    cases: list[Case] = []
    reader = _CaseReader(pack)
    for file in files:
        file_cases, problems = reader.read_file(file)
        cases.extend(file_cases)
        diagnostics.extend(problems)
    return cases, diagnostics


class _CaseReader:
    def __init__(self, pack: Pack) -> None:
        self.pack = pack
        self.rules = {r.id: r for r in pack.rules}
        self.factors = [f.id for f in pack.factors]
        self.bands = [b.name for b in pack.bands]
        self.decisions = sorted({b.decision for b in pack.bands} | {pack.spec.knockout_decision}
                                | {r.at_least for r in pack.rules if r.at_least}
                                | {pack.spec.incomplete_decision})

    def read_file(self, file: Path) -> tuple[list[Case], list[Diagnostic]]:
        label = str(file)
        sink = DiagnosticSink()
        try:
            text = file.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            sink.error(Code.UNREADABLE, f"cannot read test file: {exc}", Position(label, 1, 1))
            return [], sink.items
        root = parse_yaml(text, label, sink)
        if root is None:
            return [], sink.items
        if not isinstance(root, YMap):
            sink.error(Code.WRONG_TYPE, "a test file must be a mapping with a 'cases' list", root.pos)
            return [], sink.items
        Reader(sink).keys(root, TOP_KEYS, ("cases",), "a test file")
        cases_node = root.get("cases")
        if cases_node is None:
            return [], sink.items
        if not isinstance(cases_node, YSeq):
            sink.error(Code.WRONG_TYPE, "'cases' must be a list of cases", cases_node.pos)
            return [], sink.items
        if not cases_node.items:
            sink.error(Code.EMPTY, "'cases' is empty: a test file needs at least one case",
                       cases_node.pos)
        cases = []
        for number, item in enumerate(cases_node.items, start=1):
            if not isinstance(item, YMap):
                sink.error(Code.WRONG_TYPE, "a case must be a mapping (name, proposal, expect)", item.pos)
                continue
            cases.append(self.read_case(item, label, file.parent, number))
        return cases, sink.items

    def read_case(self, node: YMap, label: str, folder: Path, number: int) -> Case:
        sink = DiagnosticSink()
        Reader(sink).keys(node, CASE_KEYS, ("name", "proposal", "expect"), "a case")
        name = Reader(sink).nonempty(node.get("name"), "case name") or f"case #{number}"
        as_of = read_date(node.get("as_of"), "as_of", sink)
        expect = self.read_expect(node.get("expect"), sink)
        proposal, origin, ppos = None, "inline", None
        pnode = node.get("proposal")
        if isinstance(pnode, YMap):
            proposal = _json_shaped(plain(pnode))
            ppos = pnode.pos
            for scalar in unquoted_dates(pnode):
                day = str(scalar.value)
                sink.warning(Code.UNQUOTED_DATE, f"date {day} in the proposal is not quoted: write "
                             f"\"{day}\" (the client sends text; editors and scripts then "
                             "read the same)", scalar.pos)
        elif isinstance(pnode, YScalar) and isinstance(pnode.value, str) and pnode.value.strip():
            ppos = pnode.pos
            origin = os.path.normpath(folder / pnode.value)
            proposal = _read_json_proposal(Path(origin), pnode.pos, sink)
            pnode = None
        elif pnode is not None:
            sink.error(Code.WRONG_TYPE, "proposal must be a path to a JSON file (relative to the test "
                       "file) or an inline mapping", pnode.pos)
            pnode = None
        return Case(name=name, file=label, pos=node.pos, expect=expect, proposal=proposal,
                    proposal_origin=origin, proposal_node=pnode, proposal_pos=ppos,
                    as_of=as_of,
                    errors=tuple(d for d in sink.sorted() if d.severity is Severity.ERROR),
                    warnings=tuple(d for d in sink.sorted() if d.severity is Severity.WARNING))

    def read_expect(self, node: YNode | None, sink: DiagnosticSink) -> Expect:
        if node is None:
            return Expect()
        if not isinstance(node, YMap):
            sink.error(Code.WRONG_TYPE, "expect must be a mapping", node.pos)
            return Expect()
        Reader(sink).keys(node, EXPECT_KEYS, (), "expect")
        if not node.values:
            sink.error(Code.EMPTY, "expect is empty: a case must expect something "
                       f"({', '.join(EXPECT_KEYS)})", node.pos)
        decision = self.choice(node.get("decision"), "decision", self.decisions, sink)
        band = self.choice(node.get("band"), "band", self.bands, sink)
        score = _range(node.get("score"), "score", sink)
        fired = self.rule_ids(node.get("fired"), "fired", sink)
        not_fired = self.rule_ids(node.get("not_fired"), "not_fired", sink)
        both = [rid for rid in fired if rid in not_fired]
        if both:
            sink.error(Code.TEST_UNKNOWN_RULE, f"{', '.join(both)} both in fired and in not_fired",
                       node.keys["not_fired"])
        knockouts = None
        if node.get("knockouts") is not None:
            knockouts = self.rule_ids(node.get("knockouts"), "knockouts", sink,
                                      kind=syntax.RuleKind.KNOCKOUT)
        floors = None
        if node.get("floors") is not None:
            floors = self.rule_ids(node.get("floors"), "floors", sink, floor=True)
        provisional = None
        pnode = node.get("provisional")
        if pnode is not None:
            if isinstance(pnode, YScalar) and isinstance(pnode.value, bool):
                provisional = pnode.value
            else:
                sink.error(Code.WRONG_TYPE, "provisional must be true or false", pnode.pos)
        factor_scores = self.factor_scores(node.get("factor_scores"), sink)
        missing = tuple(Reader(sink).texts(node.get("missing_information"), "missing_information",
                                           "field paths", "an item of missing_information"))
        return Expect(decision=decision, band=band, score=score, fired=fired,
                      not_fired=not_fired, knockouts=knockouts, factor_scores=factor_scores,
                      missing_information=missing, floors=floors, provisional=provisional)

    def choice(self, node: YNode | None, what: str, allowed: list[str],
               sink: DiagnosticSink) -> str | None:
        value = Reader(sink).nonempty(node, what)
        if value is None or node is None:
            return None
        if value not in allowed:
            sink.error(Code.BAD_VALUE, f"unknown {what} '{value}': the pack has {', '.join(allowed)}"
                       f"{suggest(value, allowed)}", node.pos)
            return None
        return value

    def rule_ids(self, node: YNode | None, what: str, sink: DiagnosticSink,
                 kind: syntax.RuleKind | None = None, *, floor: bool = False) -> tuple[str, ...]:
        out: list[str] = []
        for item in Reader(sink).seq(node, what, "rule ids"):
            value = Reader(sink).nonempty(item, f"a rule id in {what}")
            if value is None:
                continue
            rule = self.rules.get(value)
            if rule is None:
                sink.error(Code.TEST_UNKNOWN_RULE, f"unknown rule '{value}' in {what}"
                           f"{suggest(value, list(self.rules))}", item.pos)
            elif kind is not None and rule.kind is not kind:
                sink.error(Code.TEST_UNKNOWN_RULE, f"{value} in {what} is a {rule.kind.value} rule, not a "
                           f"{kind.value} rule", item.pos)
            elif floor and rule.at_least is None:
                sink.error(Code.TEST_UNKNOWN_RULE, f"{value} in {what} sets no floor (at_least)", item.pos)
            elif value not in out:
                out.append(value)
        return tuple(out)

    def factor_scores(self, node: YNode | None, sink: DiagnosticSink) -> tuple[tuple[str, Range], ...]:
        if node is None:
            return ()
        if not isinstance(node, YMap):
            sink.error(Code.WRONG_TYPE, "factor_scores must be a mapping of factor id to a number or a "
                       "range", node.pos)
            return ()
        out = []
        for key in node.order:
            if key not in self.factors:
                sink.error(Code.UNKNOWN_FACTOR, f"unknown factor '{key}' in factor_scores: the pack has "
                           f"{', '.join(self.factors)}{suggest(key, self.factors)}",
                           node.keys[key])
                continue
            expected = _range(node.values[key], f"factor_scores.{key}", sink)
            if expected is not None:
                out.append((key, expected))
        return tuple(out)














# Complexity D (24, radon), kept in one piece: the three written forms of a range (a number,
# gte/lte, between) and their errors, each at its position.
def _range(node: YNode | None, what: str, sink: DiagnosticSink) -> Range | None:
    """A number, or a mapping with `gte` and/or `lte`, or `between: [a, b]`."""
    if node is None:
        return None
    if isinstance(node, YScalar):
        exact = Reader(sink).number(node, what)
        return None if exact is None else Range(exact=exact)
    if not isinstance(node, YMap):
        sink.error(Code.WRONG_TYPE, f"{what} must be a number or a mapping ({{gte: a}}, {{lte: b}}, "
                   "{between: [a, b]})", node.pos)
        return None
    Reader(sink).keys(node, RANGE_KEYS, (), what)
    if not any(k in node.values for k in RANGE_KEYS):
        sink.error(Code.MISSING_KEY, f"{what} needs gte, lte or between", node.pos)
        return None
    between = node.get("between")
    if between is not None:
        if "gte" in node.values or "lte" in node.values:
            sink.error(Code.WRONG_TYPE, f"{what}: use either between or gte/lte, not both", between.pos)
            return None
        if not isinstance(between, YSeq) or len(between.items) != 2:
            sink.error(Code.WRONG_TYPE, f"{what}.between must be a list of two numbers [low, high]",
                       between.pos)
            return None
        low = Reader(sink).number(between.items[0], f"{what}.between")
        high = Reader(sink).number(between.items[1], f"{what}.between")
    else:
        gte, lte = node.get("gte"), node.get("lte")
        low = None if gte is None else Reader(sink).number(gte, f"{what}.gte")
        high = None if lte is None else Reader(sink).number(lte, f"{what}.lte")
        if (gte is not None and low is None) or (lte is not None and high is None):
            return None
    if between is not None and (low is None or high is None):
        return None
    if low is not None and high is not None and low > high:
        sink.error(Code.WRONG_TYPE, f"{what}: the lower bound {number_text(low)} is above the upper bound "
                   f"{number_text(high)}", node.pos)
        return None
    return Range(low=low, high=high)


def _json_shaped(value: object) -> Any:
    """YAML data as the JSON a client would send: dates (which YAML resolves unasked) as text."""
    if isinstance(value, dict):
        return {str(k): _json_shaped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_shaped(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _read_json_proposal(path: Path, pos: Position, sink: DiagnosticSink) -> dict[str, Any] | None:
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        sink.error(Code.UNREADABLE, f"proposal file {path} does not exist (a proposal path is "
                   "relative to the folder of its test file)", pos)
        return None
    except (OSError, UnicodeDecodeError) as exc:
        sink.error(Code.UNREADABLE, f"cannot read proposal file {path}: {exc}", pos)
        return None
    try:
        data = loads_strict(text)
    except MalformedJSON as exc:
        if exc.line:  # a syntax error: point into the JSON file itself
            sink.error(Code.UNREADABLE, f"proposal file is {exc.detail}",
                       Position(str(path), exc.line, exc.column))
        else:
            sink.error(Code.UNREADABLE, f"proposal file {path} is {exc.detail}", pos)
        return None
    if not isinstance(data, dict):
        sink.error(Code.WRONG_TYPE, f"proposal file {path} must hold one JSON object", pos)
        return None
    return data

def number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def json_number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value
