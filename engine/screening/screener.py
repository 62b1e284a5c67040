"""Screening a party's names against the watchlists: the best candidates and the outcome.

`Screener` (on the index of engine.screening.index) screens a party's name and aliases under
every reading of each (engine.screening.tokens), ranks the candidates the index finds by
string score in C (rapidfuzz) and computes coverage only while the string score, an upper
bound of the final score, can still beat the best found (branch and bound); then adds partial
names (a listed entity's distinctive words inside a longer name, or its exact acronym) and
initials ("I. Sechin": a possible match when the name with the initial spelled out would
match). The score itself: engine.screening.scoring; outcomes and candidates:
engine.screening.result. Every name of this module's import surface is re-exported here for
the callers that knew one module.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

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
    PARTIAL_FUZZY,
    _close,
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
RANK_BATCH = 32  # candidates ranked per round of the branch-and-bound in Screener._rank



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
            # a core's word pairs only with a close token (`_close`): equal, or one edit apart
            # in long words; of the compatible strings, only those can reach a core
            long = len(token) >= PARTIAL_FUZZY
            for near in self._similar(token):
                if near != token and not (long and _close(near, token)):
                    continue
                for variant in _read_ids(self._core_index.get(near)):
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
        reaches = sorted((self._reach(t) for t in set(words)), key=lambda r: r.count)
        both = reaches[0].common_with(reaches[1]) if len(reaches) > 1 else \
            reaches[0].members()
        out: list[_Hit] = []
        for variant in sorted(v for v in both if all(v in r for r in reaches[2:])):
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
        `bound`, variants whose string score is below it may be left out (no better entry
        than the caller's CANDIDATES-th can come from them).

        Branch and bound: rapidfuzz ranks candidates by string score, which bounds the final
        score from above, so coverage is computed only until the ranking falls below the
        CANDIDATES-th best final score. The first round looks at the top RANK_BATCH of each
        ranking; if a candidate beyond them could still qualify, the round is repeated over
        all of them.
        """
        if not tokens or (variants is not None and not variants):
            return []
        if variants is None:
            sorted_forms, natural_forms = list(self._sorted), list(self._natural)
        else:
            sorted_forms = self._sorted.take(variants)
            natural_forms = self._natural.take(variants)
        query_sorted, query_natural = " ".join(sorted(tokens)), " ".join(tokens)
        limit: int | None = RANK_BATCH
        best: dict[int, tuple[float, int]] = {}  # entry → (score, variant)
        seen: set[int] = set()  # kept across rounds: a second round skips what the first saw
        # the CANDIDATES-th best score so far (the floor, or `bound`, until there are)
        bound = self.floor if bound is None else max(self.floor, bound)
        # Coverage bound: a token can only pair with a compatible one. A listed token outside
        # every query token's compatible set, and a query token none of whose compatible
        # strings is in the variant, cover nothing.
        similar = {t: self._similar(t) for t in set(tokens)}
        reachable = frozenset().union(*similar.values())
        joined = self._similar("".join(tokens))
        query_chars = sum(map(len, tokens))
        while True:
            rankings = [
                process.extract(query, forms, scorer=fuzz.ratio, score_cutoff=self.floor,
                                limit=limit)
                for query, forms in ((query_sorted, sorted_forms), (query_natural, natural_forms))
            ]
            for _, string_score, index in heapq.merge(*rankings, key=lambda r: (-r[1], r[2])):
                if string_score < bound:
                    break
                if index in seen:
                    continue
                seen.add(index)
                variant = index if variants is None else variants[index]
                listed = natural_forms[index].split(" ")
                if len(listed) == len(tokens) or "".join(listed) not in joined:
                    listed_set = set(listed)
                    covered = sum(len(t) for t in listed if t in reachable) + sum(
                        len(t) for t in tokens if not similar[t].isdisjoint(listed_set))
                    if 100.0 * covered < bound * (query_chars + sum(map(len, listed))):
                        continue
                score = min(float(string_score), coverage(tokens, listed))
                if score < self.floor:
                    continue
                entry = self._owner[variant]
                current = best.get(entry)
                if current is None or score > current[0] or \
                        (score == current[0] and variant < current[1]):
                    best[entry] = (score, variant)
                    if len(best) >= CANDIDATES:
                        bound = sorted((s for s, _ in best.values()),
                                       reverse=True)[CANDIDATES - 1]
            cut = [r[-1][1] for r in rankings if limit is not None and len(r) == limit]
            if not cut or bound > max(cut):
                ranked = sorted(best.values(), key=lambda sv: (-sv[0], sv[1]))
                return ranked[:CANDIDATES]
            limit = None




__all__ = [
    "ACRONYM_STOPWORDS", "BASES", "CANDIDATES", "GENERIC_WORDS", "LEGAL_PHRASES",
    "MIN_FUZZY_TOKEN", "NORMALISE_CACHE", "OUTCOMES", "PARTIAL_SCORE", "POSSIBLE_AT",
    "REPORT_FLOOR", "Candidate", "Screener", "ScreeningResult", "_score", "compatible",
    "coverage", "name_readings", "name_tokens", "normalize_name", "outcome_of", "pairs",
    "similarity",
]
