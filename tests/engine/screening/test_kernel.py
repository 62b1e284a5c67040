"""The C kernel of screening (engine/screening/_kernel.c) against plain-Python references.

Its arithmetic (the pair distance, rapidfuzz's ratio, the coverage) is checked on generated
tokens against tests/engine/screening/reference.py; its index loops (the compatible strings
of a token, the candidate bound, the ranking) against scans of a real index built from OFAC
rows; and its scratch memory is checked to be clean after every call: a variant left marked
by one query must not change the next one's candidates.
"""

from __future__ import annotations

import random
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz import fuzz

from engine.screening import _kernel
from engine.screening.listformats import load_ofac_sdn
from engine.screening.screener import CANDIDATES, Screener, name_readings
from tests.engine.screening import reference

FIXTURE_OFAC = Path(__file__).parents[1] / "fixtures" / "watchlists" / "ofac"
ALPHABET = "abdekmnorsvy"  # few letters: many pairs within an edit or two of each other
tokens = st.text(ALPHABET, min_size=0, max_size=14)
token_lists = st.lists(st.text(ALPHABET, min_size=1, max_size=10), max_size=6)


def near(rng: random.Random, token: str, edits: int) -> str:
    """`token` with up to `edits` random insertions, deletions, substitutions or swaps."""
    out = list(token)
    for _ in range(edits):
        op, at = rng.randrange(4), rng.randrange(len(out) + 1)
        if op == 0:
            out.insert(at, rng.choice(ALPHABET))
        elif op == 1 and out:
            del out[min(at, len(out) - 1)]
        elif op == 2 and out:
            out[min(at, len(out) - 1)] = rng.choice(ALPHABET)
        elif len(out) > 1:
            at = min(at, len(out) - 2)
            out[at], out[at + 1] = out[at + 1], out[at]
    return "".join(out)


@settings(max_examples=400, deadline=None)
@given(tokens, tokens)
def test_pair_distance_is_the_reference(a: str, b: str) -> None:
    assert _kernel.pair_distance(a, b) == reference.pair_distance(a, b)


def test_pair_distance_of_near_tokens_is_the_reference() -> None:
    rng = random.Random(7)
    for _ in range(50_000):
        a = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 16)))
        b = near(rng, a, rng.randint(0, 3))
        assert _kernel.pair_distance(a, b) == reference.pair_distance(a, b), (a, b)


@settings(max_examples=400, deadline=None)
@given(st.text(ALPHABET + " ", max_size=150), st.text(ALPHABET + " ", max_size=150))
def test_ratio_is_rapidfuzz_to_the_last_bit(a: str, b: str) -> None:
    assert _kernel.ratio(a, b) == fuzz.ratio(a, b)


def test_ratio_of_long_and_near_strings_is_rapidfuzz() -> None:
    """Names longer than a machine word (64 letters: several words of bits) and names one
    edit apart, where a carry between words or an off-by-one would show."""
    rng = random.Random(13)
    for _ in range(5_000):
        a = "".join(rng.choice(ALPHABET + " ") for _ in range(rng.randint(40, 300)))
        b = near(rng, a, rng.randint(0, 6)) if rng.random() < 0.5 else \
            "".join(rng.choice(ALPHABET + " ") for _ in range(rng.randint(0, 300)))
        assert _kernel.ratio(a, b) == fuzz.ratio(a, b), (a, b)


@settings(max_examples=400, deadline=None)
@given(token_lists, token_lists)
def test_coverage_is_the_reference(a: list[str], b: list[str]) -> None:
    assert _kernel.coverage(a, b) == reference.coverage(a, b)


@settings(max_examples=400, deadline=None)
@given(token_lists, token_lists)
def test_pairs_are_the_reference(a: list[str], b: list[str]) -> None:
    assert _kernel.pairs(a, b) == reference.pairs(a, b)


def test_coverage_of_reordered_and_edited_names_is_the_reference() -> None:
    rng = random.Random(11)
    for _ in range(20_000):
        a = [near(rng, "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 9))), 0)
             for _ in range(rng.randint(1, 5))]
        b = [near(rng, t, rng.randint(0, 2)) for t in rng.sample(a, len(a))]
        if rng.random() < 0.3:
            b = ["".join(b)]
        assert _kernel.coverage(a, b) == reference.coverage(a, b), (a, b)
        assert _kernel.pairs(a, b) == reference.pairs(a, b), (a, b)


@pytest.mark.parametrize(("call", "error"), [
    (lambda: _kernel.pair_distance("sečin", "sechin"), ValueError),
    (lambda: _kernel.ratio("a", b"a"), TypeError),
    (lambda: _kernel.coverage(["ok"], ["ж"]), ValueError),
    (lambda: _kernel.coverage(["ok"], [1]), TypeError),
    (lambda: _kernel.coverage("ok", None), TypeError),
    (lambda: _kernel.allowed_edits("4"), TypeError),
])
def test_bad_arguments_raise_a_clear_error(call: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        call()  # type: ignore[operator]


@pytest.fixture(scope="module")
def screener() -> Screener:
    watchlist = load_ofac_sdn(FIXTURE_OFAC / "sdn.csv", FIXTURE_OFAC / "alt.csv",
                              FIXTURE_OFAC / "add.csv")
    return Screener([watchlist], 88)


def probes(screener: Screener, count: int, seed: int) -> list[str]:
    """Listed tokens and joined forms, edited (up to two edits), and random strings."""
    rng = random.Random(seed)
    vocabulary = list(screener._vocabulary)
    out = []
    for _ in range(count):
        word = rng.choice(vocabulary)
        out.append(near(rng, word, rng.choice((0, 1, 1, 2, 2, 3))))
        out.append(word[:rng.randint(1, len(word))])
    out += ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 12))) for _ in range(50)]
    return [p for p in out if p]


def test_similar_is_a_scan_of_the_whole_vocabulary(screener: Screener) -> None:
    vocabulary = list(screener._vocabulary)
    for probe in probes(screener, 150, seed=3):
        assert screener._similar(probe) == reference.similar(probe, vocabulary), probe


def unpack(reach: bytes) -> list[tuple[int, int, int]]:
    return list(struct.iter_unpack("iii", reach))


def test_reach_lists_each_compatible_listed_token_with_its_variants(screener: Screener) -> None:
    by_token = dict(screener._by_token.items())
    ids = screener._by_token.ids.cast("i")
    for probe in probes(screener, 80, seed=5):
        packed = unpack(screener._reach(probe))
        expected = {(near, len(probe) + len(near)) for near in reference.similar(
            probe, list(screener._vocabulary)) if near in by_token}
        assert len(packed) == len(expected)
        weights = [w for _, _, w in packed]
        assert weights == sorted(weights, reverse=True)  # heaviest first
        got = set()
        for start, end, weight in packed:
            variants = list(ids[start:end])
            token = next(t for t, w in expected if w == weight and list(by_token[t].cast("i"))
                         == variants)
            got.add((token, weight))
        assert got == expected


def bound_scan(screener: Screener, tokens: tuple[str, ...], floor: float) -> list[int]:
    """candidates_of by a scan of every variant, from the reference definitions."""
    vocabulary = list(screener._vocabulary)
    similar = {t: reference.similar(t, vocabulary) for t in set(tokens)}
    joined = "".join(tokens)
    joined_similar = reference.similar(joined, vocabulary)
    query_length = len(joined) + len(tokens) - 1
    out = []
    for variant, listed in enumerate(screener._tokens):
        length = sum(map(len, listed)) + len(listed) - 1
        shorter = min(query_length, length)
        if 200.0 * shorter / (query_length + length) + 1e-9 < floor:
            continue
        points = sum(max((len(t) + len(x) for x in listed if x in similar[t]), default=0)
                     for t in tokens)
        loose = "".join(listed) in joined_similar or (
            len(tokens) > 1 and any(x in joined_similar for x in listed))
        if loose or 100.0 * points >= floor * (len(joined) + sum(map(len, listed))):
            out.append(variant)
    return out


def queries(screener: Screener, count: int, seed: int) -> list[tuple[str, ...]]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        listed = list(rng.choice(screener._tokens))
        edited = tuple(near(rng, t, rng.choice((0, 0, 1, 2))) or t for t in listed)
        out.append(tuple(rng.sample(edited, len(edited))))
    return out


def test_candidates_are_the_scan_of_every_variant_by_the_bound(screener: Screener) -> None:
    for tokens in queries(screener, 60, seed=9):
        for floor in (60.0, 80.0):
            assert screener.candidates_of(tokens, floor=floor) == \
                bound_scan(screener, tokens, floor), tokens


def test_rank_is_the_best_entries_by_the_reference_score(screener: Screener) -> None:
    for tokens in queries(screener, 60, seed=13):
        scored: dict[int, tuple[float, int]] = {}
        for variant, listed in enumerate(screener._tokens):
            score = reference.score(tokens, listed)
            entry = screener._owner[variant]
            if score >= screener.floor and (entry not in scored or
                                            (-score, variant) < (-scored[entry][0],
                                                                 scored[entry][1])):
                scored[entry] = (score, variant)
        expected = sorted(scored.values(), key=lambda sv: (-sv[0], sv[1]))[:CANDIDATES]
        assert screener._rank(tokens, None) == expected, tokens
        assert screener._rank(tokens, screener.candidates_of(tokens)) == expected, tokens


def test_no_call_leaves_marks_that_change_the_next_one(screener: Screener) -> None:
    """qualify and reached_by_all share a scratch array per index; each call must leave it as
    it found it (a variant left marked once made a later query miss candidates)."""
    probe = queries(screener, 1, seed=17)[0]
    expected = screener.candidates_of(probe)
    for tokens in queries(screener, 200, seed=19):
        screener.candidates_of(tokens, floor=90.0)
        screener._forms.reached_by_all([screener._reach(t) for t in set(tokens)])
        screener._initials(("a", *tokens), 0)
        assert screener.candidates_of(probe) == expected, tokens


MALFORMED = [
    pytest.param([b"\x00\x00"], TypeError, id="not whole triples"),
    pytest.param(["text"], TypeError, id="not bytes"),
    pytest.param([struct.pack("iii", 0, 10**9, 5)], ValueError, id="past the ids"),
    pytest.param([struct.pack("iii", 5, 2, 5)], ValueError, id="ending before its start"),
]


@pytest.mark.parametrize(("reaches", "error"), [
    *MALFORMED, pytest.param([struct.pack("iii", 0, 1, 0)], ValueError, id="weight 0")])
def test_qualify_refuses_malformed_reaches_and_leaves_nothing_behind(
        screener: Screener, reaches: list[bytes], error: type[Exception]) -> None:
    probe = queries(screener, 1, seed=23)[0]
    expected = screener.candidates_of(probe)
    with pytest.raises(error):
        screener._forms.qualify([screener._reach(probe[0]), *reaches], b"", 10, 10, 60.0)
    assert screener.candidates_of(probe) == expected


@pytest.mark.parametrize(("reaches", "error"), MALFORMED)
def test_reached_by_all_refuses_malformed_reaches_and_leaves_nothing_behind(
        screener: Screener, reaches: list[bytes], error: type[Exception]) -> None:
    probe = queries(screener, 1, seed=29)[0]
    expected = screener.candidates_of(probe)
    with pytest.raises(error):
        screener._forms.reached_by_all([screener._reach(probe[0]), *reaches])
    assert screener.candidates_of(probe) == expected


def test_index_buffers_that_disagree_are_refused() -> None:
    offsets = struct.pack("ii", 0, 3)
    with pytest.raises(ValueError, match="int32"):
        _kernel.Forms("abc", offsets, "abc", offsets, b"", b"", b"")
    with pytest.raises(ValueError, match="past"):
        _kernel.Forms("ab", offsets, "ab", offsets, struct.pack("i", 0), struct.pack("i", 3),
                      b"")
    with pytest.raises(ValueError, match="names no variant"):
        _kernel.Forms("abc", offsets, "abc", offsets, struct.pack("i", 0), struct.pack("i", 3),
                      struct.pack("i", 1))
    with pytest.raises(ValueError, match="ASCII"):
        _kernel.Forms("abж", offsets, "abc", offsets, struct.pack("i", 0),
                      struct.pack("i", 3), b"")


def test_a_name_screens_the_same_through_every_reading_and_the_scan(screener: Screener) -> None:
    for name in ("Sberbank Rossii", "Promsvyazbamk", "ROSOBORONEKSPORT", "Bank Rossiya"):
        for _, tokens in name_readings(name):
            assert screener._rank(tokens, screener.candidates_of(tokens)) == \
                screener._rank(tokens, None)


@pytest.mark.parametrize(("variants", "error"), [
    pytest.param([10**9], IndexError, id="no such variant"),
    pytest.param([-1], IndexError, id="negative"),
    pytest.param(["0"], TypeError, id="not a number"),
    pytest.param(5, TypeError, id="not a sequence"),
])
def test_rank_refuses_variants_the_index_does_not_have(
        screener: Screener, variants: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        screener._forms.rank(("bank",), "bank", "bank", variants, 60.0, 60.0, 3)


def test_rank_needs_room_for_a_candidate(screener: Screener) -> None:
    with pytest.raises(ValueError, match="keep"):
        screener._forms.rank(("bank",), "bank", "bank", None, 60.0, 60.0, 0)


@pytest.mark.parametrize("length", range(41))
def test_pieces_cut_a_string_into_one_more_than_its_allowed_edits(length: int) -> None:
    spans = _kernel.pieces(length)
    assert len(spans) == reference.allowed_edits(length) + 1
    assert [start for start, _ in spans] == \
        [0, *(start + size for start, size in spans[:-1])]  # end to end
    assert sum(size for _, size in spans) == length
    assert max(size for _, size in spans) - min(size for _, size in spans) <= 1  # even


def test_a_piece_is_filed_under_its_length_number_and_letters() -> None:
    assert _kernel.piece_key(9, 2, "zhy") == "9.2.zhy"
    with pytest.raises(TypeError):
        _kernel.piece_key(9, 2, b"zhy")
