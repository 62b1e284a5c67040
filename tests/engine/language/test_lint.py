"""The linter's contradiction check: sound (what it calls contradictory never holds) and
complete on pairs of tests on one field (what it accepts holds for some value)."""

from __future__ import annotations

import itertools

import pytest

from engine.evaluate.semantics import MISSING, leaf_holds
from engine.language import syntax
from engine.language.lint import contradiction
from engine.language.operators import OPERATORS, Admits, Bound, Op

# pairs of tests on one number field, and values around and on every bound
BOUNDS = [syntax.Leaf(op, ("n",), value=v) for op in (Op.GT, Op.GTE, Op.LT, Op.LTE, Op.EQ, Op.NE)
          for v in (4, 5, 6)]
NUMBERS = [MISSING, 3, 4, 4.5, 5, 5.5, 6, 7]
# pairs of tests on one text field
TEXTS = [syntax.Leaf(Op.EQ, ("t",), value="a"), syntax.Leaf(Op.NE, ("t",), value="a"),
         syntax.Leaf(Op.IN, ("t",), values=("a", "b")), syntax.Leaf(Op.NOT_IN, ("t",), values=("a", "b")),
         syntax.Leaf(Op.IN_LIST, ("t",), values=("b",), list_name="l"),
         syntax.Leaf(Op.NOT_IN_LIST, ("t",), values=("a",), list_name="l"),
         syntax.Leaf(Op.EXISTS, ("t",)), syntax.Leaf(Op.MISSING, ("t",))]
WORDS = [MISSING, "a", "b", "c"]


def _satisfiable(a: syntax.Leaf, b: syntax.Leaf, domain: list[object]) -> bool:
    return any(leaf_holds(a, v) and leaf_holds(b, v) for v in domain)


def _checked(a: syntax.Leaf, b: syntax.Leaf) -> bool:
    """The pairs the linter decides: a lower and an upper bound, two tests on the values
    admitted, a required absence."""
    first, second = OPERATORS[a.op], OPERATORS[b.op]
    return (first.bound is Bound.LOWER and second.bound is Bound.UPPER) or \
        (first.admits is Admits.ONE_OF and second.admits is not None) or \
        first.on_absent is True


@pytest.mark.parametrize(("tests", "domain"), [(BOUNDS, NUMBERS), (TEXTS, WORDS)])
def test_a_contradiction_is_reported_exactly_when_no_value_satisfies_both(
        tests: list[syntax.Leaf], domain: list[object]) -> None:
    for a, b in itertools.product(tests, repeat=2):
        reason = contradiction(syntax.All((a, b)))
        if reason is not None:
            assert not _satisfiable(a, b, domain), (a, b, reason)
        elif _checked(a, b) or _checked(b, a):
            assert _satisfiable(a, b, domain), (a, b)


def test_touching_inclusive_bounds_are_not_a_contradiction() -> None:
    """gte 5 and lte 5 hold for 5; gt 5 and lte 5, or gte 5 and lt 5, never hold."""
    def pair(low: Op, high: Op) -> str | None:
        return contradiction(syntax.All((syntax.Leaf(low, ("n",), value=5),
                                         syntax.Leaf(high, ("n",), value=5))))

    assert pair(Op.GTE, Op.LTE) is None
    assert pair(Op.GT, Op.LTE) == "n cannot be gt 5 and lte 5 at once"
    assert pair(Op.GTE, Op.LT) == "n cannot be gte 5 and lt 5 at once"
