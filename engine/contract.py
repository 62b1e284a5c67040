"""The proposal contract (proposal-v1) as data: every field, its type, enumeration and range.

One source of truth: the rule compiler checks paths and operator types against it, the
API builds its marshmallow schemas from it, and the JSON Schema for editors is derived
from it. Fields marked `derived` are computed by the engine (screening) and never
accepted from clients.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import Enum
from functools import cache

import pycountry

from engine.names import LETTER_PATTERN, has_letter


class Kind(str, Enum):
    """The scalar and container types a proposal field can have."""

    STRING = "string"
    NUMBER = "number"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    ENUM = "enum"
    COUNTRY = "country"
    CURRENCY = "currency"
    LIST = "list"
    OBJECT = "object"

    @property
    def is_numeric(self) -> bool:
        return self in (Kind.NUMBER, Kind.INTEGER)

    @property
    def is_textual(self) -> bool:
        return self in (Kind.STRING, Kind.ENUM, Kind.COUNTRY, Kind.CURRENCY)


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


def _enum(*choices: str, required: bool = False, description: str = "") -> FieldSpec:
    return FieldSpec(Kind.ENUM, required=required, choices=choices, description=description)


def _string(lo: int | None = None, hi: int | None = None, *, required: bool = False,
            description: str = "", checks: tuple[str, ...] = ()) -> FieldSpec:
    return FieldSpec(Kind.STRING, required=required, min_length=lo, max_length=hi,
                     description=description, checks=checks)


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


def _list(item: FieldSpec, lo: int | None = None, hi: int | None = None, *,
          required: bool = False, description: str = "") -> FieldSpec:
    return FieldSpec(Kind.LIST, required=required, item=item, min_length=lo, max_length=hi,
                     description=description)


def _object(fields: dict[str, FieldSpec], *, required: bool = False, derived: bool = False,
            description: str = "") -> FieldSpec:
    return FieldSpec(Kind.OBJECT, required=required, fields=fields, derived=derived,
                     description=description)


COUNTRY = FieldSpec(Kind.COUNTRY, description="ISO 3166-1 alpha-2, upper case")
CURRENCY = FieldSpec(Kind.CURRENCY, description="ISO 4217 code or crypto ticker")

DEAL_TYPES = ("joint_venture", "equity_investment", "technology_licensing", "supply_agreement",
              "research_collaboration", "manufacturing", "service_contract", "launch_services",
              "other")
SECTORS = ("space", "satellite_communications", "launch_vehicles", "electric_vehicles",
           "batteries", "autonomous_driving", "artificial_intelligence", "semiconductors",
           "telecommunications", "information_technology", "cryptocurrency", "payments",
           "energy", "defense", "research", "manufacturing", "other")
TECHNOLOGY_CATEGORIES = ("launch_vehicles", "satellites", "propulsion", "navigation",
                         "batteries", "powertrain", "autonomy_software", "ai_models", "chips",
                         "encryption", "payments_software", "manufacturing_process", "other")
EXPORT_CONTROLS = ("itar", "ear_controlled", "dual_use", "not_controlled", "unknown")
TRANSFER_LEVELS = ("none", "limited", "substantial", "full")
RAILS = ("swift", "sepa", "fedwire", "cips", "spfs", "mir", "crypto", "stablecoin", "barter",
         "cash", "other")
PROFILES = ("low", "medium", "high")
MITIGATIONS = ("export_license_obtained", "sanctions_legal_opinion", "independent_monitor",
               "escrow", "ring_fenced_entity", "board_approval", "exit_clause",
               "no_technology_transfer_clause", "usd_settlement_commitment", "no_russia_clause")
PARTY_TYPES = ("private_company", "public_company", "state_owned_enterprise", "state_agency",
               "government", "university", "individual", "fund", "other")

SCREENING = _object(
    {
        "matched": FieldSpec(Kind.BOOLEAN, description="a watchlist entry scored at or above the threshold"),
        "outcome": _enum("match", "possible", "clear",
                         description="match (at or above the threshold), possible (from 75, or "
                                     "a partial name or acronym: at least review) or clear"),
        "basis": _enum("name", "partial", "acronym",
                       description="why the best candidate was found: fuzzy name score, the "
                                   "listed entity's distinctive words inside the name, or its "
                                   "acronym"),
        "score": FieldSpec(Kind.NUMBER, minimum=0, maximum=100, description="best fuzzy score, 0-100"),
        "list": _string(description="watchlist the best match came from"),
        "source": _string(description="the list within a consolidated file the entry comes "
                                      "from (e.g. 'Entity List (EL) - Bureau of Industry and "
                                      "Security'); empty for single lists"),
        "entry": _string(description="the matched watchlist entry's name"),
        "entry_id": _string(description="the matched entry's identifier in its list"),
        "matched_name": _string(description="the party name or alias that matched"),
        "programs": _list(_string(), description="sanctions programmes of the matched entry"),
    },
    derived=True,
    description="derived by the engine: watchlist screening of the party and its aliases",
)

NAME = ("name",)  # screened names: at least one letter

OWNER = _object({
    "name": _string(1, 300, required=True, checks=NAME),
    "country": FieldSpec(Kind.COUNTRY, required=True),
    "percent": FieldSpec(Kind.NUMBER, minimum=0, maximum=100),
    "screening": SCREENING,
})

PARTY = _object({
    "name": _string(1, 300, required=True, checks=NAME),
    "country": FieldSpec(Kind.COUNTRY, required=True),
    "type": _enum(*PARTY_TYPES, required=True),
    "aliases": _list(_string(1, 300, checks=NAME), hi=20),
    "state_owned": FieldSpec(Kind.BOOLEAN),
    "owners": _list(OWNER, hi=50),
    "screening": SCREENING,
})

TECHNOLOGY = _object({
    "name": _string(1, 300, required=True),
    "category": _enum(*TECHNOLOGY_CATEGORIES, required=True),
    "export_control": FieldSpec(Kind.ENUM, choices=EXPORT_CONTROLS, default="unknown"),
})

# Every list has a maximum, so that no proposal can make an assessment (evidence lists every
# matching item) or a stored record grow without bound; the sizes leave room for any real deal.
MAX_COUNTRIES = 250  # every ISO 3166 country once

PROPOSAL = _object({
    "reference": _string(1, 128),
    "title": _string(1, 200, required=True),
    "summary": _string(None, 5000),
    "initiator": replace(PARTY, required=True),
    "counterparties": _list(PARTY, 1, 50, required=True),
    "deal": _object({
        "type": _enum(*DEAL_TYPES, required=True),
        "value": replace(_object({
            "amount": FieldSpec(Kind.NUMBER, minimum=0),
            "currency": CURRENCY,
        }), together=(("amount", "currency"),)),
        "duration_months": FieldSpec(Kind.INTEGER, minimum=1, maximum=600),
        "jurisdictions": _list(COUNTRY, hi=MAX_COUNTRIES),
    }, required=True),
    "sectors": _list(_enum(*SECTORS), 1, 20, required=True),
    "technologies": _list(TECHNOLOGY, hi=50),
    "technology_transfer": _enum(*TRANSFER_LEVELS),
    "data_sharing": _object({
        "personal_data": FieldSpec(Kind.BOOLEAN),
        "destinations": _list(COUNTRY, hi=MAX_COUNTRIES),
    }),
    "payments": _object({
        "currencies": _list(CURRENCY, hi=20),
        "rails": _list(_enum(*RAILS), hi=20),
        "usd_share": FieldSpec(Kind.NUMBER, minimum=0, maximum=1),
    }),
    "public_profile": _enum(*PROFILES),
    "mitigations": _list(_enum(*MITIGATIONS), hi=20),
})

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


def resolve(path: str, root: FieldSpec = PROPOSAL) -> FieldSpec | None:
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


def all_paths(root: FieldSpec = PROPOSAL, prefix: str = "") -> list[str]:
    """Every dotted path reachable without crossing a list (for suggestions in error messages)."""
    out: list[str] = []
    for name, spec in root.fields.items():
        path = f"{prefix}{name}"
        out.append(path)
        if spec.kind is Kind.OBJECT:
            out.extend(all_paths(spec, f"{path}."))
    return out
