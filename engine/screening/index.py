"""The screening index: every listed name variant, and the ones a query could score.

Owns how the watchlists are indexed (variants: each name, alias and individual's short
form; their tokens, joined forms, a sorted vocabulary, a pigeonhole index of its strings,
and the distinctive words and acronyms of entities for partial names), its on-disk form
(`state` / `from_state`, cached by engine.pack keyed by the lists' digests) and candidate
generation (`candidates_of`): exactly the variants a full scan could score above the floor,
never a scan of all of them. The large parts are engine.screening.flatindex structures, so
that a server's workers forked from the master that loaded it share it without copying; the
C kernel (engine/screening/_kernel.c: `Vocabulary` for the compatible strings of a token,
`Forms` for the candidate bound and the ranking) reads them in place. engine.screening.screener
ranks and scores the candidates.
"""

from __future__ import annotations

import datetime as dt
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, Self

from engine.screening._kernel import Forms, Vocabulary, piece_key
from engine.screening._kernel import pieces as _kernel_pieces
from engine.screening.flatindex import IdMap, Strings, TextMap
from engine.screening.names import (
    load_tables,
    primary_raw,
)
from engine.screening.result import PARTIAL_SCORE, REPORT_FLOOR
from engine.screening.scoring import MIN_FUZZY_TOKEN, PARTIAL_FUZZY, _close
from engine.screening.tokens import (
    ACRONYM_STOPWORDS,
    GENERIC_WORDS,
    _strip_legal,
    _tokens,
    name_readings,
)
from engine.screening.watchlists import Watchlist, WatchlistEntry, id_sort_key

CORES_CACHE = 65_536  # query token → the variants whose distinctive words it pairs with
REACH_CACHE = 16_384  # query token → what it reaches, packed (12 bytes per listed token)
MIN_ACRONYM = 4  # shorter acronyms ("ABB", "UAC") collide with too many names
DISTINCTIVE_ENTRIES = 3  # a lone word of at most this many entries identifies an entity


# What one query token reaches, packed by the C kernel (`Vocabulary.reach`): for each listed
# token compatible with it, its variants (a range of the index's token ids) and the most
# characters a pair of the two covers.
Reach = bytes

_SEPARATOR = "\x00"  # between the strings of a pigeonhole piece: tokens are [a-z0-9]
# (start, size) of the pigeonhole pieces of a vocabulary string of a length (the C kernel
# defines them, and looks them up by `piece_key`)
piece_spans = cache(_kernel_pieces)


@dataclass(frozen=True)
class _Listed:
    list: str
    entry: WatchlistEntry



# How the index is kept so that screening writes to none of it: a server's workers share the
# index their master loaded (copy-on-write pages), and every Python object a query touches
# gets its reference count written, which copies its page into the worker. Variant numbers
# are bytes read through a memoryview (each read makes a new integer); the maps and the
# strings of the variants are engine.flatindex structures (a few big strings and arrays).


def _ids(values: Iterable[int]) -> bytes:
    """Variant numbers as the index stores them (native 32-bit integers)."""
    return array("i", values).tobytes()


def _int_array(data: bytes) -> array[int]:
    """An int32 array of `_ids` bytes (a copy: for the small arrays Python reads)."""
    out = array("i")
    out.frombytes(data)
    return out


def _read_ids(data: bytes | memoryview) -> memoryview:
    """The variant numbers of `_ids` bytes, read in place."""
    return memoryview(data).cast("i")


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


class ScreeningIndex:
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
        order = sorted(((i, j) for i, w in enumerate(self.watchlists)
                        for j in range(len(w.entries))),
                       key=lambda ij: (id_sort_key(self.watchlists[ij[0]].entries[ij[1]].id),
                                       self.watchlists[ij[0]].name))
        # (list, entry) numbers in variant order, kept so that reading the index back does
        # not sort the entries again
        self._order = array("i", (n for pair in order for n in pair)).tobytes()
        self._listed = listed = self._listed_in(self._order)
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
        self._chars = array("i", (sum(map(len, tokens)) for tokens in variant_tokens))
        self._by_token = IdMap.of(by_token)
        self._by_joined = IdMap.of(by_joined)
        vocabulary = sorted(set(by_token) | set(by_joined))
        self._vocabulary = Strings.of(vocabulary)
        self._token_ranges = self._by_token.ranges(vocabulary)
        self._joined_ranges = self._by_joined.ranges(vocabulary)
        pieces: dict[str, list[str]] = {}
        for text in vocabulary:
            if len(text) >= MIN_FUZZY_TOKEN:
                for i, (start, size) in enumerate(piece_spans(len(text))):
                    piece = text[start:start + size]
                    pieces.setdefault(piece_key(len(text), i, piece), []).append(text)
                    # Two letters swapped across the piece's left edge ("sechin" written
                    # "sehcin") change two pieces at once, which one edit must not: the piece
                    # is also filed as it then reads, its first letter the one before it.
                    if start:
                        swapped = text[start - 1] + piece[1:]
                        if swapped != piece:
                            pieces.setdefault(piece_key(len(text), i, swapped), []).append(text)
        self._pieces = TextMap.of({k: _SEPARATOR.join(texts) for k, texts in pieces.items()})
        self._finish()
        self._build_partial()

    # -- the on-disk form (engine.pack caches it, keyed by the lists' digests) ----------------
    _STATE = ("_order", "_owner", "_names", "_natural", "_chars", "_sorted", "_by_token",
              "_by_joined", "_vocabulary", "_token_ranges", "_joined_ranges", "_pieces",
              "_cores", "_core_index", "_acronyms")
    _ID_MAPS = frozenset({"_by_token", "_by_joined", "_core_index", "_acronyms"})
    _STRINGS = frozenset({"_natural", "_sorted", "_vocabulary", "_cores"})
    _ARRAYS = frozenset({"_chars"})

    def state(self) -> tuple[Any, ...]:
        """The index as plain data (tuples, dicts, strings, bytes, numbers) for `marshal`: no
        code runs when it is read back, unlike a pickle."""
        lists = tuple((w.name, w.description, w.source,
                       w.as_of.isoformat() if w.as_of else None, w.sample, w.license,
                       tuple((e.id, e.name, e.aliases, e.type, e.programs, e.countries,
                              e.source) for e in w.entries), w.skipped)
                      for w in self.watchlists)
        return (self.threshold, lists, *(
            value.tobytes() if isinstance(value, memoryview | array) else
            value.state() if isinstance(value, IdMap | TextMap | Strings) else value
            for value in (getattr(self, name) for name in self._STATE)))

    @classmethod
    def from_state(cls, state: tuple[Any, ...]) -> Self:
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
        for name, value in zip(cls._STATE, parts, strict=True):
            setattr(self, name, IdMap.from_state(value) if name in cls._ID_MAPS else
                    TextMap.from_state(value) if name == "_pieces" else
                    Strings.from_state(value) if name in cls._STRINGS else
                    _int_array(value) if name in cls._ARRAYS else value)
        self._listed = self._listed_in(self._order)
        self._finish()
        return self

    def _listed_in(self, order: bytes) -> tuple[_Listed, ...]:
        """The listed entries in the order `order` gives as (list, entry) number pairs."""
        numbers = memoryview(order).cast("i")
        watchlists = self.watchlists
        return tuple(_Listed(watchlists[numbers[k]].name,
                             watchlists[numbers[k]].entries[numbers[k + 1]])
                     for k in range(0, len(numbers), 2))

    def _finish(self) -> None:
        """What is derived from the stored parts (cheaper to recompute than to store)."""
        stored: Any = self._owner  # bytes when read back by `from_state`
        if isinstance(stored, bytes):
            self._owner = _read_ids(stored)
        natural, natural_offsets = self._natural.state()
        sorted_, sorted_offsets = self._sorted.state()
        # the variants of each listed token, then of each joined form, end to end (the ranges
        # the C kernel reads them by)
        ids = self._by_token.ids.tobytes() + self._by_joined.ids.tobytes()
        joined_base = len(self._by_token.ids) // 4
        self._forms = Forms(natural, natural_offsets, sorted_, sorted_offsets, self._owner,
                            self._chars, ids)
        words, word_offsets = self._vocabulary.state()
        keys, key_offsets, slots, values, value_offsets = self._pieces.parts()
        self._words = Vocabulary(words, word_offsets, keys, key_offsets, slots, values,
                                 value_offsets, self._token_ranges, self._joined_ranges,
                                 joined_base, len(ids) // 4)
        load_tables()  # in this process, before a server forks its workers
        self._reach = lru_cache(maxsize=REACH_CACHE)(self._reach_uncached)
        self._close_cores = lru_cache(maxsize=CORES_CACHE)(self._close_cores_uncached)

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
    def _similar(self, text: str) -> frozenset[str]:
        """Vocabulary strings compatible with `text` (see `compatible`): the string itself,
        its prefixes and the strings it is a prefix of (the sorted vocabulary), and those
        within the allowed edits. The latter through the pigeonhole pieces: for each length
        of string within reach, the pieces `text` could still contain unchanged, at most
        the allowed edits away (a piece moves by the insertions less the deletions before
        it); the strings filed under them are verified by their distance. In C
        (`Vocabulary.similar`), reading the index's strings in place."""
        return self._words.similar(text)

    def _close_cores_uncached(self, token: str) -> tuple[int, ...]:
        """The variants (ascending) whose entity's distinctive words (`_core_index`, filed
        under the rarest of them) include one a partial name's word pairs with: equal to
        `token`, or one edit apart when both have PARTIAL_FUZZY letters or more (`_close`)."""
        if len(token) < PARTIAL_FUZZY:
            nears: Iterable[str] = (token,) if token in self._core_index else ()
        else:
            nears = [near for near in self._similar(token)
                     if near in self._core_index and (near == token or _close(near, token))]
        return tuple(sorted({v for near in nears for v in _read_ids(self._core_index.get(near))}))

    def _reach_uncached(self, token: str) -> Reach:
        """What `token` reaches (`Vocabulary.reach`): for each compatible listed token, its
        variants (a range of the token ids) and the most characters a pair of the two covers
        (both lengths)."""
        return self._words.reach(token)

    def candidates_of(self, tokens: Sequence[str], *, floor: float | None = None) -> list[int]:
        """Variant numbers that could score at least the floor (or `floor`, when higher) for
        these query tokens (sorted).

        A variant qualifies through a compatible token, or through its tokens written together
        (see `coverage`). Through tokens alone, its coverage is at most the characters its
        reaching query tokens can cover over all characters of both names: each occurrence
        of a query token pairs at most once, covering at most its length plus that of the
        longest of the variant's tokens compatible with it. Variants whose bound is below the
        floor are left out, exactly as the full scan would drop them. The bound is summed in
        C (`Forms.qualify`), over the id lists of the index without copying them.
        """
        if not tokens:
            return []
        floor = self.floor if floor is None else max(self.floor, floor)
        joined = "".join(tokens)
        return self._forms.qualify([self._reach(token) for token in tokens],
                                   self._words.loose(joined, len(tokens) > 1),
                                   len(joined) + len(tokens) - 1, len(joined), floor)

    def candidates(self, name: str) -> list[int]:
        """Variant numbers that share a compatible token with any reading of `name` (sorted)."""
        found: set[int] = set()
        for _, tokens in name_readings(name):
            found.update(self.candidates_of(tokens))
        return sorted(found)


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
