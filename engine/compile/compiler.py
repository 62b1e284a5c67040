"""Compiles normalised rule conditions into durable_rules condition expressions.

Fact layout (built by `engine.compile.facts`): the proposal lives under `p` so that no user field can
collide with durable_rules' own `sid` and `id`; `rr_day` is the assessment date as YYYYMMDD.

Every rule starts with two positive group-flag tests (`rr_a<n> == 1`, `rr_b<m> == 1`; the fact
sets every flag). They do two jobs. A positive test keeps durable_rules away from the
negation-only rules that hang it. And they shape its alpha network as a tree of fan-out ≤ 8:
durable_rules walks that network with a fixed stack of 64 pending nodes and fails with
error 303 (ERR_MAX_STACK_SIZE) when more than 64 tests match below one node, which a flat
pack of ~80 rules already reaches (measured on the bundled pack). The window tests make
`effective_from`/`effective_until` part of the match itself.

`every` compiles to `count == 0 OR all items pass`, because durable_rules' `$iall` is false on
an empty list; the fact builder adds the counts the compiled rules ask for, as a flat key
`a__b__n` on the scope object (the proposal, or a list item), 0 when the list is absent.
Such keys cannot clash with input: the contract refuses unknown fields.

Set membership (`in`, `not_in`, `in_list`, `not_in_list` on a field) is decided the same way
as `matches`: the fact builder puts the verdict beside the value, as a flat key `a__b__s<k>`
(true or false; absent when the value is absent), and the compiled rule tests that one scalar.
Written out for the core, a reference list of 38 countries was a chain of 38 `$neq` nodes (or
an `$or` of 38 branches) walked for every item of every list test that reads it, the largest
single cost of a match on the bundled pack. Quantifiers, `all`/`any`, comparisons and windows
stay in the core.

Within every conjunction, tests that walk no list come before list tests: the core evaluates a
conjunction as a chain and stops at the first test that fails, and a list test re-reads every
item of its list.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from engine.codes import Code
from engine.compile.layout import MARKER, Layout, encode
from engine.compile.matcher import fits_core
from engine.errors import DiagnosticSink
from engine.language import syntax
from engine.language.operators import OPERATORS, Admits, Expr, Operand, Operator, all_of, any_of

FACT_ROOT = "p"
GROUP_FLAGS = ("rr_a", 64), ("rr_b", 8)
DAY = "rr_day"
COUNT_SUFFIX = "__n"
MEMBER_SUFFIX = "__s"
MAX_ALTERNATIVES = 64

Scope = tuple[tuple[str, ...], ...]


class NotExpressible(Exception):
    """A construct durable_rules cannot run; carries the offending node."""

    def __init__(self, node: syntax.Condition, message: str) -> None:
        super().__init__(message)
        self.node = node


def count_key(path: tuple[str, ...]) -> str:
    return "__".join(path) + COUNT_SUFFIX


def pattern_key(path: tuple[str, ...], index: int) -> str:
    return "__".join(path or ("item",)) + f"__m{index}"


def member_key(path: tuple[str, ...], index: int) -> str:
    return "__".join(path) + f"{MEMBER_SUFFIX}{index}"


@dataclass(frozen=True, order=True)
class Derived:
    """A value the fact builder computes and puts beside the data, on every scope object
    reached through `chain` (a chain of list paths from the proposal): the length of the list
    at `path` (kind "count"), whether the text at `path` fully matches `pattern` ("pattern";
    absent when the text is absent), or whether the value at `path` is one of `values`
    ("member"; absent when the value is absent). `key` is its name in the fact."""

    chain: tuple[tuple[str, ...], ...]
    path: tuple[str, ...]
    kind: str
    key: str
    pattern: str = ""
    values: tuple[Any, ...] = ()


@dataclass
class CompiledRules:
    """What the matcher and the fact builder need from a compiled pack."""

    definitions: dict[str, Expr] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # durable rule name -> rule id
    flags: set[str] = field(default_factory=set)
    derived: set[Derived] = field(default_factory=set)
    patterns: dict[str, int] = field(default_factory=dict)
    value_sets: dict[frozenset[tuple[bool, Any]], int] = field(default_factory=dict)
    layout: Layout = field(default_factory=lambda: Layout(FACT_ROOT))
    markers: int = 0  # marker fields of marked choices handed out


def day_number(day: dt.date) -> int:
    return day.year * 10000 + day.month * 100 + day.day


class _Compiler:
    def __init__(self, out: CompiledRules) -> None:
        self.out = out

    def rule(self, rule: syntax.Rule, condition: syntax.Condition, sequence: int,
             lift: bool = False) -> Expr:
        tests: list[Expr] = []
        for flag, size in GROUP_FLAGS:
            name = f"{flag}{sequence // size}"
            self.out.flags.add(name)
            tests.append({name: 1})
        if rule.effective_from:
            tests.append({"$gte": {DAY: day_number(rule.effective_from)}})
        if rule.effective_until:
            tests.append({"$lte": {DAY: day_number(rule.effective_until)}})
        alternatives = self.dnf(condition, FACT_ROOT, (), lift)
        if len(alternatives) == 1:
            tests.extend(cheap_first(alternatives[0]))
        else:
            tests.append({"$or": [all_of(a) for a in alternatives]})
        return {"$and": tests}

    def dnf(self, cond: syntax.Condition, prefix: str, scope: Scope,
            lift: bool = False) -> list[list[Expr]]:
        """The condition as alternatives (an OR of ANDs) that durable_rules evaluates right.

        Measured on durable_rules 2.0.28 (and covered by the differential test): at the top
        of a rule, `$or` is sound (it is split into alternatives); but inside a list test
        (`$iany`/`$iall`) an `$or` whose alternatives start with tests on *different* fields
        returns the verdict of whichever field comes last in the fact, and an `$or` holding a
        nested list test fails whenever that inner test fails: the core tries the tests
        keyed by the item's fields one after the other and keeps the last verdict. It does
        take the first that holds among tests for an *absent* field (`$nex`), so inside list
        tests a choice between different fields is a marked choice (`marked_choice`): each
        alternative starts with its own `$nex` on a field no item has. An `$or` of tests on
        one field is left as it is.

        With `lift` (the inner condition of `every`, and a rule too large for the core as
        marked choices), choices between fields are instead lifted out of the list test:
        some(L, a or b) = some(L, a) or some(L, b), up to the top of the rule; `every`
        cannot be split that way and refuses such conditions (NotExpressible), as it always
        did.

        `prefix` is where the scope lives in the fact (`p` or `$i`); `scope` is the chain of
        list paths leading to it (where `every` counts are placed).
        """
        if isinstance(cond, syntax.Leaf):
            return [[self.leaf(cond, prefix, scope)]]
        if isinstance(cond, syntax.Quantifier):
            return self.quantifier(cond, prefix, scope, lift)
        if isinstance(cond, syntax.All):
            result: list[list[Expr]] = [[]]
            for child in cond.items:
                result = [a + b for a in result for b in self.dnf(child, prefix, scope, lift)]
                if len(result) > MAX_ALTERNATIVES:
                    raise NotExpressible(cond, f"this condition expands to more than "
                                         f"{MAX_ALTERNATIVES} alternatives; split the rule")
            return result
        if isinstance(cond, syntax.Any):
            alternatives = [a for child in cond.items
                            for a in self.dnf(child, prefix, scope, lift)]
            if not scope:
                return [[any_of([all_of(cheap_first(a)) for a in alternatives])]]
            return self.choice(alternatives, prefix, lift)
        raise TypeError(f"not a normalised condition: {cond!r}")  # Not never reaches here

    def choice(self, alternatives: list[list[Expr]], prefix: str,
               lift: bool) -> list[list[Expr]]:
        """A choice between `alternatives` inside a list test: tests on one field grouped in
        one `$or`; the rest lifted out (`lift`) or made one marked choice with the groups."""
        by_field: dict[str, list[Expr]] = {}
        others: list[list[Expr]] = []
        for alternative in alternatives:
            expr = all_of(alternative)
            fields = _fields(expr)
            if len(fields) == 1 and not _has_list_test(expr):
                by_field.setdefault(next(iter(fields)), []).append(expr)
            else:
                others.append(alternative)
        groups = [any_of(group) for group in by_field.values()]
        if lift:
            return [[group] for group in groups] + others
        choices = groups + [all_of(cheap_first(other)) for other in others]
        return [[choices[0] if len(choices) == 1 else self.marked_choice(choices, prefix)]]

    def marked_choice(self, choices: list[Expr], prefix: str) -> Expr:
        """`$or` of `choices`, each behind a test that its own marker field is absent (no item
        has one): inside a list test the core then takes the first alternative that holds."""
        branches = []
        for choice in choices:
            marker = {"$nex": {f"{prefix}.{MARKER}{self.out.markers}": 1}}
            self.out.markers += 1
            branches.append(all_of([marker, choice]))
        return {"$or": branches}

    def _at(self, path: tuple[str, ...], prefix: str, scope: Scope) -> str:
        return ".".join((prefix, *path)) if path else prefix

    def quantifier(self, q: syntax.Quantifier, prefix: str, scope: Scope,
                   lift: bool) -> list[list[Expr]]:
        where = self._at(q.path, prefix, scope)
        if q.kind == "some":
            inner = self.dnf(q.condition, "$i", (*scope, q.path), lift)
            return [[{"$iany": {where: all_of(cheap_first(alternative))}}]
                    for alternative in inner]
        inner = self.dnf(q.condition, "$i", (*scope, q.path), lift=True)
        if len(inner) > 1:
            raise NotExpressible(q, "'every' over a choice (any, or not over all) between "
                                 "tests on different fields or further list tests cannot be "
                                 "compiled: the matching core misreads it. Split it into "
                                 "separate rules, or use one every per field")
        key = count_key(q.path)
        self.out.derived.add(Derived(scope, q.path, "count", key))
        alternatives: list[list[Expr]] = [[{f"{prefix}.{key}": 0}],
                                          [{"$iall": {where: all_of(cheap_first(inner[0]))}}]]
        if not scope or lift:
            return alternatives
        return self.choice(alternatives, prefix, lift)

    def _pattern_flag(self, leaf: syntax.Leaf, prefix: str, scope: Scope) -> str:
        """`matches` is decided by Python's `re` in the fact builder and tested here as a flag:
        durable_rules' own `$mt` automaton gives wrong answers on ordinary patterns (e.g.
        `.*[Ll]aunch.*` does not match "launch deal"; measured), so it is never used."""
        pattern = str(leaf.value)
        index = self.out.patterns.setdefault(pattern, len(self.out.patterns))
        key = pattern_key(leaf.path, index)
        self.out.derived.add(Derived(scope, leaf.path, "pattern", key, pattern))
        return f"{prefix}.{key}"

    def _member_flag(self, leaf: syntax.Leaf, prefix: str, scope: Scope) -> str:
        """Membership of the value at the leaf's path in the leaf's values, decided by the
        fact builder (type-tagged, as `operators.member`) and tested here as a flag."""
        index = self.out.value_sets.setdefault(leaf.members, len(self.out.value_sets))
        key = member_key(leaf.path, index)
        self.out.derived.add(Derived(scope, leaf.path, "member", key,
                                     values=tuple(sorted(leaf.members, key=repr))))
        return f"{prefix}.{key}"

    def leaf(self, leaf: syntax.Leaf, prefix: str, scope: Scope) -> Expr:
        operator = OPERATORS[leaf.op]
        if operator.operand is Operand.PATTERN:
            return operator.compile(self._pattern_flag(leaf, prefix, scope), leaf)
        if is_membership(operator) and leaf.path:
            return {self._member_flag(leaf, prefix, scope): operator.admits is Admits.ONE_OF}
        return operator.compile(self._at(leaf.path, prefix, scope), leaf)


def is_membership(operator: Operator) -> bool:
    """`in`, `not_in`, `in_list`, `not_in_list`: a value tested against a set of values."""
    return operator.admits is not None and operator.operand in (Operand.VALUES,
                                                                Operand.LIST_NAME)


def cheap_first(tests: list[Expr]) -> list[Expr]:
    """The conjuncts with those that walk no list first (the order is otherwise kept)."""
    return sorted(tests, key=_has_list_test)


def _fields(expr: Any) -> set[str]:
    """The fact fields an expression tests (a list test counts as its list field)."""
    out: set[str] = set()
    for key, value in expr.items():
        if key in ("$and", "$or"):
            for item in value:
                out |= _fields(item)
        elif key.startswith("$") and key != "$i" and isinstance(value, dict):
            out |= set(value)
        else:
            out.add(key)
    return out


def _has_list_test(expr: Any) -> bool:
    if isinstance(expr, dict):
        return any(k in ("$iany", "$iall") or _has_list_test(v) for k, v in expr.items())
    if isinstance(expr, list):
        return any(_has_list_test(v) for v in expr)
    return False


def compile_rules(rules: tuple[syntax.Rule, ...], conditions: dict[str, syntax.Condition],
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
            expr = compiler.rule(rule, conditions[rule.id], len(out.definitions))
            if not fits_core(expr):  # lifted choices can be split into several core rules
                expr = compiler.rule(rule, conditions[rule.id], len(out.definitions), lift=True)
        except NotExpressible as exc:
            if sink is None:
                raise
            sink.error(Code.NOT_EXPRESSIBLE, f"rule {rule.id}: {exc}", exc.node.pos)
            continue
        name = f"r{rule.index}"
        out.definitions[name] = expr
        out.names[name] = rule.id
    out.definitions, out.layout = encode(out.definitions, FACT_ROOT,
                                         {(d.chain, d.key) for d in out.derived})
    return out
