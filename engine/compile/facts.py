"""Builds the fact asserted into durable_rules from an (enriched) proposal.

Only the top-level fields some rule reads are copied (less JSON to encode per evaluation),
and list counts are added where `every` needs them (see engine.compile.compiler).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from engine.compile.compiler import DAY, FACT_ROOT, CompiledRules, Derived, day_number
from engine.evaluate.semantics import MISSING, lookup
from engine.language.regex import full_match


class FactBuilder:
    """Builds facts for one compiled pack; what does not depend on the proposal (which
    fields, which derived values, the group flags) is worked out once here."""

    def __init__(self, compiled: CompiledRules) -> None:
        self._top_fields = tuple(sorted(compiled.top_fields))
        self._derived = tuple(sorted(compiled.derived))
        self._flags: dict[str, Any] = dict.fromkeys(sorted(compiled.flags), 1)

    def __call__(self, proposal: Mapping[str, Any], day: dt.date) -> dict[str, Any]:
        body: dict[str, Any] = {k: proposal[k] for k in self._top_fields if k in proposal}
        for derived in self._derived:
            body = _with_derived(body, derived.chain, derived)
        fact = self._flags.copy()
        fact[DAY] = day_number(day)
        fact[FACT_ROOT] = body
        return fact


def build_fact(proposal: Mapping[str, Any], day: dt.date, compiled: CompiledRules) -> dict[str, Any]:
    """The fact for `proposal` on `day` (plans afresh: for one-off use; packs keep a builder)."""
    return FactBuilder(compiled)(proposal, day)


def _value(scope: dict[str, Any], derived: Derived) -> Any:
    found = lookup(scope, derived.path) if derived.path else MISSING
    if derived.kind == "count":
        return len(found) if isinstance(found, list) else 0
    return None if not isinstance(found, str) else full_match(derived.pattern, found)


def _with_derived(scope: Any, chain: tuple[tuple[str, ...], ...], derived: Derived) -> Any:
    """Copy-on-write: `scope` with the derived value set on every scope object reached
    through `chain` (each step a list of items). Scope objects are always mappings: the
    language refuses `matches` on the items of a plain list."""
    if not chain:
        if not isinstance(scope, dict):
            return scope
        out = dict(scope)
        value = _value(out, derived)
        if value is not None:
            out[derived.key] = value
        return out
    step, rest = chain[0], chain[1:]
    out = dict(scope)
    items = lookup(out, step)
    if isinstance(items, list):
        _replace(out, step, [_with_derived(i, rest, derived) for i in items])
    return out


def _replace(node: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for segment in path[:-1]:
        node[segment] = node = dict(node[segment])
    node[path[-1]] = value
