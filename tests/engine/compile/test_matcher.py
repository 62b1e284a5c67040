"""The durable_rules wrapper: isolation between evaluations, runaway bounds, cleanup."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import durable_rules_engine as core
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.compile.matcher import (
    MAX_CORE_MARKERS,
    PART_MARK,
    SENTINEL,
    DurableMatcher,
    close_list_tests,
    core_alternatives,
    core_markers,
    disjuncts,
    durable_json,
)
from engine.errors import EngineError, RunawayEvaluation
from engine.pack import load_pack
from tests.bundled import RULES

GT3 = {"$and": [{"rr_on": 1}, {"$gt": {"p.x": 3}}]}


def test_each_rule_fires_once_per_fact_even_with_several_disjuncts() -> None:
    m = DurableMatcher({"a": {"$and": [{"rr_on": 1}, {"$or": [{"p.x": 1}, {"$gt": {"p.x": 0}}]}]}})
    try:
        assert m.match({"rr_on": 1, "p": {"x": 1}}) == ["a"]
    finally:
        m.close()


def test_facts_do_not_leak_between_evaluations() -> None:
    m = DurableMatcher({"big": GT3})
    try:
        assert m.match({"rr_on": 1, "p": {"x": 5}}) == ["big"]
        assert m.match({"rr_on": 1, "p": {"x": 1}}) == []
        assert m.match({"rr_on": 1, "p": {}}) == []
    finally:
        m.close()


def test_nothing_fired_is_not_an_error() -> None:
    m = DurableMatcher({"big": GT3})
    try:
        assert m.match({"rr_on": 1, "p": {"x": 0}}) == []
    finally:
        m.close()


def test_a_rule_built_to_loop_is_stopped_with_a_clear_error() -> None:
    # A negation-only rule: durable_rules re-fires it (durable-rules-notes.md); the compiler
    # never emits one, so build it by hand to prove the bound holds.
    m = DurableMatcher({"loop": {"$nex": {"p.y": 1}}}, label="loop")
    try:
        with pytest.raises(RunawayEvaluation) as info:
            for _ in range(3):
                m.match({"rr_on": 1, "p": {"x": 5}})
        assert info.value.code == "RR301"
    finally:
        m.close()


def test_the_matcher_recovers_after_a_runaway() -> None:
    m = DurableMatcher({"loop": {"$nex": {"p.y": 1}}, "big": GT3}, label="loop2")
    try:
        with pytest.raises(RunawayEvaluation):
            for _ in range(3):
                m.match({"rr_on": 1, "p": {"x": 5}})
        # a fresh ruleset replaced the poisoned one: a well-formed fact is still matched
        assert "big" in m.match({"rr_on": 1, "p": {"x": 5, "y": 1}})
    finally:
        m.close()


def test_time_limit_turns_into_runaway() -> None:
    m = DurableMatcher({"big": GT3}, max_seconds=-1.0)
    try:
        with pytest.raises(RunawayEvaluation, match="exceeded"):
            m.match({"rr_on": 1, "p": {"x": 5}})
    finally:
        m.close()


def test_closed_matcher_refuses_work() -> None:
    m = DurableMatcher({"big": GT3})
    m.close()
    with pytest.raises(EngineError):
        m.match({"rr_on": 1, "p": {"x": 5}})


def test_sentinel_name_is_reserved() -> None:
    with pytest.raises(EngineError):
        DurableMatcher({SENTINEL: GT3})


def test_disjunct_count_bounds_actions() -> None:
    expr = {"$and": [{"$or": [{"a": 1}, {"a": 2}]}, {"$or": [{"b": 1}, {"b": 2}, {"b": 3}]}]}
    assert disjuncts(expr) == 6
    assert DurableMatcher({"r": expr}).max_actions == 7


@pytest.mark.parametrize(("value", "bound", "expected"), [
    (1e-07, 0.001, True),          # Python writes 1e-07: the core refuses exponents without a fraction
    (2.5e16, 1e16, False),         # 2.5e+16
    (2**64, 2**63 - 1, False),     # beyond 64 bits: the core would saturate it to 2**63 - 1
    (123, 1000, True),
])
def test_numbers_reach_the_core_as_python_reads_them(value: float, bound: float, expected: bool) -> None:
    m = DurableMatcher({"small": {"$and": [{"rr_on": 1}, {"$lt": {"p.x": bound}}]}})
    try:
        assert (m.match({"rr_on": 1, "p": {"x": value}}) == ["small"]) is expected
    finally:
        m.close()


def test_strings_that_look_like_numbers_are_left_alone() -> None:
    assert durable_json({"t": "3e5 deal", "n": 1}) == '{"t":"3e5 deal","n":1}'
    assert durable_json({"t": "3e5 deal", "n": 1e-07}) == '{"t":"3e5 deal","n":1.0e-07}'


# Candidates for a number the C reader misreads: an exponent without a fraction, or an integer
# of 19+ digits (outside strings, which the first alternative skips whole).
_MISREAD = re.compile(
    r'"(?:[^"\\]|\\.)*"|(?<![\d.])(-?\d+[eE][-+]?\d+|-?\d{19,}(?![\d.eE]))')
_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.text(max_size=12)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.sampled_from([1e-07, 1e16, 2**63, -(2**63) - 1, 1.5e300, "1e-07", "e+5", "x" * 30]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner,
                                                                 max_size=4),
    max_leaves=20)


def _int64_or_float(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float | dict | list):
        return value
    if isinstance(value, dict):
        return {k: _int64_or_float(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_int64_or_float(v) for v in value]
    if isinstance(value, int) and not -(2**63) <= value <= 2**63 - 1:
        return float(value)
    return value


@given(_JSON_VALUES)
def test_durable_json_never_lets_a_misread_number_through(value: Any) -> None:
    """The fast check may only skip the rewriting when there is nothing to rewrite."""
    text = durable_json({"v": value})
    misread = [n for n in (m.group(1) for m in _MISREAD.finditer(text))
               if n and ("e" in n.lower() or not -(2**63) <= int(n) <= 2**63 - 1)]
    assert misread == [], text
    assert json.loads(text) == {"v": _int64_or_float(value)}


# --- list tests ending in `$or`: the core's uninitialised operand type (error 102) ---------

IN_AB = {"$or": [{"$i": "a"}, {"$i": "b"}]}
LIST_TEST_CASES = [
    # (condition, fact, fires)
    ({"$iany": {"xs": IN_AB}}, {"xs": ["c", "b"]}, True),
    ({"$iany": {"xs": IN_AB}}, {"xs": ["c", "d"]}, False),
    ({"$iall": {"xs": IN_AB}}, {"xs": ["a", "b"]}, True),
    ({"$iall": {"xs": IN_AB}}, {"xs": ["a", "c"]}, False),
    ({"$iany": {"ps": {"$and": [{"$gt": {"$i.n": 1}}, {"$or": [{"$i.c": "RU"}, {"$i.c": "BY"}]}]}}},
     {"ps": [{"c": "RU", "n": 1}, {"c": "BY", "n": 2}]}, True),
    ({"$iany": {"ps": {"$and": [{"$gt": {"$i.n": 1}}, {"$or": [{"$i.c": "RU"}, {"$i.c": "BY"}]}]}}},
     {"ps": [{"c": "RU", "n": 1}, {"c": "FR", "n": 2}]}, False),
    ({"$iall": {"ps": {"$or": [{"$i.c": "RU"}, {"$i.c": "BY"}]}}},
     {"ps": [{"c": "RU"}, {"c": "BY"}]}, True),
    ({"$iall": {"ps": {"$or": [{"$i.c": "RU"}, {"$i.c": "BY"}]}}},
     {"ps": [{"c": "RU"}, {"c": "FR"}]}, False),
]


@pytest.mark.parametrize(("condition", "fact", "fires"), LIST_TEST_CASES)
def test_closed_list_tests_mean_what_they_did(condition: dict[str, Any], fact: dict[str, Any],
                                              fires: bool) -> None:
    m = DurableMatcher({"r": {"$and": [{"rr_on": 1}, condition]}})
    try:
        assert m.match({"rr_on": 1, **fact}) == (["r"] if fires else [])
    finally:
        m.close()


def _tail(cond: Any) -> Any:
    while isinstance(cond, dict) and set(cond) == {"$and"}:
        cond = cond["$and"][-1]
    return cond


def _list_test_inners(expr: Any) -> list[Any]:
    found: list[Any] = []
    if isinstance(expr, dict):
        for key, value in expr.items():
            if key in ("$iany", "$iall"):
                for inner in value.values():
                    found.append(inner)
                    found.extend(_list_test_inners(inner))
            elif key in ("$and", "$or"):
                for v in value:
                    found.extend(_list_test_inners(v))
    return found


def test_no_list_test_of_the_bundled_pack_reaches_the_core_ending_in_an_or() -> None:
    bundled_pack = load_pack(RULES)
    bundled_pack.close()
    inners = [inner for expr in bundled_pack.compiled.definitions.values()
              for inner in _list_test_inners(close_list_tests(expr))]
    open_before = [inner for expr in bundled_pack.compiled.definitions.values()
                   for inner in _list_test_inners(expr) if "$or" in _tail(inner)]
    assert open_before, "the bundled pack no longer has a list test ending in $or"
    assert inners and not [inner for inner in inners if "$or" in _tail(inner)]


# Run in a fresh interpreter, whose heap is laid out the same way each time: first the core as
# it is, then through DurableMatcher (no retry), each creation after leaving freed chunks of the
# sizes the core's node pool grows through filled with 0x09, which the core reads as the operand
# type JSON_IDENTIFIER.
POISONED_HEAP_SCRIPT = r"""
import ctypes, ctypes.util, json, sys
import durable_rules_engine as core
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
libc.memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]

def poison():
    pointers = []
    for size in range(16, 2000, 8):
        pointer = libc.malloc(size)
        libc.memset(pointer, 0x09, size)
        pointers.append(pointer)
    for pointer in pointers:
        libc.free(pointer)

condition = json.loads(sys.argv[1])
raw = json.dumps({"r": {"all": [{"m": condition}]}})
refused_raw = 0
for i in range(300):
    poison()
    try:
        core.delete_ruleset(core.create_ruleset(f"raw_{i}", raw))
    except Exception:
        refused_raw += 1
import engine.compile.matcher as matcher
matcher.CREATE_ATTEMPTS = 1
refused = 0
for i in range(300):
    poison()
    try:
        matcher.DurableMatcher({"r": condition}).close()
    except Exception:
        refused += 1
print(json.dumps([refused_raw, refused]))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="poisons glibc's heap")
def test_a_list_test_ending_in_or_is_never_refused_whatever_the_heap_holds() -> None:
    condition = {"$and": [{"rr_on": 1}, {"$iany": {"xs": IN_AB}}]}
    done = subprocess.run([sys.executable, "-c", POISONED_HEAP_SCRIPT, json.dumps(condition)],
                          capture_output=True, text=True, timeout=120, check=True,
                          cwd=Path(__file__).resolve().parents[3],
                          env={**os.environ, "PYTHONHASHSEED": "0"})  # the same heap each run
    refused_raw, refused = json.loads(done.stdout)
    assert refused_raw, "the heap poisoning no longer reproduces the core's error 102"
    assert refused == 0


# --- the core's 31 `$and`/`$or` markers per rule (error 113) -------------------------------

def _nested_ands(field: str, depth: int) -> dict[str, Any]:
    """`field >= 0` wrapped in `depth` one-element `$and`s: 2 * depth markers."""
    cond: dict[str, Any] = {"$gte": {field: 0}}
    for _ in range(depth):
        cond = {"$and": [cond]}
    return cond


@pytest.mark.parametrize(("depth", "refused"), [(15, False), (16, True)])
def test_marker_count_is_the_cores_own_limit(depth: int, refused: bool) -> None:
    cond = _nested_ands("x", depth)
    assert core_markers(cond) == 2 * depth
    text = json.dumps({"r": {"all": [{"m": cond}]}})
    try:
        core.delete_ruleset(core.create_ruleset(f"limit_{depth}", text))
        was_refused = False
    except Exception as exc:  # the core raises bare Exceptions
        assert "113" in str(exc)
        was_refused = True
    assert was_refused is refused
    assert (core_markers(cond) > MAX_CORE_MARKERS) is refused


BIG = {"$and": [{"rr_on": 1}, {"$or": [_nested_ands("a", 8), _nested_ands("b", 8),
                                       {"$and": [{"c": 1}, _nested_ands("d", 8)]}]}]}


def test_a_rule_beyond_the_marker_budget_is_split_into_alternatives_within_it() -> None:
    parts = core_alternatives(BIG)
    assert core_markers(BIG) > MAX_CORE_MARKERS
    assert len(parts) == 3
    assert all(core_markers(part) <= MAX_CORE_MARKERS for part in parts)


@pytest.mark.parametrize(("fact", "fires"), [
    ({"a": 1}, True), ({"b": 0}, True), ({"c": 1, "d": 2}, True), ({"c": 1}, False),
    ({"d": 1}, False), ({"a": -1, "b": -1}, False), ({"a": 1, "b": 1, "c": 1, "d": 1}, True)])
def test_a_split_rule_fires_once_exactly_when_the_whole_holds(fact: dict[str, Any],
                                                              fires: bool) -> None:
    m = DurableMatcher({"big": BIG, "other": {"$and": [{"rr_on": 1}, {"$gte": {"a": 0}}]}})
    try:
        fired = m.match({"rr_on": 1, **fact})
        assert ("big" in fired) is fires
        assert fired.count("big") <= 1
        assert not [name for name in fired if PART_MARK in name]
    finally:
        m.close()
