"""Watchlist formats: the bundled sample, OFAC SDN CSV, OpenSanctions CSV, canonical YAML."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path

import pytest

from engine.errors import ListImportError
from engine.language.contract import is_country
from engine.screening.listformats import country_code, load_ofac_sdn, load_opensanctions
from engine.screening.watchlists import (
    ENTRY_TYPES,
    SCHEMA_LINE,
    Watchlist,
    WatchlistEntry,
    dump_watchlist,
    load_watchlist,
    parse_watchlist,
    write_watchlist,
)

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = ROOT / "rules" / "watchlists" / "sdn_sample.yaml"
FIXTURES = Path(__file__).parents[1] / "fixtures" / "watchlists"
SDN_ROW = '{n},"{name}",-0- ,"{programs}",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n'


@pytest.fixture(scope="module")
def sample() -> Watchlist:
    return load_watchlist(SAMPLE)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# -- the bundled sample -----------------------------------------------------------------------


def test_sample_is_flagged_and_described_as_sample_data(sample: Watchlist) -> None:
    assert SAMPLE.read_text(encoding="utf-8").splitlines()[0] == SCHEMA_LINE
    assert sample.sample is True
    assert sample.description.startswith(
        "SAMPLE DATA — not a complete list; import the real list with riskrules lists import")
    assert 30 <= len(sample.entries) <= 60
    assert sample.as_of is not None
    assert "Office of Foreign Assets Control" in sample.source


def test_sample_entries_are_well_formed(sample: Watchlist) -> None:
    ids = [e.id for e in sample.entries]
    assert len(ids) == len(set(ids))
    for entry in sample.entries:
        assert entry.type in ENTRY_TYPES
        assert entry.programs, entry.name
        assert all(re.fullmatch(r"[A-Z0-9-]+", p) for p in entry.programs), entry.programs
        assert entry.countries and all(is_country(c) for c in entry.countries)


def test_sample_covers_the_articles_counterparties(sample: Watchlist) -> None:
    names = " | ".join(n for e in sample.entries for n in (e.name, *e.aliases))
    for expected in ("ROSOBORONEXPORT", "SBERBANK", "VTB", "GAZPROMBANK", "BANK ROSSIYA",
                     "PROMSVYAZBANK", "SOVCOMBANK", "NOVIKOMBANK", "ROSTEC",
                     "UNITED AIRCRAFT CORPORATION", "RUSSIAN DIRECT INVESTMENT FUND",
                     "IRAN SPACE AGENCY", "KOREA MINING DEVELOPMENT", "Сбербанк"):
        assert expected in names, expected
    sberbank = next(e for e in sample.entries if "SBERBANK" in e.name)
    assert sberbank.programs == ("RUSSIA-EO14024", "UKRAINE-EO13662")


# -- OFAC SDN ---------------------------------------------------------------------------------


def test_ofac_fixture_round_trips_to_the_bundled_sample(sample: Watchlist) -> None:
    imported = load_ofac_sdn(FIXTURES / "sdn.csv", FIXTURES / "alt.csv", FIXTURES / "add.csv",
                             name="sdn_sample", as_of=sample.as_of)
    assert len(imported.entries) == len(sample.entries)
    by_id = {f"SAMPLE-{int(e.id):03d}": e for e in imported.entries}
    for expected in sample.entries:
        assert dataclasses.replace(by_id[expected.id], id=expected.id) == expected


def test_ofac_columns_programs_types_and_empty_cells(tmp_path: Path) -> None:
    sdn = write(tmp_path, "sdn.csv",
                SDN_ROW.format(n=7, name="PUTIN, Vladimir Vladimirovich",
                               programs="RUSSIA-EO14024").replace("-0- ,", '"individual",', 1)
                + '36,"AEROCARIBBEAN AIRLINES",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,'
                  '"Havana, Cuba."\n'
                + '15432,"EP-GOL","aircraft","SDGT] [IRAN",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,'
                  '"Aircraft Model IL-76TD"\n'
                + "\x1a\n")
    alt = write(tmp_path, "alt.csv", '36,12,"aka","AERO-CARIBBEAN",-0- \n'
                                     '36,13,"aka","AERO-CARIBBEAN",-0- \n'
                                     '999,14,"aka","ORPHAN",-0- \n')
    add = write(tmp_path, "add.csv", '36,25,-0- ,"Havana",-0- ,-0- \n'
                                     '36,26,-0- ,"Havana","Cuba",-0- \n'
                                     '15432,27,-0- ,-0- ,"Korea, North",-0- \n'
                                     '15432,28,-0- ,-0- ,"Atlantis",-0- \n')
    wl = load_ofac_sdn(sdn, alt, add, as_of=dt.date(2026, 1, 2))
    putin, aero, aircraft = wl.entries  # numeric id order
    assert (putin.id, putin.type, putin.programs) == ("7", "individual", ("RUSSIA-EO14024",))
    assert putin.name == "PUTIN, Vladimir Vladimirovich"  # kept as OFAC writes it
    assert (aero.id, aero.type, aero.aliases, aero.countries) == \
        ("36", "entity", ("AERO-CARIBBEAN",), ("CU",))
    assert (aircraft.type, aircraft.programs, aircraft.countries) == \
        ("aircraft", ("SDGT", "IRAN"), ("KP",))
    assert wl.as_of == dt.date(2026, 1, 2)
    assert wl.sample is False
    assert wl.source.endswith("sdn.csv, alt.csv, add.csv")


def test_ofac_programs_with_outer_brackets_and_windows_1252(tmp_path: Path) -> None:
    sdn = tmp_path / "sdn.csv"
    sdn.write_bytes('1,"SOCIÉTÉ EXEMPLE",-0- ,"[RUSSIA-EO14024] [UKRAINE-EO13662]",-0- ,-0- ,'
                    '-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n'.encode("cp1252"))
    (entry,) = load_ofac_sdn(sdn).entries
    assert entry.name == "SOCIÉTÉ EXEMPLE"
    assert entry.programs == ("RUSSIA-EO14024", "UKRAINE-EO13662")


@pytest.mark.parametrize(("text", "line", "message"), [
    (SDN_ROW.format(n=1, name="A", programs="X") + '2,"B",-0- ,"X"\n', 2, "expected 12 columns"),
    (SDN_ROW.format(n="1a", name="A", programs="X"), 1, "not a whole number"),
    (SDN_ROW.format(n=1, name="A", programs="X") * 2, 2, "duplicate entry number 1"),
    (SDN_ROW.format(n=3, name="-0-", programs="X"), 1, "has no name"),
    ('1,"A,-0- ,"X",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n', 1, "malformed CSV"),
])
def test_ofac_malformed_rows_name_file_and_line(tmp_path: Path, text: str, line: int,
                                                message: str) -> None:
    sdn = write(tmp_path, "sdn.csv", text)
    with pytest.raises(ListImportError, match=re.escape(f"{sdn}:{line}: ") + f".*{message}"):
        load_ofac_sdn(sdn)


def test_ofac_alt_file_with_wrong_layout_is_refused(tmp_path: Path) -> None:
    sdn = write(tmp_path, "sdn.csv", SDN_ROW.format(n=1, name="A", programs="X"))
    add_as_alt = write(tmp_path, "alt.csv", '1,25,-0- ,"Havana","Cuba",-0- \n')
    with pytest.raises(ListImportError, match=r"alt\.csv:1: expected 5 columns"):
        load_ofac_sdn(sdn, alt=add_as_alt)


def test_missing_file_is_an_import_error(tmp_path: Path) -> None:
    with pytest.raises(ListImportError, match="cannot read file"):
        load_ofac_sdn(tmp_path / "absent.csv")


@pytest.mark.parametrize(("name", "code"), [
    ("Russia", "RU"), ("Korea, North", "KP"), ("Iran", "IR"), ("Burma", "MM"),
    ("Bahamas, The", "BS"), ("Curaçao", "CW"), ("United Arab Emirates", "AE"),
    ("China", "CN"), ("Türkiye", "TR"), ("undetermined", None), ("", None),
])
def test_country_names_as_ofac_writes_them(name: str, code: str | None) -> None:
    assert country_code(name) == code


# -- OpenSanctions ----------------------------------------------------------------------------


def test_opensanctions_targets_simple(tmp_path: Path) -> None:
    wl = load_opensanctions(FIXTURES / "targets.simple.csv", name="os_test")
    company, person, vessel, wallet = wl.entries
    assert company == WatchlistEntry(
        id="tst-0001", name="Fictional Orbital Launch Services LLC",
        aliases=("Фиктивные Орбитальные Запуски", "FOLS"), type="entity",
        programs=("TEST-SPACE", "TEST-EXPORT"), countries=("RU",))  # "suhh" is not ISO: dropped
    assert person.type == "individual"
    assert person.aliases == ("TESTOV, Pyotr", "Тестов Пётр Иванович")
    assert (vessel.type, vessel.countries) == ("vessel", ("IR", "KP"))
    assert (wallet.type, wallet.programs) == ("other", ())
    assert wl.as_of == dt.date(2026, 6, 30)  # the latest last_change
    assert "CC BY-NC" in wl.license


@pytest.mark.parametrize(("text", "line", "message"), [
    ("id,name\nx,Y\n", 1, "lacks column.*schema"),
    ("", 1, "file is empty"),
    ("id,schema,name\nx,Person,A\ny,Person\n", 3, "expected 3 columns"),
    ("id,schema,name\nx,Person,\n", 2, "no id or no name"),
    ("id,schema,name\nx,Person,A\n\nx,Company,B\n", 4, "duplicate id 'x'"),
])
def test_opensanctions_malformed_rows_name_file_and_line(tmp_path: Path, text: str, line: int,
                                                         message: str) -> None:
    path = write(tmp_path, "targets.simple.csv", text)
    with pytest.raises(ListImportError, match=re.escape(f"{path}:{line}: ") + f".*{message}"):
        load_opensanctions(path)


# -- canonical YAML ---------------------------------------------------------------------------


def test_canonical_round_trip_is_exact_and_deterministic(sample: Watchlist,
                                                         tmp_path: Path) -> None:
    shuffled = dataclasses.replace(sample, entries=tuple(reversed(sample.entries)))
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    write_watchlist(shuffled, first)
    write_watchlist(sample, second)
    assert first.read_bytes() == second.read_bytes() == SAMPLE.read_bytes()
    assert load_watchlist(first) == sample


def test_canonical_ids_sort_numerically_and_accept_unquoted_numbers() -> None:
    wl = Watchlist("t", tuple(WatchlistEntry(i, f"Name {i}") for i in ("10", "9", "B", "100")))
    text = dump_watchlist(wl)
    assert re.findall(r"id: '?(\w+)'?", text) == ["9", "10", "100", "B"]
    parsed = parse_watchlist(text.replace("'10'", "10"), "t.yaml")
    assert [e.id for e in parsed.entries] == ["9", "10", "100", "B"]


VALID = """\
name: test_list
as_of: 2026-01-01
sample: false
entries:
  - id: A1
    name: Example Trading LLC
    type: entity
    countries: [RU]
"""


@pytest.mark.parametrize(("text", "line", "message"), [
    (VALID.replace("    type: entity", "    type: company"), 7, "type 'company' must be one of"),
    (VALID.replace("[RU]", "[RUS]"), 8, "'RUS' is not an ISO 3166-1 alpha-2"),
    (VALID.replace("    countries", "    contry"), 8, "unknown key 'contry' in entry"),
    (VALID.replace("as_of: 2026-01-01", "as_of: soon"), 2, "as_of must be a date"),
    (VALID.replace("sample: false", "sample: maybe"), 3, "sample must be true or false"),
    (VALID + "  - id: A1\n    name: Again\n", 9, "duplicate entry id 'A1'"),
    (VALID.replace("    name: Example Trading LLC\n", ""), 5, "entry needs 'name'"),
    (VALID + "  - just a string\n", 9, "must be a mapping"),
    ("name: x\nentries: {}\n", 2, "entries must be a list"),
    ("name: x\nentries: [\n", 3, "YAML syntax"),
])
def test_canonical_errors_name_file_and_line(text: str, line: int, message: str) -> None:
    with pytest.raises(ListImportError, match=f"^list.yaml:{line}: .*{message}"):
        parse_watchlist(text, "list.yaml")


def test_canonical_minimal_file_loads(tmp_path: Path) -> None:
    wl = load_watchlist(write(tmp_path, "w.yaml", VALID))
    assert wl.entries == (WatchlistEntry("A1", "Example Trading LLC", type="entity",
                                         countries=("RU",)),)
    assert (wl.name, wl.as_of, wl.sample) == ("test_list", dt.date(2026, 1, 1), False)
