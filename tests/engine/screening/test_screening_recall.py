"""The index finds what a full scan finds, on the real OFAC SDN list.

Thousands of seeded, generated names (up to two edits per token, words inserted and
dropped, Latin letters swapped for Cyrillic lookalikes, tokens reordered) are screened
through the index and by a full scan of every listed variant: the best candidate and its
score must be the same. Reads the real files from ../shared/data/ofac-sdn/ (as CI has them).
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from engine.screening.listformats import load_ofac_sdn
from engine.screening.screener import Screener, name_readings
from tests.engine.screening import reference

OFAC = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "ofac-sdn"
NAMES = 2000
SEED = 20261127

LOOKALIKE = dict(zip("ABCEHKMOPTXYaceopxy", "АВСЕНКМОРТХУасеорху", strict=True))
FILLERS = ["Trading", "Group", "International", "Branch", "Office", "Holding", "LLC", "Ltd",
           "Ivan", "Global", "Capital", "Services", "Tech", "Leasing", "Zhang", "Ali"]


@pytest.fixture(scope="module")
def screener() -> Screener:
    if not (OFAC / "sdn.csv").is_file():
        pytest.fail(f"the real OFAC files are expected in {OFAC}")
    watchlist = load_ofac_sdn(OFAC / "sdn.csv", OFAC / "alt.csv", OFAC / "add.csv")
    return Screener([watchlist], 88)


def edit(rng: random.Random, token: str) -> str:
    if len(token) < 2:
        return token
    p = rng.randrange(len(token))
    op = rng.choice(("sub", "del", "ins", "swap"))
    letter = rng.choice("aeiouklmnrstvz")
    if op == "sub":
        return token[:p] + letter + token[p + 1:]
    if op == "del":
        return token[:p] + token[p + 1:]
    if op == "ins":
        return token[:p] + letter + token[p:]
    p = min(p, len(token) - 2)
    return token[:p] + token[p + 1] + token[p] + token[p + 2:]


def disguise(rng: random.Random, name: str) -> str:
    tokens = name.replace(",", " ").split()
    out = []
    for token in tokens:
        edits = rng.choice((0, 0, 1, 2)) if len(token) >= 8 else rng.choice((0, 0, 1))
        changed = token
        for _ in range(edits):
            changed = edit(rng, changed)
        if rng.random() < 0.1:
            changed = "".join(LOOKALIKE.get(c, c) if rng.random() < 0.5 else c for c in changed)
        out.append(changed)
    if len(out) > 1 and rng.random() < 0.2:
        del out[rng.randrange(len(out))]
    if rng.random() < 0.2:
        out.insert(rng.randrange(len(out) + 1), rng.choice(FILLERS))
    if rng.random() < 0.3:
        rng.shuffle(out)
    return " ".join(out)


@pytest.mark.slow
def test_index_best_candidate_equals_the_full_scan(screener: Screener) -> None:
    rng = random.Random(SEED)
    entries = screener.watchlists[0].entries
    found = 0
    for _ in range(NAMES):
        entry = rng.choice(entries)
        query = disguise(rng, rng.choice((entry.name, *entry.aliases)))
        full = screener.screen_all(query)
        indexed = screener.screen([query])
        assert (indexed.entry_id, indexed.score, indexed.outcome) == \
            (full.entry_id, full.score, full.outcome), query
        found += full.outcome != "clear"
    assert found > NAMES // 2  # the corpus is hard but mostly findable


def test_two_edits_in_a_long_token_are_found_through_the_index(screener: Screener) -> None:
    for query, listed in (("Promsvyazbamkk", "PROMSVYAZBANK"),
                          ("Uralvagonzawodd", "URALVAGONZAVOD")):
        result = screener.screen([query])
        assert result.outcome == "match", result
        assert result.best is not None and listed in result.best.listed_name
        assert (result.entry_id, result.score) == \
            (screener.screen_all(query).entry_id, screener.screen_all(query).score)


FIXTURE_OFAC = Path(__file__).parents[1] / "fixtures" / "watchlists" / "ofac"


def test_single_and_double_edits_score_as_by_brute_force() -> None:
    """Independent of the index: every deletion, substitution and swap of two adjacent letters
    in each token of each listed name (real OFAC rows), and seeded pairs of edits in tokens of
    eight letters or more, are screened through the index; the best score must equal the
    brute-force maximum of the scoring function over every variant and reading. Swaps across
    the edge of two pigeonhole pieces ("Sehcin" for "Sechin") once slipped through the index
    and the "full scan" alike, which shared it."""
    watchlist = load_ofac_sdn(FIXTURE_OFAC / "sdn.csv", FIXTURE_OFAC / "alt.csv",
                              FIXTURE_OFAC / "add.csv")
    screener = Screener([watchlist], 88)
    variants = screener._tokens
    rng = random.Random(SEED)
    checked = 0
    for entry in watchlist.entries:
        for listed in (entry.name, *entry.aliases):
            words = listed.replace(",", " ").split()
            for w, word in enumerate(words):
                if len(word) < 4:
                    continue
                edits: set[str] = set()
                for p in range(len(word)):
                    edits |= {word[:p] + word[p + 1:], word[:p] + "Q" + word[p + 1:]}
                    if p + 1 < len(word):
                        edits.add(word[:p] + word[p + 1] + word[p] + word[p + 2:])
                if len(word) >= 8:
                    edits |= {edit(rng, edit(rng, word)) for _ in range(12)}
                for edited in edits:
                    query = " ".join((*words[:w], edited, *words[w + 1:]))
                    expected = max((reference.score(tokens, listed_tokens)
                                    for _, tokens in name_readings(query)
                                    for listed_tokens in variants), default=0.0)
                    ranked = [screener._rank(tokens, screener.candidates_of(tokens))
                              for _, tokens in name_readings(query)]
                    got = max((r[0][0] for r in ranked if r), default=0.0)
                    assert got == (expected if expected >= screener.floor else 0.0), query
                    checked += 1
    assert checked > 3500
