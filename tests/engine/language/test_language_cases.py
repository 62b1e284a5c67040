"""The rule language as data: every YAML case in tests/engine/cases/ runs through one loader.

Evaluation cases compile a rule file onto durable_rules and check exactly which rules fire;
error cases check exactly which diagnostics come out, with file, line, column and code.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine import PackError, load_pack
from engine.errors import Diagnostic, Severity
from tests.engine.conftest import BASE_PROPOSAL, merged

CASES_DIR = Path(__file__).parents[1] / "cases"


def _cases() -> list[Any]:
    out = []
    for file in sorted(CASES_DIR.glob("*.yaml")):
        for case in yaml.safe_load(file.read_text(encoding="utf-8"))["cases"]:
            out.append(pytest.param(case, id=f"{file.stem}: {case['name']}"))
    return out


def _render(d: Diagnostic, root: Path) -> str:
    rel = Path(d.position.file).relative_to(root)
    return f"{rel}:{d.position.line}:{d.position.column}: {d.code} {d.message}"


def _matches(expected: list[str], actual: list[str]) -> bool:
    if len(expected) != len(actual):
        return False
    return all(any(a.startswith(e) for a in actual) for e in expected)


@pytest.mark.parametrize("case", _cases())
def test_language_case(case: dict[str, Any], make_pack: Callable[..., Path]) -> None:
    root = make_pack(case["rules"])
    expected_errors = case.get("errors", [])
    expected_warnings = case.get("warnings", [])
    try:
        pack = load_pack(root)
    except PackError as exc:
        errors = [_render(d, root) for d in exc.diagnostics if d.severity is Severity.ERROR]
        assert expected_errors, f"unexpected errors: {errors}"
        assert _matches(expected_errors, errors), f"expected {expected_errors}, got {errors}"
        return
    try:
        assert not expected_errors, f"expected errors {expected_errors}, the pack loaded"
        if "warnings" in case:
            # W003 (no legal_basis) is compared only by the cases that expect it
            legal = any(" W003 " in w for w in expected_warnings)
            warnings = [_render(d, root) for d in pack.warnings if d.code != "W030"
                        and (legal or d.code != "W003")]
            assert _matches(expected_warnings, warnings), \
                f"expected {expected_warnings}, got {warnings}"
        for example in case.get("proposals", []):
            proposal = merged(BASE_PROPOSAL, example["proposal"])
            as_of = example.get("as_of")
            day = as_of if isinstance(as_of, dt.date) else dt.date(2026, 6, 1)
            assessment = pack.assess(proposal, as_of=day)
            assert sorted(assessment.fired) == sorted(example["fired"]), \
                f"{example['proposal']}: fired {assessment.fired}"
    finally:
        pack.close()
