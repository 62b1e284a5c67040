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

import datetime as dt
import heapq
import re
from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from engine.screening.flatindex import IdMap, Strings
from engine.screening.names import (
    LEGAL_FORMS,
    READINGS,
    Raw,
    fold,
    load_tables,
    primary_raw,
    raw_readings,
)
from engine.screening.watchlists import Watchlist, WatchlistEntry, id_sort_key

LEGAL_PHRASES: tuple[tuple[str, ...], ...] = tuple(sorted({tuple(map(fold, p.split())) for p in (
    "public joint stock company", "open joint stock company", "closed joint stock company",
    "joint stock company", "limited liability company", "public limited company",
    "publichnoe aktsionernoe obshchestvo", "otkrytoe aktsionernoe obshchestvo",
    "zakrytoe aktsionernoe obshchestvo", "nepublichnoe aktsionernoe obshchestvo",
    "aktsionernoe obshchestvo", "obshchestvo s ogranichennoy otvetstvennostyu",
    "obshchestvo s ogranichennoi otvetstvennostyu",
    "federalnoe gosudarstvennoe unitarnoe predpriyatie", "societe anonyme", "sociedad anonima",
    "sociedade anonima", "private limited", "sdn bhd",
)}, key=lambda p: (-len(p), p)))

# Words that say what kind of body an entity is, not which one: a listed entity's other
# words ("Rostec" of "STATE CORPORATION ROSTEC", "VTB" of "VTB BANK") identify it alone.
GENERIC_WORDS = frozenset(fold(w) for w in " ".join("""
a an and the of for in on at by to de du des la le les el al y e i da do das dos di del der
den und von zu fur bank banka banking trading trade traders company companies group holding
holdings international national state federal joint stock public closed open general united
global new first central industrial industries industry investment investments capital
finance financial services service systems system technologies technology tech engineering
enterprise enterprises center centre research institute university ministry agency authority
office branch representative leasing insurance energy oil gas petroleum shipping marine
logistics import export commercial construction production manufacturing plant factory
scientific design bureau association foundation fund partners management development
consulting trust solutions products network networks communications media electronics
equipment machinery machine building works project projects resources metals mining
chemical chemicals pharmaceutical medical health republic of government department
committee council organization organisation society union cooperative mutual subsidiary
affiliate russia russian rossii rossiya rossiyskaya iran iranian korea korean china chinese
syria syrian belarus cuba venezuela moscow tehran pyongyang concern kontsern space aerospace
air airlines aviation aircraft airport defense defence military security science sciences
scientific technical transport transportation lines line shipbuilding ship ships exchange
direct electronic electronics radio revolutionary guard corps islamic democratic people
peoples foreign commerce trust reconnaissance mining astronautics water food agro
agricultural automotive auto motors motor steel power electric nuclear rocket missile
instruments instrument precision optics optical telecom telecommunications software data
digital computer computing semiconductor semiconductors materials green star alpha delta
standard premier royal golden gold diamond smart best sun eagle ocean pacific atlantic euro
europe european asia asian africa african arab arabian gulf middle east west north south
eastern western northern southern overseas orient oriental trans universal modern future
""".splitlines()).split())
ACRONYM_STOPWORDS = frozenset({"of", "the", "and", "for", "in", "de", "la", "el", "al"})

MIN_FUZZY_TOKEN = 4  # shorter tokens only pair with equal tokens
NORMALISE_CACHE = 65_536
SIMILAR_CACHE = 65_536  # query token → compatible vocabulary strings, per screener
REACH_CACHE = 8_192  # query token → variants it reaches (large sets for common tokens)
# Below this score a listed name does not resemble the party: no candidate is reported.
REPORT_FLOOR = 60.0
# From this score up to the threshold a candidate is a possible match (the pack's SE-008 and
# SE-009 rules test the same level): at least review until a person clears it.
POSSIBLE_AT = 75.0
# Score of a partial name (a listed entity's distinctive words inside a longer name, or its
# exact acronym): a possible match, never a match by itself.
PARTIAL_SCORE = 80.0
MIN_ACRONYM = 4  # shorter acronyms ("ABB", "UAC") collide with too many names
DISTINCTIVE_ENTRIES = 3  # a lone word of at most this many entries identifies an entity
COMMON_REACH = 256  # a query token reaching more variants is common (see candidates_of)
MAX_INITIALS = 3  # a name with more one-letter tokens is not read as initials
MIN_INITIALS_REST = 3  # letters the other tokens of a name with initials must have
CANDIDATES = 3  # best candidates (distinct entries) reported per party
RANK_BATCH = 32  # candidates ranked per round of the branch-and-bound in Screener._rank

OUTCOMES = ("match", "possible", "clear")
BASES = ("name", "partial", "acronym")


_PHRASES_BY_FIRST: dict[str, tuple[tuple[str, ...], ...]] = {}
for _phrase in LEGAL_PHRASES:
    _PHRASES_BY_FIRST[_phrase[0]] = (*_PHRASES_BY_FIRST.get(_phrase[0], ()), _phrase)


def _strip_legal(raw: Sequence[tuple[str, bool]]) -> list[str]:
    tokens = [token for token, _ in raw]
    kept: list[str] = []
    i = 0
    while i < len(tokens):
        for phrase in _PHRASES_BY_FIRST.get(tokens[i], ()):
            if tuple(tokens[i:i + len(phrase)]) == phrase:
                i += len(phrase)
                break
        else:
            if not raw[i][1] and tokens[i] not in LEGAL_FORMS:
                kept.append(tokens[i])
            i += 1
    # A name that is nothing but a legal form ("AO") still has to be compared as something.
    return kept or tokens


def _ordered(name: str, read: Callable[[str], Raw]) -> Raw:
    """"LAST, First" is read as "First LAST"."""
    parts = name.split(",")
    return read(parts[1]) + read(parts[0]) if len(parts) == 2 else read(name)


def _tokens(name: str) -> tuple[str, ...]:
    """Normalised tokens of the BGN/PCGN reading, in natural order."""
    return tuple(_strip_legal(_ordered(name, primary_raw)))


@lru_cache(maxsize=NORMALISE_CACHE)
def name_tokens(name: str) -> tuple[str, ...]:
    """`_tokens` behind a bounded LRU cache: the same party names come back again and again."""
    return _tokens(name)


@lru_cache(maxsize=NORMALISE_CACHE)
def name_readings(name: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(reading, tokens) for every distinct reading of a party's name (engine.screening.names), the
    BGN/PCGN one first: a query is screened under each, the best wins."""
    parts = name.split(",")
    if len(parts) == 2:
        given, family = raw_readings(parts[1]), raw_readings(parts[0])
        readings = {r: given.get(r, given["bgn"]) + family.get(r, family["bgn"])
                    for r in READINGS if r in given or r in family}
    else:
        readings = raw_readings(name)
    out: list[tuple[str, tuple[str, ...]]] = []
    seen: set[tuple[str, ...]] = set()
    for reading, raw in readings.items():
        tokens = tuple(_strip_legal(raw))
        if tokens and tokens not in seen:
            seen.add(tokens)
            out.append((reading, tokens))
    return tuple(out)


def normalize_name(name: str) -> str:
    """The comparison form of a name: normalised tokens, sorted, space-separated."""
    return " ".join(sorted(name_tokens(name)))


def _score(ta: Sequence[str], tb: Sequence[str]) -> float:
    string = max(fuzz.ratio(" ".join(sorted(ta)), " ".join(sorted(tb))),
                 fuzz.ratio(" ".join(ta), " ".join(tb)))
    return min(float(string), coverage(ta, tb))


def similarity(a: str, b: str) -> float:
    """The screening score (0-100) of two names as the index computes it: `a` under each of
    its readings against `b` as listed."""
    tb = name_tokens(b)
    if not tb:
        return 0.0
    return max((_score(ta, tb) for _, ta in name_readings(a)), default=0.0)


PAIR_CACHE = 262_144
_INCOMPATIBLE = -1


def _allowed(shorter: int) -> int:
    """Edits allowed between two tokens, by the length of the shorter one."""
    return 0 if shorter < MIN_FUZZY_TOKEN else 1 if shorter <= 7 else 2


@lru_cache(maxsize=PAIR_CACHE)
def _pair_distance(a: str, b: str) -> int:
    """Edits between two tokens that may spell one word, else _INCOMPATIBLE. Cached: the same
    common tokens ("bank", "trading", given names) meet again and again."""
    if a == b:
        return 0
    shorter = min(len(a), len(b))
    if shorter >= MIN_FUZZY_TOKEN and (a.startswith(b) or b.startswith(a)):
        return abs(len(a) - len(b))
    allowed = _allowed(shorter)
    if not allowed:
        return _INCOMPATIBLE
    distance = OSA.distance(a, b, score_cutoff=allowed)
    return distance if distance <= allowed else _INCOMPATIBLE


def compatible(a: str, b: str) -> bool:
    """Two tokens that may spell one word: equal, one edit apart (4-7 letters), two (longer),
    or one a prefix of the other (4 letters or more)."""
    return _pair_distance(a, b) != _INCOMPATIBLE


PARTIAL_FUZZY = 10  # distinctive words this long may differ by one edit; shorter ones must be equal


def _close(a: str, b: str) -> bool:
    """How a partial name's distinctive words pair: equal, or one edit apart when both have
    PARTIAL_FUZZY letters or more. Shorter words must be equal: "Silva" is not "SILVIA",
    "Hans" not "HALS", though a full name allows one edit."""
    if a == b:
        return True
    return min(len(a), len(b)) >= PARTIAL_FUZZY and \
        OSA.distance(a, b, score_cutoff=1) <= 1


def pairs(a: Sequence[str], b: Sequence[str]) -> list[tuple[str, str]]:
    """The token pairs that `coverage` counts (equal tokens first, then by edit distance); a
    name written together and apart pairs as a whole."""
    if len(a) != len(b) and compatible("".join(a), "".join(b)):
        return [(" ".join(a), " ".join(b))]
    rest_b = list(b)
    out: list[tuple[str, str]] = []
    rest_a = []
    for token in a:
        if token in rest_b:
            rest_b.remove(token)
            out.append((token, token))
        else:
            rest_a.append(token)
    if rest_a and rest_b:
        found = sorted((d, i, j) for i, x in enumerate(rest_a) for j, y in enumerate(rest_b)
                       if (d := _pair_distance(x, y)) != _INCOMPATIBLE)
        used_a: set[int] = set()
        used_b: set[int] = set()
        for _, i, j in found:
            if i not in used_a and j not in used_b:
                used_a.add(i)
                used_b.add(j)
                out.append((rest_a[i], rest_b[j]))
    return out


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
        found = []
        for i, x in enumerate(rest_a):
            for j, y in enumerate(rest_b):
                distance = _pair_distance(x, y)
                if distance != _INCOMPATIBLE:
                    found.append((distance, i, j))
        found.sort()
        used_a: set[int] = set()
        used_b: set[int] = set()
        for _, i, j in found:
            if i not in used_a and j not in used_b:
                used_a.add(i)
                used_b.add(j)
                covered += len(rest_a[i]) + len(rest_b[j])
    return 100.0 * covered / total


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


@dataclass(frozen=True)
class _Listed:
    list: str
    entry: WatchlistEntry


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


# How the index is kept so that screening writes to none of it: a server's workers share the
# index their master loaded (copy-on-write pages), and every Python object a query touches
# gets its reference count written, which copies its page into the worker. Variant numbers
# are bytes read through a memoryview (each read makes a new integer); the maps and the
# strings of the variants are engine.flatindex structures (a few big strings and arrays).


def _ids(values: Iterable[int]) -> bytes:
    """Variant numbers as the index stores them (native 32-bit integers)."""
    return array("i", values).tobytes()


def _read_ids(data: bytes | memoryview) -> memoryview:
    """The variant numbers of `_ids` bytes, read in place."""
    return memoryview(data).cast("i")


@cache
def _piece_head(length: int, piece: int) -> str:
    """The key prefix of the `piece`-th piece of vocabulary strings of `length` letters."""
    return f"{length}.{piece}."


@dataclass(frozen=True)
class _Reach:
    """What one query token reaches in the index (see `Screener._reach_uncached`).

    A common token (more than COMMON_REACH variants) keeps them as a bitmap (one bit per
    variant: 10 KiB for 84,000 variants, where a set of integers took 200 KiB in each
    worker's cache) and sorted by length; a rarer one as a set."""

    variants: frozenset[int]  # empty for a common token: see `bitmap`
    weight: int
    count: int
    bitmap: bytes = b""
    # a common token's variants, shortest first, and their lengths (characters of tokens)
    by_length: array[int] = field(default_factory=lambda: array("i"))
    lengths: array[int] = field(default_factory=lambda: array("i"))

    def __contains__(self, variant: int) -> bool:
        if self.bitmap:
            return bool(self.bitmap[variant >> 3] >> (variant & 7) & 1)
        return variant in self.variants

    def members(self) -> Iterable[int]:
        return self.by_length if self.bitmap else self.variants

    def common_with(self, other: _Reach) -> Iterable[int]:
        """The variants both reach."""
        if self.bitmap and other.bitmap:
            return _bit_positions((int.from_bytes(self.bitmap, "little") & int.from_bytes(
                other.bitmap, "little")).to_bytes(len(self.bitmap), "little"))
        small, large = (self, other) if self.count <= other.count else (other, self)
        return [v for v in small.members() if v in large]


def _bitmap(variants: Iterable[int], count: int) -> bytes:
    out = bytearray((count + 7) // 8)
    for variant in variants:
        out[variant >> 3] |= 1 << (variant & 7)
    return bytes(out)


def _bit_positions(bitmap: bytes) -> list[int]:
    """The numbers of the bits set in `bitmap`, ascending (its nonzero bytes found in C)."""
    out: list[int] = []
    bits = _BITS
    for found in _NONZERO.finditer(bitmap):
        at = found.start()
        out.extend(at * 8 + bit for bit in bits[bitmap[at]])
    return out


_NONZERO = re.compile(rb"[^\x00]")
_BITS = tuple(tuple(bit for bit in range(8) if byte >> bit & 1) for byte in range(256))


class _VariantTokens(Sequence[tuple[str, ...]]):
    """The tokens of each variant, read from its natural form (copies)."""

    def __init__(self, natural: Strings) -> None:
        self._natural = natural

    def __len__(self) -> int:
        return len(self._natural)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [tuple(form.split(" ")) for form in self._natural[index]]
        return tuple(self._natural[index].split(" "))


@cache
def _pieces(length: int) -> tuple[tuple[int, int], ...]:
    """(start, length) of the pieces a vocabulary string of `length` is cut into: one more
    than the edits a pair with it may have, so that one piece survives any allowed edits."""
    count = _allowed(length) + 1
    bounds = [length * i // count for i in range(count + 1)]
    return tuple((bounds[i], bounds[i + 1] - bounds[i]) for i in range(count))


class Screener:
    """An immutable index over watchlists; `screen` is safe to call from many threads.

    Every name and alias of every entry (and, for individuals, the short form "First
    LAST" without middle names or patronymic) is a *variant*. Variants are numbered in
    (entry id, list name) order, so that the first best-scoring candidate is the
    deterministic tie-break.

    The index finds exactly the variants a full scan could score above zero: those with a
    token compatible with a token of the query (equal, a prefix, or within the allowed
    edits), or whose tokens written together are compatible with the query's. Compatible
    vocabulary strings are found through exact lookups, a sorted vocabulary (prefixes) and a
    pigeonhole index: each string of n letters is cut into k + 1 pieces, k being the edits
    allowed for n letters; any string within k edits contains one of the pieces unchanged,
    at most k positions away.
    """

    index_key = ""  # set by engine.pack: the lists' digests this index was built from

    def __init__(self, watchlists: Iterable[Watchlist], threshold: float) -> None:
        if not 0 < threshold <= 100:
            raise ValueError(f"screening threshold must be in (0, 100], not {threshold}")
        self.threshold = float(threshold)
        self.floor = min(REPORT_FLOOR, self.threshold)
        self.partial_score = min(PARTIAL_SCORE, self.threshold - 0.01)
        self.watchlists = tuple(watchlists)
        listed = sorted(
            (_Listed(w.name, e) for w in self.watchlists for e in w.entries),
            key=lambda item: (id_sort_key(item.entry.id), item.list),
        )
        self._listed = tuple(listed)
        owner: list[int] = []
        names: list[str] = []
        variant_tokens: list[tuple[str, ...]] = []
        by_token: dict[str, list[int]] = {}
        by_joined: dict[str, list[int]] = {}
        for index, item in enumerate(listed):
            seen: set[tuple[str, ...]] = set()
            for name, tokens in _variants(item.entry):
                if not tokens or tokens in seen:
                    continue
                seen.add(tokens)
                variant = len(owner)
                owner.append(index)
                names.append(name)
                variant_tokens.append(tokens)
                for token in set(tokens):
                    by_token.setdefault(token, []).append(variant)
                by_joined.setdefault("".join(tokens), []).append(variant)
        self._owner: memoryview = _read_ids(_ids(owner))
        self._names = tuple(names)
        self._natural = Strings.of(" ".join(tokens) for tokens in variant_tokens)
        self._sorted = Strings.of(" ".join(sorted(tokens)) for tokens in variant_tokens)
        self._by_token = IdMap.of(by_token)
        self._by_joined = IdMap.of(by_joined)
        vocabulary = sorted(set(by_token) | set(by_joined))
        self._vocabulary = Strings.of(vocabulary)
        number = {text: i for i, text in enumerate(vocabulary)}
        pieces: dict[str, list[int]] = {}
        for text in vocabulary:
            if len(text) >= MIN_FUZZY_TOKEN:
                for i, (start, size) in enumerate(_pieces(len(text))):
                    piece = text[start:start + size]
                    head = _piece_head(len(text), i)
                    pieces.setdefault(head + piece, []).append(number[text])
                    # Two letters swapped across the piece's left edge ("sechin" written
                    # "sehcin") change two pieces at once, which one edit must not: the piece
                    # is also filed as it then reads, its first letter the one before it.
                    if start:
                        swapped = text[start - 1] + piece[1:]
                        if swapped != piece:
                            pieces.setdefault(head + swapped, []).append(number[text])
        self._pieces = IdMap.of(pieces)
        self._finish()
        self._build_partial()

    # -- the on-disk form (engine.pack caches it, keyed by the lists' digests) ----------------
    _STATE = ("_owner", "_names", "_natural", "_sorted", "_by_token", "_by_joined",
              "_vocabulary", "_pieces", "_cores", "_core_index", "_acronyms")
    _ID_MAPS = frozenset({"_by_token", "_by_joined", "_pieces", "_core_index", "_acronyms"})
    _STRINGS = frozenset({"_natural", "_sorted", "_vocabulary", "_cores"})

    def state(self) -> tuple[Any, ...]:
        """The index as plain data (tuples, dicts, strings, bytes, numbers) for `marshal`: no
        code runs when it is read back, unlike a pickle."""
        lists = tuple((w.name, w.description, w.source,
                       w.as_of.isoformat() if w.as_of else None, w.sample, w.license,
                       tuple((e.id, e.name, e.aliases, e.type, e.programs, e.countries,
                              e.source) for e in w.entries), w.skipped)
                      for w in self.watchlists)
        return (self.threshold, lists, *(
            value.tobytes() if isinstance(value, memoryview) else
            value.state() if isinstance(value, IdMap | Strings) else value
            for value in (getattr(self, name) for name in self._STATE)))

    @classmethod
    def from_state(cls, state: tuple[Any, ...]) -> Screener:
        """The screener `state()` described, without rebuilding the index."""
        threshold, lists, *parts = state
        watchlists = tuple(
            Watchlist(name, tuple(WatchlistEntry(*e) for e in entries), description, source,
                      dt.date.fromisoformat(as_of) if as_of else None, sample, license_,
                      skipped)
            for name, description, source, as_of, sample, license_, entries, skipped in lists)
        self = cls.__new__(cls)
        self.threshold = float(threshold)
        self.floor = min(REPORT_FLOOR, self.threshold)
        self.partial_score = min(PARTIAL_SCORE, self.threshold - 0.01)
        self.watchlists = watchlists
        self._listed = tuple(sorted(
            (_Listed(w.name, e) for w in watchlists for e in w.entries),
            key=lambda item: (id_sort_key(item.entry.id), item.list)))
        for name, value in zip(cls._STATE, parts, strict=True):
            setattr(self, name, IdMap.from_state(value) if name in cls._ID_MAPS else
                    Strings.from_state(value) if name in cls._STRINGS else value)
        self._finish()
        return self

    def _finish(self) -> None:
        """What is derived from the stored parts (cheaper to recompute than to store)."""
        stored: Any = self._owner  # bytes when read back by `from_state`
        if isinstance(stored, bytes):
            self._owner = _read_ids(stored)
        self._chars = array("i", (len(form) - form.count(" ") for form in self._natural))
        load_tables()  # in this process, before a server forks its workers
        self._similar = lru_cache(maxsize=SIMILAR_CACHE)(self._similar_uncached)
        self._reach = lru_cache(maxsize=REACH_CACHE)(self._reach_uncached)

    def _build_partial(self) -> None:
        """Distinctive words (core) and acronyms of the listed entities, for partial names."""
        entries_with: dict[str, set[int]] = {}
        for variant, tokens in enumerate(self._tokens):
            for token in tokens:
                entries_with.setdefault(token, set()).add(self._owner[variant])
        core_index: dict[str, list[int]] = {}
        acronyms: dict[str, list[int]] = {}
        cores = [""] * len(self._tokens)
        for variant, tokens in enumerate(self._tokens):
            if self._listed[self._owner[variant]].entry.type == "individual":
                continue
            core = tuple(t for t in tokens if t not in GENERIC_WORDS)
            if not core or sum(map(len, core)) < 3 or min(map(len, core)) < 2:
                continue
            if len(core) == 1 and len(entries_with[core[0]]) > DISTINCTIVE_ENTRIES:
                continue
            cores[variant] = " ".join(core)
            rarest = min(core, key=lambda t: (len(entries_with[t]), t))
            core_index.setdefault(rarest, []).append(variant)
            words = [t for t in tokens if t not in ACRONYM_STOPWORDS]
            if len(words) >= 3:
                acronyms.setdefault("".join(t[0] for t in words), []).append(variant)
        self._cores = Strings.of(cores)
        self._core_index = IdMap.of(core_index)
        self._acronyms = IdMap.of({k: v for k, v in acronyms.items() if len(k) >= MIN_ACRONYM})

    def __len__(self) -> int:
        """Number of indexed name variants."""
        return len(self._owner)

    @property
    def _tokens(self) -> _VariantTokens:
        """The tokens of each variant, in natural order."""
        return _VariantTokens(self._natural)

    # -- candidates -------------------------------------------------------------------------
    def _similar_uncached(self, text: str) -> frozenset[str]:
        """Vocabulary strings compatible with `text` (see `compatible`)."""
        out: set[str] = set()
        if text in self._by_token or text in self._by_joined:
            out.add(text)
        size = len(text)
        if size < MIN_FUZZY_TOKEN:
            return frozenset(out)
        for cut in range(MIN_FUZZY_TOKEN, size):  # a listed string is a prefix of `text`
            prefix = text[:cut]
            if prefix in self._by_token or prefix in self._by_joined:
                out.add(prefix)
        out.update(self._vocabulary.starting_with(text))  # `text` a prefix of them
        pieces = self._pieces
        for other in range(max(MIN_FUZZY_TOKEN, size - 2), size + 3):
            allowed = _allowed(min(size, other))
            grown = size - other
            if abs(grown) > allowed:
                continue
            # A piece moves by the insertions less the deletions before it; with `allowed`
            # edits of which the net is `grown`, that is between these two shifts.
            slack = (allowed - abs(grown)) // 2
            low, high = min(0, grown) - slack, max(0, grown) + slack
            pool: set[int] = set()
            for piece, (start, length) in enumerate(_pieces(other)):
                head = _piece_head(other, piece)
                for at in range(max(0, start + low), min(size - length, start + high) + 1):
                    found = pieces.get(head + text[at:at + length])
                    if found:
                        pool.update(_read_ids(found))
            near_texts = [t for t in self._vocabulary.take(pool) if t not in out]
            if near_texts:  # verified in one C call per length
                out.update(near for near, _, _ in process.extract(
                    text, near_texts, scorer=OSA.distance, score_cutoff=allowed, limit=None))
        return frozenset(out)

    def _reach_uncached(self, token: str) -> _Reach:
        """Variants with a token compatible with `token`, and the most characters such a pair
        can cover (the token's length plus its longest compatible listed token)."""
        found: set[int] = set()
        longest = 0
        for near in self._similar(token):
            ids = self._by_token.get(near)
            if ids:
                found.update(_read_ids(ids))
                longest = max(longest, len(near))
        if len(found) <= COMMON_REACH:
            return _Reach(frozenset(found), len(token) + longest, len(found))
        by_length = sorted(found, key=self._chars.__getitem__)
        return _Reach(frozenset(), len(token) + longest, len(found),
                      _bitmap(found, len(self._owner)), array("i", by_length),
                      array("i", map(self._chars.__getitem__, by_length)))

    def candidates_of(self, tokens: Sequence[str], *, floor: float | None = None) -> list[int]:
        """Variant numbers that could score at least the floor (or `floor`, when higher) for
        these query tokens (sorted).

        A variant qualifies through a compatible token, or through its tokens written together
        (see `coverage`). Through tokens alone, its coverage is at most the characters its
        reaching query tokens can cover over all characters of both names: variants whose
        bound is below the floor are left out, exactly as the full scan would drop them.
        """
        if not tokens:
            return []
        query_chars = sum(map(len, tokens))
        chars = self._chars
        floor = self.floor if floor is None else max(self.floor, floor)
        reaches = [self._reach(token) for token in tokens]  # each occurrence can pair once
        # Common tokens ("mohammad", "al", "bank") reach thousands of variants: visiting them
        # all for every query was most of the time of a name. A variant reached by a rarer
        # token, or by two common ones, is visited (few) and its bound completed by membership
        # tests; one reached by a single common token qualifies only if it is short enough.
        common = [r for r in reaches if r.bitmap]
        bound: dict[int, int] = {}
        get = bound.get
        for reach in reaches:
            if not reach.bitmap:
                weight = reach.weight
                for variant in reach.variants:
                    bound[variant] = get(variant, 0) + weight
        found: set[int] = set()
        if common:
            # Reached by one common token alone: qualifies if short enough (a prefix of its
            # variants by length; a hair more is harmless, `_rank` scores exactly).
            for reach in common:
                longest = (100.0 * reach.weight - floor * query_chars) / floor + 1e-6
                found.update(reach.by_length[:bisect_right(reach.lengths, longest)])
            # Reached by two common tokens or more: few (bitmap intersections, in C).
            for i, first in enumerate(common):
                for second in common[i + 1:]:
                    for variant in first.common_with(second):
                        if variant not in bound:
                            bound[variant] = 0
            for reach in common:
                weight, bitmap = reach.weight, reach.bitmap
                for variant in bound:
                    if bitmap[variant >> 3] >> (variant & 7) & 1:
                        bound[variant] += weight
        found.update(v for v, covered in bound.items()
                     if 100.0 * covered >= floor * (query_chars + chars[v]))
        joined = "".join(tokens)
        for near in self._similar(joined):
            found.update(_read_ids(self._by_joined.get(near)))
            if len(tokens) > 1:
                found.update(_read_ids(self._by_token.get(near)))
        return sorted(found)

    def candidates(self, name: str) -> list[int]:
        """Variant numbers that share a compatible token with any reading of `name` (sorted)."""
        found: set[int] = set()
        for _, tokens in name_readings(name):
            found.update(self.candidates_of(tokens))
        return sorted(found)

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
                listed = self._tokens[variant]
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


def _covers(tokens: Sequence[str], core: Sequence[str]) -> bool:
    """Whether each word of `core` pairs with a distinct, close word of `tokens`."""
    rest = list(tokens)
    for word in core:
        for i, token in enumerate(rest):
            if _close(word, token):
                del rest[i]
                break
        else:
            return False
    return True


def _variants(entry: WatchlistEntry) -> list[tuple[str, tuple[str, ...]]]:
    """(listed name, tokens) of every name, alias and individual's short form of `entry`."""
    out = []
    for name in (entry.name, *entry.aliases):
        tokens = _tokens(name)
        out.append((name, tokens))
        if entry.type == "individual":
            short = _short_form(name, tokens)
            if short:
                out.append((name, short))
    return out


def _short_form(name: str, tokens: tuple[str, ...]) -> tuple[str, ...] | None:
    """"KOVALCHUK, Yury Valentinovich" → ("yury", "kovalchuk"): how the person is usually
    written in a contract, without middle names or patronymic."""
    parts = name.split(",")
    if len(parts) == 2:
        given, family = _strip_legal(primary_raw(parts[1])), _strip_legal(primary_raw(parts[0]))
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
