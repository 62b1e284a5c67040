"""Watchlist name screening: name normalisation, Cyrillic transliteration and a blocked fuzzy index.

How a name is compared, and why:

* **Normalisation** makes spelling conventions irrelevant: case and accents are folded,
  Cyrillic is transliterated with a BGN/PCGN-style table (the convention OFAC uses:
  "Промсвязьбанк" → "promsvyazbank"; Unidecode gives "Promsviaz'bank", which scores only
  about 80 against the listed spelling), other scripts go through Unidecode, punctuation
  goes, legal forms ("PJSC", "ПАО", "Public Joint Stock Company", "GmbH"...) are dropped
  and tokens are sorted, so "IVANOV, Ivan" = "Ivan Ivanov" = "ivanov ivan".
* **Score** = min(string score, token coverage):
  - the string score is `rapidfuzz.fuzz.ratio` (normalised Indel similarity, 0-100) on the
    sorted tokens (token_sort_ratio), or on the tokens in natural order when that is higher
    (a typo in a first letter can move a token in the sort). Not WRatio: its partial and
    token-set parts score "Gazprom" 90 against "Gazprombank": a part of a listed name is
    not the listed party.
  - the token coverage is the share of characters, on both sides, in tokens paired with a
    compatible token of the other name (equal, one edit apart for 4-7 letters, two for
    longer ones, or one a prefix of the other). Without it, a shared given name and
    patronymic outweigh the surname: "SIDOROV, Aleksandr Nikolaevich" scores 93 against
    "FEDOROV, Aleksandr Nikolaevich" on the string alone, 74 with coverage.
* **Index**: blocking, never a full scan per name. Candidates are the entries that share a
  normalised token with the query, or a token within one edit (insertion, deletion,
  substitution, adjacent transposition) found through a one-deletion neighbourhood
  (SymSpell-style) of the vocabulary. rapidfuzz ranks the candidates in C by string score;
  coverage is computed for the best-ranked ones only, until the string score (an upper
  bound of the final score) falls below the best final score found.
"""

from __future__ import annotations

import heapq
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA
from unidecode import unidecode

from engine.watchlists import Watchlist, WatchlistEntry, id_sort_key

# BGN/PCGN-style romanisation without diacritics, as OFAC writes Russian names
# (е, ё → e; й → y; ъ, ь dropped), plus the Ukrainian and Belarusian letters.
CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh",
    "з": "z", "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu",
    "я": "ya", "і": "i", "ї": "yi", "є": "ye", "ґ": "g", "ў": "u",
}
_CYRILLIC_TABLE = str.maketrans(CYRILLIC)
_HAS_CYRILLIC = re.compile("[\u0400-\u04ff]")

# Legal forms, dropped wherever they stand. Cyrillic abbreviations are dropped before
# transliteration; everything else (including transliterated Russian) after it.
LEGAL_FORMS_CYRILLIC = frozenset({
    "пао", "оао", "зао", "ао", "ооо", "нао", "одо", "фгуп", "гуп", "муп", "ано", "ип",
    "тов", "пат", "прат", "ат",
})
LEGAL_FORMS = frozenset({
    "pjsc", "ojsc", "cjsc", "jsc", "pao", "oao", "zao", "ao", "ooo", "nao", "fgup", "gup",
    "mup", "tov", "pat", "prat", "llc", "llp", "lp", "ltd", "limited", "gmbh", "ag", "sa",
    "sas", "sarl", "srl", "spa", "bv", "nv", "inc", "incorporated", "corp", "corporation",
    "co", "company", "plc", "pte", "pty", "pvt", "bhd", "kk", "oy", "ab", "ou", "se", "kg",
    "sro", "doo", "kft", "ltda", "lda", "sae", "fze", "fzco", "fzc",
})
LEGAL_PHRASES: tuple[tuple[str, ...], ...] = tuple(sorted((tuple(p.split()) for p in (
    "public joint stock company", "open joint stock company", "closed joint stock company",
    "joint stock company", "limited liability company", "public limited company",
    "publichnoe aktsionernoe obshchestvo", "otkrytoe aktsionernoe obshchestvo",
    "zakrytoe aktsionernoe obshchestvo", "nepublichnoe aktsionernoe obshchestvo",
    "aktsionernoe obshchestvo", "obshchestvo s ogranichennoy otvetstvennostyu",
    "obshchestvo s ogranichennoi otvetstvennostyu",
    "federalnoe gosudarstvennoe unitarnoe predpriyatie", "societe anonyme", "sociedad anonima",
    "sociedade anonima", "private limited", "sdn bhd",
)), key=len, reverse=True))

# Apostrophes and dots join rather than split: "O'Brien", "S.A.", "Promsvyaz'bank".
_DROPPED = re.compile("['\u2018\u2019\u02bc`.]")
_WORD = re.compile(r"[^\W_]+")
_LATIN_WORD = re.compile(r"[a-z0-9]+")
_FINAL_IY = re.compile(r"(?:iy|yy|ij)$")

MIN_FUZZY_TOKEN = 4  # shorter tokens only block on exact equality (their neighbourhoods are huge)
NORMALISE_CACHE = 65_536
# Below this score a listed name does not resemble the party: no candidate is reported.
REPORT_FLOOR = 60.0
RANK_BATCH = 32  # candidates ranked per round of the branch-and-bound in Screener._best


def _transliterate(token: str) -> list[str]:
    if _HAS_CYRILLIC.search(token):
        token = token.translate(_CYRILLIC_TABLE)
    if not token.isascii():
        token = unidecode(token)
    return _LATIN_WORD.findall(token.lower())


def _fold_variants(token: str) -> str:
    """Spelling variants of one transliterated sound: Rosoboronexport/-eksport,
    Aleksandr/Alexander, Dmitriy/Dmitrij/Dmitry. Not "-ii" → "-y": that is the Russian
    genitive ("Bank Rossii", the central bank) and would pull it towards "Bank Rossiya"."""
    token = token.replace("x", "ks")
    if len(token) > 3:
        token = _FINAL_IY.sub("y", token)
    return token


def _raw_tokens(text: str) -> list[tuple[str, bool]]:
    """(transliterated token, is a Cyrillic legal form) for each token of `text`.

    Cyrillic abbreviations are recognised before transliteration because some of them
    ("ИП", "АТ") would be ordinary words once in Latin letters ("ip", "at").
    """
    folded = _DROPPED.sub("", unicodedata.normalize("NFKC", text).casefold())
    out: list[tuple[str, bool]] = []
    for word in _WORD.findall(folded):
        legal = word in LEGAL_FORMS_CYRILLIC
        out.extend((_fold_variants(t), legal) for t in _transliterate(word))
    return out


def _strip_legal(raw: list[tuple[str, bool]]) -> list[str]:
    tokens = [token for token, _ in raw]
    kept: list[str] = []
    i = 0
    while i < len(tokens):
        for phrase in LEGAL_PHRASES:
            if tuple(tokens[i:i + len(phrase)]) == phrase:
                i += len(phrase)
                break
        else:
            if not raw[i][1] and tokens[i] not in LEGAL_FORMS:
                kept.append(tokens[i])
            i += 1
    # A name that is nothing but a legal form ("AO") still has to be compared as something.
    return kept or tokens


def _tokens(name: str) -> tuple[str, ...]:
    """Normalised tokens in natural order ("LAST, First" is read as "First LAST")."""
    parts = name.split(",")
    raw = _raw_tokens(parts[1]) + _raw_tokens(parts[0]) if len(parts) == 2 \
        else _raw_tokens(name)
    return tuple(_strip_legal(raw))


@lru_cache(maxsize=NORMALISE_CACHE)
def name_tokens(name: str) -> tuple[str, ...]:
    """`_tokens` behind a bounded LRU cache: the same party names come back again and again."""
    return _tokens(name)


def normalize_name(name: str) -> str:
    """The comparison form of a name: normalised tokens, sorted, space-separated."""
    return " ".join(sorted(name_tokens(name)))


def similarity(a: str, b: str) -> float:
    """The screening score (0-100) of two names, exactly as the index computes it."""
    ta, tb = name_tokens(a), name_tokens(b)
    if not ta or not tb:
        return 0.0
    string = max(fuzz.ratio(" ".join(sorted(ta)), " ".join(sorted(tb))),
                 fuzz.ratio(" ".join(ta), " ".join(tb)))
    return min(float(string), coverage(ta, tb))


PAIR_CACHE = 262_144
_INCOMPATIBLE = -1


@lru_cache(maxsize=PAIR_CACHE)
def _pair_distance(a: str, b: str) -> int:
    """Edits between two tokens that may spell one word, else _INCOMPATIBLE. Cached: the same
    common tokens ("bank", "trading", given names) meet again and again."""
    if a == b:
        return 0
    shorter = min(len(a), len(b))
    if shorter >= MIN_FUZZY_TOKEN and (a.startswith(b) or b.startswith(a)):
        return abs(len(a) - len(b))
    allowed = 0 if shorter <= 3 else 1 if shorter <= 7 else 2
    if not allowed:
        return _INCOMPATIBLE
    distance = OSA.distance(a, b, score_cutoff=allowed)
    return distance if distance <= allowed else _INCOMPATIBLE


def compatible(a: str, b: str) -> bool:
    """Two tokens that may spell one word: equal, one edit apart (4-7 letters), two (longer),
    or one a prefix of the other (4 letters or more)."""
    return _pair_distance(a, b) != _INCOMPATIBLE


def coverage(a: Sequence[str], b: Sequence[str]) -> float:
    """Share (0-100) of the characters of both token lists in pairs of compatible tokens.

    Pairs are formed greedily, equal tokens first, then by edit distance; names written
    together and apart ("Gazpromneft" / "Gazprom Neft") are fully covered.
    """
    total = sum(map(len, a)) + sum(map(len, b))
    if not total:
        return 0.0
    # A word split or joined differently: the token lists differ in length, the texts don't.
    if len(a) != len(b) and compatible("".join(a), "".join(b)):
        return 100.0
    rest_b = list(b)
    rest_a = []
    covered = 0
    for token in a:
        if token in rest_b:
            rest_b.remove(token)
            covered += 2 * len(token)
        else:
            rest_a.append(token)
    if rest_a and rest_b:
        pairs = []
        for i, x in enumerate(rest_a):
            for j, y in enumerate(rest_b):
                distance = _pair_distance(x, y)
                if distance != _INCOMPATIBLE:
                    pairs.append((distance, i, j))
        pairs.sort()
        used_a: set[int] = set()
        used_b: set[int] = set()
        for _, i, j in pairs:
            if i not in used_a and j not in used_b:
                used_a.add(i)
                used_b.add(j)
                covered += len(rest_a[i]) + len(rest_b[j])
    return 100.0 * covered / total


@dataclass(frozen=True)
class ScreeningResult:
    """The best watchlist candidate for a party.

    A candidate is a listed name scoring at least REPORT_FLOOR (or the threshold, if lower);
    without one, the entry fields are None and the fact is `{"matched": false, "score": 0}`.
    """

    matched: bool
    score: float
    list: str | None = None
    entry: str | None = None
    entry_id: str | None = None
    matched_name: str | None = None
    programs: tuple[str, ...] = ()

    def to_fact(self) -> dict[str, Any]:
        """The `screening` object of the proposal contract (engine.contract.SCREENING)."""
        if self.entry_id is None:
            return {"matched": False, "score": 0.0}
        return {
            "matched": self.matched,
            "score": self.score,
            "list": self.list,
            "entry": self.entry,
            "entry_id": self.entry_id,
            "matched_name": self.matched_name,
            "programs": list(self.programs),
        }


NO_CANDIDATE = ScreeningResult(matched=False, score=0.0)


@dataclass(frozen=True)
class _Listed:
    list: str
    entry: WatchlistEntry


class Screener:
    """An immutable index over watchlists; `screen` is safe to call from many threads.

    Every name and alias of every entry (and, for individuals, the short form "First
    LAST" without middle names or patronymic) is a *variant*. Variants are numbered in
    (entry id, list name) order, so that the first best-scoring candidate is the
    deterministic tie-break.
    """

    def __init__(self, watchlists: Iterable[Watchlist], threshold: float) -> None:
        if not 0 < threshold <= 100:
            raise ValueError(f"screening threshold must be in (0, 100], not {threshold}")
        self.threshold = float(threshold)
        self.floor = min(REPORT_FLOOR, self.threshold)
        self.watchlists = tuple(watchlists)
        listed = sorted(
            (_Listed(w.name, e) for w in self.watchlists for e in w.entries),
            key=lambda item: (id_sort_key(item.entry.id), item.list),
        )
        self._listed = tuple(listed)
        owner: list[int] = []
        sorted_forms: list[str] = []
        natural_forms: list[str] = []
        variant_tokens: list[tuple[str, ...]] = []
        postings: dict[str, list[int]] = {}
        joined: dict[str, list[int]] = {}
        for index, item in enumerate(listed):
            seen: set[tuple[str, ...]] = set()
            for tokens in _variants(item.entry):
                if not tokens or tokens in seen:
                    continue
                seen.add(tokens)
                variant = len(owner)
                owner.append(index)
                variant_tokens.append(tokens)
                sorted_forms.append(" ".join(sorted(tokens)))
                natural_forms.append(" ".join(tokens))
                for token in set(tokens):
                    postings.setdefault(token, []).append(variant)
                if len(tokens) > 1:
                    joined.setdefault("".join(tokens), []).append(variant)
        self._owner = tuple(owner)
        self._sorted = tuple(sorted_forms)
        self._natural = tuple(natural_forms)
        self._tokens = tuple(variant_tokens)
        self._postings = {token: tuple(ids) for token, ids in postings.items()}
        self._joined = {key: tuple(ids) for key, ids in joined.items()}
        # One-deletion neighbourhood of the vocabulary: key → tokens (in sorted order).
        building: dict[str, list[str]] = {}
        for token in sorted(self._postings):
            if len(token) >= MIN_FUZZY_TOKEN:
                for key in _deletions(token):
                    building.setdefault(key, []).append(token)
        self._deletes: dict[str, tuple[str, ...]] = {}
        while building:  # to tuples (smaller), freeing each list as we go
            key, near = building.popitem()
            self._deletes[key] = tuple(near)

    def __len__(self) -> int:
        """Number of indexed name variants."""
        return len(self._owner)

    def candidates(self, name: str) -> list[int]:
        """Variant numbers sharing a token, or a token one edit away, with `name` (sorted).

        Written-together and written-apart forms ("Gazpromneft" / "Gazprom Neft") block on
        each other through the concatenation of each multi-token variant.
        """
        tokens = name_tokens(name)
        # Single letters (initials) block only when nothing else does.
        blocking = {t for t in tokens if len(t) > 1} or set(tokens)
        found: set[int] = set()
        if len(tokens) > 1:
            blocking.add("".join(tokens))
        for token in blocking:
            for table in (self._postings, self._joined):
                exact = table.get(token)
                if exact:
                    found.update(exact)
            if len(token) >= MIN_FUZZY_TOKEN:
                for near in self._near(token):
                    found.update(self._postings[near])
        return sorted(found)

    def _near(self, token: str) -> set[str]:
        near: set[str] = set(self._deletes.get(token, ()))  # one insertion away
        for key in _deletions(token):
            if key in self._postings:  # one deletion away
                near.add(key)
            near.update(self._deletes.get(key, ()))  # substitution / transposition
        near.discard(token)
        return near

    def screen(self, names: Sequence[str]) -> ScreeningResult:
        """Screen a party's name and aliases; the best candidate over all of them wins."""
        best: tuple[float, int, int] | None = None  # (score, variant, name position)
        for position, name in enumerate(names):
            if not isinstance(name, str) or not name.strip():
                continue
            found = self._best(name, self.candidates(name))
            if found is None:
                continue
            score, variant = found
            if best is None or score > best[0] or (score == best[0] and variant < best[1]):
                best = (score, variant, position)
        if best is None:
            return NO_CANDIDATE
        score, variant, position = best
        item = self._listed[self._owner[variant]]
        rounded = round(score, 2)
        return ScreeningResult(
            matched=rounded >= self.threshold,
            score=rounded,
            list=item.list,
            entry=item.entry.name,
            entry_id=item.entry.id,
            matched_name=names[position],
            programs=item.entry.programs,
        )

    def screen_all(self, name: str) -> ScreeningResult:
        """Reference result by a full scan of every variant (for tests and benchmarks only)."""
        found = self._best(name, None)
        if found is None:
            return NO_CANDIDATE
        score, variant = found
        item = self._listed[self._owner[variant]]
        rounded = round(score, 2)
        return ScreeningResult(rounded >= self.threshold, rounded, item.list, item.entry.name,
                               item.entry.id, name, item.entry.programs)

    def _best(self, name: str, variants: Sequence[int] | None) -> tuple[float, int] | None:
        """Best (score, variant) among `variants` (ascending; None: all), the first on ties.

        Branch and bound: rapidfuzz ranks candidates by string score, which bounds the final
        score from above, so coverage is computed only until the ranking falls below the best
        final score. The first round looks at the top RANK_BATCH of each ranking; if a
        candidate beyond them could still win, the round is repeated over all of them.
        """
        tokens = name_tokens(name)
        if not tokens or (variants is not None and not variants):
            return None
        sorted_forms: Sequence[str] = self._sorted
        natural_forms: Sequence[str] = self._natural
        if variants is not None:
            sorted_forms = list(map(self._sorted.__getitem__, variants))
            natural_forms = list(map(self._natural.__getitem__, variants))
        query_sorted, query_natural = " ".join(sorted(tokens)), " ".join(tokens)
        limit: int | None = RANK_BATCH
        best: tuple[float, int] | None = None
        seen: set[int] = set()  # kept across rounds: a second round skips what the first saw
        while True:
            rankings = [
                process.extract(query, forms, scorer=fuzz.ratio, score_cutoff=self.floor,
                                limit=limit)
                for query, forms in ((query_sorted, sorted_forms), (query_natural, natural_forms))
            ]
            for _, string_score, index in heapq.merge(*rankings, key=lambda r: (-r[1], r[2])):
                if best is not None and string_score < best[0]:
                    break
                if index in seen:
                    continue
                seen.add(index)
                variant = index if variants is None else variants[index]
                score = min(float(string_score), coverage(tokens, self._tokens[variant]))
                if score >= self.floor and (best is None or score > best[0]
                                            or (score == best[0] and variant < best[1])):
                    best = (score, variant)
            cut = [r[-1][1] for r in rankings if limit is not None and len(r) == limit]
            if not cut or (best is not None and best[0] > max(cut)):
                return best
            limit = None


def _variants(entry: WatchlistEntry) -> list[tuple[str, ...]]:
    out = []
    for name in (entry.name, *entry.aliases):
        tokens = _tokens(name)
        out.append(tokens)
        if entry.type == "individual":
            short = _short_form(name, tokens)
            if short:
                out.append(short)
    return out


def _short_form(name: str, tokens: tuple[str, ...]) -> tuple[str, ...] | None:
    """"KOVALCHUK, Yury Valentinovich" → ("yury", "kovalchuk"): how the person is usually
    written in a contract, without middle names or patronymic."""
    parts = name.split(",")
    if len(parts) == 2:
        given, family = _strip_legal(_raw_tokens(parts[1])), _strip_legal(_raw_tokens(parts[0]))
        if len(given) >= 2 and family:
            return (given[0], *family)
        return None
    if len(tokens) < 3:
        return None
    # Without a comma the order is unknown: a patronymic in the middle means "First
    # Patronymic LAST"; one at the end means the Russian "LAST First Patronymic".
    if _is_patronymic(tokens[-1]) and not _is_patronymic(tokens[1]):
        return (tokens[1], tokens[0])
    return (tokens[0], tokens[-1])


_PATRONYMIC = ("ovich", "evich", "ovna", "evna", "ichna", "ogly", "kyzy")


def _is_patronymic(token: str) -> bool:
    return token.endswith(_PATRONYMIC)


def _deletions(token: str) -> set[str]:
    return {token[:i] + token[i + 1:] for i in range(len(token))}
