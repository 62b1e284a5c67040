"""`matches` against an oracle that shares no code with engine.language.regex (tests/engine/regex_oracle):
the specification (`leaf_holds`), its compiled form (`leaf_test`) and the fact builder's flag
all agree with it on generated patterns and texts."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.compile.compiler import compile_rules
from engine.compile.facts import build_fact
from engine.errors import Position
from engine.evaluate.semantics import leaf_holds, leaf_test
from engine.language import syntax
from engine.language.operators import Op
from engine.language.regex import check_pattern
from tests.engine import regex_oracle, strategies

ATOMS = ["a", "b", "c", " ", ".", "[a-b]", "[^a]", "[ab ]", "[]a]", "[a-]"]
QUANTIFIERS = ["", "", "*", "+", "?", "{2}", "{1,2}", "{0,}", "{,1}", "*?", "+?"]


@st.composite
def patterns(draw: st.DrawFn, depth: int = 2) -> str:
    def piece() -> str:
        if depth and draw(st.integers(0, 4)) == 0:
            return f"({draw(patterns(depth - 1))})"
        return draw(st.sampled_from(ATOMS))

    def sequence() -> str:
        return "".join(piece() + draw(st.sampled_from(QUANTIFIERS))
                       for _ in range(draw(st.integers(1, 3))))

    return "|".join(sequence() for _ in range(draw(st.integers(1, 2))))


TEXTS = st.text(alphabet="abc \n", max_size=6)


def test_the_oracle_reads_the_documented_subset() -> None:
    assert regex_oracle.full_match("[Ll]aunch.*", "launch deal")
    assert not regex_oracle.full_match("[Ll]aunch", "launch deal")  # the whole text
    assert regex_oracle.full_match("a.b", "a\nb")  # . matches a newline
    assert regex_oracle.full_match("(ab|c){2,3}", "abcab")
    assert not regex_oracle.full_match("(ab|c){2,3}", "ab")
    assert regex_oracle.full_match("[^0-9]+", "x-y") and not regex_oracle.full_match("[^0-9]+", "x1")


@settings(max_examples=400, deadline=None)
@given(pattern=patterns(), text=TEXTS)
def test_the_specification_and_its_compiled_form_agree_with_the_oracle(pattern: str,
                                                                       text: str) -> None:
    check_pattern(pattern)  # inside the subset a rule may use
    expected = regex_oracle.full_match(pattern, text)
    leaf = syntax.Leaf(Op.MATCHES, ("title",), value=pattern)
    assert leaf_holds(leaf, text) is expected, (pattern, text)
    assert leaf_test(leaf)(text) is expected, (pattern, text)


def test_the_bundled_strategy_patterns_agree_with_the_oracle() -> None:
    """The patterns the differential test draws, on its titles: so that the differential
    test's reference is right about `matches` too."""
    for pattern in strategies.PATTERNS:
        leaf = syntax.Leaf(Op.MATCHES, ("title",), value=pattern)
        rule = syntax.Rule(id="R", title="t", factor="f", kind=syntax.RuleKind.RISK, points=1,
                           when=leaf, rationale="", source="", enabled=True, tags=(),
                           effective_from=None, effective_until=None, pos=Position("t"),
                           index=0)
        compiled = compile_rules((rule,), {"R": leaf})
        (derived,) = compiled.derived
        for title in strategies.TITLES:
            expected = regex_oracle.full_match(pattern, title)
            assert leaf_holds(leaf, title) is expected, (pattern, title)
            fact = build_fact({"title": title}, dt.date(2026, 11, 1), compiled)
            assert fact[compiled.layout.top_key((derived.key,))] is expected, (pattern, title)
