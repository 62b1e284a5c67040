"""Rewrites conditions into negation-free form, the only form durable_rules can express.

`not` is pushed down to complementary leaf tests, keeping the language's rule that a test on
an absent field is false: `not (x eq v)` holds when x is absent, so it becomes
`x ne v or x missing`. Quantifiers swap (`not some` = `every not`), and `every` is vacuously
true on an empty or absent list, which makes the swap exact. `not matches` becomes the
internal `not_matches` (present and not matching) or `missing`.
"""

from __future__ import annotations

from engine import syntax
from engine.errors import DiagnosticSink

_COMPLEMENT = {
    "eq": "ne", "ne": "eq", "lt": "gte", "gte": "lt", "gt": "lte", "lte": "gt",
    "in": "not_in", "not_in": "in", "in_list": "not_in_list", "not_in_list": "in_list",
}


class NotExpressible(Exception):
    """A construct durable_rules cannot run; carries the offending node."""

    def __init__(self, node: syntax.Condition, message: str) -> None:
        super().__init__(message)
        self.node = node


def normalize(cond: syntax.Condition) -> syntax.Condition:
    """Negation-free, flattened equivalent of `cond`. Raises NotExpressible."""
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
    if leaf.op == "exists":
        return syntax.Leaf("missing", leaf.path, pos=leaf.pos)
    if leaf.op == "missing":
        return syntax.Leaf("exists", leaf.path, pos=leaf.pos)
    if leaf.op in ("matches", "not_matches"):
        other = "not_matches" if leaf.op == "matches" else "matches"
        return syntax.Any((syntax.Leaf(other, leaf.path, value=leaf.value, pos=leaf.pos),
                        syntax.Leaf("missing", leaf.path, pos=leaf.pos)), leaf.pos)
    if leaf.op in ("contains", "contains_any"):
        # not (list contains x) = every item differs (true for an empty or absent list)
        item_op = "ne" if leaf.op == "contains" else "not_in"
        inner = syntax.Leaf(item_op, (), value=leaf.value, values=leaf.values, pos=leaf.pos)
        return syntax.Quantifier("every", leaf.path, inner, leaf.pos)
    complement = syntax.Leaf(_COMPLEMENT[leaf.op], leaf.path, value=leaf.value, values=leaf.values,
                          list_name=leaf.list_name, pos=leaf.pos)
    if not leaf.path:
        return complement  # a list item itself is never absent
    return syntax.Any((complement, syntax.Leaf("missing", leaf.path, pos=leaf.pos)), leaf.pos)


def normalize_rules(rules: tuple[syntax.Rule, ...], sink: DiagnosticSink) -> dict[str, syntax.Condition]:
    """Normalised condition of each rule by id; inexpressible ones become E019 diagnostics."""
    out: dict[str, syntax.Condition] = {}
    for rule in rules:
        try:
            out[rule.id] = normalize(rule.when)
        except NotExpressible as exc:
            sink.error("E019", str(exc), exc.node.pos)
    return out
