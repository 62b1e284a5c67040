"""The operators of the rule language, each declared once: the registry every stage reads.

One `Operator` per `Op` says everything the engine knows about a leaf test: its operand's
shape, the fields it may test, its complement (how `not` is pushed down), what it means on a
present value (the specification, and the same compiled once per leaf), the durable_rules
test it compiles to, how evidence names it, and the help editors show. The parser
(`engine.language.parser`), the normaliser, the compiler, `engine.evaluate.semantics` (and through it the
reference interpreter, the explainer and missing information), the schema generator and the
linter look operators up here instead of testing their names. docs/adding-an-operator.md
says how to add one.

Absence is decided outside the operators: every test is false on an absent field (unknown
in the three-valued reading of missing information) except those with `on_absent` set,
`exists` and `missing`, which are decided by the absence itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import TYPE_CHECKING, Any

from engine.language.contract import FieldSpec, Kind
from engine.language.regex import full_match

if TYPE_CHECKING:
    from engine.language.syntax import Leaf

Test = Callable[[Any], bool]
Expr = dict[str, Any]


class Op(StrEnum):
    """The name of a leaf test, as written in rule files (`not_matches` is internal)."""

    EQ = "eq"
    NE = "ne"
    LT = "lt"
    LTE = "lte"
    GT = "gt"
    GTE = "gte"
    IN = "in"
    NOT_IN = "not_in"
    IN_LIST = "in_list"
    NOT_IN_LIST = "not_in_list"
    CONTAINS = "contains"
    CONTAINS_ANY = "contains_any"
    MATCHES = "matches"
    EXISTS = "exists"
    MISSING = "missing"
    NOT_MATCHES = "not_matches"


class Operand(Enum):
    """The shape of what follows the operator in a test."""

    PATH = "the path itself"  # exists: PATH (no separate `path`)
    VALUE = "one value"
    VALUES = "a list of values"
    LIST_NAME = "the name of a reference list"  # resolved to the list's values when parsed
    PATTERN = "a pattern"  # the `matches` subset of regular expressions (engine.language.regex)


class Fields(Enum):
    """The fields an operator may test; the value is how a diagnostic names them."""

    ANY = "any field"
    PLAIN = "a plain field"  # not a list, not an object
    NUMBER = "a number field"
    TEXT = "a text field"
    PLAIN_LIST = "a list of plain values"  # the operand is checked against the items' type

    def accepts(self, spec: FieldSpec) -> bool:
        kind = spec.kind
        if self is Fields.ANY:
            return True
        if self is Fields.PLAIN_LIST:
            return kind is Kind.LIST and spec.item is not None and \
                spec.item.kind not in (Kind.OBJECT, Kind.LIST)
        if kind in (Kind.LIST, Kind.OBJECT):
            return False
        if self is Fields.NUMBER:
            return kind.is_numeric
        return kind.is_textual if self is Fields.TEXT else True


class Admits(Enum):
    """For the linter: a test that admits only its operands, or every value but them."""

    ONE_OF = "one of"
    NONE_OF = "none of"


class Bound(Enum):
    """For the linter: a test that bounds a number from below or from above."""

    LOWER = "lower"
    UPPER = "upper"


@dataclass(frozen=True)
class Operator:
    """Everything about one leaf operator. `holds` and `test` are only ever given a present
    value (absence is decided by `on_absent`); `compile` gets where the value is in the fact
    (for a pattern, where the fact builder put the verdict of the pattern)."""

    op: Op
    operand: Operand
    fields: Fields
    complement: Op  # not (x OP v) = x COMPLEMENT v, or the field is absent (see `per_item`)
    help: str  # editor hover text (rules/schema)
    word: str  # how evidence names the test: `in list NAME`, `does not match P`
    phrase: str  # how the workbench reads it: `country is one of RU, BY`
    holds: Callable[[Leaf, Any], bool]  # the specification, on a present value
    test: Callable[[Leaf], Test]  # `holds` compiled once for one leaf
    compile: Callable[[str, Leaf], Expr]  # the durable_rules test on the value at `where`
    on_absent: bool | None = None  # the verdict on an absent field, for those decided by it
    per_item: bool = False  # the complement is tested on every item of the list
    needs_path: bool = False  # cannot test the item of a plain list itself
    written: bool = True  # authors may write it (False: produced by the normaliser only)
    several: Op | None = None  # the operator taking several values instead of one
    listed: Op | None = None  # the operator taking a reference list instead of values
    on_list: str | None = None  # what fits instead on a list of plain values (a hint)
    admits: Admits | None = None
    bound: Bound | None = None
    strict: bool = False  # a bound that excludes its operand

    def describe(self, leaf: Leaf) -> str:
        """The test as a reader sees it in evidence: `in list sanctioned_jurisdictions`."""
        if self.operand is Operand.PATH:
            return self.word
        if self.operand is Operand.LIST_NAME:
            return f"{self.word} {leaf.list_name}"
        if self.operand is Operand.VALUES:
            return f"{self.word} [{', '.join(show(v) for v in leaf.values)}]"
        return f"{self.word} {show(leaf.value)}"


def show(value: object) -> str:
    """An operand as a rule file writes it (true, not True)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return repr(value)


def operands(leaf: Leaf) -> tuple[object, ...]:
    """The operand values of a test: its values, or its one value."""
    return leaf.values if OPERATORS[leaf.op].operand in (Operand.VALUES, Operand.LIST_NAME) \
        else (leaf.value,)


# -- what values mean ----------------------------------------------------------------------------
# Equality is type-strict, as JSON values are (true is not 1); 1 and 1.0 are the same number.

def same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    return type(a) is type(b) and a == b


def number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def member(leaf: Leaf, value: Any) -> bool:
    """`value` is one of the leaf's values (`Leaf.members` is type-tagged: true is not 1)."""
    try:
        found: bool = (isinstance(value, bool), value) in leaf.members
        return found
    except TypeError:  # unhashable (a list or object where a plain value was expected)
        return False


def equal_to(target: Any) -> Test:
    """`same(value, target)` for one target, as a closure."""
    if isinstance(target, bool):
        return lambda value: value is target
    if number(target):
        return lambda value: number(value) and value == target
    kind = type(target)
    return lambda value: type(value) is kind and value == target


def member_of(leaf: Leaf) -> Test:
    """`member(leaf, value)` for one leaf: plain set membership when every member is a string
    (then only a string can be a member), the type-tagged test otherwise."""
    if all(type(v) is str for v in leaf.values):
        strings = frozenset(leaf.values)
        return lambda value: isinstance(value, str) and value in strings
    return lambda value: member(leaf, value)


# -- the specification of each family, and its compiled form --------------------------------------

def _eq(leaf: Leaf, value: Any) -> bool:
    return same(value, leaf.value)


def _ne(leaf: Leaf, value: Any) -> bool:
    return not same(value, leaf.value)


def _not_equal_to(leaf: Leaf) -> Test:
    equal = equal_to(leaf.value)
    return lambda value: not equal(value)


_ORDER: Mapping[Op, Callable[[float, float], bool]] = {
    Op.LT: float.__lt__, Op.LTE: float.__le__, Op.GT: float.__gt__, Op.GTE: float.__ge__}


def _compare(leaf: Leaf, value: Any) -> bool:
    if not (number(value) and number(leaf.value)):
        return False
    return _ORDER[leaf.op](float(value), float(leaf.value))  # type: ignore[arg-type]


def _comparison(leaf: Leaf) -> Test:
    if not number(leaf.value):
        return lambda value: False
    bound, compare = float(leaf.value), _ORDER[leaf.op]  # type: ignore[arg-type]
    return lambda value: number(value) and compare(float(value), bound)


def _not_member(leaf: Leaf, value: Any) -> bool:
    return not member(leaf, value)


def _not_member_of(leaf: Leaf) -> Test:
    test = member_of(leaf)
    return lambda value: not test(value)


def _contains(leaf: Leaf, value: Any) -> bool:
    return isinstance(value, list) and any(same(item, leaf.value) for item in value)


def _contains_test(leaf: Leaf) -> Test:
    equal = equal_to(leaf.value)
    return lambda value: isinstance(value, list) and any(equal(i) for i in value)


def _contains_any(leaf: Leaf, value: Any) -> bool:
    return isinstance(value, list) and any(member(leaf, item) for item in value)


def _contains_any_test(leaf: Leaf) -> Test:
    test = member_of(leaf)
    return lambda value: isinstance(value, list) and any(test(i) for i in value)


def _matches(leaf: Leaf, value: Any) -> bool:
    return isinstance(value, str) and full_match(str(leaf.value), value)


def _not_matches(leaf: Leaf, value: Any) -> bool:
    return isinstance(value, str) and not full_match(str(leaf.value), value)


def _pattern_test(wanted: bool) -> Callable[[Leaf], Test]:
    def compiled(leaf: Leaf) -> Test:
        pattern = re.compile(str(leaf.value), re.DOTALL)
        return lambda value: isinstance(value, str) and \
            (pattern.fullmatch(value) is not None) is wanted

    return compiled


def _present(leaf: Leaf, value: Any) -> bool:
    return True  # exists on a present value (absence is decided by `on_absent`)


def _absent(leaf: Leaf, value: Any) -> bool:
    return False  # missing on a present value


def _always(value: Any) -> bool:
    return True


def _never(value: Any) -> bool:
    return False


# -- durable_rules expressions ----------------------------------------------------------------

def any_of(tests: list[Expr]) -> Expr:
    return _flat("$or", tests)


def all_of(tests: list[Expr]) -> Expr:
    return _flat("$and", tests)


def _flat(op: str, tests: list[Expr]) -> Expr:
    """One `$or`/`$and` with nested ones of the same kind spliced in: durable_rules misreads
    an `$or` nested directly in an `$or` inside a list test (measured on the bundled pack)."""
    out: list[Expr] = []
    for test in tests:
        out.extend(test[op] if set(test) == {op} else [test])
    return out[0] if len(out) == 1 else {op: out}


def _order_expr(where: str, leaf: Leaf) -> Expr:
    return {f"${leaf.op}": {where: leaf.value}}


def _one_of_expr(where: str, leaf: Leaf) -> Expr:
    return any_of([{where: v} for v in leaf.values])


def _none_of_expr(where: str, leaf: Leaf) -> Expr:
    return all_of([{"$neq": {where: v}} for v in leaf.values])


_DECLARED = (
    Operator(Op.EQ, Operand.VALUE, Fields.PLAIN, complement=Op.NE,
             help="equals the value", word="eq", phrase="is",
             holds=_eq, test=lambda leaf: equal_to(leaf.value),
             compile=lambda where, leaf: {where: leaf.value},
             several=Op.IN, on_list="contains: VALUE", admits=Admits.ONE_OF),
    Operator(Op.NE, Operand.VALUE, Fields.PLAIN, complement=Op.EQ,
             help="present and not equal to the value (false when the field is absent)",
             word="ne", phrase="is not",
             holds=_ne, test=_not_equal_to,
             compile=lambda where, leaf: {"$neq": {where: leaf.value}},
             several=Op.NOT_IN, on_list="not: {path: FIELD, contains: VALUE}",
             admits=Admits.NONE_OF),
    Operator(Op.LT, Operand.VALUE, Fields.NUMBER, complement=Op.GTE,
             help="less than the number", word="lt", phrase="is less than",
             holds=_compare, test=_comparison, compile=_order_expr,
             bound=Bound.UPPER, strict=True),
    Operator(Op.LTE, Operand.VALUE, Fields.NUMBER, complement=Op.GT,
             help="less than or equal to the number", word="lte", phrase="is at most",
             holds=_compare, test=_comparison, compile=_order_expr, bound=Bound.UPPER),
    Operator(Op.GT, Operand.VALUE, Fields.NUMBER, complement=Op.LTE,
             help="greater than the number", word="gt", phrase="is more than",
             holds=_compare, test=_comparison, compile=_order_expr,
             bound=Bound.LOWER, strict=True),
    Operator(Op.GTE, Operand.VALUE, Fields.NUMBER, complement=Op.LT,
             help="greater than or equal to the number", word="gte", phrase="is at least",
             holds=_compare, test=_comparison, compile=_order_expr, bound=Bound.LOWER),
    Operator(Op.IN, Operand.VALUES, Fields.PLAIN, complement=Op.NOT_IN,
             help="one of the values", word="in", phrase="is one of",
             holds=member, test=member_of, compile=_one_of_expr,
             listed=Op.IN_LIST, on_list="contains_any: [...]", admits=Admits.ONE_OF),
    Operator(Op.NOT_IN, Operand.VALUES, Fields.PLAIN, complement=Op.IN,
             help="present and none of the values", word="not in", phrase="is none of",
             holds=_not_member, test=_not_member_of, compile=_none_of_expr,
             listed=Op.NOT_IN_LIST, on_list="not: {path: FIELD, contains_any: [...]}",
             admits=Admits.NONE_OF),
    Operator(Op.IN_LIST, Operand.LIST_NAME, Fields.TEXT, complement=Op.NOT_IN_LIST,
             help="in the named reference list of lists/", word="in list",
             phrase="is in the list",
             holds=member, test=member_of, compile=_one_of_expr,
             on_list="some: {in_list: NAME}", admits=Admits.ONE_OF),
    Operator(Op.NOT_IN_LIST, Operand.LIST_NAME, Fields.TEXT, complement=Op.IN_LIST,
             help="present and not in the named reference list of lists/",
             word="not in list", phrase="is not in the list",
             holds=_not_member, test=_not_member_of, compile=_none_of_expr,
             on_list="every: {not_in_list: NAME}", admits=Admits.NONE_OF),
    # not (list contains x) = every item differs (true for an empty or absent list)
    Operator(Op.CONTAINS, Operand.VALUE, Fields.PLAIN_LIST, complement=Op.NE, per_item=True,
             help="the list field contains the value", word="contains", phrase="includes",
             holds=_contains, test=_contains_test,
             compile=lambda where, leaf: {"$iany": {where: {"$i": leaf.value}}},
             several=Op.CONTAINS_ANY),
    Operator(Op.CONTAINS_ANY, Operand.VALUES, Fields.PLAIN_LIST, complement=Op.NOT_IN,
             per_item=True,
             help="the list field contains at least one of the values", word="contains any",
             phrase="includes any of",
             holds=_contains_any, test=_contains_any_test,
             compile=lambda where, leaf: {
                 "$iany": {where: any_of([{"$i": v} for v in leaf.values])}}),
    # decided by Python's `re` in the fact builder: `where` is the flag holding its verdict
    Operator(Op.MATCHES, Operand.PATTERN, Fields.TEXT, complement=Op.NOT_MATCHES,
             needs_path=True,
             help="the whole text matches the pattern (literals, ., [a-z], [^0-9], * + ? {m,n}, "
                  "| and groups; no anchors, no \\d-style escapes, no look-arounds)",
             word="matches", phrase="matches the pattern",
             holds=_matches, test=_pattern_test(True),
             compile=lambda where, leaf: {where: True}),
    Operator(Op.EXISTS, Operand.PATH, Fields.ANY, complement=Op.MISSING, on_absent=False,
             help="the field at this path is present", word="exists", phrase="is given",
             holds=_present, test=lambda leaf: _always,
             compile=lambda where, leaf: {"$ex": {where: 1}}),
    Operator(Op.MISSING, Operand.PATH, Fields.ANY, complement=Op.EXISTS, on_absent=True,
             help="the field at this path is absent", word="missing", phrase="is not given",
             holds=_absent, test=lambda leaf: _never,
             compile=lambda where, leaf: {"$nex": {where: 1}}),
    # the complement of `matches`, produced by engine.language.normalize: present and not matching
    Operator(Op.NOT_MATCHES, Operand.PATTERN, Fields.TEXT, complement=Op.MATCHES,
             needs_path=True, written=False,
             help="present text that does not match the whole pattern",
             word="does not match", phrase="does not match the pattern",
             holds=_not_matches, test=_pattern_test(False),
             compile=lambda where, leaf: {where: False}),
)

OPERATORS: Mapping[Op, Operator] = {o.op: o for o in _DECLARED}
# The operators authors write, in the order of the docs and the editor schemas.
WRITTEN: tuple[Op, ...] = tuple(o.op for o in _DECLARED if o.written)

# The operators whose operand is the path (`exists: PATH`, without a separate `path`).
TAKES_PATH: frozenset[Op] = frozenset(o.op for o in _DECLARED if o.operand is Operand.PATH)

# The other keywords of a condition, with their editor help.
QUANTIFIER_HELP: Mapping[str, str] = {
    "some": "at least one item of the list at `path` satisfies this condition (paths inside "
            "are relative to the item; leave `path` out for lists of plain values)",
    "every": "no item of the list at `path` fails this condition (true for an empty or absent "
             "list)",
}
COMBINATOR_HELP: Mapping[str, str] = {
    "all": "every condition holds (at least one)",
    "any": "at least one condition holds (at least one)",
    "not": "the condition does not hold (an absent field counts as 'does not hold')",
}


def single_of(op: Op) -> Op | None:
    """The one-value operator of an operator taking several values (in → eq)."""
    return next((o.op for o in _DECLARED if o.several is op), None)


def values_of(op: Op) -> Op | None:
    """The operator taking values of an operator taking a reference list (in_list → in)."""
    return next((o.op for o in _DECLARED if o.listed is op), None)
