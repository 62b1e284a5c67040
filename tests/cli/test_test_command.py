"""`riskrules test`: report, exit status, -k, JUnit XML, JSON, coverage, and W020 for check."""

from __future__ import annotations

import argparse
import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from cli import tester
from cli.main import main
from engine import load_pack
from engine.tooling.testcases import load_cases

ROOT = Path(__file__).resolve().parents[2]
TESTPACK = ROOT / "tests" / "engine" / "fixtures" / "testpack"
TESTS = TESTPACK / "tests"
PASSING = str(TESTS / "passing.yaml")
FAILING = str(TESTS / "failing.yaml")
BROKEN = str(TESTPACK / "broken" / "errors.yaml")
SUMMARY = re.compile(r"^\d+ passed, \d+ failed")


def run(*argv: str, rules: Path | str = TESTPACK) -> int:
    """The `test` command on a parser with the global --rules, as cli/main.py builds it."""
    root = argparse.ArgumentParser(prog="riskrules")
    root.add_argument("--rules", default=str(rules))
    tester.register(root.add_subparsers(dest="command"))
    args = root.parse_args(["test", *argv])
    return int(args.func(args))


def output(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return capsys.readouterr().out.splitlines()


# -- text report and exit status ---------------------------------------------------------------


def test_all_passing_exits_0_with_the_summary_last(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(PASSING) == 0
    lines = output(capsys)
    assert lines == [f"{PASSING} .....", "5 passed, 0 failed"]
    assert SUMMARY.match(lines[-1])


def test_default_runs_the_pack_tests_folder_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert run() == 1
    lines = output(capsys)
    assert lines[-1] == "5 passed, 9 failed"
    assert lines[:2] == [f"{FAILING} FFFFFFFFF", f"{PASSING} ....."]
    assert sum(line.startswith("FAILED ") for line in lines) == 9


def test_a_failure_shows_position_name_expected_actual_and_hits(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert run(FAILING, "-k", "wrong decision") == 1
    lines = output(capsys)
    start = lines.index(f"FAILED {FAILING}:3 wrong decision: decision: expected escalate, "
                        "got review")
    assert lines[start + 1].strip() == "got decision review, band medium, score 45 (inherent 45)"
    assert lines[start + 2].split() == ["S-001", "+60", "Counterparty", "in", "a", "risky",
                                        "country", "[security,", "risk]"]
    assert lines[-1] == "0 passed, 1 failed"


def test_an_unexpected_firing_shows_its_evidence(capsys: pytest.CaptureFixture[str]) -> None:
    run(FAILING, "-k", "unexpected rule fired")
    text = "\n".join(output(capsys))
    assert re.search(r"M-002 +\+30  Low USD share.*\n +because payments\.usd_share = 0\.1 "
                     r"\(lt 0\.25\)", text)
    assert "because payments.rails" not in text  # M-001 was allowed to fire: no evidence


def test_a_factor_mismatch_shows_only_that_factors_hits(capsys: pytest.CaptureFixture[str],
                                                        tmp_path: Path) -> None:
    case = tmp_path / "t.yaml"
    case.write_text(f"cases:\n  - name: money only\n    proposal: {TESTPACK}/proposals/russia.json\n"
                    "    expect: {factor_scores: {money: 10}}\n")
    assert run(str(case)) == 1
    lines = output(capsys)
    assert lines[2] == f"FAILED {case}:2 money only: factor_scores.money: expected 10, got 0"
    assert lines[4].strip() == "no rule of money fired"
    assert not any("S-001" in line for line in lines)


def test_errors_are_counted_located_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(BROKEN) == 1
    lines = output(capsys)
    assert lines[-1] == "1 passed, 0 failed, 9 errors"
    assert SUMMARY.match(lines[-1])
    i = lines.index(f"ERROR {BROKEN}:7 unknown rule id")
    assert lines[i + 1].strip() == (f"{BROKEN}:10:15: E050 unknown rule 'S-01' in fired "
                                    "(did you mean 'S-001'?)")


def test_file_level_errors_count_and_show(capsys: pytest.CaptureFixture[str],
                                          tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("cases: {}\n")
    assert run(PASSING, str(bad)) == 1
    lines = output(capsys)
    assert f"{bad} E" in lines
    assert f"ERROR {bad}:1:8: E004 'cases' must be a list of cases" in lines
    assert lines[-1] == "5 passed, 0 failed, 1 errors"


def test_k_selects_and_reports_deselected(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("-k", "WRONG") == 1
    lines = output(capsys)
    assert [line.split(":")[1].split(" ", 1)[1] for line in lines if line.startswith("FAILED")] == \
        ["wrong decision", "wrong band", "wrong knockouts", "wrong factor score"]
    assert lines[-2:] == ["10 deselected by -k 'WRONG'", "0 passed, 4 failed"]
    assert run("-k", "iranian") == 0
    assert output(capsys)[-1] == "1 passed, 0 failed"


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert run(str(tmp_path / "nowhere.yaml")) == 2
    assert "no such test file or directory" in capsys.readouterr().err
    assert run("-k", "no such case") == 2
    assert "no case name contains 'no such case' (14 deselected)" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert run(str(tmp_path / "empty")) == 2
    assert "no test cases" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        run("--min-coverage", "101")
    assert exc.value.code == 2


def test_a_pack_that_does_not_load_exits_2_with_its_diagnostics(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    shutil.copytree(TESTPACK, pack)
    rules = pack / "rules.yaml"
    rules.write_text(rules.read_text().replace("factor: money", "factor: monney", 1))
    assert run(rules=pack) == 2
    err = capsys.readouterr().err
    assert re.search(rf"{re.escape(str(rules))}:\d+:\d+: E011 ", err)
    assert "does not load" in err


def test_the_console_script_runs_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--rules", str(TESTPACK), "test", PASSING]) == 0
    assert output(capsys)[-1] == "5 passed, 0 failed"


# -- machine reports ---------------------------------------------------------------------------


def test_junit_xml_has_one_testcase_per_case(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("cases: []\n")
    report = tmp_path / "junit.xml"
    assert run("--junit-xml", str(report), str(TESTS), BROKEN, str(bad)) == 1
    capsys.readouterr()
    root = ET.parse(report).getroot()
    assert root.tag == "testsuites"
    assert {k: root.get(k) for k in ("tests", "failures", "errors")} == \
        {"tests": "25", "failures": "9", "errors": "10"}
    suites = {s.get("name", ""): s for s in root.findall("testsuite")}
    assert sorted(suites) == ["bad", "errors", "failing", "passing"]
    assert [(s.get("tests"), s.get("failures"), s.get("errors")) for s in suites.values()] == \
        [("9", "9", "0"), ("5", "0", "0"), ("10", "0", "9"), ("1", "0", "1")]
    failing = suites["failing"].findall("testcase")
    assert {tc.get("classname") for tc in failing} == {"failing"}
    first = failing[0]
    assert (first.get("name"), first.get("file"), first.get("line")) == ("wrong decision", FAILING, "3")
    failure = first.find("failure")
    assert failure is not None
    assert failure.get("message") == "decision: expected escalate, got review"
    assert failure.text is not None and "S-001" in failure.text
    assert all(tc.find("failure") is None and tc.find("error") is None
               for tc in suites["passing"].findall("testcase"))
    error = suites["errors"].findall("testcase")[1].find("error")
    assert error is not None and error.get("message", "").startswith("E050 unknown rule 'S-01'")
    file_error = suites["bad"].find("testcase/error")
    assert file_error is not None and file_error.get("type") == "E017"


def test_junit_xml_unwritable_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("--junit-xml", str(tmp_path / "missing" / "j.xml"), PASSING) == 2
    assert "cannot write" in capsys.readouterr().err


def test_json_report(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("--format", "json", "--coverage", FAILING, "-k", "score") == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is False
    assert doc["summary"] == {"passed": 0, "failed": 2, "errors": 0, "deselected": 7,
                              "text": "0 passed, 2 failed"}
    by_name = {c["name"]: c for c in doc["cases"]}
    assert by_name["score out of range"]["failures"] == [{
        "what": "score", "expected": {"between": [50, 60]}, "actual": 45,
        "message": "score: expected between 50 and 60, got 45"}]
    assert by_name["wrong factor score"]["actual"]["factor_scores"] == {"security": 60, "money": 0}
    assert (by_name["score out of range"]["file"], by_name["score out of range"]["line"]) == (FAILING, 13)
    assert doc["coverage"]["covered"] == 1 and doc["coverage"]["rules"] == 8


# -- coverage ----------------------------------------------------------------------------------


def test_coverage_report_on_the_fixture_pack(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("--coverage") == 1  # the failing cases fail; coverage alone does not
    lines = output(capsys)
    assert "coverage: 7 of 8 enabled rules fired by at least one of 14 cases (87.5%)" in lines
    counts = {m.group(1): int(m.group(2)) for line in lines
              if (m := re.match(r"^  ([A-Z]-\d{3}) +(\d+) cases? ", line))}
    assert counts == {"S-001": 8, "S-002": 1, "M-001": 2, "M-002": 2, "X-001": 1, "K-001": 2,
                      "F-001": 1, "U-001": 0}
    i = lines.index("rules no case fires:")
    assert lines[i + 1].split() == ["U-001", f"{TESTPACK}/rules.yaml:68:5", "Ten-year", "deal",
                                    "(no", "test", "fires", "it)"]
    assert "disabled rules (not counted): D-001" in lines
    assert SUMMARY.match(lines[-1])


@pytest.mark.parametrize(("minimum", "status"), [("75", 0), ("75.1", 1), ("0", 0)])
def test_min_coverage_fails_below_the_threshold(capsys: pytest.CaptureFixture[str], minimum: str,
                                                status: int) -> None:
    # passing.yaml alone fires 6 of the 8 enabled rules: 75%
    assert run(PASSING, "--min-coverage", minimum) == status
    lines = output(capsys)
    assert "coverage: 6 of 8 enabled rules fired by at least one of 5 cases (75.0%)" in lines
    below = f"coverage 75.0% is below --min-coverage {float(minimum):g}%"
    assert (below in lines) is (status == 1)
    assert lines[-1] == "5 passed, 0 failed"


def test_coverage_warnings_name_each_uncovered_rule_at_its_position() -> None:
    pack = load_pack(TESTPACK)
    try:
        warnings = tester.coverage_warnings(pack)
    finally:
        pack.close()
    assert [(w.code, w.severity.value, str(w.position)) for w in warnings] == \
        [("W020", "warning", f"{TESTPACK}/rules.yaml:68:5")]
    assert warnings[0].message.startswith("rule U-001 is not fired by any case")


def test_no_coverage_warnings_without_tests(tmp_path: Path) -> None:
    pack_dir = tmp_path / "pack"
    shutil.copytree(TESTPACK, pack_dir, ignore=shutil.ignore_patterns("tests"))
    pack = load_pack(pack_dir)
    try:
        assert tester.coverage_warnings(pack) == []
        (pack_dir / "tests").mkdir()
        assert tester.coverage_warnings(pack) == []
    finally:
        pack.close()


def test_check_strict_fails_on_an_uncovered_rule(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--rules", str(TESTPACK), "check"]) == 0
    assert main(["--rules", str(TESTPACK), "check", "--strict"]) == 1
    out = capsys.readouterr().out
    assert f"{TESTPACK}/rules.yaml:68:5: W020 rule U-001 is not fired by any case" in out


# -- the bundled pack --------------------------------------------------------------------------


def test_the_bundled_rule_tests_pass(capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    status = main(["--rules", "rules", "test"])
    lines = output(capsys)
    assert SUMMARY.match(lines[-1]), lines[-1]
    assert status == 0, "\n".join(line for line in lines if line.startswith(("FAILED", "ERROR")))
    pack = load_pack(ROOT / "rules")
    try:
        cases, _ = load_cases([ROOT / "rules" / "tests"], pack)
    finally:
        pack.close()
    assert lines[-1] == f"{len(cases)} passed, 0 failed"  # every bundled case ran


def test_an_unquoted_date_in_a_test_file_is_a_w004_for_check_strict(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pack_dir = tmp_path / "pack"
    shutil.copytree(TESTPACK, pack_dir)
    passing = pack_dir / "tests" / "passing.yaml"
    text = passing.read_text(encoding="utf-8")
    dated = text.replace("      deal: {type: supply_agreement}\n",
                         "      deal: {type: supply_agreement, signed_on: 2026-03-01}\n", 1)
    assert dated != text
    passing.write_text(dated, encoding="utf-8")
    line = dated[:dated.index("signed_on")].count("\n") + 1
    pack = load_pack(pack_dir)
    try:
        warnings = [w for w in tester.coverage_warnings(pack) if w.code == "W004"]
    finally:
        pack.close()
    assert [(w.position.file, w.position.line) for w in warnings] == [(str(passing), line)]
    assert 'write "2026-03-01"' in warnings[0].message
    assert main(["--rules", str(pack_dir), "check", "--strict"]) == 1
    assert f"{passing}:{line}:" in capsys.readouterr().out
