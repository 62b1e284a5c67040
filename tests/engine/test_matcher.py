"""The durable_rules wrapper: isolation between evaluations, runaway bounds, cleanup."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.errors import EngineError, RunawayEvaluation
from engine.matcher import SENTINEL, DurableMatcher, disjuncts, durable_json

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
    assert durable_json({"t": "3e5 deal", "n": 1}) == '{"t": "3e5 deal", "n": 1}'
    assert durable_json({"t": "3e5 deal", "n": 1e-07}) == '{"t": "3e5 deal", "n": 1.0e-07}'


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
