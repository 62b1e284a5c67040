"""Reference implementations of the screening kernel's arithmetic, in plain Python.

engine/screening/_kernel.c computes these in C; the tests check it against these, written
the obvious way (rapidfuzz for the distances and the ratio, Python loops for the rest), on
many generated names.
"""

from __future__ import annotations

from collections.abc import Sequence

from rapidfuzz import fuzz
from rapidfuzz.distance import OSA

MIN_FUZZY_TOKEN = 4
INCOMPATIBLE = -1


def allowed_edits(shorter: int) -> int:
    return 0 if shorter < MIN_FUZZY_TOKEN else 1 if shorter <= 7 else 2


def pair_distance(a: str, b: str) -> int:
    if a == b:
        return 0
    shorter = min(len(a), len(b))
    if shorter >= MIN_FUZZY_TOKEN and (a.startswith(b) or b.startswith(a)):
        return abs(len(a) - len(b))
    allowed = allowed_edits(shorter)
    if not allowed:
        return INCOMPATIBLE
    distance = OSA.distance(a, b)
    return distance if distance <= allowed else INCOMPATIBLE


def pairs(a: Sequence[str], b: Sequence[str]) -> list[tuple[str, str]]:
    """The token pairs coverage counts: equal tokens first (in a's order), then the others
    by edit distance, then a's position, then b's; both whole when written together they
    pair."""
    if len(a) != len(b) and pair_distance("".join(a), "".join(b)) != INCOMPATIBLE:
        return [(" ".join(a), " ".join(b))]
    rest_b = list(b)
    rest_a = []
    out = []
    for token in a:
        if token in rest_b:
            rest_b.remove(token)
            out.append((token, token))
        else:
            rest_a.append(token)
    found = sorted((d, i, j) for i, x in enumerate(rest_a) for j, y in enumerate(rest_b)
                   if (d := pair_distance(x, y)) != INCOMPATIBLE)
    used_a: set[int] = set()
    used_b: set[int] = set()
    for _, i, j in found:
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
            out.append((rest_a[i], rest_b[j]))
    return out


def coverage(a: Sequence[str], b: Sequence[str]) -> float:
    """Share (0-100) of the characters of both lists in the pairs `pairs` counts; 100 when
    they pair as a whole."""
    total = sum(map(len, a)) + sum(map(len, b))
    if not total:
        return 0.0
    if len(a) != len(b) and pair_distance("".join(a), "".join(b)) != INCOMPATIBLE:
        return 100.0
    return 100.0 * sum(len(x) + len(y) for x, y in pairs(a, b)) / total


def similar(text: str, vocabulary: Sequence[str]) -> frozenset[str]:
    """The vocabulary strings compatible with `text`, by a scan of all of them."""
    return frozenset(word for word in vocabulary if pair_distance(text, word) != INCOMPATIBLE)


def score(a: Sequence[str], b: Sequence[str]) -> float:
    """min(string score, coverage): the string score is fuzz.ratio of the sorted tokens, or
    of the tokens in natural order when higher."""
    string = max(fuzz.ratio(" ".join(sorted(a)), " ".join(sorted(b))),
                 fuzz.ratio(" ".join(a), " ".join(b)))
    return min(float(string), coverage(a, b))
