"""Rule tests: reading test-case files with positions, running them against a pack, rule coverage.

Compliance analysts pin down what a pack must decide on given proposals (`rules/tests/*.yaml`);
this module turns those files into cases, runs them and says, for each case, what was
expected and what came out. A case that cannot be run as written (unknown rule or factor,
missing proposal file, proposal outside the contract, unknown key) is an *error* with its
FILE:LINE:COL, never a silent pass. The proposal validator is injected so that the engine
does not depend on the API's schemas.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from engine.codes import Code
from engine.errors import (
    Diagnostic,
    DiagnosticSink,
    EngineError,
    FieldError,
    Position,
    ProposalError,
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
from engine.pack import Assessment, Pack

TOP_KEYS = ("cases",)
CASE_KEYS = ("name", "proposal", "as_of", "expect")
EXPECT_KEYS = ("decision", "band", "score", "fired", "not_fired", "knockouts", "factor_scores",
               "missing_information", "floors", "provisional")
RANGE_KEYS = ("gte", "lte", "between")
TEST_FILE_SUFFIXES = (".yaml", ".yml")

Validator = Callable[[Any], object]
"""Checks a proposal against the contract; raises ProposalError naming every offending field."""


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
            return _num(self.exact)
        if self.low is not None and self.high is not None:
            return f"between {_num(self.low)} and {_num(self.high)}"
        if self.low is not None:
            return f">= {_num(self.low)}"
        return f"<= {_num(self.high if self.high is not None else math.inf)}"

    def to_json(self) -> object:
        if self.exact is not None:
            return _jnum(self.exact)
        if self.low is not None and self.high is not None:
            return {"between": [_jnum(self.low), _jnum(self.high)]}
        if self.low is not None:
            return {"gte": _jnum(self.low)}
        return {"lte": _jnum(self.high if self.high is not None else math.inf)}


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
# what came out


class Status(str, Enum):
    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"


@dataclass(frozen=True)
class Mismatch:
    """One expectation that did not hold: `what` names it (`score`, `factor_scores.money`)."""

    what: str
    expected: object
    actual: object
    message: str
    factor: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {"what": self.what, "expected": self.expected, "actual": self.actual,
                "message": self.message}


@dataclass(frozen=True)
class Result:
    """The outcome of one case, with the assessment (when it ran) for reports and coverage."""

    case: Case
    status: Status
    mismatches: tuple[Mismatch, ...] = ()
    errors: tuple[Diagnostic, ...] = ()
    assessment: Assessment | None = None
    duration: float = 0.0

    @property
    def fired(self) -> list[str]:
        return self.assessment.fired if self.assessment is not None else []

    def failure_message(self) -> str:
        """Expected vs actual in one line (the JUnit failure message and the report headline)."""
        if self.status is Status.ERROR:
            return "; ".join(f"{d.code} {d.message}" for d in self.errors)
        return "; ".join(m.message for m in self.mismatches)

    def actual(self) -> dict[str, object] | None:
        """The actual values an expectation can test, as JSON."""
        a = self.assessment
        if a is None:
            return None
        return {
            "decision": a.decision, "band": a.band, "score": a.score, "fired": a.fired,
            "knockouts": [h.rule.id for h in a.knockouts],
            "floors": [h.rule.id for h in a.floors], "provisional": a.provisional,
            "factor_scores": {fs.factor.id: fs.score for fs in a.scores.factors},
            "missing_information": [p for p, _ in a.missing_information],
        }

    def to_dict(self) -> dict[str, object]:
        c = self.case
        return {"file": c.file, "line": c.pos.line, "column": c.pos.column, "name": c.name,
                "status": self.status.value, "duration": round(self.duration, 4),
                "failures": [m.to_dict() for m in self.mismatches],
                "errors": [d.to_dict() for d in self.errors], "actual": self.actual()}


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
        sink.error(Code.WRONG_TYPE, f"{what}: the lower bound {_num(low)} is above the upper bound "
                   f"{_num(high)}", node.pos)
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


# ---------------------------------------------------------------------------------------------
# selecting and running


def select_cases(cases: Sequence[Case], keyword: str | None) -> tuple[list[Case], int]:
    """The cases whose name contains `keyword` (case-insensitive, like pytest -k), and how many
    were left out."""
    if not keyword:
        return list(cases), 0
    needle = keyword.casefold()
    chosen = [c for c in cases if needle in c.name.casefold()]
    return chosen, len(cases) - len(chosen)


def run_cases(pack: Pack, cases: Sequence[Case],
              validate: Validator | None = None) -> list[Result]:
    """Run every case: validate its proposal (with the pack's contract unless another
    `validate` is given), assess it, compare."""
    return [run_case(pack, case, validate) for case in cases]


def run_case(pack: Pack, case: Case, validate: Validator | None = None) -> Result:
    validate = validate or pack.validate
    if case.errors or case.proposal is None:
        errors = case.errors or (Diagnostic(Code.MISSING_KEY, "the case has no proposal", case.pos),)
        return Result(case, Status.ERROR, errors=errors)
    start = time.perf_counter()
    try:
        validate(case.proposal)
    except ProposalError as exc:
        return Result(case, Status.ERROR, errors=_contract_errors(case, exc.errors),
                      duration=time.perf_counter() - start)
    try:
        assessment = pack.assess(case.proposal, as_of=case.as_of, validate=False)
    except EngineError as exc:
        error = Diagnostic(Code.TEST_ENGINE_FAILED,
                           f"the engine failed on this case: {exc.code} {exc.detail}",
                           case.pos)
        return Result(case, Status.ERROR, errors=(error,), duration=time.perf_counter() - start)
    mismatches = compare(pack, case.expect, assessment)
    return Result(case, Status.FAILED if mismatches else Status.PASSED,
                  mismatches=tuple(mismatches), assessment=assessment,
                  duration=time.perf_counter() - start)


def _contract_errors(case: Case, errors: Sequence[FieldError]) -> tuple[Diagnostic, ...]:
    """One diagnostic per offending field, at that field in an inline proposal, else at the
    proposal reference (naming the JSON file)."""
    out = []
    for error in errors or (FieldError("$", "invalid proposal"),):
        where = error.path or "$"
        if case.proposal_node is not None:
            node = _locate(case.proposal_node, where)
            pos = node.pos
            text = f"proposal breaks the contract at {where}: {error.message}"
            if isinstance(node, YScalar) and isinstance(node.value, bool):
                text += (f" (YAML read this value as {str(node.value).lower()}: quote it, "
                         "as in country: \"NO\")")
        else:
            pos = case.proposal_pos or case.pos
            text = (f"proposal {case.proposal_origin} breaks the contract at {where}: "
                    f"{error.message}")
        out.append(Diagnostic(Code.TEST_BAD_PROPOSAL, text, pos))
    return tuple(out)


_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _locate(node: YNode, path: str) -> YNode:
    """The deepest node of an inline proposal along `counterparties[0].country`, for its
    position: a scalar itself, a mapping or list by its key (the line an analyst looks for)."""
    found = node
    current = node
    for match in _STEP.finditer("" if path == "$" else path):
        key, index = match.group(1), match.group(2)
        if key is not None and isinstance(current, YMap) and key in current.values:
            child = current.values[key]
            found = child if isinstance(child, YScalar) else YScalar(None, current.keys[key])
            current = child
        elif index is not None and isinstance(current, YSeq) and int(index) < len(current.items):
            current = current.items[int(index)]
            found = current
        else:
            break
    return found


def compare(pack: Pack, expect: Expect, a: Assessment) -> list[Mismatch]:
    """Every expectation of `expect` that `a` does not meet, as expected-vs-actual."""
    out: list[Mismatch] = []
    if expect.decision is not None and a.decision != expect.decision:
        out.append(Mismatch("decision", expect.decision, a.decision,
                            f"decision: expected {expect.decision}, got {a.decision}"))
    if expect.band is not None and a.band != expect.band:
        out.append(Mismatch("band", expect.band, a.band,
                            f"band: expected {expect.band}, got {a.band}"))
    if expect.score is not None and not expect.score.holds(a.score):
        out.append(Mismatch("score", expect.score.to_json(), _jnum(a.score),
                            f"score: expected {expect.score.describe()}, got {_num(a.score)}"))
    fired = a.fired
    silent = [rid for rid in expect.fired if rid not in fired]
    if silent:
        notes = [f"{rid}{_inactive_note(pack, rid, a.as_of)}" for rid in silent]
        out.append(Mismatch("fired", list(expect.fired), fired,
                            f"fired: expected {', '.join(notes)} to fire, "
                            f"{'it' if len(silent) == 1 else 'they'} did not"))
    loud = [rid for rid in expect.not_fired if rid in fired]
    if loud:
        out.append(Mismatch("not_fired", list(expect.not_fired), fired,
                            f"not_fired: expected {', '.join(loud)} not to fire, "
                            f"{'it' if len(loud) == 1 else 'they'} fired"))
    if expect.knockouts is not None:
        actual_ko = sorted(h.rule.id for h in a.knockouts)
        if actual_ko != sorted(expect.knockouts):
            out.append(Mismatch("knockouts", sorted(expect.knockouts), actual_ko,
                                f"knockouts: expected [{', '.join(sorted(expect.knockouts))}], "
                                f"got [{', '.join(actual_ko)}]"))
    if expect.floors is not None:
        actual_floors = sorted(h.rule.id for h in a.floors)
        if actual_floors != sorted(expect.floors):
            out.append(Mismatch("floors", sorted(expect.floors), actual_floors,
                                f"floors: expected [{', '.join(sorted(expect.floors))}], "
                                f"got [{', '.join(actual_floors)}]"))
    if expect.provisional is not None and a.provisional != expect.provisional:
        settle = ", ".join(p for u in a.outcome.unsettled for p in u.paths)
        out.append(Mismatch("provisional", expect.provisional, a.provisional,
                            f"provisional: expected {str(expect.provisional).lower()}, got "
                            f"{str(a.provisional).lower()}"
                            + (f" (unsettled by {settle})" if settle else "")))
    by_factor = {fs.factor.id: fs.score for fs in a.scores.factors}
    for factor, expected in expect.factor_scores:
        actual = by_factor[factor]
        if not expected.holds(actual):
            out.append(Mismatch(f"factor_scores.{factor}", expected.to_json(), _jnum(actual),
                                f"factor_scores.{factor}: expected {expected.describe()}, "
                                f"got {_num(actual)}", factor=factor))
    reported = [p for p, _ in a.missing_information]
    unreported = [p for p in expect.missing_information if p not in reported]
    if unreported:
        out.append(Mismatch("missing_information", list(expect.missing_information), reported,
                            f"missing_information: expected {', '.join(unreported)} to be "
                            f"reported, got [{', '.join(reported)}]"))
    return out


def _inactive_note(pack: Pack, rule_id: str, day: dt.date) -> str:
    rule = pack.rule(rule_id)
    if rule is None or rule.active_on(day):
        return ""
    if not rule.enabled:
        return " (disabled)"
    return f" (not in effect on {day.isoformat()})"


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def _jnum(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


# ---------------------------------------------------------------------------------------------
# coverage


@dataclass(frozen=True)
class Coverage:
    """How many evaluated cases fire each rule. Only enabled rules count towards the figure."""

    counts: dict[str, int]
    enabled: tuple[str, ...]
    disabled: tuple[str, ...]
    cases: int
    uncovered: tuple[str, ...] = field(default=())

    @property
    def covered(self) -> int:
        return len(self.enabled) - len(self.uncovered)

    @property
    def percent(self) -> float:
        return 100.0 * self.covered / len(self.enabled) if self.enabled else 100.0

    def below(self, minimum: float) -> bool:
        """True when fewer than `minimum` percent of enabled rules fire (exact, no rounding)."""
        return self.covered * 100 < minimum * len(self.enabled)

    def to_dict(self) -> dict[str, object]:
        return {"cases": self.cases, "rules": len(self.enabled), "covered": self.covered,
                "percent": round(self.percent, 2), "counts": dict(self.counts),
                "uncovered": list(self.uncovered), "disabled": list(self.disabled)}


def coverage(pack: Pack, results: Iterable[Result]) -> Coverage:
    """Per rule, how many cases that ran (passed or failed) fire it."""
    counts = {r.id: 0 for r in pack.rules}
    cases = 0
    for result in results:
        if result.assessment is None:
            continue
        cases += 1
        for rule_id in result.assessment.fired:
            counts[rule_id] = counts.get(rule_id, 0) + 1
    enabled = tuple(r.id for r in pack.rules if r.enabled)
    disabled = tuple(r.id for r in pack.rules if not r.enabled)
    uncovered = tuple(rid for rid in enabled if counts[rid] == 0)
    return Coverage(counts, enabled, disabled, cases, uncovered)
