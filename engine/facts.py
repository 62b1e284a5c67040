"""Builds the fact asserted into durable_rules from an (enriched) proposal.

Only the top-level fields some rule reads are copied (less JSON to encode per evaluation),
and list counts are added where `every` needs them (see engine.compiler).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from engine.compiler import DAY, FACT_ROOT, CompiledRules, count_key, day_number
from engine.semantics import lookup


def build_fact(proposal: Mapping[str, Any], day: dt.date, compiled: CompiledRules) -> dict[str, Any]:
    body: dict[str, Any] = {k: proposal[k] for k in compiled.top_fields if k in proposal}
    for chain, path in sorted(compiled.count_paths):
        body = _with_count(body, chain, path)
    fact: dict[str, Any] = dict.fromkeys(sorted(compiled.flags), 1)
    fact[DAY] = day_number(day)
    fact[FACT_ROOT] = body
    return fact


def _with_count(scope: dict[str, Any], chain: tuple[tuple[str, ...], ...],
                path: tuple[str, ...]) -> dict[str, Any]:
    """Copy-on-write: `scope` with the count of the list at `path` set on every scope object
    reached through `chain` (each step a list of items)."""
    out = dict(scope)
    if not chain:
        items = lookup(out, path)
        out[count_key(path)] = len(items) if isinstance(items, list) else 0
        return out
    step, rest = chain[0], chain[1:]
    items = lookup(out, step)
    if isinstance(items, list):
        copied = [_with_count(i, rest, path) if isinstance(i, dict) else i for i in items]
        _replace(out, step, copied)
    return out


def _replace(node: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for segment in path[:-1]:
        node[segment] = node = dict(node[segment])
    node[path[-1]] = value
