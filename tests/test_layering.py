"""Dependencies point one way: the tests use the server harness (loadkit/), never benchmarks/,
and loadkit/ itself imports nothing from benchmarks/."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMPORTS_BENCHMARKS = re.compile(r"^\s*(from|import)\s+benchmarks\b", re.MULTILINE)


def test_tests_and_the_harness_do_not_import_benchmarks() -> None:
    offenders = [file.relative_to(ROOT).as_posix()
                 for folder in ("tests", "loadkit") for file in (ROOT / folder).rglob("*.py")
                 if IMPORTS_BENCHMARKS.search(file.read_text(encoding="utf-8"))]
    assert offenders == []
