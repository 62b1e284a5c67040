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
from engine.errors import DiagnosticSink
from engine.normalize import NotExpressible

FACT_ROOT = "p"
FLAG = "rr_on"
DAY = "rr_day"
COUNT_SUFFIX = "__n"
MAX_ALTERNATIVES = 64

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
        alternatives = self.dnf(condition, FACT_ROOT, ())
        if len(alternatives) == 1:
            tests.extend(alternatives[0])
        else:
            tests.append({"$or": [_all_of(a) for a in alternatives]})
        return {"$and": tests}

    def dnf(self, cond: ast.Condition, prefix: str, scope: Scope) -> list[list[Expr]]:
        """The condition as alternatives (an OR of ANDs) in which no `$or` holds a list test.

        durable_rules 2.0.28 evaluates an `$or` inside a list test wrongly when one of its
        branches is itself a list test (`$iany`/`$iall`): a failing inner list test makes the
        whole `$or` fail (measured; covered by the differential test). So disjunctions that
        involve list tests are lifted out of list tests: some(L, a or b) = some(L, a) or
        some(L, b), up to the rule's top level, where durable_rules splits alternatives
        itself. `prefix` is where the scope lives in the fact (`p` or `$i`); `scope` is the
        chain of list paths leading to it (where `every` counts are placed).
        """
        if isinstance(cond, ast.Leaf):
            return [[self.leaf(cond, prefix, scope)]]
        if isinstance(cond, ast.Quantifier):
            return self.quantifier(cond, prefix, scope)
        if isinstance(cond, ast.All):
            result: list[list[Expr]] = [[]]
            for child in cond.items:
                result = [a + b for a in result for b in self.dnf(child, prefix, scope)]
                if len(result) > MAX_ALTERNATIVES:
                    raise NotExpressible(cond, f"this condition expands to more than "
                                         f"{MAX_ALTERNATIVES} alternatives; split the rule")
            return result
        if isinstance(cond, ast.Any):
            plain: list[Expr] = []
            lifted: list[list[Expr]] = []
            for child in cond.items:
                for alternative in self.dnf(child, prefix, scope):
                    if any(_has_list_test(e) for e in alternative):
                        lifted.append(alternative)
                    else:
                        plain.append(_all_of(alternative))
            return ([[_any_of(plain)]] if plain else []) + lifted
        raise TypeError(f"not a normalised condition: {cond!r}")  # Not never reaches here

    def _at(self, path: tuple[str, ...], prefix: str, scope: Scope) -> str:
        if not scope and path:
            self.out.top_fields.add(path[0])
        return ".".join((prefix, *path)) if path else prefix

    def quantifier(self, q: ast.Quantifier, prefix: str, scope: Scope) -> list[list[Expr]]:
        where = self._at(q.path, prefix, scope)
        inner = self.dnf(q.condition, "$i", (*scope, q.path))
        if q.kind == "some":
            return [[{"$iany": {where: _all_of(alternative)}}] for alternative in inner]
        if len(inner) > 1:
            raise NotExpressible(q, "'every' over a condition that offers a choice (any/not) "
                                 "between further list tests cannot be compiled: the matching "
                                 "core misreads it. Split the rule, or test the inner list "
                                 "with a separate rule")
        self.out.count_paths.add((scope, q.path))
        return [[{f"{prefix}.{count_key(q.path)}": 0}], [{"$iall": {where: _all_of(inner[0])}}]]

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


def _has_list_test(expr: Any) -> bool:
    if isinstance(expr, dict):
        return any(k in ("$iany", "$iall") or _has_list_test(v) for k, v in expr.items())
    if isinstance(expr, list):
        return any(_has_list_test(v) for v in expr)
    return False


def _any_of(tests: list[Expr]) -> Expr:
    return tests[0] if len(tests) == 1 else {"$or": tests}


def _all_of(tests: list[Expr]) -> Expr:
    return tests[0] if len(tests) == 1 else {"$and": tests}


def compile_rules(rules: tuple[ast.Rule, ...], conditions: dict[str, ast.Condition],
                  sink: DiagnosticSink | None = None) -> CompiledRules:
    """Compile every enabled rule; `conditions` are the normalised conditions by rule id.

    Inexpressible conditions become E019 diagnostics in `sink` (or raise NotExpressible when
    no sink is given) and their rules are left out.
    """
    out = CompiledRules()
    compiler = _Compiler(out)
    for rule in rules:
        if not rule.enabled or rule.id not in conditions:
            continue
        try:
            expr = compiler.rule(rule, conditions[rule.id])
        except NotExpressible as exc:
            if sink is None:
                raise
            sink.error("E019", f"rule {rule.id}: {exc}", exc.node.pos)
            continue
        name = f"r{rule.index}"
        out.definitions[name] = expr
        out.names[name] = rule.id
    return out
