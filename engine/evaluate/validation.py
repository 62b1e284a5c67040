"""Proposal validation against a pack's contract: `Validator(contract)(proposal)` raises one
ProposalError naming every offending field by its path (`counterparties[0].country`).

Besides types, enumerations and bounds, the contract's structural checks are enforced here:
co-required fields (`together`), date order (`ordered`: a licence valid until before it
starts), a bound on the sum of a number over a list's items (`items_sum`: direct holdings
above 100 %), items that repeat an ancestor (`acyclic_by`: an ownership cycle) and the
nesting depth of a recursive list (`max_depth`). The validator is compiled once per pack.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from engine.errors import FieldError, ProposalError
from engine.language.contract import (
    FieldSpec,
    Kind,
    check_value,
    control_character,
    is_country,
    is_currency,
    is_date,
    is_subdivision,
)
from engine.language.regex import full_match

ROOT_PATH = "$"
MAX_ERRORS = 200  # a hostile proposal cannot make the error document grow without bound

Errors = list[FieldError]
# (value, path, errors, ancestors) -> None; ancestors: per recursive list, the identities of
# the items above (ownership cycles) and how deep it nests
Check = Callable[[Any, str, Errors, dict[Any, tuple[Any, ...]]], None]


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _range_message(lo: float | None, hi: float | None) -> str:
    if lo is not None and hi is not None:
        return f"Must be greater than or equal to {_fmt(lo)} and less than or equal to {_fmt(hi)}."
    if lo is not None:
        return f"Must be greater than or equal to {_fmt(lo)}."
    return f"Must be less than or equal to {_fmt(hi)}."  # type: ignore[arg-type]


def _length_message(lo: int | None, hi: int | None) -> str:
    if lo is not None and hi is not None:
        return f"Length must be between {lo} and {hi}."
    if lo is not None:
        return f"Shorter than minimum length {lo}."
    return f"Longer than maximum length {hi}."


class Validator:
    """Compiled once per contract; thread-safe (no state between calls)."""

    def __init__(self, root: FieldSpec) -> None:
        self._cells: dict[int, list[Check]] = {}
        self._root = self._check(root)

    def __call__(self, proposal: Any) -> None:
        if not isinstance(proposal, dict):
            raise ProposalError([FieldError(ROOT_PATH, "a proposal must be a JSON object")])
        errors: Errors = []
        self._root(proposal, "", errors, {})
        if errors:
            unique = list(dict.fromkeys(errors))[:MAX_ERRORS]
            raise ProposalError(unique)

    def errors(self, proposal: Any) -> list[FieldError]:
        """Every offending field ([] for a valid proposal)."""
        try:
            self(proposal)
        except ProposalError as exc:
            return list(exc.errors)
        return []

    # -- compilation ----------------------------------------------------------------------

    def _check(self, spec: FieldSpec) -> Check:
        if spec.derived:
            def refuse(value: Any, path: str, errors: Errors, anc: Any) -> None:
                errors.append(FieldError(path, "derived by the engine; not accepted from "
                                               "clients"))
            return refuse
        if spec.kind is Kind.OBJECT:
            return self._object(spec)
        if spec.kind is Kind.LIST:
            return self._list(spec)
        return self._scalar(spec)

    def _object(self, spec: FieldSpec) -> Check:
        key = id(spec.fields)
        cell = self._cells.get(key)
        if cell is None:  # compile once per object type; recursion goes through the cell
            cell = []
            self._cells[key] = cell
            cell.append(self._object_body(spec))
        body = cell

        def obj(value: Any, path: str, errors: Errors, anc: Any) -> None:
            body[0](value, path, errors, anc)

        return obj

    def _object_body(self, spec: FieldSpec) -> Check:
        checks: dict[str, Check] = {}
        required = tuple(n for n, f in spec.fields.items() if f.required and not f.derived)
        together, ordered = spec.together, spec.ordered
        # lists of this object that refuse cycles: this object is an ancestor of their items
        acyclic = {n: (("cycle", _list_key(f)), f.acyclic_by) for n, f in spec.fields.items()
                   if f.kind is Kind.LIST and f.acyclic_by and f.item is not None}
        # compiled lazily: a type's fields may refer back to the type itself
        fields = spec.fields

        def body(value: Any, path: str, errors: Errors, anc: Any) -> None:
            if not isinstance(value, dict):
                errors.append(FieldError(path or ROOT_PATH, "Invalid input type."))
                return
            if len(errors) > MAX_ERRORS:
                return
            for name, item in value.items():
                check = checks.get(name)
                if check is None:
                    sub = fields.get(name)
                    if sub is None:
                        errors.append(FieldError(_join(path, str(name)), "Unknown field."))
                        continue
                    check = checks[name] = self._check(sub)
                if item is None:
                    errors.append(FieldError(_join(path, name), "Field may not be null."))
                    continue
                cycle = acyclic.get(name)
                if cycle is not None:
                    ident = tuple(_identity(value.get(f)) for f in cycle[1])
                    if all(v is not None for v in ident):
                        anc = {**anc, cycle[0]: (*anc.get(cycle[0], ()),
                                                 (ident, path or ROOT_PATH))}
                check(item, _join(path, name), errors, anc)
            for name in required:
                if name not in value:
                    errors.append(FieldError(_join(path, name), "Missing data for required field."))
            for a, b in together:
                if a in value and b not in value:
                    errors.append(FieldError(_join(path, b), "Missing data for required field "
                                             f"(required when '{a}' is given)."))
            for a, b in ordered:
                first, second = value.get(a), value.get(b)
                if isinstance(first, str) and isinstance(second, str) and is_date(first) \
                        and is_date(second) and second < first:
                    errors.append(FieldError(_join(path, b), f"{b} {second} is before {a} "
                                             f"{first}."))

        return body

    def _list(self, spec: FieldSpec) -> Check:
        item = spec.item
        assert item is not None
        lo, hi = spec.min_length, spec.max_length
        per_item = self._check(item)
        sum_field, sum_max = spec.sum_field, spec.sum_maximum
        acyclic, depth = spec.acyclic_by, spec.max_depth
        key = _list_key(spec)

        def check(value: Any, path: str, errors: Errors, anc: dict[Any, Any]) -> None:
            if not isinstance(value, list):
                errors.append(FieldError(path, "Not a valid list."))
                return
            if (lo is not None and len(value) < lo) or (hi is not None and len(value) > hi):
                errors.append(FieldError(path, _length_message(lo, hi)))
                if hi is not None and len(value) > hi:
                    return
            above = anc.get(key, ())
            if depth is not None and len(above) >= depth:
                errors.append(FieldError(path, f"nested more than {depth} levels deep (the "
                                               "contract's bound)"))
                return
            if sum_field is not None and sum_max is not None:
                total = sum(v for i in value if isinstance(i, dict)
                            and isinstance(v := i.get(sum_field), int | float)
                            and not isinstance(v, bool) and math.isfinite(v))
                if total > sum_max + 1e-9:
                    errors.append(FieldError(path, f"the items' {sum_field} add up to "
                                                   f"{_fmt(round(total, 6))}, over "
                                                   f"{_fmt(sum_max)}."))
            ancestors = anc.get(("cycle", key), ())
            for i, element in enumerate(value):
                where = f"{path}[{i}]"
                if element is None:
                    errors.append(FieldError(where, "Field may not be null."))
                    continue
                if acyclic and ancestors and isinstance(element, dict):
                    ident = tuple(_identity(element.get(f)) for f in acyclic)
                    for earlier, earlier_path in ancestors:
                        if earlier == ident:
                            errors.append(FieldError(where, "ownership cycle: this item is "
                                                     f"{earlier_path}, which it would own."))
                            break
                inner = {**anc, key: (*above, where)} if depth is not None else anc
                per_item(element, where, errors, inner)

        return check

    def _scalar(self, spec: FieldSpec) -> Check:
        kind = spec.kind
        lo, hi = spec.minimum, spec.maximum
        lo_len, hi_len = spec.min_length, spec.max_length
        pattern = spec.pattern
        if kind in (Kind.NUMBER, Kind.INTEGER):
            integer = kind is Kind.INTEGER
            message = _range_message(lo, hi) if lo is not None or hi is not None else ""

            def number(value: Any, path: str, errors: Errors, anc: Any) -> None:
                if isinstance(value, bool) or not isinstance(value, int | float) or \
                        (integer and not isinstance(value, int)):
                    errors.append(FieldError(path, "Not an integer." if integer
                                             else "Not a number."))
                elif not math.isfinite(value):
                    errors.append(FieldError(path, "Not a number."))
                elif (lo is not None and value < lo) or (hi is not None and value > hi):
                    errors.append(FieldError(path, message))

            return number
        if kind is Kind.BOOLEAN:
            def boolean(value: Any, path: str, errors: Errors, anc: Any) -> None:
                if not isinstance(value, bool):
                    errors.append(FieldError(path, "Not a boolean."))

            return boolean
        test, what = {
            Kind.ENUM: (spec.choices.__contains__, f"Must be one of: {', '.join(spec.choices)}."),
            Kind.COUNTRY: (is_country, "not an ISO 3166-1 alpha-2 country code (upper case)"),
            Kind.SUBDIVISION: (is_subdivision, "not an ISO 3166-2 subdivision code (e.g. UA-43)"),
            Kind.CURRENCY: (is_currency, "not an ISO 4217 currency code or crypto ticker"),
            Kind.DATE: (is_date, "not a date (YYYY-MM-DD)"),
        }.get(kind, (None, ""))

        def text(value: Any, path: str, errors: Errors, anc: Any) -> None:
            if not isinstance(value, str):
                errors.append(FieldError(path, "Not a valid string."))
                return
            if test is not None:
                if not test(value):
                    errors.append(FieldError(path, what if kind is Kind.ENUM
                                             else f"{what}: {value[:40]!r}"))
                return
            if (lo_len is not None and len(value) < lo_len) or \
                    (hi_len is not None and len(value) > hi_len):
                errors.append(FieldError(path, _length_message(lo_len, hi_len)))
            for message in check_value(spec, value):
                errors.append(FieldError(path, message))
            if pattern is not None and not full_match(pattern, value):
                errors.append(FieldError(path, f"does not match the pattern {pattern}"))
            found = control_character(value)
            if found is not None:
                errors.append(FieldError(path, f"control character U+{ord(found):04X} is not "
                                               "allowed in text"))

        return text


def _list_key(spec: FieldSpec) -> int:
    """Lists of the same item type share their depth count and ancestors."""
    item = spec.item
    return id(item.fields) if item is not None and item.kind is Kind.OBJECT else id(spec)


def _identity(value: object) -> object:
    """A comparable identity for a field of an item (names compared case- and space-blind)."""
    if isinstance(value, str):
        return " ".join(value.casefold().split())
    return value
