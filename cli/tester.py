"""`riskrules test`: run the pack's rule tests; pytest-like report, JUnit XML, JSON, rule coverage.

The runner logic lives in engine/tooling/tester.py; this module owns the command line, the reports
and `coverage_warnings` (W020, used by `riskrules check --strict`).
"""

from __future__ import annotations

import argparse
import sys
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from cli.common import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, add_format, load_or_report, print_json
from engine import Pack
from engine.assessment import RuleHit
from engine.codes import Code
from engine.errors import Diagnostic, Severity
from engine.tooling.testcases import Case, load_cases
from engine.tooling.tester import Coverage, Result, Status, coverage, run_cases, select_cases

PROGRESS = {Status.PASSED: ".", Status.FAILED: "F", Status.ERROR: "E"}


def register(sub: Any) -> None:
    p = sub.add_parser(
        "test", help="run the rule tests of the pack (rules/tests/ by default)",
        description="Run rule tests: each case scores a proposal and checks the decision, "
        "band, score, fired rules, knockouts, factor scores and missing information it "
        "expects. Prints one FAILED/ERROR block per failing case with FILE:LINE, expected vs "
        "actual and the rule hits behind the actual result, then 'N passed, N failed'. Exit 1 "
        "on any failure or error, 2 when the pack does not load or on usage errors. The "
        "format is described in docs/rule-tests.md.")
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="test files or directories of *.yaml test files (default: the pack's "
                   "tests/ folder)")
    p.add_argument("-k", dest="keyword", metavar="PATTERN",
                   help="only run cases whose name contains PATTERN (case-insensitive)")
    p.add_argument("--junit-xml", metavar="FILE",
                   help="also write a JUnit XML report to FILE (one testcase per case)")
    p.add_argument("--coverage", action="store_true",
                   help="report, per rule, how many cases fire it, and the rules none fires")
    p.add_argument("--min-coverage", type=_percent, metavar="N",
                   help="exit 1 when fewer than N percent of the enabled rules are fired by "
                   "some case (implies --coverage)")
    add_format(p)
    p.set_defaults(func=run)


def _percent(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError("must be between 0 and 100")
    return value


def run(args: argparse.Namespace) -> int:
    paths: list[str] = list(args.paths) or [str(Path(args.rules) / "tests")]
    absent = [p for p in paths if not Path(p).exists()]
    if absent:
        for p in absent:
            print(f"riskrules test: no such test file or directory: {p}", file=sys.stderr)
        return EXIT_USAGE
    pack = load_or_report(args.rules, sys.stderr)
    if pack is None:
        return EXIT_USAGE
    try:
        return _run(args, pack, paths)
    finally:
        pack.close()


# Complexity D (29, radon), kept in one piece: the command's options in order (selection, progress,
# formats, JUnit, coverage, exit codes).
def _run(args: argparse.Namespace, pack: Pack, paths: list[str]) -> int:
    cases, diagnostics = load_cases(paths, pack)
    if not cases and not diagnostics:
        print(f"riskrules test: no test cases in {', '.join(paths)}", file=sys.stderr)
        return EXIT_USAGE
    chosen, deselected = select_cases(cases, args.keyword)
    if not chosen and not diagnostics:
        print(f"riskrules test: no case name contains {args.keyword!r} "
              f"({deselected} deselected)", file=sys.stderr)
        return EXIT_USAGE
    results = run_cases(pack, chosen)
    passed = sum(r.status is Status.PASSED for r in results)
    failed = sum(r.status is Status.FAILED for r in results)
    errors = sum(r.status is Status.ERROR for r in results) + len(
        [d for d in diagnostics if d.severity is Severity.ERROR])
    cov = coverage(pack, results) if args.coverage or args.min_coverage is not None else None
    below = cov is not None and args.min_coverage is not None and cov.below(args.min_coverage)
    if args.junit_xml:
        try:
            write_junit(args.junit_xml, results, diagnostics)
        except OSError as exc:
            print(f"riskrules test: cannot write {args.junit_xml}: {exc}", file=sys.stderr)
            return EXIT_USAGE
    summary = f"{passed} passed, {failed} failed" + (f", {errors} errors" if errors else "")
    if args.format == "json":
        doc: dict[str, Any] = {
            "ok": not (failed or errors or below),
            "pack": {"name": pack.name, "version": pack.version, "digest": pack.digest},
            "summary": {"passed": passed, "failed": failed, "errors": errors,
                        "deselected": deselected, "text": summary},
            "cases": [r.to_dict() for r in results],
            "diagnostics": [d.to_dict() for d in diagnostics],
        }
        if cov is not None:
            doc["coverage"] = cov.to_dict() | {"minimum": args.min_coverage,
                                               "below_minimum": below}
        print_json(doc, sys.stdout, pretty=True)
    else:
        out = sys.stdout
        report(results, diagnostics, out)
        if cov is not None:
            render_coverage(pack, cov, out)
            if below:
                print(f"coverage {cov.percent:.1f}% is below --min-coverage "
                      f"{args.min_coverage:g}%", file=out)
        if deselected:
            print(f"{deselected} deselected by -k {args.keyword!r}", file=out)
        print(summary, file=out)
    return EXIT_PROBLEMS if failed or errors or below else EXIT_OK


# ---------------------------------------------------------------------------------------------
# text report


def report(results: Sequence[Result], diagnostics: Sequence[Diagnostic], out: TextIO) -> None:
    """pytest-like: a progress line per file, then one block per failing or erroneous case."""
    by_file: dict[str, str] = {}
    for d in diagnostics:
        by_file.setdefault(d.position.file, "")
    for r in results:
        by_file[r.case.file] = by_file.get(r.case.file, "") + PROGRESS[r.status]
    for file, marks in by_file.items():
        bad = sum(d.position.file == file for d in diagnostics)
        print(f"{file} {marks}{'E' * bad}", file=out)
    blocks = [failure_block(r) for r in results if r.status is not Status.PASSED]
    blocks += [f"ERROR {d}" for d in diagnostics]
    if blocks:
        print(file=out)
        for block in blocks:
            print(block, file=out)
        print(file=out)


def failure_block(result: Result) -> str:
    """The headline (FILE:LINE, name, expected vs actual) and the hits behind the result."""
    c = result.case
    where = f"{c.file}:{c.pos.line}"
    if result.status is Status.ERROR:
        lines = [f"ERROR {where} {c.name}"]
        lines += [f"    {d}" for d in result.errors]
        return "\n".join(lines)
    lines = [f"FAILED {where} {c.name}: {result.failure_message()}"]
    lines += ["    " + line for line in explanation(result)]
    return "\n".join(lines)


def explanation(result: Result) -> list[str]:
    """The actual outcome and the rule hits that produced it, by factor in pack order. When
    only factor scores are off, only those factors' hits; unexpected firings (not_fired,
    knockouts) with their evidence."""
    a = result.assessment
    if a is None:
        return []
    lines = [f"got decision {a.decision}, band {a.band}, score {_num(a.score)}"
             f" (inherent {_num(a.inherent_score)})"]
    factors = {m.factor for m in result.mismatches}
    order = {fs.factor.id: i for i, fs in enumerate(a.scores.factors)}
    hits: Sequence[RuleHit] = sorted(a.hits, key=lambda h: (order.get(h.rule.factor, 0),
                                                            h.rule.index))
    if None not in factors:
        hits = [h for h in hits if h.rule.factor in factors]
    expect = result.case.expect
    unexpected = set(expect.not_fired)
    if expect.knockouts is not None:
        unexpected |= {h.rule.id for h in a.knockouts} - set(expect.knockouts)
    if not hits:
        lines.append("no rule fired" if None in factors else
                     f"no rule of {', '.join(sorted(f for f in factors if f))} fired")
    width = max((len(h.rule.id) for h in hits), default=0)
    for h in hits:
        lines.append(f"  {h.rule.id:<{width}} {_points(h.rule.points):>5}  {h.rule.title}"
                     f"  [{h.rule.factor}, {h.rule.kind.value}]")
        if h.rule.id in unexpected:
            lines += [f"  {'':<{width}}        because {e.path} = {e.value!r} ({e.test})"
                      for e in h.evidence]
    return lines


def _points(points: float) -> str:
    text = _num(points)
    return text if text.startswith("-") else f"+{text}"


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def render_coverage(pack: Pack, cov: Coverage, out: TextIO) -> None:
    print(f"coverage: {cov.covered} of {len(cov.enabled)} enabled rules fired by at least one "
          f"of {cov.cases} cases ({cov.percent:.1f}%)", file=out)
    width = max((len(r.id) for r in pack.rules), default=0)
    for rule in pack.rules:
        if rule.enabled:
            n = cov.counts[rule.id]
            print(f"  {rule.id:<{width}} {n:4d} {'case ' if n == 1 else 'cases'}  {rule.title}",
                  file=out)
    if cov.uncovered:
        print("rules no case fires:", file=out)
        for rule_id in cov.uncovered:
            missed = pack.rule(rule_id)
            if missed is not None:
                print(f"  {missed.id:<{width}} {missed.pos}  {missed.title}", file=out)
    if cov.disabled:
        print(f"disabled rules (not counted): {', '.join(cov.disabled)}", file=out)


# ---------------------------------------------------------------------------------------------
# JUnit XML


def write_junit(path: str, results: Sequence[Result], diagnostics: Sequence[Diagnostic]) -> None:
    """One testsuite per test file, one testcase per case (classname = the file's stem); file
    problems that belong to no case become an erroring testcase of their file."""
    suites: dict[str, ET.Element] = {}
    root = ET.Element("testsuites", name="riskrules test")

    def suite(file: str) -> ET.Element:
        if file not in suites:
            suites[file] = ET.SubElement(root, "testsuite", name=Path(file).stem, file=file)
        return suites[file]

    for r in results:
        c = r.case
        tc = ET.SubElement(suite(c.file), "testcase", classname=c.stem, name=c.name, file=c.file,
                           line=str(c.pos.line), time=f"{r.duration:.4f}")
        if r.status is Status.FAILED:
            node = ET.SubElement(tc, "failure", message=r.failure_message(), type="failure")
            node.text = failure_block(r)
        elif r.status is Status.ERROR:
            node = ET.SubElement(tc, "error", message=r.failure_message(), type="error")
            node.text = "\n".join(str(d) for d in r.errors)
    for d in diagnostics:
        file = d.position.file
        tc = ET.SubElement(suite(file), "testcase", classname=Path(file).stem,
                           name=f"{Path(file).name} (file)", file=file,
                           line=str(d.position.line), time="0")
        node = ET.SubElement(tc, "error", message=f"{d.code} {d.message}", type=d.code)
        node.text = str(d)
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for element in suites.values():
        cases = element.findall("testcase")
        counts = {"tests": len(cases),
                  "failures": sum(tc.find("failure") is not None for tc in cases),
                  "errors": sum(tc.find("error") is not None for tc in cases)}
        seconds = sum(float(tc.get("time", "0")) for tc in cases)
        for key, value in counts.items():
            element.set(key, str(value))
            totals[key] += value
        element.set("skipped", "0")
        element.set("time", f"{seconds:.4f}")
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


# ---------------------------------------------------------------------------------------------
# riskrules check --strict


def coverage_warnings(pack: Pack) -> list[Diagnostic]:
    """W020 at each enabled rule that no case of the pack's tests/ folder fires. Nothing when
    the pack has no tests (a pack without tests is not a coverage problem of one rule). The
    test files' own warnings (W004, an unquoted date) come first.

    When cases do not load (a proposal file that is not there, a test file that does not
    parse), coverage would blame the rules for it: W021 says which cases did not load and why,
    and W020 waits until they do. Failing cases are `riskrules test`'s business."""
    folder = Path(pack.spec.root) / "tests"
    if not folder.is_dir():
        return []
    cases, problems = load_cases([folder], pack)
    written = [d for case in cases for d in case.warnings] + \
        [d for d in problems if d.severity is Severity.WARNING]
    broken = not_loaded(cases, problems)
    if broken:
        return written + broken
    runnable: list[Case] = [c for c in cases if not c.errors]
    if not runnable:
        return written
    results = run_cases(pack, runnable)
    cov = coverage(pack, results)
    out = written
    for rule_id in cov.uncovered:
        rule = pack.rule(rule_id)
        if rule is not None:
            out.append(Diagnostic(Code.NOT_COVERED, f"rule {rule_id} is not fired by any case in "
                                  f"{folder}: add a test case that fires it", rule.pos,
                                  Severity.WARNING))
    return out


def not_loaded(cases: Sequence[Case], problems: Sequence[Diagnostic]) -> list[Diagnostic]:
    """W021 per test file whose cases (or the file itself) did not load, with the first
    reason: the cause, instead of a W020 at every rule those cases would have fired."""
    by_file: dict[str, list[Diagnostic]] = {}
    totals: dict[str, int] = {}
    for case in cases:
        totals[case.file] = totals.get(case.file, 0) + 1
        if case.errors:
            by_file.setdefault(case.file, []).append(case.errors[0])
    for d in problems:
        if d.severity is Severity.ERROR:
            by_file.setdefault(d.position.file, []).append(d)
    out = []
    for file, reasons in sorted(by_file.items()):
        first = reasons[0]
        count = len(reasons)
        what = f"{count} of {totals[file]} cases in this test file" if file in totals \
            else "this test file"
        out.append(Diagnostic(
            Code.TESTS_NOT_LOADED, f"{what} did not load, so rule coverage ({Code.NOT_COVERED}) is "
            f"not checked until they load; first problem: {first.code} {first.message}; "
            "`riskrules test` lists every problem", first.position, Severity.WARNING))
    return out
