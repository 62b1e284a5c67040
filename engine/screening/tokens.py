"""From a written name to the tokens screening compares, and the words it treats apart.

Owns: the readings of a party's name as tokens (`name_readings`: each romanisation or
spelling reading of engine.screening.names, legal forms dropped, "LAST, First" read as
"First LAST"), the one reading of a listed name (`name_tokens`), the legal-form phrases, the
generic words of entity names (what kind of body, not which one: "bank", "trading", country
names...) and the stop words of acronyms. engine.screening.names does what happens to the
characters; this module what happens to the words.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache

from engine.screening.names import (
    LEGAL_FORMS,
    READINGS,
    Raw,
    fold,
    primary_raw,
    raw_readings,
)

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
mobile cellular wireless
digital computer computing semiconductor semiconductors materials green star alpha delta
standard premier royal golden gold diamond smart best sun eagle ocean pacific atlantic euro
europe european asia asian africa african arab arabian gulf middle east west north south
eastern western northern southern overseas orient oriental trans universal modern future
""".splitlines()).split())
ACRONYM_STOPWORDS = frozenset({"of", "the", "and", "for", "in", "de", "la", "el", "al"})

NORMALISE_CACHE = 65_536


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


