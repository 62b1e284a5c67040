"""Screening as an attacker tries it: lookalike letters, invisible characters, right-to-left
overrides, combining marks, full-width forms, other romanisations, partial names.

The table is generated: each listed target is written as it is and then disguised by every
trick below; every variant must still be found (a match, or a possible match for partial
names). About 250 cases against the bundled sample list.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.language.contract import has_letter
from engine.screening.names import visible_text
from engine.screening.screener import Screener, name_readings
from engine.screening.watchlists import load_watchlist

SAMPLE = Path(__file__).resolve().parents[3] / "rules" / "watchlists" / "sdn_sample.yaml"

# Latin letter → a Cyrillic or Greek letter drawn the same (Unicode confusables).
CYRILLIC_LOOKALIKE = dict(zip("ABCEHKMOPTXYaceopxy", "АВСЕНКМОРТХУасеорху", strict=True))
GREEK_LOOKALIKE = dict(zip("ABEHIKMNOPTXYZo", "ΑΒΕΗΙΚΜΝΟΡΤΧΥΖο", strict=True))
# Digits for the letters they look like ("R0SN3FT", "5berbank").
DIGIT_LOOKALIKE = dict(zip("OoIiEeAaSsTtBb", "00113344557788", strict=True))


def lookalikes(table: dict[str, str], every: int) -> Callable[[str], str]:
    def disguise(name: str) -> str:
        out, n = [], 0
        for char in name:
            if char in table:
                n += 1
                if n % every == 0:
                    out.append(table[char])
                    continue
            out.append(char)
        return "".join(out)
    return disguise


def between_letters(mark: str) -> Callable[[str], str]:
    return mark.join


def rtl_override(name: str) -> str:
    return "\u202e" + name[::-1] + "\u202c"


def rtl_override_open(name: str) -> str:
    return "\u202e" + name[::-1]


def accents(name: str) -> str:
    return "".join(c + "\u0301" if c.lower() in "aeiou" else c for c in name)


def zalgo(name: str) -> str:
    return "".join(c + "\u0336\u0317\u0350" if c.isalpha() else c for c in name)


def fullwidth(name: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in name)


TRICKS: dict[str, Callable[[str], str]] = {
    "as listed": lambda name: name,
    "cyrillic lookalikes, all": lookalikes(CYRILLIC_LOOKALIKE, 1),
    "cyrillic lookalikes, every other": lookalikes(CYRILLIC_LOOKALIKE, 2),
    "greek lookalikes": lookalikes(GREEK_LOOKALIKE, 1),
    "digits for letters, every other": lookalikes(DIGIT_LOOKALIKE, 2),
    "zero-width space": between_letters("\u200b"),
    "soft hyphen": between_letters("\u00ad"),
    "zero-width joiner": between_letters("\u200d"),
    "word joiner": between_letters("\u2060"),
    "byte order mark": between_letters("\ufeff"),
    "right-to-left override": rtl_override,
    "right-to-left override, unterminated": rtl_override_open,
    "combining accents": accents,
    "stacked combining marks": zalgo,
    "full-width letters": fullwidth,
    "lower case": str.lower,
}

TARGETS = {  # a name as a contract would write it → the sample entry it must find
    "VTB Bank": "SAMPLE-002",
    "Sberbank": "SAMPLE-001",
    "Rosoboronexport": "SAMPLE-013",
    "Gazprombank": "SAMPLE-003",
    "Promsvyazbank": "SAMPLE-005",
    "Sovcombank": "SAMPLE-007",
    "Uralvagonzavod": "SAMPLE-019",
    "Kalashnikov Concern": "SAMPLE-018",
    "Mahan Air": "SAMPLE-038",
    "Lazarus Group": "SAMPLE-043",
    "Vladimir Putin": "SAMPLE-025",
    "Igor Sechin": "SAMPLE-029",
    "Arkady Rotenberg": "SAMPLE-032",
    "Yury Kovalchuk": "SAMPLE-028",
    "Dmitry Rogozin": "SAMPLE-026",
    "Sergei Chemezov": "SAMPLE-027",
}

# Other romanisations of the same Cyrillic names: passports (ICAO 9303), GOST 7.79, French,
# German, and the Cyrillic itself.
ROMANISATIONS = {
    "Arkadii Rotenberg": "SAMPLE-032",  # ICAO
    "Arkadij Rotenberg": "SAMPLE-032",  # GOST / German
    "Arkadi Rotenberg": "SAMPLE-032",  # French
    "Аркадий Ротенберг": "SAMPLE-032",
    "Iurii Kovalchuk": "SAMPLE-028",  # ICAO
    "Iouri Kovaltchouk": "SAMPLE-028",  # French
    "Juri Kowaltschuk": "SAMPLE-028",  # German
    "Jurij Koval'chuk": "SAMPLE-028",  # GOST
    "Юрий Ковальчук": "SAMPLE-028",
    "Dmitrii Rogozin": "SAMPLE-026",  # ICAO
    "Dmitri Rogozine": "SAMPLE-026",  # French
    "Dmitri Rogosin": "SAMPLE-026",  # German
    "Dmitrij Rogozin": "SAMPLE-026",  # GOST
    "Дмитрий Рогозин": "SAMPLE-026",
    "Vladimir Poutine": "SAMPLE-025",  # French
    "Wladimir Putin": "SAMPLE-025",  # German
    "Владимир Путин": "SAMPLE-025",
    "Igor Setschin": "SAMPLE-029",  # German
    "Igor Setchine": "SAMPLE-029",  # French
    "Igor Sečin": "SAMPLE-029",  # ISO 9 / scholarly
    "Игорь Сечин": "SAMPLE-029",
    "Sergueï Tchemezov": "SAMPLE-027",  # French
    "Sergej Tschemesow": "SAMPLE-027",  # German
    "Sergei Chemezov": "SAMPLE-027",
    "Сергей Чемезов": "SAMPLE-027",
    "Rosoboroneksport": "SAMPLE-013",
    "Рособоронэкспорт": "SAMPLE-013",
    "Promsviazbank": "SAMPLE-005",  # ICAO
    "Промсвязьбанк": "SAMPLE-005",
}

# Partial names: a possible match (at least review), never a clear.
PARTIAL = {
    "VTB Bank (PJSC) Shanghai Branch": "SAMPLE-002",
    "VTB Bank Representative Office in India": "SAMPLE-002",
    "VTB Capital": "SAMPLE-002",
    "VTB Leasing": "SAMPLE-002",
    "VTB": "SAMPLE-002",
    "Sberbank Leasing": "SAMPLE-001",
    "Sberbank Capital": "SAMPLE-001",
    "Sberbank Representative Office": "SAMPLE-001",
    "Sovcomflot Shipping Services": "SAMPLE-021",
    "Kalashnikov": "SAMPLE-018",
    "IRGC": "SAMPLE-034",
}

CASES = [(f"{target} / {trick}", fn(target), entry)
         for target, entry in TARGETS.items() for trick, fn in TRICKS.items()]


@pytest.fixture(scope="module")
def screener() -> Screener:
    return Screener([load_watchlist(SAMPLE)], 88)


def test_the_table_is_the_size_of_an_attack() -> None:
    assert len(CASES) + len(ROMANISATIONS) + len(PARTIAL) >= 250
    # every trick really changes the text (but the first and, for names without lookalikes,
    # the lookalike ones)
    changed = sum(text != target for (_, text, _), target in zip(
        CASES, [t for t in TARGETS for _ in TRICKS], strict=True))
    assert changed >= len(CASES) - 2 * len(TARGETS)


@pytest.mark.parametrize(("case", "text", "entry_id"), CASES, ids=[c[0] for c in CASES])
def test_disguised_names_are_matched(screener: Screener, case: str, text: str,
                                     entry_id: str) -> None:
    result = screener.screen([text])
    assert result.outcome == "match", (case, text, name_readings(text), result)
    assert result.entry_id == entry_id


@pytest.mark.parametrize(("text", "entry_id"), ROMANISATIONS.items())
def test_other_romanisations_are_matched(screener: Screener, text: str, entry_id: str) -> None:
    result = screener.screen([text])
    assert result.outcome == "match", (text, name_readings(text), result)
    assert result.entry_id == entry_id


@pytest.mark.parametrize(("text", "entry_id"), PARTIAL.items())
def test_partial_names_are_possible_matches(screener: Screener, text: str,
                                            entry_id: str) -> None:
    result = screener.screen([text])
    assert result.outcome in ("possible", "match"), (text, result)
    assert result.entry_id == entry_id
    assert result.score >= 75  # SE-008 / SE-009: at least review


@pytest.mark.parametrize("text", [
    "Tesla Inc", "Space Exploration Technologies Corp", "Bank of America", "Deutsche Bank AG",
    "Tata Consultancy Services", "Infosys Limited", "Naspers Limited", "Vale S.A.",
    "Bharat Electronics", "Shanghai Pudong Development Bank", "Standard Bank Group",
    "Capital Leasing Partners", "Representative Office of Siemens", "Ivan Petrov",
    "Maria Gonzalez", "John Smith", "Société Générale", "Банк Санкт-Петербург",
])
def test_unlisted_names_stay_clear(screener: Screener, text: str) -> None:
    assert screener.screen([text]).outcome == "clear", screener.screen([text])


def test_lookalikes_are_folded_before_transliteration() -> None:
    # Cyrillic В, Т read as Latin in a mixed word; a fully Cyrillic word is read both ways.
    assert ("bgn", ("vtb", "bank")) in name_readings("VТВ Bank")
    assert ("bgn", ("vtv",)) in name_readings("ВТВ")
    assert ("lookalike", ("btb",)) in name_readings("ВТВ")


def test_visible_text_is_what_a_reader_sees() -> None:
    assert visible_text("\u202eknaB BTV\u202c") == "VTB Bank"
    assert visible_text("S\u200bber\u00adbank\ufeff") == "Sberbank"
    assert visible_text("Société") == "Societe"
    assert visible_text("Йё") == "Йё"  # breve and diaeresis of Cyrillic letters stay
    assert visible_text("ＶＴＢ") == "VTB"


@pytest.mark.parametrize("text", [" ", "-", "\u200b", "\u200b\u00ad", "123", "--//..", "\u0301"])
def test_names_without_letters_are_recognised(text: str) -> None:
    assert not has_letter(text)


@pytest.mark.parametrize("text", ["A", "ВТБ", "北京", "O'Brien", "x\u200b"])
def test_names_with_letters_are_recognised(text: str) -> None:
    assert has_letter(text)


SPELLINGS = yaml.safe_load(
    (Path(__file__).parents[1] / "fixtures" / "screening" / "spellings.yaml").read_text(
        encoding="utf-8"))


@pytest.mark.parametrize("case", SPELLINGS["found"], ids=[c["text"] for c in SPELLINGS["found"]])
def test_spellings_are_found(screener: Screener, case: dict[str, str]) -> None:
    result = screener.screen([case["text"]])
    assert (result.outcome, result.entry_id) == (case["outcome"], case["entry"]), (
        case, name_readings(case["text"]), result)


@pytest.mark.parametrize("text", SPELLINGS["clear"])
def test_spellings_of_unlisted_names_stay_clear(screener: Screener, text: str) -> None:
    assert screener.screen([text]).outcome == "clear", screener.screen([text])


@pytest.mark.parametrize("case", SPELLINGS["readings"],
                         ids=[c["text"] for c in SPELLINGS["readings"]])
def test_spellings_are_read(case: dict[str, Any]) -> None:
    assert (case["reading"], tuple(case["tokens"])) in name_readings(case["text"])


def test_an_initial_pairs_with_a_listed_given_name(screener: Screener) -> None:
    result = screener.screen(["V.V. Putin"])
    best = result.best
    assert best is not None and best.reading == "initials" and best.score == 80.0
    assert ("v", "vladimir") in best.paired and ("putin", "putin") in best.paired
