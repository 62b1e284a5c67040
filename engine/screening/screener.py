"""Screening a party's names against the watchlists: the best candidates and the outcome.

`Screener` (on the index of engine.screening.index) screens a party's name and aliases under
every reading of each (engine.screening.tokens), ranks the candidates the index finds (in
the C kernel, engine/screening/_kernel.c: coverage only while the string score, an upper
bound of the final score, can still beat the best found: branch and bound); then adds partial
names (a listed entity's distinctive words inside a longer name, or its exact acronym) and
initials ("I. Sechin": a possible match when the name with the initial spelled out would
match). The score itself: engine.screening.scoring; outcomes and candidates:
engine.screening.result. Every name of this module's import surface is re-exported here for
the callers that knew one module.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from engine.screening.index import ScreeningIndex, _read_ids
from engine.screening.result import (
    BASES,
    OUTCOMES,
    PARTIAL_SCORE,
    POSSIBLE_AT,
    REPORT_FLOOR,
    Candidate,
    ScreeningResult,
    outcome_of,
)
from engine.screening.scoring import (
    MIN_FUZZY_TOKEN,
    _covers,
    _score,
    compatible,
    coverage,
    pairs,
    similarity,
)
from engine.screening.tokens import (
    ACRONYM_STOPWORDS,
    GENERIC_WORDS,
    LEGAL_PHRASES,
    NORMALISE_CACHE,
    name_readings,
    name_tokens,
    normalize_name,
)

MAX_INITIALS = 3  # a name with more one-letter tokens is not read as initials
MIN_INITIALS_REST = 3  # letters the other tokens of a name with initials must have
CANDIDATES = 3  # best candidates (distinct entries) reported per party



@dataclass(frozen=True)
class _Hit:
    """A scored variant for one party name."""

    score: float
    variant: int
    position: int
    reading: str
    tokens: tuple[str, ...]
    basis: str
    paired: tuple[tuple[str, str], ...] = ()  # when not the `pairs` of tokens and listed

    @property
    def key(self) -> tuple[float, int, int, int]:
        """Best first: score, then a full name before a partial one before an acronym, then
        the first variant (entry id order), then the first of the party's names."""
        return (-self.score, BASES.index(self.basis), self.variant, self.position)


class Screener(ScreeningIndex):
    """Screens names against the index of watchlists; immutable, so `screen` is safe to call
    from many threads."""

    # -- screening --------------------------------------------------------------------------
    def screen(self, names: Sequence[str]) -> ScreeningResult:
        """Screen a party's name and aliases; the best candidates over all of them win."""
        return self._screen(names, full_scan=False)

    def screen_all(self, name: str) -> ScreeningResult:
        """Reference result by a full scan of every variant (for tests and benchmarks only)."""
        return self._screen([name], full_scan=True)

    def _screen(self, names: Sequence[str], full_scan: bool) -> ScreeningResult:
        best: dict[int, _Hit] = {}  # entry index → its best hit
        for position, name in enumerate(names):
            if not isinstance(name, str) or not name.strip():
                continue
            for reading, tokens in name_readings(name):
                # A hit below the CANDIDATES-th best entry so far cannot be reported: later
                # readings and names need only candidates that can reach it.
                scores = sorted((hit.score for hit in best.values()), reverse=True)
                reach = max(self.floor, scores[CANDIDATES - 1]) if len(scores) >= CANDIDATES \
                    else self.floor
                variants = None if full_scan else self.candidates_of(tokens, floor=reach)
                for score, variant in self._rank(tokens, variants, bound=reach):
                    self._keep(best, _Hit(score, variant, position, reading, tokens, "name"))
                for hit in self._partial(tokens, position, reading):
                    self._keep(best, hit)
                for hit in self._initials(tokens, position):
                    self._keep(best, hit)
        ranked = sorted(best.values(), key=lambda h: h.key)
        if not ranked:
            return ScreeningResult("clear", 0.0, self.threshold)
        candidates = tuple(self._candidate(h, names) for h in ranked[:CANDIDATES])
        score = candidates[0].score
        return ScreeningResult(outcome_of(score, self.threshold), score, self.threshold,
                               candidates)

    def _keep(self, best: dict[int, _Hit], hit: _Hit) -> None:
        entry = self._owner[hit.variant]
        current = best.get(entry)
        if current is None or hit.key < current.key:
            best[entry] = hit

    def _candidate(self, hit: _Hit, names: Sequence[str]) -> Candidate:
        item = self._listed[self._owner[hit.variant]]
        listed = self._tokens[hit.variant]
        paired = hit.paired or tuple(pairs(hit.tokens, listed)) if hit.basis == "name" else \
            tuple((t, t) for t in hit.tokens if t in listed) or ((hit.tokens[0], "".join(
                t[0] for t in listed if t not in ACRONYM_STOPWORDS)),)
        return Candidate(item.list, item.entry.id, item.entry.name, self._names[hit.variant],
                         item.entry.programs, round(hit.score, 2), names[hit.position],
                         hit.basis, hit.reading, paired, item.entry.source)

    def _partial(self, tokens: tuple[str, ...], position: int, reading: str) -> list[_Hit]:
        """Partial names: every distinctive word of a listed entity's name among the party's
        words ("VTB Bank Shanghai Branch", "Rostec"), or the party's only distinctive word
        being the acronym of a listed entity ("IRGC")."""
        out: list[_Hit] = []
        seen: set[int] = set()
        for token in set(tokens):
            for variant in self._close_cores(token):
                if variant in seen:
                    continue
                seen.add(variant)
                if _covers(tokens, self._cores[variant].split(" ")):
                    out.append(_Hit(self.partial_score, variant, position, reading, tokens,
                                    "partial"))
        distinctive = [t for t in tokens if t not in GENERIC_WORDS]
        if len(distinctive) == 1:
            for variant in _read_ids(self._acronyms.get(distinctive[0])):
                out.append(_Hit(self.partial_score, variant, position, reading, tokens,
                                "acronym"))
        return out

    def _initials(self, tokens: tuple[str, ...], position: int) -> list[_Hit]:
        """A person written with initials ("I. Sechin", "Sechin I.", "V.V. Putin"): each
        initial (a one-letter token, at most MAX_INITIALS) stands for a distinct listed token
        of an individual that begins with it, the other tokens pair as usual. When the name
        so expanded would match, it is a possible match at the partial-name score (an initial
        is not a given name): never a match by itself. Reading "initials"."""
        letters = [t for t in tokens if len(t) == 1 and t.isalpha()]
        words = [t for t in tokens if len(t) > 1]
        if not letters or len(letters) > MAX_INITIALS or not words or \
                sum(map(len, words)) < MIN_INITIALS_REST:
            return []
        out: list[_Hit] = []
        for variant in self._forms.reached_by_all([self._reach(t) for t in set(words)]):
            if self._listed[self._owner[variant]].entry.type != "individual":
                continue
            listed = self._tokens[variant]
            paired = [p for p in pairs(words, listed) if p[1] in listed]
            rest = list(listed)
            for _, token in paired:
                rest.remove(token)
            expanded: list[str] = []
            for token in tokens:
                if len(token) == 1 and token.isalpha():
                    given = next((t for t in rest if t[0] == token and len(t) > 1), None)
                    if given is None:
                        break
                    rest.remove(given)
                    paired.append((token, given))
                    expanded.append(given)
                else:
                    expanded.append(token)
            else:
                if _score(expanded, listed) >= self.threshold:
                    out.append(_Hit(self.partial_score, variant, position, "initials", tokens,
                                    "name", tuple(paired)))
        return out

    def _rank(self, tokens: tuple[str, ...], variants: Sequence[int] | None, *,
              bound: float | None = None) -> list[tuple[float, int]]:
        """Best (score, variant) per entry among `variants` (ascending; None: all), at least
        the floor, best first, at most CANDIDATES entries; the first variant on ties. With
        `bound`, only scores of at least `bound` count (no better entry than the caller's
        CANDIDATES-th can come from the others).

        Scored exactly, in C (`Forms.rank`): the string score (rapidfuzz's fuzz.ratio, the
        better of the sorted and natural forms) bounds the final score from above, so the
        coverage is computed only for variants whose string score can still reach the
        CANDIDATES-th best score found so far (branch and bound).
        """
        if not tokens or (variants is not None and not variants):
            return []
        return self._forms.rank(tokens, " ".join(sorted(tokens)), " ".join(tokens), variants,
                                self.floor, self.floor if bound is None else bound, CANDIDATES)


__all__ = [
    "ACRONYM_STOPWORDS", "BASES", "CANDIDATES", "GENERIC_WORDS", "LEGAL_PHRASES",
    "MIN_FUZZY_TOKEN", "NORMALISE_CACHE", "OUTCOMES", "PARTIAL_SCORE", "POSSIBLE_AT",
    "REPORT_FLOOR", "Candidate", "Screener", "ScreeningResult", "_score", "compatible",
    "coverage", "name_readings", "name_tokens", "normalize_name", "outcome_of", "pairs",
    "similarity",
]
