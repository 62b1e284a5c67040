"""Every typical mistake gets a message that says what to do: the table in mistakes.yaml.

Each case is written into a copy of the bundled pack; its diagnostics (from loading the pack,
loading and running the rule tests, and `riskrules check`'s test-coverage warnings) must be
exactly the ones listed, and the fixed file must be free of them. The "Typical mistakes"
section of docs/diagnostics.md is generated from the same table:
`.venv/bin/python -m tests.cli.test_mistakes` rewrites it (add `--messages` to first rewrite
the table's messages from what the tools print now, then review the diff).
"""

from __future__ import annotations

import difflib
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from cli.tester import coverage_warnings
from engine import PackError, load_pack
from engine.codes import Code, markdown_table
from engine.errors import Diagnostic
from engine.language import parser as language
from engine.tooling.testcases import load_cases
from engine.tooling.tester import run_cases

ROOT = Path(__file__).resolve().parents[2]
TABLE = Path(__file__).with_name("mistakes.yaml")
DOC = ROOT / "docs" / "diagnostics.md"
BEGIN, END = "<!-- mistakes:begin -->", "<!-- mistakes:end -->"
RULE = """rules:
  - id: AN-001
    title: Imaging satellites for a non-allied counterparty
    factor: national_security
    kind: risk
    points: 20
    rationale: Check the end use and the export licence before approving.
    source: EAR 742.4 (national security controls)
    when: {when}
    legal_basis: {{instrument: 15 CFR Part 742 (Export Administration Regulations), provision: "742.4", url: "https://www.ecfr.gov/current/title-15/section-742.4", as_of: "2026-11-27"}}
"""
CASES: list[dict[str, Any]] = yaml.safe_load(TABLE.read_text(encoding="utf-8"))["cases"]


def choices() -> dict[str, str]:
    """What messages list and the pack may grow: `{lists}`, `{factors}` and `{rule_keys}` in
    the table stand for the current ones (checked exactly; abbreviated in the docs)."""
    pack = load_pack(ROOT / "rules")
    try:
        return {"{lists}": ", ".join(sorted(pack.lists)),
                "{factors}": ", ".join(f.id for f in pack.factors),
                "{rule_keys}": ", ".join(language.RULE_KEYS)}
    finally:
        pack.close()


def expected(case: dict[str, Any], values: dict[str, str]) -> list[str]:
    out = []
    for message in case["messages"]:
        text = message
        for placeholder, value in values.items():
            text = text.replace(placeholder, value)
        out.append(text)
    return out


def text_of(case: dict[str, Any]) -> str:
    return str(case["text"]) if "text" in case else RULE.format(when=case["when"])


def fixed_text(case: dict[str, Any]) -> str:
    text = text_of(case)
    for old, new in case.get("fix", []):
        assert old in text, f"{case['mistake']}: fix {old!r} not in the file"
        text = text.replace(old, new)
    return text


@pytest.fixture(scope="module")
def values() -> dict[str, str]:
    return choices()


@pytest.fixture(scope="module")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the bundled pack and the examples its tests read."""
    base = tmp_path_factory.mktemp("bundled")
    shutil.copytree(ROOT / "rules", base / "rules")
    shutil.copytree(ROOT / "examples", base / "examples")
    return base


def diagnostics(base: Path, case: dict[str, Any], text: str,
                extra: dict[str, str] | None = None) -> list[str]:
    """The diagnostics that point into the case's file, rendered relative to the pack."""
    root = base / "rules"
    rel = case.get("file", "analyst.yaml")
    written = {rel: text, **(extra or {})}
    for name, content in written.items():
        (root / name).write_text(content, encoding="utf-8")
    try:
        return _diagnostics(root, rel, bool(case.get("check")))
    finally:
        for name in written:
            (root / name).unlink()


def _diagnostics(root: Path, rel: str, check: bool) -> list[str]:
    found: list[Diagnostic] = []
    try:
        pack = load_pack(root)
    except PackError as exc:
        found += exc.diagnostics
    else:
        try:
            found += pack.diagnostics
            if rel.startswith("tests/"):
                cases, problems = load_cases([root / rel], pack)
                found += problems
                found += [d for c in cases for d in c.errors]
                results = run_cases(pack, [c for c in cases if not c.errors])
                found += [d for r in results for d in r.errors]
            if check:
                found += coverage_warnings(pack)
        finally:
            pack.close()
    target = str(root / rel)
    prefix = str(root) + "/"
    mine = sorted({d for d in found if d.position.file == target},
                  key=lambda d: (d.position, d.code, d.message))
    return [f"{rel}:{d.position.line}:{d.position.column}: {d.code} "
            f"{d.message.replace(prefix, '')}" for d in mine]


@pytest.mark.parametrize("case", CASES, ids=[c["mistake"] for c in CASES])
def test_each_mistake_gets_its_message_and_its_fix_clears_it(case: dict[str, Any],
                                                             bundled: Path,
                                                             values: dict[str, str]) -> None:
    assert diagnostics(bundled, case, text_of(case)) == expected(case, values), \
        "a message changed: if it still says what to do, run .venv/bin/python -m " \
        "tests.cli.test_mistakes --messages and review the diff of tests/cli/mistakes.yaml"
    codes = {m.split(": ", 2)[1].split()[0] for m in case["messages"]}
    after = diagnostics(bundled, case, fixed_text(case), case.get("add"))
    left = [m for m in after if m.split(": ", 2)[1].split()[0] in codes or " E" in m]
    assert left == [], f"the fix leaves {left}"


def test_the_table_is_big_and_covers_the_usual_codes() -> None:
    assert len(CASES) >= 25
    codes = {m.split(": ", 2)[1].split()[0] for c in CASES for m in c["messages"]}
    assert {"E001", "E002", "E004", "E011", "E012", "E013", "E014", "E018", "E020",
            "W001", "W004", "W020", "W021", "E050"} <= codes


def _abbreviated(message: str) -> str:
    return (message.replace("{lists}", "allied_currencies, allied_jurisdictions, ... (every list)")
            .replace("{factors}", "national_security, ... (every factor)")
            .replace("{rule_keys}", "id, title, factor, ... (every key)"))


def render_section() -> str:
    """The "Typical mistakes" section of docs/diagnostics.md, from the table."""
    out = [BEGIN, ""]
    for case in CASES:
        rel = case.get("file", "analyst.yaml")
        before, after = text_of(case).splitlines(), fixed_text(case).splitlines()
        diff = [line for line in difflib.unified_diff(before, after, lineterm="", n=0)
                if line[:1] in "-+" and not line.startswith(("---", "+++"))]
        out.append(f"#### {case['mistake']}")
        out.append("")
        out.append("```text")
        out += [_abbreviated(m) for m in case["messages"]]
        out.append("```")
        out.append("")
        if diff:
            out.append(f"Fix (in `{rel}`):")
            out.append("")
            out.append("```diff")
            out += diff
            out.append("```")
            out.append("")
        for name, content in (case.get("add") or {}).items():
            out.append(f"Fix: add a case that fires the rule, in `{name}`:")
            out.append("")
            out.append("```yaml")
            out += content.rstrip("\n").splitlines()
            out.append("```")
            out.append("")
    out.append(END)
    return "\n".join(out)


def test_docs_show_every_mistake_with_its_fix() -> None:
    doc = DOC.read_text(encoding="utf-8")
    assert BEGIN in doc and END in doc
    current = doc[doc.index(BEGIN):doc.index(END) + len(END)]
    assert current == render_section(), \
        "docs/diagnostics.md is stale: run .venv/bin/python -m tests.cli.test_mistakes"




def test_every_code_is_a_catalogue_member() -> None:
    """No code made up on the spot or spelt out: code emits `Code.NAME` from engine/codes.py,
    and each name it uses exists there."""
    spelt: list[str] = []
    for folder in ("engine", "cli", "api"):
        for file in (ROOT / folder).rglob("*.py"):
            name = file.relative_to(ROOT).as_posix()
            text = file.read_text(encoding="utf-8")
            for member in re.findall(r"\bCode\.([A-Z][A-Z0-9_]+)\b", text):
                assert member in Code.__members__, f"{name}: Code.{member} is not in engine/codes.py"
            for literal in re.findall(r"[\"']([EW]\d{3})[\"']", text):
                assert literal in Code._value2member_map_, f"{name}: {literal} is not declared"
                if name != "engine/codes.py":
                    spelt.append(f"{name}: {literal}")
    assert spelt == [], "write Code.NAME (engine/codes.py), not the code's text"


def test_codes_are_consistent() -> None:
    assert all(len(c.value) == 4 and c.value[0] in "EW" for c in Code)
    assert {c.severity.value for c in Code if c.value.startswith("W")} == {"warning"}
    assert {c.severity.value for c in Code if c.value.startswith("E")} == {"error"}
    assert all(c.meaning and c.fix and "\n" not in c.meaning + c.fix for c in Code)


def test_the_code_table_is_generated_from_the_catalogue() -> None:
    doc = DOC.read_text(encoding="utf-8")
    documented = re.findall(r"^\| ([EW]\d{3}) \|", doc, flags=re.MULTILINE)
    assert documented == [c.value for c in Code], "docs/diagnostics.md table != engine/codes.py"
    assert markdown_table() in doc, \
        "docs/diagnostics.md is stale: run .venv/bin/python -m tests.cli.test_mistakes"


def rewrite_code_table(text: str) -> str:
    """docs/diagnostics.md with its code table replaced by the catalogue's."""
    start = text.index(markdown_table().split("\n", 1)[0])
    end = text.index("\n\n", start) + 1
    return text[:start] + markdown_table() + text[end:]


def _update_messages() -> None:
    """Rewrite the `messages` of mistakes.yaml from what the tools print now (review the diff:
    a changed message must still say what to do)."""
    import json
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "bundled"
        shutil.copytree(ROOT / "rules", base / "rules")
        shutil.copytree(ROOT / "examples", base / "examples")
        lines = TABLE.read_text(encoding="utf-8").splitlines()
        out: list[str] = []
        cases = iter(CASES)
        values = choices()
        i = 0
        while i < len(lines):
            out.append(lines[i])
            if lines[i].startswith("  - mistake:"):
                case = next(cases)
                out.append("    messages:")
                for message in diagnostics(base, case, text_of(case)):
                    text = message
                    for placeholder, value in values.items():
                        text = text.replace(value, placeholder)
                    out.append("      - " + json.dumps(text))
                i += 1
                if i < len(lines) and lines[i].strip() == "messages:":
                    i += 1
                    while i < len(lines) and lines[i].startswith("      - "):
                        i += 1
                continue
            i += 1
    TABLE.write_text("\n".join(out) + "\n", encoding="utf-8")


if __name__ == "__main__":
    # python -m tests.cli.test_mistakes            rewrite the code table from engine/codes.py
    #                                              and the mistakes section from the table
    # python -m tests.cli.test_mistakes --messages first rewrite the table's messages too
    if "--messages" in sys.argv:
        _update_messages()
        CASES[:] = yaml.safe_load(TABLE.read_text(encoding="utf-8"))["cases"]
    text = rewrite_code_table(DOC.read_text(encoding="utf-8"))
    if BEGIN in text:
        text = text[:text.index(BEGIN)] + render_section() + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n" + render_section() + "\n"
    DOC.write_text(text, encoding="utf-8")
    sys.exit(0)
