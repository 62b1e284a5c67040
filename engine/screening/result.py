"""What screening one party gives: its outcome, score and best candidates.

Owns the outcome levels (match at the pack's threshold, possible from POSSIBLE_AT, the
partial-name score, the report floor), `Candidate` (a listed entry a name resembles, with
why), `ScreeningResult` and their forms in the proposal's screening fact (`to_fact`) and in
the screening record of an assessment (`to_record`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Below this score a listed name does not resemble the party: no candidate is reported.
REPORT_FLOOR = 60.0
# From this score up to the threshold a candidate is a possible match (the pack's SE-008 and
# SE-009 rules test the same level): at least review until a person clears it.
POSSIBLE_AT = 75.0
# Score of a partial name (a listed entity's distinctive words inside a longer name, or its
# exact acronym): a possible match, never a match by itself.
PARTIAL_SCORE = 80.0

OUTCOMES = ("match", "possible", "clear")
BASES = ("name", "partial", "acronym")


@dataclass(frozen=True)
class Candidate:
    """One listed entry a party's name resembles, with why."""

    list: str
    entry_id: str
    entry: str  # the entry's primary name
    listed_name: str  # the name or alias of the entry that scored
    programs: tuple[str, ...]
    score: float
    name: str  # the party's name or alias as screened
    basis: str  # "name" (fuzzy score), "partial" (distinctive words) or "acronym"
    reading: str  # the romanisation / spelling reading of `name` that scored (engine.screening.names)
    paired: tuple[tuple[str, str], ...]  # (party token, listed token)
    source: str = ""  # the list within a consolidated file (WatchlistEntry.source)

    def to_dict(self) -> dict[str, Any]:
        return {
            "list": self.list, "source": self.source, "entry_id": self.entry_id,
            "entry": self.entry,
            "listed_name": self.listed_name, "programs": list(self.programs),
            "score": self.score, "name": self.name, "basis": self.basis,
            "reading": self.reading, "paired": [list(p) for p in self.paired],
        }


@dataclass(frozen=True)
class ScreeningResult:
    """The outcome of screening one party's name and aliases, with its best candidates.

    `candidates` are distinct entries, best first, scoring at least REPORT_FLOOR (or the
    threshold, if lower); when the outcome is `clear`, the first one is the best near-miss.
    """

    outcome: str
    score: float
    threshold: float
    candidates: tuple[Candidate, ...] = ()

    @property
    def matched(self) -> bool:
        return self.outcome == "match"

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None

    @property
    def list(self) -> str | None:
        return self.best.list if self.best else None

    @property
    def entry(self) -> str | None:
        return self.best.entry if self.best else None

    @property
    def entry_id(self) -> str | None:
        return self.best.entry_id if self.best else None

    @property
    def matched_name(self) -> str | None:
        return self.best.name if self.best else None

    @property
    def programs(self) -> tuple[str, ...]:
        return self.best.programs if self.best else ()

    def to_fact(self) -> dict[str, Any]:
        """The `screening` object of the proposal contract (engine.language.contract.SCREENING)."""
        best = self.best
        if best is None:
            return {"matched": False, "score": 0.0, "outcome": "clear"}
        return {
            "matched": self.matched,
            "outcome": self.outcome,
            "score": self.score,
            "basis": best.basis,
            "list": best.list,
            "source": best.source,
            "entry": best.entry,
            "entry_id": best.entry_id,
            "matched_name": best.name,
            "programs": list(best.programs),
        }

    def to_record(self) -> dict[str, Any]:
        """Outcome, score and candidates, for the screening record of an assessment."""
        return {"outcome": self.outcome, "score": self.score,
                "candidates": [c.to_dict() for c in self.candidates]}


def outcome_of(score: float, threshold: float) -> str:
    """match at or above the threshold; possible from POSSIBLE_AT (or the threshold, if lower)."""
    if score >= threshold:
        return "match"
    return "possible" if score >= min(POSSIBLE_AT, threshold) else "clear"


