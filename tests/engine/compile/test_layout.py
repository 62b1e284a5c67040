"""The fact layout: what the fact holds, membership flags, marked choices, copies of lists."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from typing import Any

from engine.compile.compiler import CompiledRules, compile_rules
from engine.compile.facts import build_fact
from engine.compile.layout import MARKER, MAX_COPIES
from engine.compile.matcher import DurableMatcher, fits_core
from engine.errors import Position
from engine.evaluate.reference import fired_rules
from engine.language import syntax
from engine.language.normalize import normalize
from engine.language.operators import Op
from tests.bundled import RULES

DAY = dt.date(2026, 11, 1)
ALLIED = tuple(f"A{i}" for i in range(38))  # a reference list as long as allied_jurisdictions


def _rules(*conditions: syntax.Condition) -> tuple[syntax.Rule, ...]:
    return tuple(syntax.Rule(id=f"R{i}", title="t", factor="f", kind=syntax.RuleKind.RISK,
                             points=1, when=c, rationale="", source="", enabled=True, tags=(),
                             effective_from=None, effective_until=None, pos=Position("t"),
                             index=i)
                 for i, c in enumerate(conditions))


def _compile(rules: tuple[syntax.Rule, ...]) -> CompiledRules:
    return compile_rules(rules, {r.id: normalize(r.when) for r in rules})


def _fired(rules: tuple[syntax.Rule, ...], proposals: list[dict[str, Any]]) -> list[set[str]]:
    """The rules the core fires on each proposal, checked against the reference interpreter."""
    compiled = _compile(rules)
    matcher = DurableMatcher(compiled.definitions, label="layout")
    try:
        out = []
        for proposal in proposals:
            fired = {compiled.names[n] for n in matcher.match(build_fact(proposal, DAY, compiled))}
            assert fired == set(fired_rules(rules, proposal, DAY)), proposal
            out.append(fired)
        return out
    finally:
        matcher.close()


def _some(path: str, cond: syntax.Condition) -> syntax.Quantifier:
    return syntax.Quantifier("some", tuple(path.split(".")), cond)


def _leaf(op: Op, path: str, **operand: Any) -> syntax.Leaf:
    return syntax.Leaf(op, tuple(path.split(".")) if path else (), **operand)


def _list_tests(expr: Any) -> int:
    if isinstance(expr, dict):
        return sum((key in ("$iany", "$iall")) + _list_tests(v) for key, v in expr.items())
    if isinstance(expr, list):
        return sum(_list_tests(v) for v in expr)
    return 0


PARTY = {"name": "Secret Name Ltd", "country": "RU", "type": "private_company",
         "aliases": ["Another Secret"], "owners": [{"name": "Hidden Owner", "country": "CN"}]}


def test_the_fact_holds_only_what_the_rules_read() -> None:
    rules = _rules(_some("counterparties", _leaf(Op.EQ, "country", value="RU")),
                   _leaf(Op.GT, "deal.value.amount", value=10))
    compiled = _compile(rules)
    fact = build_fact({"title": "Untold title", "counterparties": [PARTY],
                       "deal": {"type": "joint_venture", "value": {"amount": 50}}}, DAY, compiled)
    text = json.dumps(fact)
    for unread in ("Untold title", "Secret", "Hidden Owner", "joint_venture", "private_company"):
        assert unread not in text
    assert '"RU"' in text and "50" in text
    assert _fired(rules, [{"counterparties": [PARTY], "deal": {"value": {"amount": 50}}}]) == \
        [{"R0", "R1"}]


def test_a_field_only_tested_for_presence_is_an_empty_stand_in() -> None:
    rules = _rules(_some("counterparties", _leaf(Op.EXISTS, "owners")))
    compiled = _compile(rules)
    text = json.dumps(build_fact({"counterparties": [PARTY]}, DAY, compiled))
    assert "Hidden Owner" not in text and "[]" in text
    assert _fired(rules, [{"counterparties": [PARTY]},
                          {"counterparties": [{"name": "x", "country": "RU"}]},
                          {"counterparties": [{**PARTY, "owners": []}]}]) == [{"R0"}, set(), {"R0"}]


def test_set_membership_is_one_flag_not_a_test_per_value() -> None:
    rules = _rules(_some("counterparties", _leaf(Op.NOT_IN_LIST, "country", values=ALLIED,
                                                 list_name="allied")),
                   _some("counterparties", _leaf(Op.IN, "country", values=("RU", "BY", "IR"))))
    compiled = _compile(rules)
    text = json.dumps(compiled.definitions)
    assert "$neq" not in text and "A37" not in text and '"RU"' not in text
    parties = [{"counterparties": [{"country": c}]} for c in ("RU", "A5", "FR")]
    assert _fired(rules, [*parties, {"counterparties": [{"name": "no country"}]}]) == \
        [{"R0", "R1"}, set(), {"R0"}, set()]


def test_a_choice_inside_a_list_test_walks_the_list_once() -> None:
    choice = syntax.Any((_leaf(Op.EQ, "country", value="RU"),
                         _leaf(Op.EQ, "state_owned", value=True),
                         _some("owners", _leaf(Op.EQ, "country", value="IR"))))
    rules = _rules(_some("counterparties", syntax.All((_leaf(Op.EXISTS, "type"), choice))))
    compiled = _compile(rules)
    (expr,) = compiled.definitions.values()
    assert _list_tests(expr) == 2  # counterparties once, owners inside it
    assert MARKER in json.dumps(expr)
    proposals = [{"counterparties": [{"type": "t", **extra}]} for extra in (
        {"country": "RU"}, {"state_owned": True}, {"owners": [{"country": "IR"}]},
        {"country": "FR", "state_owned": False, "owners": [{"country": "FR"}]}, {})]
    assert _fired(rules, proposals) == [{"R0"}, {"R0"}, {"R0"}, set(), set()]


def test_a_rule_too_large_as_marked_choices_is_lifted_and_split() -> None:
    # sixteen alternatives on two fields each: as one marked choice, beyond the core's budget
    alternatives = tuple(syntax.All((_leaf(Op.EXISTS, f"a{i}"), _leaf(Op.EQ, f"b{i}", value=1)))
                         for i in range(16))
    rules = _rules(_some("counterparties", syntax.Any(alternatives)))
    compiled = _compile(rules)
    (expr,) = compiled.definitions.values()
    assert fits_core(expr) and MARKER not in json.dumps(expr)
    assert _list_tests(expr) == 16  # lifted: one list test per alternative
    assert _fired(rules, [{"counterparties": [{"a3": "x", "b3": 1}]},
                          {"counterparties": [{"a3": "x", "b4": 1}]},
                          {"counterparties": [{"b15": 1}, {"a15": 0, "b15": 1}]}]) == \
        [{"R0"}, set(), {"R0"}]


def test_list_tests_read_copies_of_a_list_keeping_what_they_read() -> None:
    tests = [_leaf(Op.EQ, f"f{i}", value=True) for i in range(MAX_COPIES + 2)]
    rules = _rules(*(_some("counterparties", t) for t in tests))
    compiled = _compile(rules)
    copies = compiled.layout.root.projections[("counterparties",)]
    assert len(copies) == MAX_COPIES
    # every list test reads a copy holding the key it reads
    assert all(len(keys) >= 1 for keys in copies)
    party = {f"f{i}": i % 2 == 0 for i in range(MAX_COPIES + 2)}
    assert _fired(rules, [{"counterparties": [party]}]) == \
        [{f"R{i}" for i in range(MAX_COPIES + 2) if i % 2 == 0}]


def test_the_layout_is_the_same_in_every_process() -> None:
    """Copies and keys do not depend on the order of sets (which changes with the hash seed)."""
    script = ("import hashlib, json; from engine.pack import load_pack; "
              f"p = load_pack({str(RULES)!r}); p.close(); "
              "print(hashlib.sha256(json.dumps(p.compiled.definitions).encode()).hexdigest())")
    digests = {subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                              check=True, env={**os.environ, "PYTHONHASHSEED": seed}).stdout
               for seed in ("1", "2", "3")}
    assert len(digests) == 1
