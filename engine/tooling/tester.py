"""Rule tests run: each case (engine.tooling.testcases) assessed against a pack and compared
with what it expects; rule coverage.

Says, for each case, what was expected and what came out. A proposal outside the contract is
an *error* at its FILE:LINE:COL, never a silent pass. The proposal validator is injected so
that the engine does not depend on the API's schemas.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from engine.assessment import Assessment
from engine.codes import Code
from engine.errors import Diagnostic, EngineError, FieldError, ProposalError
from engine.language.yamlsource import YMap, YNode, YScalar, YSeq
from engine.pack import Pack
from engine.tooling.testcases import Case, Expect, json_number, number_text

Validator = Callable[[Any], object]
"""Checks a proposal against the contract; raises ProposalError naming every offending field."""


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
    return [*_outcome_mismatches(expect, a), *_rule_mismatches(pack, expect, a),
            *_detail_mismatches(expect, a)]


def _outcome_mismatches(expect: Expect, a: Assessment) -> list[Mismatch]:
    """Decision, band and score."""
    out: list[Mismatch] = []
    if expect.decision is not None and a.decision != expect.decision:
        out.append(Mismatch("decision", expect.decision, a.decision,
                            f"decision: expected {expect.decision}, got {a.decision}"))
    if expect.band is not None and a.band != expect.band:
        out.append(Mismatch("band", expect.band, a.band,
                            f"band: expected {expect.band}, got {a.band}"))
    if expect.score is not None and not expect.score.holds(a.score):
        out.append(Mismatch("score", expect.score.to_json(), json_number(a.score),
                            f"score: expected {expect.score.describe()}, got {number_text(a.score)}"))
    return out


def _rule_mismatches(pack: Pack, expect: Expect, a: Assessment) -> list[Mismatch]:
    """Fired and not fired rules, knockouts and floors."""
    out: list[Mismatch] = []
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
    for what, expected, hits in (("knockouts", expect.knockouts, a.knockouts),
                                 ("floors", expect.floors, a.floors)):
        if expected is None:
            continue
        actual = sorted(h.rule.id for h in hits)
        if actual != sorted(expected):
            out.append(Mismatch(what, sorted(expected), actual,
                                f"{what}: expected [{', '.join(sorted(expected))}], "
                                f"got [{', '.join(actual)}]"))
    return out


def _detail_mismatches(expect: Expect, a: Assessment) -> list[Mismatch]:
    """Whether the decision is provisional, factor scores, the missing information reported."""
    out: list[Mismatch] = []
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
            out.append(Mismatch(f"factor_scores.{factor}", expected.to_json(), json_number(actual),
                                f"factor_scores.{factor}: expected {expected.describe()}, "
                                f"got {number_text(actual)}", factor=factor))
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
