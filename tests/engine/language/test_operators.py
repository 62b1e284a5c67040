"""The operator registry: every operator declared once and used everywhere, and every one of
them exercised by the differential and property tests' strategies."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import find, settings

from engine.evaluate.semantics import MISSING, leaf_holds
from engine.language import hints, syntax
from engine.language.lint import leaves
from engine.language.normalize import normalize
from engine.language.operators import OPERATORS, WRITTEN, Fields, Op
from engine.tooling.schemaparts import OPERATOR_HELP
from tests.engine import strategies


def _ops(cond: syntax.Condition) -> set[Op]:
    return {leaf.op for leaf in leaves(cond)}


def test_every_operator_is_declared_once_and_its_complement_is_declared() -> None:
    assert set(OPERATORS) == set(Op)
    for op, operator in OPERATORS.items():
        assert operator.op is op
        assert operator.complement in OPERATORS
        assert operator.help and operator.word and operator.phrase
    assert [op for op in Op if OPERATORS[op].written] == list(WRITTEN)
    assert not OPERATORS[Op.NOT_MATCHES].written  # produced by the normaliser only


def test_the_language_offers_exactly_the_written_operators() -> None:
    assert syntax.LEAF_OPERATORS == WRITTEN
    assert set(WRITTEN) <= set(hints.OPERATORS)
    assert Op.NOT_MATCHES not in hints.OPERATORS
    assert {op: OPERATOR_HELP[op] for op in WRITTEN} == {op: OPERATORS[op].help for op in WRITTEN}


def test_the_strategies_draw_every_written_operator() -> None:
    drawn = {op for ops in strategies.OPERATORS_BY_KIND.values() for op in ops}
    assert set(WRITTEN) - drawn == set()
    assert set(strategies.ITEM_OPERATORS) <= set(WRITTEN)


@pytest.mark.parametrize("op", list(Op))
def test_the_differential_strategies_generate_every_operator(op: Op) -> None:
    """Drawn by hypothesis and normalised, as the differential test compiles them: the
    internal `not_matches` arises from `not matches`."""
    found = find(strategies.condition(), lambda cond: op in _ops(normalize(cond)),
                 settings=settings(max_examples=3000, database=None, derandomize=True))
    assert op in _ops(normalize(found))


def test_the_strategies_draw_effective_windows_on_each_side_of_the_day() -> None:
    day = dt.date(2026, 11, 1)
    before, after = day - dt.timedelta(days=1), day + dt.timedelta(days=1)
    for wanted in ((None, None), (after, None), (None, before), (day, day), (before, after)):
        found = find(strategies.window(day), lambda w, wanted=wanted: w == wanted,
                     settings=settings(database=None, derandomize=True))
        assert found == wanted


# values of the type each kind of field holds, to test the complements on
_VALUES: dict[Fields, list[object]] = {
    Fields.PLAIN: ["RU", "BY", "", 0, 1, 2.5, True, False],
    Fields.NUMBER: [0, 1, 2.5, -3],
    Fields.TEXT: ["RU", "BY", "Launch deal", ""],
    Fields.PLAIN_LIST: [[], ["RU"], ["BY", "RU"], ["CN"]],
}


@pytest.mark.parametrize("op", [op for op in Op if OPERATORS[op].on_absent is None])
def test_each_complement_is_the_negation_on_a_present_value(op: Op) -> None:
    """What `not` push-down relies on: on a value of the field's type, the complement holds
    exactly when the test does not (per item for the containment tests)."""
    operator = OPERATORS[op]
    complement = OPERATORS[operator.complement]
    for operand in ("RU", 1, "R.*"):
        leaf = syntax.Leaf(op, ("f",), value=operand, values=("RU", 1, True))
        other = syntax.Leaf(complement.op, ("f",), value=operand, values=("RU", 1, True))
        for value in _VALUES[operator.fields]:
            if operator.fields is Fields.NUMBER and not isinstance(operand, int):
                continue
            negated = not leaf_holds(leaf, value)
            if operator.per_item:
                assert isinstance(value, list)
                assert negated == all(leaf_holds(other, item) for item in value), (leaf, value)
            else:
                assert negated == leaf_holds(other, value), (leaf, value)


@pytest.mark.parametrize("op", [op for op in Op if OPERATORS[op].on_absent is not None])
def test_presence_is_decided_by_the_absence_alone(op: Op) -> None:
    leaf = syntax.Leaf(op, ("f",))
    assert leaf_holds(leaf, MISSING) is OPERATORS[op].on_absent
    assert leaf_holds(leaf, "x") is not OPERATORS[op].on_absent
    assert leaf_holds(syntax.Leaf(OPERATORS[op].complement, ("f",)), MISSING) is not \
        OPERATORS[op].on_absent


def test_a_leaf_refuses_an_operator_that_is_not_registered() -> None:
    with pytest.raises(ValueError, match="near"):
        syntax.Leaf("near", ("title",))  # type: ignore[arg-type]
