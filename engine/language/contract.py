"""The model of a proposal contract: field kinds, `FieldSpec`, `Contract`, and the value checks
(country, subdivision, currency codes, free text) every consumer shares.

The contract itself is declared by each rule pack (`contract.yaml`, read by
engine.language.contractfile): the rule compiler checks paths and operator types against it, the engine
validates proposals with it (engine.evaluate.validation), the API builds its marshmallow schemas and
OpenAPI document from it, and the editors' JSON Schemas and docs/fields.md are generated from
it. Fields marked `derived` are computed by the engine (screening, ownership, licences) and
never accepted from clients.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from functools import cache

import pycountry


class Kind(str, Enum):
    """The scalar and container types a proposal field can have."""

    STRING = "string"
    NUMBER = "number"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    ENUM = "enum"
    COUNTRY = "country"
    SUBDIVISION = "subdivision"
    CURRENCY = "currency"
    DATE = "date"
    LIST = "list"
    OBJECT = "object"

    @property
    def is_numeric(self) -> bool:
        return self in (Kind.NUMBER, Kind.INTEGER)

    @property
    def is_textual(self) -> bool:
        return self in (Kind.STRING, Kind.ENUM, Kind.COUNTRY, Kind.SUBDIVISION, Kind.CURRENCY,
                        Kind.DATE)


@dataclass(frozen=True)
class FieldSpec:
    """One field of the contract. Containers carry `item` (LIST) or `fields` (OBJECT)."""

    kind: Kind
    required: bool = False
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    item: FieldSpec | None = None
    fields: dict[str, FieldSpec] = field(default_factory=dict)
    derived: bool = False
    default: object = None
    description: str = ""
    # pairs (a, b) of this object's fields: when a is given, b is required too
    together: tuple[tuple[str, str], ...] = ()
    # names of value checks (FIELD_CHECKS) every value must pass, e.g. ("name",)
    checks: tuple[str, ...] = ()
    # the declared type's name (objects and enumerations of the contract's `types`), or ""
    name: str = ""
    # a string's pattern (the `matches` subset, whole text), or None
    pattern: str | None = None
    example: object = None
    # a list whose items are (or hold) the same object type: how deep it may nest
    max_depth: int | None = None
    # pairs (a, b) of this object's date fields: b may not be before a
    ordered: tuple[tuple[str, str], ...] = ()
    # a list of objects: the sum of this number field over the items may not exceed the bound
    sum_field: str | None = None
    sum_maximum: float | None = None
    # a list of objects whose items must not repeat an ancestor (ownership cycles): the
    # fields that identify an item
    acyclic_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class Derivation:
    """A fact the engine computes before matching, declared in the contract."""

    name: str
    description: str
    fields: tuple[str, ...]


LETTER_PATTERN = r"[^\W\d_]"  # a Unicode word character other than a digit or "_"
_LETTER = re.compile(LETTER_PATTERN)


def has_letter(text: str) -> bool:
    """Whether `text` holds a letter (LETTER_PATTERN): a name that is only spaces,
    punctuation, digits or invisible characters (zero-width, soft hyphen, combining marks)
    cannot be screened. Format characters and marks are not word characters, so this is
    decided on the text as given, exactly as the API document's pattern says."""
    return _LETTER.search(text) is not None


# Value checks a field can require by name (FieldSpec.checks), whoever declares the contract
# (this module, a pack's contract file) and whoever validates (the API's schemas, the engine):
# name → (test, message for a value failing it).
FIELD_CHECKS: dict[str, tuple[Callable[[str], bool], str]] = {
    "name": (has_letter, "must contain at least one letter (a name that is only spaces, "
                         "punctuation, digits or invisible characters cannot be screened)"),
}
# The same checks as regular-expression lookaheads, for documents (OpenAPI, JSON Schema).
CHECK_LOOKAHEADS: dict[str, str] = {"name": rf"(?=[\s\S]*{LETTER_PATTERN})"}


def text_pattern(spec: FieldSpec) -> str:
    """TEXT_PATTERN with the lookaheads of the field's checks: what a document states."""
    return "^" + "".join(CHECK_LOOKAHEADS[name] for name in spec.checks) + TEXT_PATTERN[1:]


def check_value(spec: FieldSpec, value: object) -> list[str]:
    """Messages of the FIELD_CHECKS of `spec` that a text `value` fails (none: it passes)."""
    if not isinstance(value, str):
        return []
    return [FIELD_CHECKS[name][1] for name in spec.checks if not FIELD_CHECKS[name][0](value)]


@dataclass(frozen=True)
class Contract:
    """A pack's proposal contract: its version, the proposal's field tree, its named types."""

    version: str
    description: str
    root: FieldSpec
    types: dict[str, FieldSpec]
    file: str = ""
    derivations: tuple[Derivation, ...] = ()


# Names durable_rules uses for itself (session, fact identity, state): never user paths.
RESERVED_NAMES = frozenset({"sid", "id", "$s", "$i", "$m", "m", "s", "run", "$l", "$r"})

CRYPTO_TICKER = re.compile(r"^[A-Z][A-Z0-9]{1,9}$")

# Free text (every `string` field) may hold any Unicode character except the C0 control
# characters other than tab, line feed and carriage return: a NUL cannot be stored by
# PostgreSQL, and none of them belongs in a name or a title. One definition for the API's
# validation, its OpenAPI document and the editor schemas.
TEXT_PATTERN = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F]*$"
_CONTROL_CHARACTER = re.compile(r"[\x00-\x08\x0B\x0C\x0E-\x1F]")


def control_character(value: str) -> str | None:
    """The first C0 control character of `value` that free text may not hold, or None."""
    found = _CONTROL_CHARACTER.search(value)
    return None if found is None else found.group()


@cache
def iso_countries() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes (pycountry's copy of the ISO table)."""
    return frozenset(c.alpha_2 for c in pycountry.countries)


@cache
def iso_currencies() -> frozenset[str]:
    """ISO 4217 alphabetic codes."""
    return frozenset(c.alpha_3 for c in pycountry.currencies)


def is_country(value: str) -> bool:
    return value in iso_countries()


def is_currency(value: str) -> bool:
    """ISO 4217 codes, or a crypto ticker (2-10 upper-case letters/digits, e.g. BTC, USDT)."""
    return value in iso_currencies() or bool(CRYPTO_TICKER.match(value))


@cache
def iso_subdivisions() -> frozenset[str]:
    """ISO 3166-2 subdivision codes (`UA-43`)."""
    return frozenset(s.code for s in pycountry.subdivisions)


def is_subdivision(value: str) -> bool:
    return value in iso_subdivisions()


DATE_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def is_date(value: str) -> bool:
    """A calendar date written YYYY-MM-DD."""
    if not DATE_PATTERN.match(value):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def resolve(path: str, root: FieldSpec) -> FieldSpec | None:
    """The spec of a dotted path relative to `root`, or None when the contract has no such field.

    List fields are traversed only by quantifiers (`some`/`every`), so a dotted path stops at
    a list: `counterparties.country` is not a path, `counterparties` is.
    """
    spec = root
    for segment in path.split("."):
        if spec.kind is not Kind.OBJECT or segment not in spec.fields:
            return None
        spec = spec.fields[segment]
    return spec


def all_paths(root: FieldSpec, prefix: str = "") -> list[str]:
    """Every dotted path reachable without crossing a list (for suggestions in error messages)."""
    out: list[str] = []
    for name, spec in root.fields.items():
        path = f"{prefix}{name}"
        out.append(path)
        if spec.kind is Kind.OBJECT:
            out.extend(all_paths(spec, f"{path}."))
    return out
