"""Fuzzing of the pack loader and compiler: broken packs give located diagnostics, never a crash.

Inputs are mutations of the bundled pack (lines dropped, duplicated, swapped, re-indented,
tokens replaced, files truncated) and random YAML documents written as an extra rule file.
Every input either loads, or raises `engine.PackError` whose diagnostics each have a stable
code and a real position inside the pack. When a mutated pack loads, it scores a few example
proposals and durable_rules fires exactly the rules the reference interpreter says hold.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import shutil
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from engine import Pack, PackError, load_pack
from engine.errors import Diagnostic
from engine.evaluate.reference import fired_rules

REPO = Path(__file__).resolve().parents[3]
RULES = REPO / "rules"
DAY = dt.date(2026, 11, 1)
EXAMPLES = [json.loads((REPO / "examples" / name).read_text(encoding="utf-8")) for name in (
    "launch-jv-roscosmos.json", "ev-licensing-india-mitigated.json", "ai-api-brazil-minimal.json")]
CODE = re.compile(r"^[EW]\d{3}$")
DEADLINE_MS = 5000
# No shrinking: a failure is reported as found, so a discovery cannot hold the suite for minutes
# (each try reloads a pack); the example printed is small enough to read as it is.
PHASES = [Phase.explicit, Phase.generate]
HANG_SECONDS = 30  # a hard stop for a Python-level hang the deadline cannot interrupt

# Files the loader reads (tests/ holds rule tests, which load_pack does not read).
RULE_FILES = sorted(p.name for p in RULES.glob("*.yaml")
                    if p.name not in ("pack.yaml", "contract.yaml"))
OTHER_FILES = ["pack.yaml", "contract.yaml", *sorted(f"lists/{p.name}" for p in RULES.glob("lists/*.yaml"))]

# Tokens a careless or hostile edit may leave behind: rule-language words in the wrong place,
# YAML syntax, numbers durable_rules' JSON reader once refused (1e-07), Python object tags.
TOKENS = [
    "eq", "ne", "lt", "gte", "in", "in_list", "not_in_list", "contains", "contains_any",
    "matches", "exists", "missing", "all", "any", "not", "some", "every", "path", "when",
    "rules", "id", "points", "kind", "factor", "knockout", "mitigation", "risk", "true",
    "false", "null", "~", "[]", "{}", "[", "]", "{", "}", ":", "- ", "-", "'", '"', "#", "|",
    ">-", "&a", "*a", "<<", "!!binary", "!!python/object/apply:os.system", "0", "-1", "101",
    "1.0e-7", "1.0e+20", "12345678901234567890123", ".nan", ".inf", "2026-13-45", "\t",
    "counterparties", "screening.score", "deal.value.amount", "payments.usd_share",
    "brics_members", "no_such_list", "national_security", "(a|b)*c", "[^", "\\d+", "é",
    "Роскосмос", "x" * 300,
]
TOKEN = re.compile(r"[A-Za-z0-9_.\-]+|\S")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled pack as the loader sees it (without its rule tests); loading it once here
    also pays the lazy imports, which would otherwise count against the first deadline."""
    root = tmp_path_factory.mktemp("fuzz") / "template"
    shutil.copytree(RULES, root, ignore=shutil.ignore_patterns("tests", "schema"))
    load_pack(root).close()
    return root


def copy_pack(template: Path, root: Path, rule_files: set[str]) -> None:
    """pack.yaml, lists and watchlists of the template, and only the named rule files.

    Parsing YAML is most of a load's cost; one rule file next to everything it can refer to
    keeps a fuzz example near 0.1 s instead of 0.3 s for the whole pack.
    """
    shutil.copytree(template, root, ignore=lambda _d, names: [
        n for n in names if n in RULE_FILES and n not in rule_files])


@pytest.fixture(scope="module")
def workdirs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[], Path]]:
    """A fresh directory per hypothesis example (tmp_path is shared by all examples)."""
    base = tmp_path_factory.mktemp("fuzz-cases")
    counter = itertools.count()
    yield lambda: base / f"case{next(counter)}"


class Hang(Exception):
    """Raised by the alarm when one example runs far past its deadline."""


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise Hang(f"an example ran for more than {HANG_SECONDS} s")


@pytest.fixture(autouse=True)
def hard_stop() -> Iterator[None]:
    previous = signal.signal(signal.SIGALRM, _alarm)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def check_diagnostic(diagnostic: Diagnostic, root: Path) -> None:
    assert CODE.match(diagnostic.code), diagnostic
    assert diagnostic.position.line >= 1 and diagnostic.position.column >= 1, diagnostic
    where = Path(diagnostic.position.file).resolve()
    assert where == root.resolve() or root.resolve() in where.parents, diagnostic


def load_or_diagnose(root: Path) -> Pack | None:
    """load_pack under the contract: a Pack, or PackError with located, coded diagnostics."""
    signal.alarm(HANG_SECONDS)
    try:
        pack = load_pack(root)
        event("loaded")
        return pack
    except PackError as error:
        event(f"refused: {min(d.code for d in error.diagnostics)}" if error.diagnostics else "")
        assert error.diagnostics, "a PackError without diagnostics"
        assert any(d.severity.value == "error" for d in error.diagnostics)
        for diagnostic in error.diagnostics:
            check_diagnostic(diagnostic, root)
        return None
    finally:
        signal.alarm(0)


def agrees_with_reference(pack: Pack, root: Path) -> None:
    """The loaded pack scores the examples and fires what the reference interpreter says."""
    for diagnostic in pack.warnings:
        check_diagnostic(diagnostic, root)
    signal.alarm(HANG_SECONDS)
    try:
        for proposal in EXAMPLES:
            assessment = pack.assess(proposal, as_of=DAY)
            expected = fired_rules(pack.rules, pack.enrich(proposal, DAY), DAY)
            assert sorted(assessment.fired) == sorted(expected), proposal["reference"]
            assert 0 <= assessment.score <= assessment.inherent_score <= 100
    finally:
        signal.alarm(0)
        pack.close()


# ---------------------------------------------------------------------------------------------
# mutations of the bundled pack

Mutation = tuple[str, int, int, str]

mutations = st.tuples(
    st.sampled_from(["drop", "duplicate", "swap", "indent", "replace", "replace", "insert",
                     "truncate"]),
    st.integers(0, 10**6), st.integers(0, 10**6),
    st.one_of(st.sampled_from(TOKENS), st.text(max_size=12)),
)


def mutate(text: str, ops: list[Mutation]) -> str:
    """Apply each operation; positions are taken modulo the current size, so any draw applies."""
    for kind, a, b, token in ops:
        lines = text.split("\n")
        i, j = a % len(lines), b % len(lines)
        if kind == "drop":
            del lines[i]
        elif kind == "duplicate":
            lines.insert(i, lines[i])
        elif kind == "swap":
            lines[i], lines[j] = lines[j], lines[i]
        elif kind == "indent":
            delta = b % 9 - 4
            stripped = lines[i].lstrip(" ")
            indent = len(lines[i]) - len(stripped)
            lines[i] = ("\t" if delta == 0 else " " * max(0, indent + delta)) + stripped
        elif kind == "replace":
            spans = [m.span() for m in TOKEN.finditer(lines[i])]
            if spans:
                start, end = spans[b % len(spans)]
                lines[i] = lines[i][:start] + token + lines[i][end:]
        elif kind == "insert":
            lines.insert(i, " " * (b % 8) + token)
        elif kind == "truncate":
            text = text[:a % (len(text) + 1)]
            continue
        text = "\n".join(lines) if lines else ""
    return text


@settings(max_examples=50, deadline=DEADLINE_MS, database=None, phases=PHASES,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rule_file=st.sampled_from(RULE_FILES),
       target=st.one_of(st.just("the rule file"), st.just("the rule file"),
                        st.sampled_from(OTHER_FILES)),
       ops=st.lists(mutations, min_size=1, max_size=4), raw_cut=st.booleans())
def test_mutated_bundled_pack_loads_or_reports_located_errors(
        template: Path, workdirs: Callable[[], Path], rule_file: str, target: str,
        ops: list[Mutation], raw_cut: bool) -> None:
    root = workdirs()
    copy_pack(template, root, {rule_file})
    file = root / (rule_file if target == "the rule file" else target)
    data = mutate(file.read_text(encoding="utf-8"), ops).encode("utf-8")
    if raw_cut and ops[0][0] == "truncate":  # cut bytes, possibly inside a UTF-8 sequence
        data = data[:ops[0][1] % (len(data) + 1)]
    file.write_bytes(data)
    pack = load_or_diagnose(root)
    if pack is not None:
        agrees_with_reference(pack, root)
    shutil.rmtree(root)


# ---------------------------------------------------------------------------------------------
# random documents as an extra rule file

KEYS = ["rules", "id", "title", "factor", "kind", "points", "when", "rationale", "source",
        "enabled", "tags", "effective_from", "effective_until", "path", "all", "any", "not",
        "some", "every", "eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "in_list",
        "not_in_list", "contains", "contains_any", "matches", "exists", "missing"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
                    st.sampled_from(TOKENS), st.dates())
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), children,
                        max_size=5)),
    max_leaves=30)

# Conditions close enough to the language that many load: then they must agree with the oracle.
FIELDS = {
    "deal.type": st.sampled_from(["joint_venture", "launch_services", "other"]),
    "deal.value.amount": st.sampled_from([0, 1, 1.0e-7, 100000000, 1.0e+20, 10**19]),
    "payments.usd_share": st.sampled_from([0, 0.25, 1.0e-7, 1]),
    "technology_transfer": st.sampled_from(["none", "substantial", "full"]),
    "public_profile": st.sampled_from(["low", "high"]),
    "deal.duration_months": st.integers(0, 700),
}
LISTS = sorted(p.stem for p in RULES.glob("lists/*.yaml"))
FACTORS = ["national_security", "sanctions_exposure", "technology_transfer", "dollar_bypass",
           "reputational_exposure"]


@st.composite
def leaf(draw: st.DrawFn) -> dict[str, Any]:
    path = draw(st.sampled_from(sorted(FIELDS)))
    kind = draw(st.sampled_from(["cmp", "eq", "in", "exists", "missing", "party"]))
    if kind == "cmp":
        return {"path": path, draw(st.sampled_from(["lt", "lte", "gt", "gte"])):
                draw(st.sampled_from([0, 0.5, 1.0e-7, 60, 100000000, 1.0e+20, 10**19]))}
    if kind == "eq":
        return {"path": path, draw(st.sampled_from(["eq", "ne"])): draw(FIELDS[path])}
    if kind == "in":
        return {"path": path, draw(st.sampled_from(["in", "not_in"])):
                draw(st.lists(FIELDS[path], min_size=1, max_size=3))}
    if kind in ("exists", "missing"):
        return {kind: path}
    inner = draw(st.sampled_from([
        {"path": "country", "in_list": draw(st.sampled_from(LISTS))},
        {"path": "screening.score", "gte": draw(st.integers(0, 100))},
        {"path": "type", "eq": "state_agency"}]))
    return {"path": "counterparties", draw(st.sampled_from(["some", "every"])): inner}


conditions = st.recursive(leaf(), lambda children: st.one_of(
    st.builds(lambda items: {"all": items}, st.lists(children, min_size=1, max_size=3)),
    st.builds(lambda items: {"any": items}, st.lists(children, min_size=1, max_size=3)),
    st.builds(lambda item: {"not": item}, children)), max_leaves=6)


@st.composite
def rule_files(draw: st.DrawFn) -> dict[str, Any]:
    rules = []
    for index in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["risk", "mitigation", "knockout"]))
        rules.append({
            "id": f"FZ-{index:03d}", "title": "fuzz", "factor": draw(st.sampled_from(FACTORS)),
            "kind": kind, "points": -10 if kind == "mitigation" else 10,
            "when": draw(conditions), "rationale": "fuzz", "source": "fuzz"})
    return {"rules": rules}


@settings(max_examples=50, deadline=DEADLINE_MS, database=None, phases=PHASES,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(doc=st.one_of(documents, rule_files(), rule_files(), st.text(max_size=300)))
def test_random_rule_file_loads_or_reports_located_errors(
        template: Path, workdirs: Callable[[], Path], doc: Any) -> None:
    root = workdirs()
    copy_pack(template, root, set())  # the random file is the pack's only rule file
    text = doc if isinstance(doc, str) else yaml.safe_dump(doc, allow_unicode=True)
    (root / "fuzz.yaml").write_text(text, encoding="utf-8")
    pack = load_or_diagnose(root)
    if pack is not None:
        assert {r.id for r in pack.rules} <= {f"FZ-{i:03d}" for i in range(4)}
        agrees_with_reference(pack, root)
    shutil.rmtree(root)


# ---------------------------------------------------------------------------------------------
# what the fuzzing found, pinned


def test_a_control_character_is_a_located_error(template: Path, tmp_path: Path) -> None:
    root = tmp_path / "pack"
    copy_pack(template, root, {RULE_FILES[0]})
    file = root / RULE_FILES[0]
    lines = file.read_text(encoding="utf-8").split("\n")
    lines[2] = lines[2][:4] + "\x0c" + lines[2][4:]  # a form feed, as pasted from a document
    file.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(PackError) as caught:
        load_pack(root)
    [diagnostic] = [d for d in caught.value.diagnostics if d.code != "W040"]  # sample list
    assert (diagnostic.code, diagnostic.position.line, diagnostic.position.column) == ("E001", 3, 5)
    assert Path(diagnostic.position.file).name == RULE_FILES[0]


def test_numbers_written_with_exponents_load_and_fire_like_the_reference(
        template: Path, tmp_path: Path) -> None:
    root = tmp_path / "pack"
    copy_pack(template, root, set())
    rules = [("FZ-000", {"path": "payments.usd_share", "lt": 1.0e-7}),       # 0.0 in the example
             ("FZ-001", {"path": "deal.value.amount", "gte": 1.0e+20}),
             ("FZ-002", {"path": "deal.value.amount", "lt": 10**19}),          # beyond 64 bits
             ("FZ-003", {"path": "deal.value.amount", "gt": 1.0e-300})]
    (root / "fuzz.yaml").write_text(yaml.safe_dump({"rules": [
        {"id": rule_id, "title": "t", "factor": "dollar_bypass", "kind": "risk", "points": 10,
         "when": when, "rationale": "r", "source": "s"} for rule_id, when in rules]}),
        encoding="utf-8")
    pack = load_pack(root)
    try:
        assessment = pack.assess(EXAMPLES[0], as_of=DAY)
        assert sorted(assessment.fired) == ["FZ-000", "FZ-002", "FZ-003"]
    finally:
        pack.close()
    agrees_with_reference(load_pack(root), root)
