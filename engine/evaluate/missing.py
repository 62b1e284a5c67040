"""Missing information: which absent fields decided the outcome of which rules.

A comparison on an absent field is false in the rule language, but a reviewer should know
that the field was not given rather than read the "no" as a fact. So each rule that reads an
absent field is read again in three-valued logic (absent → UNKNOWN) and the absent fields on
which its result depends are reported with the rule's id.

This runs on every assessment, so the conditions are compiled once per pack into closures
and only the rules that read some absent field are evaluated; the interpretive definition
that these closures must agree with is `engine.evaluate.reference.needed_absent_paths`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from enum import Enum
from typing import Any, Protocol

from engine.evaluate.explain import join
from engine.evaluate.semantics import MISSING, compile_holds, getter, leaf_test
from engine.language import syntax
from engine.language.contract import FieldSpec, Kind
from engine.language.operators import OPERATORS


class Truth(Enum):
    TRUE = 1
    FALSE = 0
    UNKNOWN = 2


Paths = frozenset[str]
Reading = tuple[Truth, Paths]
ThreeValued = Callable[[Any, str, "Absent"], Reading]
NO_PATHS: Paths = frozenset()
_FLIP = {Truth.TRUE: Truth.FALSE, Truth.FALSE: Truth.TRUE, Truth.UNKNOWN: Truth.UNKNOWN}
_TRUE, _FALSE = (Truth.TRUE, NO_PATHS), (Truth.FALSE, NO_PATHS)
# a test's reading on an absent field, by its operator's `on_absent` (exists, missing: decided)
_ABSENT_TRUTH = {None: Truth.UNKNOWN, True: Truth.TRUE, False: Truth.FALSE}
NO_RULES: frozenset[int] = frozenset()


class Absent(Protocol):
    """The set of absent fields (pattern form) a reading may skip by: only `isdisjoint`."""

    def isdisjoint(self, other: Iterable[str], /) -> bool: ...


class _AllAbsent:
    """Stands for "assume any field may be absent": nothing is skipped."""

    def isdisjoint(self, other: Iterable[str], /) -> bool:
        return False


ALL_ABSENT: Absent = _AllAbsent()


def compile_needed(cond: syntax.Condition, pattern: str = "") -> ThreeValued:
    """A function (data, prefix, absent) → the three-valued truth of the original (not
    normalised) condition and the absent fields, as indexed paths, that decided it.

    `pattern` is the condition's scope in pattern form (`counterparties[]`). A composite
    part that reads none of the `absent` fields cannot meet an absent value: it is read with
    a plain two-valued test, which is much cheaper than collecting paths item by item."""
    if isinstance(cond, syntax.Leaf):
        return _leaf(cond)
    full = _composite(cond, pattern)
    reads, holds = read_paths(cond, pattern), compile_holds(cond)

    def pruned(data: Any, prefix: str, absent: Absent) -> Reading:
        if absent.isdisjoint(reads):
            return _TRUE if holds(data) else _FALSE
        return full(data, prefix, absent)

    return pruned


# A part of `all`/`any`: the fields it reads (None for a test, whose reading is as cheap as
# its two-valued test), its two-valued test, and its three-valued reading. The loops below
# test `reads` against the absent fields themselves (what `compile_needed`'s `pruned` does)
# to save a call.
_Part = tuple[frozenset[str] | None, Callable[[Any], bool], ThreeValued]


def _part(cond: syntax.Condition, pattern: str) -> _Part:
    if isinstance(cond, syntax.Leaf):
        return None, compile_holds(cond), _leaf(cond)
    return read_paths(cond, pattern), compile_holds(cond), _composite(cond, pattern)


def _composite(cond: syntax.Condition, pattern: str) -> ThreeValued:
    if isinstance(cond, syntax.Not):
        inner = compile_needed(cond.item, pattern)

        def negated(data: Any, prefix: str, absent: Absent) -> Reading:
            truth, paths = inner(data, prefix, absent)
            return _FLIP[truth], paths

        return negated
    if isinstance(cond, syntax.Quantifier):
        return _quantifier(cond, pattern)
    assert isinstance(cond, syntax.All | syntax.Any)
    parts = tuple(_part(c, pattern) for c in cond.items)
    any_of = isinstance(cond, syntax.Any)
    decisive, other = (Truth.TRUE, Truth.FALSE) if any_of else (Truth.FALSE, Truth.TRUE)
    if _decides_without_paths(cond):
        # The same loop as over the items of a quantifier (`_quantifier`), written out in
        # both: feeding one loop from a generator cost 20 % of missing information.
        def first_decisive(data: Any, prefix: str, absent: Absent) -> Reading:
            unknown: Paths | None = None
            for reads, holds, part in parts:
                if reads is not None and absent.isdisjoint(reads):
                    if bool(holds(data)) is any_of:
                        return decisive, NO_PATHS
                    continue
                truth, paths = part(data, prefix, absent)
                if truth is decisive:
                    return truth, NO_PATHS
                if truth is Truth.UNKNOWN:
                    unknown = paths if unknown is None else unknown | paths
            return (other, NO_PATHS) if unknown is None else (Truth.UNKNOWN, unknown)

        return first_decisive

    # Parts that may carry absent fields when decided (those with `exists` or `missing`) are
    # read first, all of them; the others only until one decides (then they add no field).
    # The same result as `_combine` over every part, in that order or any other.
    plain = tuple(p for c, p in zip(cond.items, parts, strict=True) if _decides_without_paths(c))
    carrying = tuple(p for c, p in zip(cond.items, parts, strict=True)
                     if not _decides_without_paths(c))

    def combined(data: Any, prefix: str, absent: Absent) -> Reading:
        decided: Paths | None = None
        unknown: Paths | None = None
        every = NO_PATHS
        for reads, holds, part in carrying:
            if reads is not None and absent.isdisjoint(reads):
                if bool(holds(data)) is any_of:
                    decided = NO_PATHS if decided is None else decided
                continue
            truth, paths = part(data, prefix, absent)
            if truth is decisive:
                decided = paths if decided is None else decided | paths
            elif truth is Truth.UNKNOWN:
                unknown = paths if unknown is None else unknown | paths
            elif paths:
                every = every | paths
        if decided is not None:
            return decisive, decided
        for reads, holds, part in plain:
            if reads is not None and absent.isdisjoint(reads):
                if bool(holds(data)) is any_of:
                    return decisive, NO_PATHS
                continue
            truth, paths = part(data, prefix, absent)
            if truth is decisive:
                return decisive, NO_PATHS
            if truth is Truth.UNKNOWN:
                unknown = paths if unknown is None else unknown | paths
        if unknown is not None:
            return Truth.UNKNOWN, unknown
        return other, every

    return combined


def _decides_without_paths(cond: syntax.Condition) -> bool:
    """True when every TRUE or FALSE reading of `cond` comes with no absent field, so the
    first decisive part decides and the others need not be read.

    Only `exists` and `missing` are decided on an absent field (every other test is UNKNOWN
    there, and so is a quantifier over an absent list); `not` and the combinations keep a
    decided part's fields, and without such a test there are none (by induction)."""
    if isinstance(cond, syntax.Leaf):
        return OPERATORS[cond.op].on_absent is None
    if isinstance(cond, syntax.Not):
        return _decides_without_paths(cond.item)
    if isinstance(cond, syntax.Quantifier):
        return _decides_without_paths(cond.condition)
    return all(_decides_without_paths(c) for c in cond.items)


def _leaf(leaf: syntax.Leaf) -> ThreeValued:
    get, test, tail = getter(leaf.path), leaf_test(leaf), ".".join(leaf.path)
    # on an absent field, exists/missing are decided (by the absence); the others are not
    absent_truth = _ABSENT_TRUTH[OPERATORS[leaf.op].on_absent]

    def one_leaf(data: Any, prefix: str, absent: Absent) -> Reading:
        value = get(data)
        if value is not MISSING:
            return _TRUE if test(value) else _FALSE
        return absent_truth, frozenset((join(prefix, tail),))

    return one_leaf


def _quantifier(q: syntax.Quantifier, pattern: str) -> ThreeValued:
    tail = ".".join(q.path)
    get, per_item = getter(q.path), compile_needed(q.condition, f"{join(pattern, tail)}[]")
    any_of = q.kind == "some"
    if _decides_without_paths(q.condition):
        decisive, other = (Truth.TRUE, Truth.FALSE) if any_of else (Truth.FALSE, Truth.TRUE)

        def first_decisive_item(data: Any, prefix: str, absent: Absent) -> Reading:
            items = get(data)
            where = join(prefix, tail)
            if items is MISSING:
                return Truth.UNKNOWN, frozenset((where,))
            unknown: Paths | None = None
            for i, item in enumerate(items if isinstance(items, list) else ()):
                truth, paths = per_item(item, f"{where}[{i}]", absent)
                if truth is decisive:
                    return truth, NO_PATHS
                if truth is Truth.UNKNOWN:
                    unknown = paths if unknown is None else unknown | paths
            return (other, NO_PATHS) if unknown is None else (Truth.UNKNOWN, unknown)

        return first_decisive_item

    def over_items(data: Any, prefix: str, absent: Absent) -> Reading:
        items = get(data)
        where = join(prefix, tail)
        if items is MISSING:
            return Truth.UNKNOWN, frozenset((where,))
        if not isinstance(items, list):
            items = []
        return _combine([per_item(item, f"{where}[{i}]", absent)
                         for i, item in enumerate(items)], any_of=any_of)

    return over_items


def _combine(readings: Sequence[Reading], *, any_of: bool) -> Reading:
    """`any`/`some` (any_of) or `all`/`every`: a decisive part (TRUE for any, FALSE for all)
    decides with the fields of every decisive part; else an UNKNOWN part leaves the result
    unknown, blamed on the unknown parts' fields; else the other value, with all fields."""
    decisive = Truth.TRUE if any_of else Truth.FALSE
    decided: Paths | None = None
    unknown: Paths | None = None
    every = NO_PATHS
    for truth, paths in readings:
        if truth is decisive:
            decided = paths if decided is None else decided | paths
        elif truth is Truth.UNKNOWN:
            unknown = paths if unknown is None else unknown | paths
        elif paths:
            every |= paths
    if decided is not None:
        return decisive, decided
    if unknown is not None:
        return Truth.UNKNOWN, unknown
    return (Truth.FALSE if any_of else Truth.TRUE), every


def read_paths(cond: syntax.Condition, prefix: str = "") -> frozenset[str]:
    """Every field path a condition reads, with its ancestors, in pattern form
    (`counterparties[].owners[].country`): a rule that reads no absent field needs no
    three-valued reading."""
    out: set[str] = set()
    if isinstance(cond, syntax.Leaf):
        out.add(join(prefix, ".".join(cond.path)))
    elif isinstance(cond, syntax.Quantifier):
        where = join(prefix, ".".join(cond.path))
        out.add(where)
        out |= read_paths(cond.condition, f"{where}[]")
    elif isinstance(cond, syntax.Not):
        out |= read_paths(cond.item, prefix)
    else:
        for item in cond.items:
            out |= read_paths(item, prefix)
    with_ancestors: set[str] = set()
    for path in out:
        parts = path.split(".")
        for i in range(1, len(parts) + 1):
            with_ancestors.add(".".join(parts[:i]).removesuffix("[]"))
    return frozenset(with_ancestors)


# One step of the absent-field walk: field name, how to descend, the steps below it (for an
# object, or for each object of a list). One list of steps per object type (shared, so that a
# type nesting itself, an owner's owners, plans once); paths are built while walking.
class _Descend(Enum):
    LEAF = "leaf"
    OBJECT = "object"
    ITEMS = "items"


_Step = tuple[str, _Descend, "list[_Step]"]
_LEAF, _OBJECT, _ITEMS = _Descend.LEAF, _Descend.OBJECT, _Descend.ITEMS


def _plan(spec: FieldSpec, plans: dict[int, list[_Step]] | None = None) -> list[_Step]:
    plans = {} if plans is None else plans
    found = plans.get(id(spec.fields))
    if found is not None:
        return found
    steps: list[_Step] = []
    plans[id(spec.fields)] = steps
    for name, sub in spec.fields.items():
        if sub.kind is Kind.OBJECT:
            steps.append((name, _OBJECT, _plan(sub, plans)))
        elif sub.kind is Kind.LIST and sub.item is not None and sub.item.kind is Kind.OBJECT:
            steps.append((name, _ITEMS, _plan(sub.item, plans)))
        else:
            steps.append((name, _LEAF, []))
    return steps


def _walk(steps: list[_Step], data: Any, prefix: str, out: set[str]) -> None:
    scope = data if isinstance(data, dict) else {}
    for name, descend, below in steps:
        value = scope.get(name)
        if value is None:
            out.add(prefix + name)
        elif descend is _OBJECT:
            _walk(below, value, f"{prefix}{name}.", out)
        elif descend is _ITEMS and isinstance(value, list):
            for item in value:
                _walk(below, item, f"{prefix}{name}[].", out)


class MissingInformation:
    """`missing(data, day)`: the absent fields that decided some rule active on `day`, each
    with those rules' ids, sorted by path; compiled once for a pack's rules and contract."""

    def __init__(self, rules: Sequence[syntax.Rule], contract: FieldSpec) -> None:
        self._rules = tuple(rules)
        self._plan = _plan(contract)
        self._needed = tuple(compile_needed(rule.when) for rule in self._rules)
        readers: dict[str, set[int]] = {}
        for index, rule in enumerate(self._rules):
            for path in read_paths(rule.when):
                readers.setdefault(path, set()).add(index)
        self._readers = {path: frozenset(ids) for path, ids in readers.items()}

    def absent(self, data: Any) -> set[str]:
        """The topmost absent fields of the contract in `data`, in pattern form."""
        out: set[str] = set()
        _walk(self._plan, data, "", out)
        return out

    def readings(self, data: Any, day: dt.date) -> tuple[Absent, list[tuple[syntax.Rule, Reading]]]:
        """The absent fields of `data` and, for each rule active on `day` that reads one of
        them, its three-valued reading (rules that read no absent field are two-valued: not
        listed)."""
        absent = self.absent(data)
        candidates: set[int] = set()
        for path in absent:
            candidates |= self._readers.get(path, NO_RULES)
        out: list[tuple[syntax.Rule, Reading]] = []
        for index in sorted(candidates):
            rule = self._rules[index]
            if rule.active_on(day):
                out.append((rule, self._needed[index](data, "", absent)))
        return absent, out

    def __call__(self, data: Any, day: dt.date) -> tuple[tuple[str, tuple[str, ...]], ...]:
        return needed_by_path(self.readings(data, day)[1])


def needed_by_path(readings: Iterable[tuple[syntax.Rule, Reading]]
                   ) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Missing information from rule readings: each absent field that decided some rule, with
    those rules' ids (in reading order), sorted by path."""
    needed: dict[str, list[str]] = {}
    for rule, (_, paths) in readings:
        for path in paths:
            needed.setdefault(path, []).append(rule.id)
    return tuple((p, tuple(ids)) for p, ids in sorted(needed.items()))
