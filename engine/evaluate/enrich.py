"""The proposal as the rules see it: a copy with contract defaults filled in, fields the engine
derives dropped from the input, and the derived facts the contract declares computed
(engine.evaluate.derive): every party of every role and every owner at every depth screened against
the pack's watchlists, ownership aggregated, licences checked on the assessment date.

This runs once per assessment, so the walk over the contract is planned once per pack.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Mapping
from enum import Enum
from typing import Any

from engine.evaluate.derive import Deriver, blocking_match
from engine.language.contract import FieldSpec, Kind

SCREENING_CACHE = 4096  # parties whose screening result is kept per pack

# How one field is copied: dropped (derived by the engine), a scalar, a list of scalars, an
# object (with the plan of its fields) or a list of objects (with the plan of an item).
class _Copy(Enum):
    DROP = "drop"
    SCALAR = "scalar"
    SCALARS = "scalars"
    OBJECT = "object"
    OBJECTS = "objects"


# module-level names: the copy loop runs per field of every assessment
_DROP, _SCALAR, _SCALARS, _OBJECT, _OBJECTS = (_Copy.DROP, _Copy.SCALAR, _Copy.SCALARS,
                                               _Copy.OBJECT, _Copy.OBJECTS)


class _Plan:
    __slots__ = ("defaults", "fields")

    @staticmethod
    def of(spec: FieldSpec, plans: dict[int, _Plan] | None = None) -> _Plan:
        """The plan of an object spec; one plan per object type, so a type that nests itself
        (an owner's owners) plans once."""
        plans = {} if plans is None else plans
        found = plans.get(id(spec.fields))
        if found is None:
            found = _Plan.__new__(_Plan)
            plans[id(spec.fields)] = found
            found._fill(spec, plans)
        return found

    def _fill(self, spec: FieldSpec, plans: dict[int, _Plan]) -> None:
        self.fields: dict[str, tuple[_Copy, _Plan | None]] = {}
        self.defaults = tuple((name, sub.default) for name, sub in spec.fields.items()
                              if sub.default is not None and not sub.derived)
        for name, sub in spec.fields.items():
            if sub.derived:
                self.fields[name] = (_DROP, None)
            elif sub.kind is Kind.OBJECT:
                self.fields[name] = (_OBJECT, _Plan.of(sub, plans))
            elif sub.kind is Kind.LIST and sub.item is not None:
                if sub.item.kind is Kind.OBJECT:
                    self.fields[name] = (_OBJECTS, _Plan.of(sub.item, plans))
                else:
                    self.fields[name] = (_SCALARS, None)
            else:
                self.fields[name] = (_SCALAR, None)


def copy_tree(value: Any) -> Any:
    """Copy of a JSON tree (dicts, lists, scalars): several times faster than deepcopy."""
    if isinstance(value, dict):
        return {k: copy_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_tree(v) for v in value]
    return value


def _copy_filled(node: Mapping[str, Any], plan: _Plan) -> dict[str, Any]:
    """A copy of `node` with defaults filled in and derived fields dropped, recursively along
    the contract; anything the contract does not describe is copied as it is."""
    out: dict[str, Any] = {}
    fields = plan.fields
    for key, value in node.items():
        how, below = fields.get(key, (None, None))
        if how is _DROP:
            continue
        if below is not None and how is _OBJECT and isinstance(value, dict):
            out[key] = _copy_filled(value, below)
        elif below is not None and how is _OBJECTS and isinstance(value, list):
            out[key] = [_copy_filled(item, below) if isinstance(item, dict) else copy_tree(item)
                        for item in value]
        elif how is _SCALARS and type(value) is list and all(
                type(item) in _IMMUTABLE for item in value):
            out[key] = list(value)
        elif how is _SCALAR and type(value) in _IMMUTABLE:
            out[key] = value
        else:
            out[key] = copy_tree(value)
    for name, default in plan.defaults:
        if out.get(name) is None:
            out[name] = default
    return out


_IMMUTABLE = frozenset({str, int, float, bool, type(None)})


def _role(path: str) -> str:
    """The role of the party screened at `path` (`counterparties[0].owners[1]` → owner)."""
    last = path.rsplit(".", 1)[-1].split("[", 1)[0]
    return {"initiator": "initiator", "counterparties": "counterparty", "owners": "owner",
            "end_users": "end_user", "consignees": "consignee",
            "intermediaries": "intermediary", "correspondents": "correspondent_bank",
            "originator_bank": "originator_bank", "beneficiary_bank": "beneficiary_bank",
            "crypto_providers": "crypto_provider"}.get(last, last)


class Enricher:
    """`enrich(proposal)` → the enriched copy. Thread-safe; screening results are memoised
    (bounded): the same counterparties come back again and again, and a result depends only
    on the names and the pack's watchlists."""

    def __init__(self, contract: FieldSpec, screener: Any = None,
                 non_blocking: frozenset[str] = frozenset()) -> None:
        self._plan = _Plan.of(contract)
        self._derive = Deriver(contract, non_blocking)
        self._blocks = blocking_match(non_blocking)
        self._screener = screener
        self._cache: dict[tuple[str, ...], Any] = {}
        self._lock = threading.Lock()

    def __call__(self, proposal: Mapping[str, Any], day: dt.date | None = None) -> dict[str, Any]:
        return self.with_record(proposal, day)[0]

    def with_record(self, proposal: Mapping[str, Any], day: dt.date | None = None
                    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The enriched copy (derived facts computed), and per screened party its screening
        record: role, path, the names as screened, outcome, score and best candidates."""
        data = _copy_filled(proposal, self._plan)
        records: list[dict[str, Any]] = []

        def screen(party: dict[str, Any], path: str) -> dict[str, Any]:
            names = tuple(n for n in [party.get("name"), *(party.get("aliases") or [])]
                          if isinstance(n, str))
            result = self._screen(names)
            records.append({"role": _role(path), "path": path, "names": list(names),
                            **result.to_record()})
            fact: dict[str, Any] = result.to_fact()
            fact["blocking"] = self._blocks(fact)
            return fact

        if self._derive.active:
            self._derive(data, day or dt.datetime.now(dt.UTC).date(),
                         screen if self._screener is not None else None)
        return data, records

    def _screen(self, names: tuple[str, ...]) -> Any:
        cached = self._cache.get(names)
        if cached is None:
            cached = self._screener.screen(list(names))
            with self._lock:
                if len(self._cache) >= SCREENING_CACHE:
                    self._cache.pop(next(iter(self._cache)), None)
                self._cache[names] = cached
        return cached
