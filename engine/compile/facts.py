"""Builds the fact asserted into durable_rules from an (enriched) proposal, in the layout of
the compiled pack (engine.compile.layout): only what some compiled rule reads, each value under its
short key in a flat object per scope, with the values the compiled rules ask the builder to
compute (engine.compile.compiler.Derived): list counts where `every` needs them, the verdicts of
`matches` patterns and of set membership tests.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import Any

from engine.compile.compiler import DAY, CompiledRules, Derived, day_number
from engine.compile.layout import Path, Scope
from engine.evaluate.semantics import MISSING, lookup

Verdict = Callable[[Any], Any]  # the value at a path (MISSING when absent) -> derived value
_ABSENT: Any = object()


class _Plan:
    """How to lay out one scope object. Per value read from the data: its key (None when
    only copies of a list are given), the first segment and the rest of its path, the plan
    of its items (a walked list of objects), the copies of the list (key, item keys kept) and
    whether only its presence is tested. Per path, the derived values computed from it:
    their keys and verdicts."""

    __slots__ = ("computed", "reads", "whole")

    def __init__(self, scope: Scope, derived: dict[tuple[tuple[Path, ...], str], Derived]) -> None:
        self.whole = scope.whole
        self.reads: list[tuple[str | None, str, Path, _Plan | None,
                               list[tuple[str, frozenset[str]]], bool]] = []
        for path, key in scope.keys.items():
            items = scope.lists.get(path)
            plan = None if items is None or items.whole else _Plan(items, derived)
            copies = [(copy, keys) for keys, copy in scope.projections.get(path, {}).items()]
            given = not copies or path in scope.tested
            self.reads.append((key if given else None, path[0], path[1:], plan, copies,
                               path not in scope.valued and (items is None or bool(copies))))
        by_path: dict[Path, list[tuple[str, Verdict]]] = {}
        for name, key in scope.computed.items():
            found = derived[(scope.chain, name)]
            by_path.setdefault(found.path, []).append((key, _verdict(found)))
        self.computed = list(by_path.items())

    # Complexity D (24, radon), kept in one piece: the per-evaluation hot path, one loop over the
    # planned reads with its branches inline (a call per field would cost more than the read).
    def lay_out(self, data: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, first, rest, items, copies, presence in self.reads:
            if first not in data:
                continue
            value = data[first]
            if rest:
                value = _at(value, rest)
                if value is _ABSENT:
                    continue
            if items is not None and isinstance(value, list):
                value = [items.lay_out(i) if isinstance(i, dict) else i for i in value]
                for copy, keep in copies:
                    out[copy] = [{k: i[k] for k in keep if k in i} if isinstance(i, dict) else i
                                 for i in value]
            elif copies:  # not a list: no item to walk, as it is for each copy
                for copy, _ in copies:
                    out[copy] = value
            if key is None:
                continue
            if presence and isinstance(value, dict | list):
                value = type(value)()
            out[key] = value
        for path, verdicts in self.computed:
            if len(path) == 1:  # `lookup` of one segment, written out
                found = data.get(path[0], MISSING)
                if found is None:
                    found = MISSING
            else:
                found = lookup(data, path)
            for key, verdict in verdicts:
                found_value = verdict(found)
                if found_value is not None:
                    out[key] = found_value
        return out


def _at(data: Any, path: Path) -> Any:
    """The value at `path` (None included: the core sees a null as present), or _ABSENT."""
    value: Any = data
    for segment in path:
        if not isinstance(value, dict) or segment not in value:
            return _ABSENT
        value = value[segment]
    return value


def _verdict(derived: Derived) -> Verdict:
    """The derived value from the value at its path (MISSING when absent); None: not set."""
    if derived.kind == "count":
        return lambda found: len(found) if isinstance(found, list) else 0
    if derived.kind == "pattern":
        pattern = re.compile(derived.pattern, re.DOTALL)
        return lambda found: pattern.fullmatch(found) is not None \
            if isinstance(found, str) else None
    members = frozenset(derived.values)
    if all(is_bool is False and type(v) is str for is_bool, v in members):
        strings = frozenset(v for _, v in members)
        return lambda found: None if found is MISSING else \
            (isinstance(found, str) and found in strings)

    def member(found: Any) -> Any:
        if found is MISSING:
            return None
        try:
            return (isinstance(found, bool), found) in members
        except TypeError:  # unhashable: a list or object where a plain value was expected
            return False
    return member


class FactBuilder:
    """Builds facts for one compiled pack; what does not depend on the proposal (what to keep
    and where, which derived values, the group flags) is worked out once here."""

    def __init__(self, compiled: CompiledRules) -> None:
        derived = {(d.chain, d.key): d for d in compiled.derived}
        self._plan = _Plan(compiled.layout.root, derived)
        self._prefix = compiled.layout.prefix
        self._flags: dict[str, Any] = dict.fromkeys(sorted(compiled.flags), 1)

    def __call__(self, proposal: Mapping[str, Any], day: dt.date) -> dict[str, Any]:
        fact = self._flags.copy()
        fact[DAY] = day_number(day)
        prefix = self._prefix
        for key, value in self._plan.lay_out(proposal).items():
            fact[prefix + key] = value
        return fact


def build_fact(proposal: Mapping[str, Any], day: dt.date, compiled: CompiledRules) -> dict[str, Any]:
    """The fact for `proposal` on `day` (plans afresh: for one-off use; packs keep a builder)."""
    return FactBuilder(compiled)(proposal, day)
