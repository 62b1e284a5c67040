"""Compiles normalised rule conditions into durable_rules condition expressions.

Fact layout (built by `engine.facts`): the proposal lives under `p` so that no user field can
collide with durable_rules' own `sid` and `id`; `rr_on` is always 1 and `rr_day` is the
assessment date as YYYYMMDD. Every rule is `rr_on == 1 AND <window> AND <condition>`: the
positive `rr_on` test keeps durable_rules from the negation-only rules that hang it, and the
window makes `effective_from`/`effective_until` part of the match itself.

`every` compiles to `count == 0 OR all items pass`, because durable_rules' `$iall` is false on
an empty list; the fact builder adds the counts the compiled rules ask for, as a flat key
`a__b__n` on the scope object (the proposal, or a list item), 0 when the list is absent.
Such keys cannot clash with input: the contract refuses unknown fields.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from engine import ast

FACT_ROOT = "p"
FLAG = "rr_on"
DAY = "rr_day"
COUNT_SUFFIX = "__n"

Expr = dict[str, Any]
Scope = tuple[tuple[str, ...], ...]


def count_key(path: tuple[str, ...]) -> str:
    return "__".join(path) + COUNT_SUFFIX


@dataclass
class CompiledRules:
    """What the matcher and the fact builder need from a compiled pack."""

    definitions: dict[str, Expr] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # durable rule name -> rule id
    top_fields: set[str] = field(default_factory=set)
    # (chain of list paths from the proposal down to the scope, list path within the scope)
    count_paths: set[tuple[tuple[tuple[str, ...], ...], tuple[str, ...]]] = field(
        default_factory=set)


def day_number(day: dt.date) -> int:
    return day.year * 10000 + day.month * 100 + day.day


class _Compiler:
    def __init__(self, out: CompiledRules) -> None:
        self.out = out

    def rule(self, rule: ast.Rule, condition: ast.Condition) -> Expr:
        tests: list[Expr] = [{FLAG: 1}]
        if rule.effective_from:
            tests.append({"$gte": {DAY: day_number(rule.effective_from)}})
        if rule.effective_until:
            tests.append({"$lte": {DAY: day_number(rule.effective_until)}})
        body = self.cond(condition, FACT_ROOT, ())
        tests.extend(body["$and"] if set(body) == {"$and"} else [body])
        return {"$and": tests}

    def cond(self, cond: ast.Condition, prefix: str, scope: Scope) -> Expr:
        """`prefix` is where the scope lives in the fact (`p` or `$i`); `scope` is the chain of
        list paths leading to it, used to place the counts `every` needs."""
        if isinstance(cond, ast.All):
            return {"$and": [self.cond(c, prefix, scope) for c in cond.items]}
        if isinstance(cond, ast.Any):
            return {"$or": [self.cond(c, prefix, scope) for c in cond.items]}
        if isinstance(cond, ast.Quantifier):
            return self.quantifier(cond, prefix, scope)
        if isinstance(cond, ast.Leaf):
            return self.leaf(cond, prefix, scope)
        raise TypeError(f"not a normalised condition: {cond!r}")  # Not never reaches here

    def _at(self, path: tuple[str, ...], prefix: str, scope: Scope) -> str:
        if not scope and path:
            self.out.top_fields.add(path[0])
        return ".".join((prefix, *path)) if path else prefix

    def quantifier(self, q: ast.Quantifier, prefix: str, scope: Scope) -> Expr:
        where = self._at(q.path, prefix, scope)
        inner = self.cond(q.condition, "$i", (*scope, q.path))
        if q.kind == "some":
            return {"$iany": {where: inner}}
        self.out.count_paths.add((scope, q.path))
        return {"$or": [{f"{prefix}.{count_key(q.path)}": 0}, {"$iall": {where: inner}}]}

    def leaf(self, leaf: ast.Leaf, prefix: str, scope: Scope) -> Expr:
        where = self._at(leaf.path, prefix, scope)
        op = leaf.op
        if op == "eq":
            return {where: leaf.value}
        if op == "ne":
            return {"$neq": {where: leaf.value}}
        if op in ("lt", "lte", "gt", "gte"):
            return {f"${op}": {where: leaf.value}}
        if op in ("in", "in_list"):
            return _any_of([{where: v} for v in leaf.values])
        if op in ("not_in", "not_in_list"):
            return _all_of([{"$neq": {where: v}} for v in leaf.values])
        if op == "contains":
            return {"$iany": {where: {"$i": leaf.value}}}
        if op == "contains_any":
            return {"$iany": {where: _any_of([{"$i": v} for v in leaf.values])}}
        if op == "matches":
            return {"$mt": {where: leaf.value}}
        if op == "exists":
            return {"$ex": {where: 1}}
        if op == "missing":
            return {"$nex": {where: 1}}
        raise ValueError(f"unknown operator {op}")


def _any_of(tests: list[Expr]) -> Expr:
    return tests[0] if len(tests) == 1 else {"$or": tests}


def _all_of(tests: list[Expr]) -> Expr:
    return tests[0] if len(tests) == 1 else {"$and": tests}


def compile_rules(rules: tuple[ast.Rule, ...], conditions: dict[str, ast.Condition]) -> CompiledRules:
    """Compile every enabled rule; `conditions` are the normalised conditions by rule id."""
    out = CompiledRules()
    compiler = _Compiler(out)
    for rule in rules:
        if not rule.enabled or rule.id not in conditions:
            continue
        name = f"r{rule.index}"
        out.definitions[name] = compiler.rule(rule, conditions[rule.id])
        out.names[name] = rule.id
    return out
