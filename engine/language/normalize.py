"""Rewrites conditions into negation-free form, the only form durable_rules can express.

`not` is pushed down to complementary leaf tests, keeping the language's rule that a test on
an absent field is false: `not (x eq v)` holds when x is absent, so it becomes
`x ne v or x missing`. Quantifiers swap (`not some` = `every not`), and `every` is vacuously
true on an empty or absent list, which makes the swap exact. `not matches` becomes the
internal `not_matches` (present and not matching) or `missing`. Each operator's complement is
declared with it (`engine.language.operators`).
"""

from __future__ import annotations

from engine.language import syntax
from engine.language.operators import OPERATORS, Op


def normalize(cond: syntax.Condition) -> syntax.Condition:
    """Negation-free, flattened equivalent of `cond` (every condition has one)."""
    if isinstance(cond, syntax.Leaf):
        return cond
    if isinstance(cond, syntax.Not):
        return _negate(cond.item)
    if isinstance(cond, syntax.Quantifier):
        return syntax.Quantifier(cond.kind, cond.path, normalize(cond.condition), cond.pos)
    items = _flatten(type(cond), [normalize(i) for i in cond.items])
    if len(items) == 1:
        return items[0]
    return type(cond)(tuple(items), cond.pos)


def _flatten(kind: type[syntax.All] | type[syntax.Any],
             items: list[syntax.Condition]) -> list[syntax.Condition]:
    out: list[syntax.Condition] = []
    for item in items:
        for sub in (item.items if isinstance(item, kind) else (item,)):
            if sub not in out:
                out.append(sub)
    return out


def _negate(cond: syntax.Condition) -> syntax.Condition:
    if isinstance(cond, syntax.Not):
        return normalize(cond.item)
    if isinstance(cond, syntax.All):
        return normalize(syntax.Any(tuple(syntax.Not(i, i.pos) for i in cond.items), cond.pos))
    if isinstance(cond, syntax.Any):
        return normalize(syntax.All(tuple(syntax.Not(i, i.pos) for i in cond.items), cond.pos))
    if isinstance(cond, syntax.Quantifier):
        other = "every" if cond.kind == "some" else "some"
        return syntax.Quantifier(other, cond.path, _negate(cond.condition), cond.pos)
    return _negate_leaf(cond)


def _negate_leaf(leaf: syntax.Leaf) -> syntax.Condition:
    """The complement of a written test; each part keeps the test it negates (`negates`), so
    that evidence shows the condition as the analyst wrote it."""
    written = leaf if leaf.negates is None else None  # a negated negation reads as itself
    operator = OPERATORS[leaf.op]
    if operator.per_item:  # not (list contains x) = every item differs (true when empty)
        inner = syntax.Leaf(operator.complement, (), value=leaf.value, values=leaf.values,
                            pos=leaf.pos)
        return syntax.Quantifier("every", leaf.path, inner, leaf.pos, negates=written)
    complement = syntax.Leaf(operator.complement, leaf.path, value=leaf.value,
                             values=leaf.values, list_name=leaf.list_name, pos=leaf.pos,
                             negates=written)
    if operator.on_absent is not None or not leaf.path:
        return complement  # exists/missing decide absence; a list item is never absent
    absent = syntax.Leaf(Op.MISSING, leaf.path, pos=leaf.pos, negates=written)
    return syntax.Any((complement, absent), leaf.pos)


def normalize_rules(rules: tuple[syntax.Rule, ...]) -> dict[str, syntax.Condition]:
    """Normalised condition of each rule by id (what durable_rules cannot run is refused when
    compiling, `engine.compile.compiler.NotExpressible`)."""
    return {rule.id: normalize(rule.when) for rule in rules}
