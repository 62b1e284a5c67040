"""An assessment as the engine returns it: the decision, band, score and factor scores, the
rules that fired with their evidence, missing information, the screening record and the
watchlists read, with its JSON document (`Assessment.to_dict`). `engine.pack` produces it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, NamedTuple

from engine.evaluate.decision import Outcome, clear_entry
from engine.evaluate.explain import Evidence
from engine.evaluate.scoring import Scores
from engine.language import syntax
from engine.timefmt import rfc3339


@dataclass(frozen=True)
class WatchlistInfo:
    """What an auditor needs to know of a list screened: which one, as of when, its exact
    content (sha256 of the file), its size, whether it is sample data."""

    name: str
    file: str
    as_of: dt.date | None
    digest: str
    entries: int
    sample: bool

    def age_days(self, day: dt.date) -> int | None:
        return (day - self.as_of).days if self.as_of is not None else None

    def stale(self, day: dt.date, max_age_days: int | None) -> bool:
        """Older than `max_age_days` on `day` (a list without a date is stale when a maximum
        age is set: nobody can tell how old it is)."""
        if max_age_days is None:
            return False
        age = self.age_days(day)
        return age is None or age > max_age_days

    def to_dict(self, day: dt.date, max_age_days: int | None) -> dict[str, Any]:
        return {"name": self.name, "file": self.file,
                "as_of": self.as_of.isoformat() if self.as_of else None,
                "age_days": self.age_days(day), "digest": self.digest,
                "entries": self.entries, "sample": self.sample,
                "stale": self.stale(day, max_age_days)}


class RuleHit(NamedTuple):
    """A fired rule and the evidence that its condition held."""

    rule: syntax.Rule
    evidence: tuple[Evidence, ...]

    def to_dict(self) -> dict[str, Any]:
        r = self.rule
        out = {"rule": r.id, "title": r.title, "kind": r.kind.value, "factor": r.factor,
               "points": _number(r.points), "rationale": r.rationale, "source": r.source,
               "legal_basis": [b.to_dict() for b in r.legal_basis],
               "evidence": [e.to_dict() for e in self.evidence]}
        if r.at_least is not None:
            out["at_least"] = r.at_least
        return out


@dataclass(frozen=True)
class Assessment:
    """The result of scoring one proposal (assessment-v1); `id` is set by whoever stores it."""

    reference: str | None
    ruleset: dict[str, str]
    as_of: dt.date
    created_at: dt.datetime
    scores: Scores
    hits: tuple[RuleHit, ...]
    missing_information: tuple[tuple[str, tuple[str, ...]], ...]
    summary: str
    outcome: Outcome
    id: str | None = None
    screening: dict[str, Any] | None = None  # the screening record (Pack.screening_record)

    @property
    def decision(self) -> str:
        return self.outcome.decision

    @property
    def provisional(self) -> bool:
        return self.outcome.provisional

    @property
    def floors(self) -> list[RuleHit]:
        return [h for h in self.hits if h.rule.kind is syntax.RuleKind.RISK
                and h.rule.at_least is not None]

    @property
    def band(self) -> str:
        return self.scores.band

    @property
    def score(self) -> float:
        return self.scores.score

    @property
    def inherent_score(self) -> float:
        return self.scores.inherent

    @property
    def fired(self) -> list[str]:
        return [h.rule.id for h in self.hits]

    @property
    def knockouts(self) -> list[RuleHit]:
        return [h for h in self.hits if h.rule.kind is syntax.RuleKind.KNOCKOUT]

    def to_dict(self) -> dict[str, Any]:
        by_factor: dict[str, list[dict[str, Any]]] = {}
        hits = {id(hit): self._linked(hit.to_dict()) for hit in self.hits}
        for hit in self.hits:
            by_factor.setdefault(hit.rule.factor, []).append(hits[id(hit)])
        out = {
            "id": self.id,
            "created_at": rfc3339(self.created_at),
            "reference": self.reference,
            "ruleset": dict(self.ruleset),
            "as_of": self.as_of.isoformat(),
            "inherent_score": self.scores.inherent,
            "score": self.scores.score,
            "band": self.scores.band,
            "decision": self.outcome.decision,
            "knockouts": [hits[id(h)] for h in self.knockouts],
            "factors": [
                {"factor": fs.factor.id, "label": fs.factor.label,
                 "weight": _number(fs.factor.weight), "raw_points": _number(fs.raw),
                 "inherent_score": fs.inherent, "score": fs.score, "contribution": fs.contribution,
                 "rules": by_factor.get(fs.factor.id, [])}
                for fs in self.scores.factors
            ],
            "missing_information": [{"path": p, "rules": list(r)}
                                    for p, r in self.missing_information],
            "summary": self.summary,
            "band_decision": self.outcome.band_decision,
            "floors": [hits[id(h)] for h in self.floors],
            "provisional": self.outcome.provisional,
            "unsettled": [u.to_dict() for u in self.outcome.unsettled],
            "checked_clear": [clear_entry(r) for r in self.outcome.checked_clear],
        }
        if self.screening is not None:
            out["screening"] = self.screening
        return out

    def _linked(self, hit: dict[str, Any]) -> dict[str, Any]:
        """Evidence read from a party's screening, or from the ownership facts derived from it
        (`ownership.ofac_blocked` holds for a party listed itself), points to that party's
        screening record (a JSON Pointer into this assessment: "/screening/parties/2")."""
        if self.screening is None:
            return hit
        where = {p["path"]: i for i, p in enumerate(self.screening["parties"])}
        for item in hit["evidence"]:
            for marker in _SCREENED_FACTS:
                head, sep, _ = item["path"].rpartition(marker)
                if sep and head in where:
                    item["screening_record"] = f"/screening/parties/{where[head]}"
                    break
        return hit


_SCREENED_FACTS = (".screening.", ".ownership.")


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value
