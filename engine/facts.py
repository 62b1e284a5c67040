"""Builds the fact asserted into durable_rules from an (enriched) proposal.

Only the top-level fields some rule reads are copied (less JSON to encode per evaluation),
and list counts are added where `every` needs them (see engine.compiler).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from engine.compiler import COUNT_SUFFIX, DAY, FACT_ROOT, FLAG, CompiledRules, day_number


def build_fact(proposal: Mapping[str, Any], day: dt.date, compiled: CompiledRules) -> dict[str, Any]:
    body: dict[str, Any] = {k: proposal[k] for k in compiled.top_fields if k in proposal}
    if compiled.count_paths:
        body = _with_counts(body, sorted(compiled.count_paths))
    return {FLAG: 1, DAY: day_number(day), FACT_ROOT: body}


def _with_counts(body: dict[str, Any], paths: list[tuple[str, ...]]) -> dict[str, Any]:
    """Copy-on-write: add `<list>__n` beside each list the paths name, at any depth."""
    out = dict(body)
    for path in paths:
        _annotate(out, path)
    return out


def _annotate(node: dict[str, Any], path: tuple[str, ...]) -> None:
    head, rest = path[0], path[1:]
    if not rest:
        value = node.get(head)
        node[head + COUNT_SUFFIX] = len(value) if isinstance(value, list) else 0
        return
    child = node.get(head)
    if isinstance(child, dict):
        node[head] = copied = dict(child)
        _annotate(copied, rest)
    elif isinstance(child, list):
        node[head] = items = [dict(i) if isinstance(i, dict) else i for i in child]
        for item in items:
            if isinstance(item, dict):
                _annotate(item, rest)
