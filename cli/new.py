"""`riskrules new rule`: scaffold a rule and its two test cases that the analyst then edits.

The rule goes into the rule file that already holds most rules of its factor (or a new
`<factor>.yaml`), with the next free id of that factor's series and every required key; two
cases go into the matching `tests/<file>.yaml`: one that fires the rule and a near miss that
does not. The placeholder condition matches only the first case's title, so the pack passes
`check --strict` and `test` straight away. Both files are appended to (comments and layout are
kept); if the result does not load and pass, both are restored.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from cli.common import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, load_or_report
from engine import Pack, PackError, load_pack
from engine.language import parser as language
from engine.language.hints import suggest
from engine.language.syntax import RuleKind
from engine.tooling.testcases import load_cases
from engine.tooling.tester import Status, run_cases

POINTS = {"risk": "10", "knockout": "100", "mitigation": "-10"}
SERIES = re.compile(r"^(?P<prefix>.*?)(?P<number>\d+)$")


def register(sub: Any) -> None:
    p = sub.add_parser("new", help="scaffold a rule and its test cases (riskrules new rule)",
                       description="Write skeletons for the analyst to edit.")
    what = p.add_subparsers(dest="what", metavar="WHAT")
    rule = what.add_parser(
        "rule", help="append a rule skeleton and two test cases to the pack",
        description="Append a rule with every required key (and TODOs to replace) to the rule "
        "file of FACTOR, with the next free id of that factor, and two cases to its tests/ "
        "file: one that fires it, one near miss that does not. The pack passes check --strict "
        "and test right after; then edit the rule's title, condition, rationale, source and "
        "legal basis, and the two proposals.")
    rule.add_argument("--factor", required=True, help="a factor id of pack.yaml")
    rule.add_argument("--kind", choices=[k.value for k in RuleKind], default="risk",
                      help="risk (default), mitigation or knockout")
    rule.add_argument("--id", dest="rule_id", metavar="ID",
                      help="the rule id (default: the next free one of the factor's series)")
    rule.add_argument("--title", help="the rule's title (default: a TODO)")
    rule.add_argument("--file", metavar="FILE",
                      help="rule file name inside the pack (default: the file holding most "
                      "rules of FACTOR, else FACTOR.yaml)")
    rule.set_defaults(func=run)
    p.set_defaults(func=lambda args: _help(p))


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return EXIT_USAGE


def run(args: argparse.Namespace) -> int:
    root = Path(args.rules)
    pack = load_or_report(args.rules)
    if pack is None:
        return EXIT_USAGE
    try:
        plan = _plan(args, pack, root)
    finally:
        pack.close()
    if isinstance(plan, str):
        print(f"riskrules new rule: {plan}", file=sys.stderr)
        return EXIT_USAGE
    rule_file, test_file, rule_id = plan
    today = dt.datetime.now(dt.UTC).date().isoformat()
    rule_text = rule_skeleton(rule_id, args.factor, args.kind, args.title, today)
    cases_text = case_skeletons(rule_id, args.kind)
    before = {f: f.read_text(encoding="utf-8") if f.exists() else None
              for f in (rule_file, test_file)}
    try:
        rule_line = _append(rule_file, "rules", rule_text, "rules.schema.json")
        case_line = _append(test_file, "cases", cases_text, "tests.schema.json",
                            schema_prefix="../")
    except ValueError as exc:
        _restore(before)
        print(f"riskrules new rule: {exc}", file=sys.stderr)
        return EXIT_USAGE
    problem = _verify(root, test_file, rule_id)
    if problem:
        _restore(before)
        print(f"riskrules new rule: the skeleton did not pass, nothing written:\n{problem}",
              file=sys.stderr)
        return EXIT_PROBLEMS
    print(f"{rule_file}:{rule_line}: new rule {rule_id} ({args.kind}, {args.factor})")
    print(f"{test_file}:{case_line}: 2 cases: one fires {rule_id}, one near miss does not")
    print(f"next: replace every TODO (title, condition, rationale, source, legal basis, the two "
          f"proposals), then .venv/bin/riskrules check --strict && .venv/bin/riskrules test "
          f"-k {rule_id}")
    return EXIT_OK


def _plan(args: argparse.Namespace, pack: Pack, root: Path) -> tuple[Path, Path, str] | str:
    factors = [f.id for f in pack.factors]
    if args.factor not in factors:
        return (f"unknown factor '{args.factor}'{suggest(args.factor, factors)} (the factors "
                f"of pack.yaml: {', '.join(factors)})")
    mine = [r for r in pack.rules if r.factor == args.factor]
    if args.file:
        rule_file = root / args.file
        if rule_file.parent != root or rule_file.suffix != ".yaml" or rule_file.name == "pack.yaml":
            return f"--file must name a .yaml rule file directly inside {root}, not {args.file}"
    elif mine:
        rule_file = Path(Counter(r.pos.file for r in mine).most_common(1)[0][0])
    else:
        rule_file = root / f"{args.factor}.yaml"
    taken = {r.id for r in pack.rules}
    rule_id = args.rule_id or next_id([r.id for r in mine], args.factor, taken)
    if not language.RULE_ID.match(rule_id):
        return f"rule id '{rule_id}' must match {language.RULE_ID.pattern}"
    if rule_id in taken:
        return f"rule id '{rule_id}' is taken (by {pack.rule(rule_id).pos})"  # type: ignore[union-attr]
    return rule_file, root / "tests" / rule_file.name, rule_id


def next_id(ids: list[str], factor: str, taken: set[str]) -> str:
    """The next id of the factor's most common series (`NS-019` → `NS-020`); for a factor
    without rules, its initials (`national_security` → `NS-001`)."""
    series: Counter[str] = Counter()
    width: dict[str, int] = {}
    for rule_id in ids:
        m = SERIES.match(rule_id)
        if m:
            series[m["prefix"]] += 1
            width[m["prefix"]] = max(width.get(m["prefix"], 0), len(m["number"]))
    if series:
        prefix = series.most_common(1)[0][0]
    else:
        prefix = "".join(word[0] for word in factor.split("_") if word).upper() + "-"
        width[prefix] = 3
    numbers = [int(m["number"]) for i in taken if (m := SERIES.match(i)) and m["prefix"] == prefix]
    number = max(numbers, default=0) + 1
    return f"{prefix}{number:0{width[prefix]}d}"


def rule_skeleton(rule_id: str, factor: str, kind: str, title: str | None, today: str) -> str:
    """Every required key, a placeholder condition that matches only the example case's
    title, and TODOs where the analyst's knowledge goes."""
    lines = [
        f"  - id: {rule_id}",
        f"    title: {_quoted(title) if title else f'TODO title of {rule_id}'}",
        f"    factor: {factor}",
        f"    kind: {kind}",
        f"    points: {POINTS[kind]}"
        + {"risk": "            # 0 to 100", "knockout": "           # forces the knockout "
           "decision", "mitigation": "          # -100 to below 0"}[kind],
        "    when:                 # TODO the condition (rules/README.md); this placeholder "
        "fires only on the example case",
        "      path: title",
        f"      matches: \".*{rule_id} example.*\"",
        "    rationale: >-",
        "      TODO what the reviewer should do when this rule fires, and why it matters.",
        "    source: >-",
        "      TODO where the consideration comes from (guidance, article, internal policy).",
    ]
    if "legal_basis" in language.RULE_KEYS:
        lines += [
            "    legal_basis:",
            "      - instrument: TODO the instrument (e.g. 15 CFR Part 744, Export "
            "Administration Regulations)",
            "        provision: TODO the article or section",
            "        url: https://www.ecfr.gov/   # TODO the official text of the provision",
            f"        as_of: \"{today}\"          # the day you checked the text",
        ]
    return "\n".join(lines) + "\n"


def case_skeletons(rule_id: str, kind: str) -> str:
    """A case that fires the rule and a near miss that does not (edit both proposals)."""
    expect_fire = f"knockouts: [{rule_id}]" if kind == "knockout" else f"fired: [{rule_id}]"

    def case(name: str, title: str, expect: str) -> list[str]:
        return [
            f"  - name: {name}",
            "    proposal:                       # TODO a proposal that shows the situation",
            f"      title: {title}",
            "      initiator: {name: Example Initiator Inc., country: US, type: private_company}",
            "      counterparties:",
            "        - {name: Example Counterparty Ltd., country: GB, type: private_company}",
            "      deal: {type: other}",
            "      sectors: [other]",
            "    expect:",
            f"      {expect}",
        ]

    lines = case(f"{rule_id} fires on its example  # TODO say what the situation is",
                 f"{rule_id} example", expect_fire)
    lines += case(f"{rule_id} does not fire on a near miss  # TODO the closest case that "
                  "must not fire", f"A near miss of {rule_id}", f"not_fired: [{rule_id}]")
    return "\n".join(lines) + "\n"


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _append(file: Path, key: str, text: str, schema: str, schema_prefix: str = "") -> int:
    """Append list items to the top-level `key:` block list of `file` (created if absent);
    returns the line number of the first appended line."""
    if not file.exists():
        file.parent.mkdir(parents=True, exist_ok=True)
        head = f"# yaml-language-server: $schema={schema_prefix}schema/{schema}\n{key}:\n"
        file.write_text(head + text, encoding="utf-8")
        return head.count("\n") + 1
    current = file.read_text(encoding="utf-8")
    lines = current.splitlines()
    top = [i for i, line in enumerate(lines) if re.match(r"^[A-Za-z_]", line)]
    starts = [i for i in top if lines[i].split("#")[0].rstrip() == f"{key}:"]
    if not starts or starts[0] != top[-1]:
        raise ValueError(f"{file}: the last top-level key is not a '{key}:' block list; add "
                         "the skeleton by hand")
    items = [line for line in lines[starts[0] + 1:] if re.match(r"^\s*- ", line)]
    indent = len(items[0]) - len(items[0].lstrip()) if items else 2
    body = "\n".join(" " * (indent - 2) + line if line else line for line in text.splitlines())
    prefix = current if current.endswith("\n") else current + "\n"
    file.write_text(prefix + body + "\n", encoding="utf-8")
    return prefix.count("\n") + 1


def _restore(before: dict[Path, str | None]) -> None:
    for file, text in before.items():
        if text is None:
            file.unlink(missing_ok=True)
        else:
            file.write_text(text, encoding="utf-8")


def _verify(root: Path, test_file: Path, rule_id: str) -> str:
    """'' when the pack loads with the new rule and the new cases pass, else why not."""
    try:
        pack = load_pack(root)
    except PackError as exc:
        return "\n".join(str(d) for d in exc.diagnostics)
    try:
        if pack.rule(rule_id) is None:
            return f"{rule_id} is not in the pack after writing it"
        cases, problems = load_cases([test_file], pack)
        chosen = [c for c in cases if rule_id in c.name]
        results = run_cases(pack, chosen)  # validated against the pack's contract
        bad = [str(d) for d in problems] + [
            f"{r.case.file}:{r.case.pos.line}: {r.failure_message()}" for r in results
            if r.status is not Status.PASSED]
        return "\n".join(bad) if bad or len(chosen) == 2 else "the new cases did not load"
    finally:
        pack.close()
