"""The score of a party's name against a listed name, and when two tokens may spell one word.

Owns: min(string score, token coverage) (`similarity`, `_score`): the string score is
rapidfuzz's `fuzz.ratio` on the sorted tokens, or on the tokens in natural order when higher
(not WRatio: its partial and token-set parts score "Gazprom" 90 against "Gazprombank", and a
part of a listed name is not the listed party); the coverage is the share of characters, on
both sides, in pairs of compatible tokens (`compatible`: equal, a prefix of four letters or
more, one edit for 4-7 letters, two for longer), so that a shared given name and patronymic
do not outweigh a different surname ("SIDOROV, Aleksandr Nikolaevich" scores 93 against
"FEDOROV, Aleksandr Nikolaevich" on the string alone, 74 with coverage); the closer pairing
of partial names' distinctive words (`_close`, `_covers`). The pair distance and the coverage
are computed by the C kernel (engine/screening/_kernel.c), which the index runs over many
listed names per query; tests/engine/screening/reference.py restates them in Python.
"""

from __future__ import annotations

from collections.abc import Sequence

from rapidfuzz import fuzz
from rapidfuzz.distance import OSA

from engine.screening import _kernel
from engine.screening.tokens import name_readings, name_tokens

# The arithmetic of pairing tokens lives in C (engine/screening/_kernel.c), where the index
# runs it over many listed names per query; these names are its Python face.
MIN_FUZZY_TOKEN: int = _kernel.MIN_FUZZY_TOKEN  # shorter tokens only pair with equal tokens
_INCOMPATIBLE: int = _kernel.INCOMPATIBLE
_allowed = _kernel.allowed_edits  # edits allowed between two tokens, by the shorter's length
# Edits between two tokens that may spell one word (equal: 0; one a prefix of the other, of
# MIN_FUZZY_TOKEN letters or more: the letters added; else within the allowed edits, optimal
# string alignment distance), else _INCOMPATIBLE.
_pair_distance = _kernel.pair_distance
# Share (0-100) of the characters of both token lists in pairs of compatible tokens. Pairs
# are formed greedily, equal tokens first, then by edit distance (then first token of a, then
# of b); names written together and apart ("Gazpromneft" / "Gazprom Neft") are fully covered.
coverage = _kernel.coverage
# The token pairs that `coverage` counts (equal tokens first, then by edit distance); a name
# written together and apart pairs as a whole: what an explanation shows as paired.
pairs = _kernel.pairs


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


