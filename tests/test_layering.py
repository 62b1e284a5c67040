"""Dependencies point one way.

- The tests use the server harness (loadkit/), never benchmarks/; nor does loadkit/ itself.
- `engine` imports neither `api` nor `cli`, nor Flask, SQLAlchemy or marshmallow; durable_rules
  is imported by engine/compile/matcher.py alone.
- The stage folders of `engine` (language, screening, evaluate, compile, tooling) import each
  other without a cycle, and the base modules at its root (errors, codes, jsontext, timefmt)
  import no stage.
- The reviewer workbench (api/web) reads assessments through api/service.py, not the store.

Imports are read from the syntax tree of every file, those inside functions included.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENGINE = ROOT / "engine"
IMPORTS_BENCHMARKS = re.compile(r"^\s*(from|import)\s+benchmarks\b", re.MULTILINE)
STAGES = ("language", "screening", "evaluate", "compile", "tooling")
BASE = ("errors", "codes", "jsontext", "timefmt")
FORBIDDEN_IN_ENGINE = ("api", "cli", "flask", "werkzeug", "sqlalchemy", "marshmallow", "alembic")
DURABLE_RULES = ("durable", "durable_rules_engine")


def test_tests_and_the_harness_do_not_import_benchmarks() -> None:
    offenders = [file.relative_to(ROOT).as_posix()
                 for folder in ("tests", "loadkit") for file in (ROOT / folder).rglob("*.py")
                 if IMPORTS_BENCHMARKS.search(file.read_text(encoding="utf-8"))]
    assert offenders == []


def module_name(file: Path) -> str:
    parts = list(file.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(file: Path) -> Iterator[str]:
    """Every module `file` imports, absolute; `from package import module` names the module."""
    tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None and node.level == 0:
            yield node.module
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                if (ROOT / candidate.replace(".", "/")).with_suffix(".py").is_file() or \
                        (ROOT / candidate.replace(".", "/") / "__init__.py").is_file():
                    yield candidate


def engine_files() -> list[Path]:
    return sorted(ENGINE.rglob("*.py"))


def unit(module: str) -> str:
    """The part of the engine a module belongs to: its stage folder, or its own name at the
    root (`engine.pack` → `pack`, `engine` itself → `engine`)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "engine"


def test_the_imports_are_read() -> None:
    """The walk sees what it must: a guard against a test that checks nothing."""
    found = {module for file in engine_files() for module in imports(file)}
    assert {"engine.language.syntax", "engine.compile.matcher", "durable_rules_engine"} <= found
    assert "engine.language.parser" in set(imports(ENGINE / "tooling" / "schema.py"))


def test_engine_imports_no_api_cli_or_web_framework() -> None:
    offenders = [(module_name(file), module) for file in engine_files()
                 for module in imports(file) if module.split(".")[0] in FORBIDDEN_IN_ENGINE]
    assert offenders == []


def test_durable_rules_is_imported_by_the_matcher_alone() -> None:
    importers = {module_name(file) for file in sorted(ROOT.glob("*/**/*.py"))
                 if not file.is_relative_to(ROOT / ".venv")
                 for module in imports(file) if module.split(".")[0] in DURABLE_RULES}
    assert importers <= {"engine.compile.matcher", "tests.engine.compile.test_matcher"}


def stage_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for file in engine_files():
        source = unit(module_name(file))
        graph.setdefault(source, set())
        for module in imports(file):
            if module.split(".")[0] == "engine" and unit(module) != source:
                graph[source].add(unit(module))
    return graph


def cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle of `graph` (its nodes in order, the first repeated at the end), or []."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return []


def test_every_engine_module_is_in_a_stage_or_named_at_the_root() -> None:
    folders = {p.name for p in ENGINE.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    assert folders == set(STAGES)
    for stage in STAGES:
        doc = ast.get_docstring(ast.parse((ENGINE / stage / "__init__.py").read_text(encoding="utf-8")))
        assert doc, f"engine/{stage}/__init__.py must say what the stage owns"


def test_the_stages_import_each_other_without_a_cycle() -> None:
    graph = stage_graph()
    assert set(STAGES) <= set(graph)
    assert cycle(graph) == []


def test_the_base_modules_import_no_stage() -> None:
    graph = stage_graph()
    for base in BASE:
        assert graph[base] <= set(BASE), f"engine/{base}.py imports {graph[base] - set(BASE)}"


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) == []


def test_the_workbench_reads_assessments_through_the_service() -> None:
    for file in sorted((ROOT / "api" / "web").rglob("*.py")):
        text = file.read_text(encoding="utf-8")
        assert not re.search(r"\.store\.", text), f"{file.relative_to(ROOT)} reads the store"
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ImportFrom) and node.module == "api.store":
                assert {alias.name for alias in node.names} <= {"Filters"}
