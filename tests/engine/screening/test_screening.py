"""Name screening: normalisation in Latin and Cyrillic script, scores, threshold, the index."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from anyascii import anyascii

from engine.screening.screener import (
    NORMALISE_CACHE,
    REPORT_FLOOR,
    Screener,
    coverage,
    name_tokens,
    normalize_name,
    similarity,
)
from engine.screening.watchlists import Watchlist, WatchlistEntry, load_watchlist
from tests.bundled import BUNDLED

SCREENING = BUNDLED.types["screening"]
SAMPLE = Path(__file__).resolve().parents[3] / "rules" / "watchlists" / "sdn_sample.yaml"


@pytest.fixture(scope="module")
def sample() -> Watchlist:
    return load_watchlist(SAMPLE)


@pytest.fixture(scope="module")
def screener(sample: Watchlist) -> Screener:
    return Screener([sample], threshold=88)


def entry(entry_id: str, name: str, *aliases: str, kind: str = "entity") -> WatchlistEntry:
    return WatchlistEntry(entry_id, name, aliases, kind, ("TEST",), ("RU",))


# -- normalisation ----------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "normal"), [
    ("Роскосмос", "roskosmos"),
    ("Газпромбанк", "gazprombank"),
    ("Сбербанк России", "rossy sberbank"),  # final -ii folds like -iy: Rossii / Rossiy
    ("Промсвязьбанк", "promsvyazbank"),  # AnyAscii alone: "promsvyaz'bank"
    ("Объединённая авиастроительная корпорация", "avyastroitelnaya korporatsiya obedinennaya"),
    ("Société Générale", "generale societe"),
    ("IVANOV, Ivan", "ivan ivanov"),
    ("Ivanov Ivan", "ivan ivanov"),
    ("O'Brien", "obrien"),
])
def test_normalisation(name: str, normal: str) -> None:
    assert normalize_name(name) == normal


def test_transliteration_follows_ofac_spelling_where_anyascii_does_not() -> None:
    assert anyascii("Промсвязьбанк").lower() != "promsvyazbank"
    assert similarity("Промсвязьбанк", "PROMSVYAZBANK") == 100
    assert similarity("Объединённая авиастроительная корпорация",
                      "OBEDINENNAYA AVIASTROITELNAYA KORPORATSIYA") == 100
    assert similarity("Рособоронэкспорт", "ROSOBORONEXPORT") == 100  # кс / x
    assert similarity("Роскосмос", "Roscosmos") >= 88


@pytest.mark.parametrize("name", [
    "PJSC Sberbank", "Sberbank PAO", "ПАО Сбербанк", "Public Joint Stock Company Sberbank",
    "Публичное акционерное общество «Сбербанк»", "Sberbank, OAO", "S.A. Sberbank",
    "Sberbank Ltd.", "SBERBANK GmbH",
])
def test_legal_forms_are_dropped_in_both_scripts(name: str) -> None:
    assert name_tokens(name) == ("sberbank",)


def test_cyrillic_only_legal_forms_are_recognised_before_transliteration() -> None:
    assert name_tokens("ИП Иванов") == ("ivanov",)
    assert name_tokens("IP Holdings") == ("ip", "holdings")  # "ip" is not a Latin legal form


def test_a_name_that_is_only_a_legal_form_is_kept() -> None:
    assert name_tokens("AO") == ("ao",)
    assert name_tokens("АО") == ("ao",)
    assert name_tokens("  ,.- ") == ()


def test_token_order_and_accents_do_not_matter() -> None:
    assert similarity("Ivanov Ivan", "Ivan Ivanov") == 100
    assert similarity("IVANOV, Ivan", "Ivan Ivanov") == 100
    assert similarity("SOCIETE GENERALE SA", "Société Générale") == 100


def test_normalisation_cache_is_bounded() -> None:
    assert name_tokens.cache_info().maxsize == NORMALISE_CACHE


# -- scores -----------------------------------------------------------------------------------


def test_coverage_counts_characters_of_compatible_tokens() -> None:
    assert coverage(("ivan", "ivanov"), ("ivan", "ivanov")) == 100
    assert coverage(("gazpromneft",), ("gazprom", "neft")) == 100  # written together / apart
    # "sidorov"/"fedorov" are two edits apart: only the shared 20 of 27 letters count.
    assert coverage(("aleksandr", "nikolaevich", "sidorov"),
                    ("aleksandr", "nikolaevich", "fedorov")) == pytest.approx(100 * 40 / 54)


@pytest.mark.parametrize(("a", "b"), [
    ("Gazprom", "Gazprombank"),  # a part of a listed name is not that party
    ("VTB Capital", "VTB BANK PJSC"),
    ("VEB Bank", "VTB Bank"),
    ("Bank Rossii", "BANK ROSSIYA"),  # the central bank vs the listed Bank Rossiya
    ("Central Bank of Russia", "CENTRAL BANK OF IRAN"),
    ("SIDOROV, Aleksandr Nikolaevich", "FEDOROV, Aleksandr Nikolaevich"),
    ("Ivan Petrov", "Ivan Ivanov"),
    ("Tesla Inc", "Telsa Motors"),
    ("Sovcombank", "Sberbank"),
])
def test_clearly_different_names_stay_below_the_threshold(a: str, b: str) -> None:
    assert similarity(a, b) < 88


# -- screening against the bundled sample -----------------------------------------------------


@pytest.mark.parametrize(("query", "entry_id"), [
    ("ПАО Сбербанк", "SAMPLE-001"),  # Cyrillic, legal form, alias "PJSC SBERBANK"
    ("Sberbank of Russia", "SAMPLE-001"),
    ("Сбербанк России", "SAMPLE-001"),
    ("Газпромбанк", "SAMPLE-003"),
    ("Rosoboroneksport", "SAMPLE-013"),
    ("Rosoboronexpotr", "SAMPLE-013"),  # one transposition, no exact token in common
    ("Rosoboron Export", "SAMPLE-013"),
    ("Ростех", "SAMPLE-014"),
    ("United Aircraft Corp", "SAMPLE-015"),
    ("Gazpromneft", "SAMPLE-022"),
    ("Garantex Europe OÜ", "SAMPLE-023"),
    ("Vladimir Putin", "SAMPLE-025"),
    ("Yuri Kovalchuk", "SAMPLE-028"),  # no patronymic, another spelling of Yury
    ("Iranian Space Agency", "SAMPLE-035"),
])
def test_listed_parties_match(screener: Screener, query: str, entry_id: str) -> None:
    result = screener.screen([query])
    assert result.matched, result
    assert result.entry_id == entry_id
    assert result.matched_name == query


def test_match_reports_the_entry(screener: Screener) -> None:
    result = screener.screen(["ПАО Сбербанк"])
    assert result.score == 100
    assert result.list == "sdn_sample"
    assert result.entry == "PUBLIC JOINT STOCK COMPANY SBERBANK OF RUSSIA"
    assert result.programs == ("RUSSIA-EO14024", "UKRAINE-EO13662")


@pytest.mark.parametrize("query", ["Tesla Inc", "Space Exploration Technologies Corp",
                                   "SpaceX", "Gazprom", "VTB Capital", "Bank Rossii",
                                   "Central Bank of Russia", "Роскосмос"])
def test_unlisted_parties_do_not_match(screener: Screener, query: str) -> None:
    assert not screener.screen([query]).matched


def test_typo_is_found_through_the_index(screener: Screener) -> None:
    assert "rosoboronekspotr" not in screener._vocabulary
    candidates = screener.candidates("Rosoboronexpotr")
    assert candidates, "blocking must reach tokens one edit away"
    assert len(candidates) < len(screener)  # blocking, not a full scan
    assert {screener._listed[screener._owner[v]].entry.id for v in candidates} == {"SAMPLE-013"}


def test_threshold(sample: Watchlist) -> None:
    score = Screener([sample], 88).screen(["Yury Kovalchuck"]).score
    assert 88 <= score < 100
    assert Screener([sample], score).screen(["Yury Kovalchuck"]).matched  # at the threshold
    below = Screener([sample], score + 0.01).screen(["Yury Kovalchuck"])
    assert not below.matched
    assert below.score == score
    assert below.entry_id == "SAMPLE-028"  # the candidate is still reported


@pytest.mark.parametrize("threshold", [0, -5, 100.5])
def test_threshold_out_of_range_is_refused(threshold: float) -> None:
    with pytest.raises(ValueError, match="threshold"):
        Screener([], threshold)


def test_to_fact_is_the_contract_screening_object(screener: Screener) -> None:
    fact = screener.screen(["Alfa Bank"]).to_fact()
    # `blocking` depends on the pack's lists of restricting watchlists: the enricher adds it
    # (tests/engine/evaluate/test_enrich.py)
    assert set(fact) | {"blocking"} == set(SCREENING.fields)
    assert fact["matched"] is True
    assert fact["programs"] == ["RUSSIA-EO14024"]
    near = screener.screen(["Central Bank of Russia"]).to_fact()
    assert set(near) | {"blocking"} == set(SCREENING.fields)
    assert near["matched"] is False
    assert REPORT_FLOOR <= near["score"] < 88
    clear = {"matched": False, "score": 0, "outcome": "clear"}
    assert screener.screen(["Tesla Inc"]).to_fact() == clear
    assert Screener([], 88).screen(["Sberbank"]).to_fact() == clear


def test_best_name_or_alias_wins(screener: Screener) -> None:
    result = screener.screen(["Orbital Ventures Ltd", "", "Alfa-Bank"])
    assert (result.matched, result.matched_name, result.entry_id) == \
        (True, "Alfa-Bank", "SAMPLE-010")
    assert screener.screen([]).to_fact() == {"matched": False, "score": 0, "outcome": "clear"}


def test_ties_are_broken_by_entry_id_whatever_the_order() -> None:
    entries = [entry("10", "Orbita Trading"), entry("9", "Orbita Trading"),
               entry("B", "Orbita Trading")]
    for order in (entries, entries[::-1]):
        result = Screener([Watchlist("w", tuple(order))], 88).screen(["Orbita Trading LLC"])
        assert (result.entry_id, result.score) == ("9", 100)
    first_name = Screener([Watchlist("w", (entry("1", "Orbita Trading"),))], 88)
    assert first_name.screen(["Orbita Trading", "ORBITA TRADING"]).matched_name == \
        "Orbita Trading"


def test_individuals_match_without_middle_names() -> None:
    wl = Watchlist("w", (entry("1", "KOVALCHUK, Yury Valentinovich", kind="individual"),
                         entry("2", "KOVALCHUK TRADING GROUP")))
    screener = Screener([wl], 88)
    assert screener.screen(["Yury Kovalchuk"]).entry_id == "1"
    assert screener.screen(["Yury Kovalchuk"]).score == 100
    # The short form is derived for individuals only.
    assert not screener.screen(["Kovalchuk Group"]).matched


@pytest.mark.parametrize("listed", ["Yury Valentinovich Kovalchuk",  # First Patronymic LAST
                                    "Kovalchuk Yury Valentinovich"])  # LAST First Patronymic
def test_short_form_without_comma_finds_the_given_name(listed: str) -> None:
    screener = Screener([Watchlist("w", (entry("1", listed, kind="individual"),))], 88)
    assert screener.screen(["Yury Kovalchuk"]).score == 100
    # ... and never pairs the surname with the patronymic, which would match a brother.
    assert not screener.screen(["KOVALCHUK, Pyotr Valentinovich"]).matched


def test_index_agrees_with_a_full_scan_on_perturbed_names(sample: Watchlist,
                                                          screener: Screener) -> None:
    rng = random.Random(4)
    queries = []
    for e in sample.entries:
        for name in (e.name, *e.aliases):
            chars = list(name)
            i = rng.randrange(1, max(2, len(chars) - 1))
            chars[i - 1], chars[i] = chars[i], chars[i - 1]  # one transposition
            queries += ["".join(chars), name.lower(), " ".join(reversed(name.split()))]
    matched = 0
    for query in queries:
        full = screener.screen_all(query)
        indexed = screener.screen([query])
        if full.matched:
            matched += 1
            assert (indexed.score, indexed.entry_id) == (full.score, full.entry_id), query
    assert matched > len(queries) // 2


def test_concurrent_screening_gives_the_sequential_results(screener: Screener,
                                                           sample: Watchlist) -> None:
    names = [n for e in sample.entries for n in (e.name, *e.aliases)] * 3
    sequential = [screener.screen([n]) for n in names]
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(lambda n: screener.screen([n]), names)) == sequential
