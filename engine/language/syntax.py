"""The rule-pack syntax tree (the AST): conditions, rules, lists and pack settings, every node
with its position. Named `syntax`, not `ast`, so that it never shadows the standard library.

Nodes are frozen so that a compiled pack can be shared by threads and compared structurally
(the linter finds duplicate conditions by equality of their canonical form).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import Enum

from engine.errors import Position
from engine.language.operators import OPERATORS, WRITTEN, Op

# The decision vocabulary, from the most lenient to the strictest: the final decision of an
# assessment is the strictest of its band's decision, every floor and every knockout.
DECISIONS = ("approve", "review", "escalate", "reject")
# The band vocabulary, from the lowest score to the highest (a pack declares each band's minimum).
BAND_NAMES = ("low", "medium", "high", "critical")
# what a rule's `at_least` may raise the decision to (a knockout already forces its decision)
FLOOR_DECISIONS = ("review", "escalate")
# what a pack's `incomplete_decision` may be (an approval is never provisional)
INCOMPLETE_DECISIONS = ("review", "escalate", "reject")
STRICTNESS = {d: i for i, d in enumerate(DECISIONS)}


def strictest(*decisions: str) -> str:
    """The strictest of `decisions` (at least one), by their order in DECISIONS."""
    return max(decisions, key=STRICTNESS.__getitem__)


# The leaf operators are declared in engine.language.operators (the registry); the other keywords:
LEAF_OPERATORS: tuple[str, ...] = WRITTEN
QUANTIFIERS = ("some", "every")
COMBINATORS = ("all", "any", "not")


@dataclass(frozen=True)
class Leaf:
    """One test on one field. `path` is relative to the enclosing scope; () is the item itself.

    `values` holds the operand as a tuple for every operator that takes several values
    (`in`, `not_in`, `contains_any`, and `in_list`/`not_in_list` once the list is resolved);
    `value` holds the single operand of the others (None for exists/missing).
    """

    op: Op
    path: tuple[str, ...]
    value: object = None
    values: tuple[object, ...] = ()
    list_name: str | None = None
    pos: Position = field(default=Position("<memory>"), compare=False)
    members: frozenset[tuple[bool, object]] = field(default=frozenset(), compare=False,
                                                   repr=False)
    # the written test this one negates, when `not` was pushed down to it (engine.language.normalize)
    negates: Leaf | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "op", Op(self.op))  # a name as written, checked
        # Type-tagged set for O(1) membership tests (true must not match 1).
        object.__setattr__(self, "members", frozenset(
            (isinstance(v, bool), v) for v in self.values))

    def describe(self) -> str:
        """The test as a reader sees it in evidence: `in list sanctioned_jurisdictions`, or as
        the analyst wrote it when `not` was pushed down to it: `not eq true`."""
        if self.negates is not None:
            return f"not {self.negates.describe()}"
        return OPERATORS[self.op].describe(self)


@dataclass(frozen=True)
class All:
    items: tuple[Condition, ...]
    pos: Position = field(default=Position("<memory>"), compare=False)


@dataclass(frozen=True)
class Any:
    items: tuple[Condition, ...]
    pos: Position = field(default=Position("<memory>"), compare=False)


@dataclass(frozen=True)
class Not:
    item: Condition
    pos: Position = field(default=Position("<memory>"), compare=False)


@dataclass(frozen=True)
class Quantifier:
    """`some` / `every` over the list at `path`; `condition` is evaluated per item."""

    kind: str
    path: tuple[str, ...]
    condition: Condition
    pos: Position = field(default=Position("<memory>"), compare=False)
    # the written containment test this `every` negates (`not contains x`), if any
    negates: Leaf | None = field(default=None, compare=False, repr=False)


Condition = Leaf | All | Any | Not | Quantifier


class RuleKind(str, Enum):
    RISK = "risk"
    MITIGATION = "mitigation"
    KNOCKOUT = "knockout"


@dataclass(frozen=True)
class LegalBasis:
    """Where the law behind a rule is: instrument, provision, official URL, date checked."""

    instrument: str
    provision: str
    url: str
    as_of: dt.date

    def to_dict(self) -> dict[str, str]:
        return {"instrument": self.instrument, "provision": self.provision, "url": self.url,
                "as_of": self.as_of.isoformat()}


@dataclass(frozen=True)
class Rule:
    """A validated rule. `index` is its declaration order across the pack (files sorted by name)."""

    id: str
    title: str
    factor: str
    kind: RuleKind
    points: float
    when: Condition
    rationale: str
    source: str
    enabled: bool
    tags: tuple[str, ...]
    effective_from: dt.date | None
    effective_until: dt.date | None
    pos: Position
    index: int
    legal_basis: tuple[LegalBasis, ...] = ()
    # the decision this rule raises the outcome to when it fires (risk rules only), or None
    at_least: str | None = None

    @property
    def decisive(self) -> bool:
        """A knockout or a floor: a rule whose firing alone can change the decision."""
        return self.kind is RuleKind.KNOCKOUT or self.at_least is not None

    def active_on(self, day: dt.date) -> bool:
        if not self.enabled:
            return False
        if self.effective_from and day < self.effective_from:
            return False
        return not (self.effective_until and day > self.effective_until)


@dataclass(frozen=True)
class Factor:
    id: str
    label: str
    weight: float
    description: str
    pos: Position


@dataclass(frozen=True)
class Band:
    name: str
    min_score: float
    decision: str
    pos: Position


@dataclass(frozen=True)
class ListEntry:
    value: str
    note: str
    source: str
    since: str | None
    pos: Position


@dataclass(frozen=True)
class RefList:
    """A named reference list from `lists/NAME.yaml`."""

    name: str
    kind: str
    description: str
    as_of: dt.date | None
    source: str
    entries: tuple[ListEntry, ...]
    pos: Position

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(entry.value for entry in self.entries)


@dataclass(frozen=True)
class ScreeningSettings:
    threshold: float
    watchlists: tuple[str, ...]
    pos: Position
    max_age_days: int | None = None  # a list older than this is stale
    production: bool = False  # refuse sample, stale or empty lists at load


@dataclass(frozen=True)
class PackSpec:
    """Everything a pack declares, validated: what the compiler and the scorer consume."""

    root: str
    name: str
    version: str
    description: str
    factors: tuple[Factor, ...]
    bands: tuple[Band, ...]
    knockout_decision: str
    screening: ScreeningSettings | None
    lists: dict[str, RefList]
    rules: tuple[Rule, ...]
    files: tuple[str, ...]
    # the least decision of an assessment that an absent field could change (provisional)
    incomplete_decision: str = "review"
    # review.four_eyes: approving a deal the engine escalated or rejected needs two reviewers
    four_eyes: bool = False
