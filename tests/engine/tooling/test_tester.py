"""engine/tooling/testcases.py and tester.py: reading rule-test files with positions, running cases, comparing, coverage."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from engine import Pack, load_pack
from engine.errors import FieldError, ProposalError
from engine.language.yamlsource import YMap, plain
from engine.tooling.testcases import EXPECT_KEYS, Case, Range, load_cases
from engine.tooling.tester import Result, Status, coverage, run_cases, select_cases

TESTPACK = Path(__file__).parents[1] / "fixtures" / "testpack"
PASSING = TESTPACK / "tests" / "passing.yaml"
FAILING = TESTPACK / "tests" / "failing.yaml"
BROKEN = TESTPACK / "broken" / "errors.yaml"

HEADER = """\
cases:
  - name: only case
    proposal: {proposal}
"""


@pytest.fixture(scope="module")
def pack() -> Iterator[Pack]:
    loaded = load_pack(TESTPACK)
    yield loaded
    loaded.close()


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str], Path]:
    """Write a test file beside a copy of the fixture's proposal (so relative paths resolve)."""
    (tmp_path / "russia.json").write_text((TESTPACK / "proposals" / "russia.json").read_text())

    def make(text: str, name: str = "case.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return make


def run_file(pack: Pack, path: Path) -> dict[str, Result]:
    cases, diagnostics = load_cases([path], pack)
    assert diagnostics == []
    return {r.case.name: r for r in run_cases(pack, cases)}


def problems(pack: Pack, path: Path) -> list[tuple[str, int, int, str]]:
    """Every problem found in a test file (its own and its cases'), as (code, line, col, text)."""
    cases, diagnostics = load_cases([path], pack)
    results = run_cases(pack, cases)
    found = list(diagnostics) + [d for r in results for d in r.errors]
    return [(d.code, d.position.line, d.position.column, d.message) for d in found]


# -- expectations that hold ----------------------------------------------------------------------


def test_every_case_of_the_passing_file_passes(pack: Pack) -> None:
    results = run_file(pack, PASSING)
    assert {name: r.status for name, r in results.items()} == dict.fromkeys(results, Status.PASSED)
    assert len(results) == 5
    assert all(r.mismatches == () and r.assessment is not None for r in results.values())


def test_the_passing_file_exercises_every_expectation_kind(pack: Pack) -> None:
    """Guards the fixture: each kind must be checked by at least one passing case."""
    cases, _ = load_cases([PASSING], pack)
    used = {key for c in cases for key in EXPECT_KEYS
            if getattr(c.expect, key) not in (None, ())}
    assert used == set(EXPECT_KEYS)
    ranges = [c.expect.score for c in cases if c.expect.score is not None]
    assert {r.describe() for r in ranges} == {"45", ">= 75", "between 9 and 11", "22.5", "<= 6.25"}
    assert any(c.expect.knockouts == () for c in cases)  # "no knockout" is an expectation too


def test_a_proposal_file_is_read_relative_to_the_test_file(pack: Pack) -> None:
    cases, _ = load_cases([PASSING], pack)
    first = cases[0]
    assert first.proposal_origin == str(TESTPACK / "proposals" / "russia.json")
    assert first.proposal is not None and first.proposal["counterparties"][0]["country"] == "RU"


def test_as_of_decides_which_rules_are_in_effect(pack: Pack) -> None:
    results = run_file(pack, PASSING)
    dated = results["A large deal counts from 2027"]
    assert dated.case.as_of is not None and dated.case.as_of.isoformat() == "2027-06-01"
    assert dated.fired == ["F-001"]


# -- expectations that fail ----------------------------------------------------------------------


@pytest.mark.parametrize(("name", "what", "message"), [
    ("wrong decision", "decision", "decision: expected escalate, got review"),
    ("wrong band", "band", "band: expected high, got medium"),
    ("score out of range", "score", "score: expected between 50 and 60, got 45"),
    ("expected rule did not fire", "fired", "fired: expected M-001 to fire, it did not"),
    ("unexpected rule fired", "not_fired", "not_fired: expected M-002 not to fire, it fired"),
    ("wrong knockouts", "knockouts", "knockouts: expected [], got [K-001]"),
    ("wrong factor score", "factor_scores.security",
     "factor_scores.security: expected <= 50, got 60"),
    ("missing information not reported", "missing_information",
     "missing_information: expected payments.usd_share to be reported, "
     "got [deal.duration_months, mitigations, technologies]"),
    ("rule not yet in effect", "fired",
     "fired: expected F-001 (not in effect on 2026-06-01) to fire, it did not"),
])
def test_each_expectation_kind_fails_with_expected_and_actual(
        pack: Pack, name: str, what: str, message: str) -> None:
    result = run_file(pack, FAILING)[name]
    assert result.status is Status.FAILED
    assert [(m.what, m.message) for m in result.mismatches] == [(what, message)]
    assert result.failure_message() == message


def test_mismatches_carry_structured_values_for_machine_reports(pack: Pack) -> None:
    results = run_file(pack, FAILING)
    score = results["score out of range"].mismatches[0]
    assert (score.expected, score.actual) == ({"between": [50, 60]}, 45)
    factor = results["wrong factor score"].mismatches[0]
    assert (factor.expected, factor.actual, factor.factor) == ({"lte": 50}, 60, "security")
    actual = results["wrong knockouts"].actual()
    assert actual is not None
    assert (actual["decision"], actual["knockouts"], actual["fired"]) == \
        ("reject", ["K-001"], ["S-001", "K-001"])


def test_a_disabled_rule_expected_to_fire_says_so(pack: Pack, write: Callable[[str], Path]) -> None:
    path = write(HEADER.format(proposal="russia.json") + "    expect: {fired: [D-001]}\n")
    result = run_file(pack, path)["only case"]
    assert result.failure_message() == "fired: expected D-001 (disabled) to fire, it did not"


@pytest.mark.parametrize(("expected", "value", "holds"), [
    (Range(exact=45), 45.0, True), (Range(exact=45), 45.01, False),
    (Range(low=75), 75.0, True), (Range(low=75), 74.99, False),
    (Range(high=12), 12.0, True), (Range(high=12), 12.01, False),
    (Range(low=9, high=11), 9.0, True), (Range(low=9, high=11), 11.0, True),
    (Range(low=9, high=11), 11.01, False), (Range(low=15, high=19.9), 19.9, True),
])
def test_ranges_are_inclusive_and_exact(expected: Range, value: float, holds: bool) -> None:
    assert expected.holds(value) is holds


# -- errors with positions ---------------------------------------------------------------------


@pytest.mark.parametrize(("name", "errors"), [
    ("unknown rule id", [("E050", 10, 15, "unknown rule 'S-01' in fired (did you mean 'S-001'?)")]),
    ("unknown factor", [("E011", 15, 23, "unknown factor 'securty' in factor_scores: the pack "
                         "has security, money (did you mean 'security'?)")]),
    ("proposal file does not exist", [("E001", 18, 15, "proposal file {proposals}/nope.json "
                                       "does not exist (a proposal path is relative to the "
                                       "folder of its test file)")]),
    ("proposal file breaks the contract", [
        ("E051", 22, 15, "proposal {proposals}/bad-country.json breaks the contract at "
         "counterparties[0].country: not an ISO 3166-1 alpha-2 country code (upper case): 'XX'")]),
    ("inline proposal breaks the contract", [
        ("E051", 30, 40, "proposal breaks the contract at counterparties[0].country: not an "
         "ISO 3166-1 alpha-2 country code (upper case): 'XX'")]),
    ("unknown key in a case", [("E003", 35, 5, "a case needs 'expect'"),
                               ("E002", 37, 5, "unknown key 'expected' in a case (did you mean "
                                "'expect'?)")]),
    ("unknown key in expect", [("E002", 41, 14, "unknown key 'decison' in expect (did you mean "
                                "'decision'?)")]),
    ("a risk rule listed as a knockout", [("E050", 45, 26, "S-001 in knockouts is a risk rule, "
                                           "not a knockout rule")]),
    ("unknown decision", [("E018", 49, 24, "unknown decision 'rejected': the pack has approve, "
                           "escalate, reject, review (did you mean 'reject'?)")]),
])
def test_a_case_that_cannot_run_is_an_error_at_its_position(
        pack: Pack, name: str, errors: list[tuple[str, int, int, str]]) -> None:
    cases, diagnostics = load_cases([BROKEN], pack)
    assert diagnostics == []
    results = {r.case.name: r for r in run_cases(pack, cases)}
    result = results[name]
    assert result.status is Status.ERROR and result.assessment is None
    proposals = str(TESTPACK / "proposals")
    assert [(d.code, d.position.line, d.position.column, d.message) for d in result.errors] == \
        [(c, line, col, text.format(proposals=proposals)) for c, line, col, text in errors]
    assert {d.position.file for d in result.errors} == {str(BROKEN)}


def test_the_valid_case_of_a_broken_file_still_runs(pack: Pack) -> None:
    cases, _ = load_cases([BROKEN], pack)
    results = run_cases(pack, cases)
    assert [r.status for r in results].count(Status.PASSED) == 1
    assert results[0].case.name == "still runs" and results[0].status is Status.PASSED


@pytest.mark.parametrize(("text", "expected"), [
    ("cases:\n  - name: [unclosed\n", [("E001", 3, 1)]),
    ("- just a list\n", [("E004", 1, 1)]),
    ("cases: {}\n", [("E004", 1, 8)]),
    ("cases: []\n", [("E017", 1, 8)]),
    ("case: []\n", [("E002", 1, 1), ("E003", 1, 1)]),
    ("cases:\n  - just text\n", [("E004", 2, 5)]),
])
def test_file_level_problems_are_reported_with_positions(
        pack: Pack, write: Callable[[str], Path], text: str,
        expected: list[tuple[str, int, int]]) -> None:
    path = write(text)
    cases, diagnostics = load_cases([path], pack)
    assert cases == []
    assert [(d.code, d.position.line, d.position.column) for d in diagnostics] == expected
    assert {d.position.file for d in diagnostics} == {str(path)}


@pytest.mark.parametrize(("expect", "expected"), [
    ("{}", [("E017", 4, 13, "expect is empty")]),
    ("{score: true}", [("E004", 4, 21, "score must be a finite number")]),
    ("{score: {between: [60, 50]}}", [("E004", 4, 21, "the lower bound 60 is above the upper "
                                       "bound 50")]),
    ("{score: {between: [1]}}", [("E004", 4, 31, "score.between must be a list of two numbers")]),
    ("{score: {gte: 1, between: [1, 2]}}", [("E004", 4, 39, "use either between or gte/lte")]),
    ("{score: {above: 1}}", [("E003", 4, 21, "score needs gte, lte or between"),
                             ("E002", 4, 22, "unknown key 'above' in score")]),
    ("{score: [1, 2]}", [("E004", 4, 21, "score must be a number or a mapping")]),
    ("{fired: S-001}", [("E004", 4, 21, "fired must be a list of rule ids")]),
    ("{fired: [S-001], not_fired: [S-001]}", [("E050", 4, 30, "S-001 both in fired and in "
                                                "not_fired")]),
    ("{band: severe}", [("E018", 4, 20, "unknown band 'severe': the pack has low, medium, high, "
                         "critical")]),
    ("{factor_scores: {money: {gte: x}}}", [("E004", 4, 43, "factor_scores.money.gte must be "
                                             "a finite number")]),
    ("{missing_information: payments.usd_share}", [("E004", 4, 35, "missing_information must "
                                                    "be a list of field paths")]),
])
def test_malformed_expectations_are_errors(pack: Pack, write: Callable[[str], Path], expect: str,
                                           expected: list[tuple[str, int, int, str]]) -> None:
    path = write(HEADER.format(proposal="russia.json") + f"    expect: {expect}\n")
    found = problems(pack, path)
    assert [(c, line, col) for c, line, col, _ in found] == [(c, line, col) for c, line, col, _ in expected]
    for (_, _, _, text), (_, _, _, want) in zip(found, expected, strict=True):
        assert want in text


def test_as_of_must_be_a_date(pack: Pack, write: Callable[[str], Path]) -> None:
    path = write(HEADER.format(proposal="russia.json")
                 + "    as_of: next tuesday\n    expect: {decision: review}\n")
    assert problems(pack, path) == [("E004", 4, 12, "as_of must be a date (YYYY-MM-DD)")]


def test_invalid_json_in_a_proposal_file_is_located_in_that_file(
        pack: Pack, write: Callable[[str], Path], tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text('{\n  "title": "x",\n  "title": "y"\n}\n')
    (tmp_path / "broken.json").write_text('{\n  "title": \n}\n')
    dup = problems(pack, write(HEADER.format(proposal="bad.json")
                               + "    expect: {decision: review}\n"))
    assert dup == [("E001", 3, 15, f"proposal file {tmp_path / 'bad.json'} is not acceptable "
                    "JSON: duplicate key 'title'")]
    cases, _ = load_cases([write(HEADER.format(proposal="broken.json")
                                 + "    expect: {decision: review}\n")], pack)
    (error,) = cases[0].errors
    assert (error.code, error.position.file, error.position.line) == \
        ("E001", str(tmp_path / "broken.json"), 3)


def test_a_proposal_that_is_neither_file_nor_mapping_is_an_error(
        pack: Pack, write: Callable[[str], Path]) -> None:
    path = write(HEADER.format(proposal="[1, 2]") + "    expect: {decision: review}\n")
    assert [p[:3] for p in problems(pack, path)] == [("E004", 3, 15)]


def test_the_validator_is_injected_and_sees_the_proposal(pack: Pack) -> None:
    seen: list[Any] = []

    def refuse(data: Any) -> None:
        seen.append(data)
        raise ProposalError([FieldError("", "refused by policy")])

    cases, _ = load_cases([PASSING], pack)
    results = run_cases(pack, cases[:2], refuse)
    assert [r.status for r in results] == [Status.ERROR, Status.ERROR]
    assert seen[0]["title"] == "Ground station services for a Moscow operator"
    file_error, inline_error = results[0].errors[0], results[1].errors[0]
    assert (file_error.code, file_error.position.line, file_error.position.column) == ("E051", 4, 15)
    # an inline proposal's whole-proposal error points at the proposal mapping
    assert (inline_error.position.line, inline_error.position.column) == (16, 7)
    assert "breaks the contract at $: refused by policy" in inline_error.message


def test_inline_yaml_dates_reach_the_validator_as_text(pack: Pack, write: Callable[[str], Path]) -> None:
    seen: list[Any] = []
    path = write("cases:\n  - name: dated title\n    proposal: {title: 2026-01-01}\n"
                 "    expect: {decision: review}\n")
    cases, _ = load_cases([path], pack)
    run_cases(pack, cases, seen.append)
    assert seen[0]["title"] == "2026-01-01"


def test_an_engine_failure_is_an_error_not_a_crash(write: Callable[[str], Path]) -> None:
    closed = load_pack(TESTPACK)
    cases, _ = load_cases([PASSING], closed)
    closed.close()
    result = run_cases(closed, cases[:1])[0]
    assert result.status is Status.ERROR
    assert [(d.code, d.position.line) for d in result.errors] == [("E052", 3)]
    assert "the rule pack was closed" in result.errors[0].message


def test_a_missing_path_is_a_diagnostic(pack: Pack, tmp_path: Path) -> None:
    cases, diagnostics = load_cases([tmp_path / "nowhere"], pack)
    assert cases == []
    assert [(d.code, d.position.file) for d in diagnostics] == [("E001", str(tmp_path / "nowhere"))]


def test_a_directory_gives_its_yaml_files_in_name_order_once(pack: Pack) -> None:
    cases, _ = load_cases([TESTPACK / "tests", FAILING], pack)
    files = [Path(c.file).name for c in cases]
    assert files == ["failing.yaml"] * 9 + ["passing.yaml"] * 5


# -- selection and coverage --------------------------------------------------------------------


def test_k_selects_by_case_insensitive_substring(pack: Pack) -> None:
    cases, _ = load_cases([TESTPACK / "tests"], pack)
    chosen, deselected = select_cases(cases, "WRONG")
    assert [c.name for c in chosen] == ["wrong decision", "wrong band", "wrong knockouts",
                                        "wrong factor score"]
    assert deselected == 10
    assert select_cases(cases, None) == (cases, 0)


def test_coverage_counts_every_case_that_ran(pack: Pack) -> None:
    cases, _ = load_cases([TESTPACK / "tests"], pack)
    cov = coverage(pack, run_cases(pack, cases))
    assert cov.cases == 14
    assert cov.counts == {"S-001": 8, "S-002": 1, "M-001": 2, "M-002": 2, "X-001": 1,
                          "K-001": 2, "F-001": 1, "U-001": 0, "D-001": 0}
    assert (cov.enabled, cov.disabled, cov.uncovered) == (
        ("S-001", "S-002", "M-001", "M-002", "X-001", "K-001", "F-001", "U-001"), ("D-001",),
        ("U-001",))
    assert (cov.covered, cov.percent) == (7, 87.5)
    assert not cov.below(87.5) and cov.below(87.51)


def test_cases_in_error_do_not_count_towards_coverage(pack: Pack) -> None:
    cases, _ = load_cases([BROKEN], pack)
    cov = coverage(pack, run_cases(pack, cases))
    assert cov.cases == 1 and cov.counts["S-001"] == 1 and cov.covered == 1


def test_case_positions_point_at_the_case(pack: Pack) -> None:
    cases, _ = load_cases([FAILING], pack)
    assert [c.pos.line for c in cases] == [3, 8, 13, 18, 30, 42, 53, 58, 63]
    assert all(isinstance(c, Case) and c.stem == "failing" for c in cases)


def test_plain_inline_proposal_is_what_was_written(pack: Pack) -> None:
    cases, _ = load_cases([PASSING], pack)
    node = cases[1].proposal_node
    assert isinstance(node, YMap) and plain(node) == cases[1].proposal


def test_yaml_booleans_in_an_inline_proposal_get_a_hint(pack: Pack, write: Callable[[str], Path]) -> None:
    path = write("cases:\n  - name: Norway\n    proposal:\n      title: Oslo\n"
                 "      initiator: {name: Orbital Dynamics Inc., country: US, type: private_company}\n"
                 "      counterparties:\n        - {name: Oslo AS, country: NO, type: private_company}\n"
                 "      deal: {type: other}\n      sectors: [space]\n    expect: {decision: approve}\n")
    ((code, line, col, text),) = problems(pack, path)
    assert (code, line, col) == ("E051", 7, 36)
    assert text.startswith("proposal breaks the contract at counterparties[0].country: ")
    assert text.endswith('(YAML read this value as false: quote it, as in country: "NO")')
