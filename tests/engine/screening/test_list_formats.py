"""Published list formats: the real OFAC files, the US Consolidated Screening List, the EU and
UK consolidated lists; bad input (wrong format, truncated, UTF-16, duplicate ids, rows of
absent entries) and atomic writes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from engine.errors import ListImportError
from engine.screening.listformats import (
    EU_CSV_COLUMNS,
    UK_LIST_COLUMNS,
    load_eu_fsf,
    load_eu_fsf_csv,
    load_ofac_sdn,
    load_uk_ofsi,
    load_uk_sanctions_list,
    load_us_csl,
)
from engine.screening.screener import Screener
from engine.screening.watchlists import (
    Watchlist,
    WatchlistEntry,
    dump_watchlist,
    load_watchlist,
    write_watchlist,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "watchlists"
OFAC = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "ofac-sdn"


@pytest.fixture(scope="module")
def ofac() -> Watchlist:
    if not (OFAC / "sdn.csv").is_file():
        pytest.fail(f"the real OFAC files are expected in {OFAC}")
    return load_ofac_sdn(OFAC / "sdn.csv", OFAC / "alt.csv", OFAC / "add.csv")


# -- OFAC, the real files -----------------------------------------------------------------------


def test_real_ofac_files_load_with_counted_skips(ofac: Watchlist) -> None:
    assert len(ofac.entries) == 14_965
    assert sum(len(e.aliases) for e in ofac.entries) > 15_000
    skipped = dict(ofac.skipped)
    # alt.csv and add.csv are newer than sdn.csv: their rows of later entries are counted
    assert skipped["alias rows of an absent entry"] > 0
    assert skipped["address rows of an absent entry"] > 0
    by_id = {e.id: e for e in ofac.entries}
    assert by_id["36"].name == "AEROCARIBBEAN AIRLINES"
    assert "AERO-CARIBBEAN" in by_id["36"].aliases
    assert by_id["36"].countries == ("CU",)


def test_real_ofac_akas_in_remarks_are_aliases(ofac: Watchlist) -> None:
    with_remark_akas = [e for e in ofac.entries if any("'" not in a and a.isupper() and
                                                       len(a) <= 6 for a in e.aliases)]
    assert with_remark_akas
    screener = Screener([ofac], 88)
    # "a.k.a. 'BNC'" is written in the remarks of an entry, not in alt.csv
    entry = next(e for e in ofac.entries if "BNC" in e.aliases)
    assert screener.screen(["BNC"]).entry_id == entry.id


REAL_ROWS = FIXTURES / "ofac"


def test_real_ofac_rows_copied_into_the_fixtures() -> None:
    """Six entries copied byte for byte from the real files (CRLF, `-0- `, the final Ctrl-Z),
    with their alias and address rows and three rows of entries absent from sdn.csv."""
    wl = load_ofac_sdn(REAL_ROWS / "sdn.csv", REAL_ROWS / "alt.csv", REAL_ROWS / "add.csv")
    assert [e.id for e in wl.entries] == ["36", "306", "16692", "17013", "17018", "17260"]
    assert dict(wl.skipped) == {"alias rows of an absent entry": 2,
                                "address rows of an absent entry": 1}
    by_id = {e.id: e for e in wl.entries}
    assert by_id["306"].aliases[0] == "BNC"  # from the remarks: "a.k.a. 'BNC'."
    assert by_id["306"].countries == ("CH", "ES", "JP", "PA")
    assert by_id["16692"].programs == ("UKRAINE-EO13661", "RUSSIA-EO14024")
    assert "VTB BANK PJSC SHANGHAI BRANCH" in by_id["17013"].aliases
    screener = Screener([wl], 88)
    outcomes = {name: (screener.screen([name]).outcome, screener.screen([name]).entry_id)
                for name in ("V\u0422\u0412 Bank", "\u0421\u0435\u0447\u0438\u043d \u0418\u0433\u043e\u0440\u044c", "Rostec",
                             "Sberbank Leasing", "Banco Nacional de Cuba", "BNC")}
    assert outcomes == {"V\u0422\u0412 Bank": ("match", "17013"),
                        "\u0421\u0435\u0447\u0438\u043d \u0418\u0433\u043e\u0440\u044c": ("match", "16692"),
                        "Rostec": ("possible", "17260"), "Sberbank Leasing": ("possible", "17018"),
                        "Banco Nacional de Cuba": ("match", "306"), "BNC": ("match", "306")}


def test_consolidated_non_sdn_files_share_the_format(tmp_path: Path) -> None:
    prim = tmp_path / "cons_prim.csv"
    prim.write_text('7160,"ZHUHAI ZHENRONG COMPANY",-0- ,"IRAN-CON-ARMS-EO] [NS-ISA",-0- ,'
                    '-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n', encoding="utf-8")
    alt = tmp_path / "cons_alt.csv"
    alt.write_text('7160,9001,"aka","ZHUHAI ZHENRONG CO",-0- \n9999,9002,"aka","GONE",-0- \n',
                   encoding="utf-8")
    wl = load_ofac_sdn(prim, alt, consolidated=True, name="ofac_consolidated")
    assert wl.description.startswith("OFAC Consolidated")
    assert wl.entries[0].programs == ("IRAN-CON-ARMS-EO", "NS-ISA")
    assert wl.entries[0].aliases == ("ZHUHAI ZHENRONG CO",)
    assert dict(wl.skipped) == {"alias rows of an absent entry": 1}


# -- US Consolidated Screening List -----------------------------------------------------------


def test_us_csl_keeps_each_entrys_source() -> None:
    wl = load_us_csl(FIXTURES / "consolidated.csv", as_of=dt.date(2026, 11, 20))
    by_name = {e.name: e for e in wl.entries}
    huawei = by_name["Huawei Technologies Co., Ltd."]
    assert huawei.source == "Entity List (EL) - Bureau of Industry and Security"
    assert huawei.aliases == ("Huawei", "Shenzhen Huawei Technologies")
    assert huawei.countries == ("CN",)
    sechin = by_name["SECHIN, Igor Ivanovich"]
    assert sechin.type == "individual"
    assert sechin.programs == ("RUSSIA-EO14024", "UKRAINE-EO13661")
    assert sechin.source.startswith("Specially Designated Nationals")
    assert {e.source.split(" - ")[0] for e in wl.entries} >= {
        "Entity List (EL)", "Military End User (MEU) List", "Unverified List (UVL)",
        "ITAR Debarred (DTC)",
        "Non-SDN Chinese Military-Industrial Complex Companies List (CMIC)"}
    # the source survives the canonical YAML and reaches the screening candidate
    again = load_watchlist_text(dump_watchlist(wl))
    assert again.entries == wl.entries
    result = Screener([wl], 88).screen(["Huawei Technologies"])
    assert result.best is not None and result.best.source == huawei.source


def load_watchlist_text(text: str) -> Watchlist:
    from engine.screening.watchlists import parse_watchlist
    return parse_watchlist(text, "<memory>")


# -- EU and UK ------------------------------------------------------------------------------------


def test_eu_fsf_xml() -> None:
    wl = load_eu_fsf(FIXTURES / "eu_fsf.xml")
    assert wl.as_of == dt.date(2026, 11, 20)
    sechin, rosoboron = wl.entries
    assert (sechin.id, sechin.name, sechin.type) == ("13180", "Igor Ivanovich SECHIN",
                                                     "individual")
    assert sechin.aliases == ("Игорь Иванович Сечин",)
    assert sechin.programs == ("UKR",) and sechin.countries == ("RU",)
    assert rosoboron.type == "entity" and rosoboron.countries == ("RU",)
    assert Screener([wl], 88).screen(["Rosoboronexport"]).entry_id == "139018"


def test_uk_ofsi_conlist_groups_names_by_group_id() -> None:
    wl = load_uk_ofsi(FIXTURES / "ConList.csv")
    assert wl.as_of == dt.date(2026, 11, 25)
    by_id = {e.id: e for e in wl.entries}
    assert by_id["14195"].name == "SECHIN, Igor Ivanovich"
    assert set(by_id["14195"].aliases) == {"Игорь Иванович СЕЧИН", "SETCHINE, Igor"}
    vtb = by_id["14200"]
    assert vtb.name == "VTB BANK PUBLIC JOINT STOCK COMPANY"  # the primary name, listed second
    assert set(vtb.aliases) == {"VTB BANK", "Банк ВТБ (ПАО)"}
    assert by_id["15001"].type == "vessel"
    assert vtb.countries == ("RU",) and vtb.programs == ("Russia",)


def test_eu_fsf_csv_groups_the_flattened_rows_by_logical_id() -> None:
    wl = load_eu_fsf_csv(FIXTURES / "eu_fsf.csv")
    assert wl.as_of == dt.date(2026, 11, 20)  # fileGenerationDate, DD/MM/YYYY
    sechin, rosoboron = wl.entries
    assert (sechin.id, sechin.name, sechin.type) == ("13180", "Igor Ivanovich SECHIN",
                                                     "individual")
    assert sechin.aliases == ("Игорь Иванович СЕЧИН",)
    assert sechin.programs == ("UKR",) and sechin.countries == ("RU",)
    # six rows (three names times two addresses) make one entry with three names
    assert (rosoboron.name, rosoboron.aliases) == (
        "Joint Stock Company Rosoboronexport", ("АО Рособоронэкспорт", "Rosoboronexport"))
    assert rosoboron.type == "entity" and rosoboron.countries == ("RU",)
    screener = Screener([wl], 88)
    assert screener.screen(["Rosoboronexport JSC"]).entry_id == "139018"
    assert screener.screen(["Сечин Игорь"]).entry_id == "13180"


def test_uk_sanctions_list_groups_names_by_unique_id() -> None:
    wl = load_uk_sanctions_list(FIXTURES / "UK-Sanctions-List.csv")
    assert wl.as_of == dt.date(2026, 11, 20)  # the "Report Date" line
    by_id = {e.id: e for e in wl.entries}
    sechin = by_id["RUS0251"]
    assert sechin.name == "SECHIN, Igor Ivanovich"  # the primary name, listed after an alias
    assert sechin.aliases == ("SETCHINE, Igor", "Игорь Иванович СЕЧИН")
    assert (sechin.type, sechin.countries) == ("individual", ("RU",))
    exchange = by_id["AFG0001"]
    assert exchange.type == "entity" and exchange.countries == ("PK",)
    assert "HAJI KHAIRULLAH HAJI SATTAR SARAFI" in exchange.aliases
    assert exchange.programs == ("The Afghanistan (Sanctions) (EU Exit) Regulations 2020",)
    assert by_id["RUS2176"].type == "vessel"
    assert Screener([wl], 88).screen(["Korolev Prospect"]).entry_id == "RUS2176"


def test_the_fixtures_carry_the_published_headers() -> None:
    eu = (FIXTURES / "eu_fsf.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    assert tuple(eu.split(";")) == EU_CSV_COLUMNS and len(EU_CSV_COLUMNS) == 118
    uk = (FIXTURES / "UK-Sanctions-List.csv").read_text(encoding="utf-8-sig").splitlines()[1]
    assert tuple(uk.split(",")) == UK_LIST_COLUMNS and len(UK_LIST_COLUMNS) == 58


# -- bad input ------------------------------------------------------------------------------------


def test_wrong_format_is_refused_naming_the_missing_columns() -> None:
    with pytest.raises(ListImportError, match=r"sdn.csv:1: header lacks column\(s\) _id"):
        load_us_csl(FIXTURES / "sdn.csv")
    with pytest.raises(ListImportError, match=r"consolidated.csv:1: root element|not "
                                              r"well-formed XML"):
        load_eu_fsf(FIXTURES / "consolidated.csv")


def test_truncated_files_name_the_line(tmp_path: Path) -> None:
    text = (FIXTURES / "consolidated.csv").read_text(encoding="utf-8")
    cut = tmp_path / "consolidated.csv"
    last_line = text.rindex("\n", 0, len(text) - 1) + 1
    cut.write_text(text[: last_line + 40], encoding="utf-8")  # line 7 cut after 40 characters
    with pytest.raises(ListImportError, match=r"consolidated.csv:7: expected 28 columns"):
        load_us_csl(cut)
    xml = (FIXTURES / "eu_fsf.xml").read_text(encoding="utf-8")
    cut_xml = tmp_path / "eu.xml"
    cut_xml.write_text(xml[: len(xml) // 2], encoding="utf-8")
    with pytest.raises(ListImportError, match=r"eu.xml:\d+: not well-formed XML"):
        load_eu_fsf(cut_xml)


def test_utf16_with_bom_is_read_and_without_bom_is_refused(tmp_path: Path) -> None:
    text = (FIXTURES / "consolidated.csv").read_text(encoding="utf-8")
    with_bom = tmp_path / "with_bom.csv"
    with_bom.write_bytes(text.encode("utf-16"))
    assert len(load_us_csl(with_bom).entries) == 6
    without = tmp_path / "without_bom.csv"
    without.write_bytes(text.encode("utf-16-le"))
    with pytest.raises(ListImportError, match=r"without_bom.csv:1: NUL byte: a UTF-16 file"):
        load_us_csl(without)


def test_duplicate_ids_name_both_lines(tmp_path: Path) -> None:
    lines = (FIXTURES / "consolidated.csv").read_text(encoding="utf-8").splitlines()
    dup = tmp_path / "dup.csv"
    dup.write_text("\n".join([*lines, lines[2]]) + "\n", encoding="utf-8")
    with pytest.raises(ListImportError, match=r"dup.csv:8: duplicate _id '.*' \(first at "
                                              r"line 3\)"):
        load_us_csl(dup)
    uk = tmp_path / "eu.xml"
    xml = (FIXTURES / "eu_fsf.xml").read_text(encoding="utf-8")
    uk.write_text(xml.replace('logicalId="139018"', 'logicalId="13180"'), encoding="utf-8")
    with pytest.raises(ListImportError, match="duplicate sanctionEntity logicalId '13180'"):
        load_eu_fsf(uk)


def test_an_xml_entity_declaration_is_refused(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.xml"
    bomb.write_text('<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">]>\n'
                    "<export>&lol;</export>\n", encoding="utf-8")
    with pytest.raises(ListImportError, match=r"bomb.xml:2: a DTD or entity declaration"):
        load_eu_fsf(bomb)


def _lines(name: str) -> list[str]:
    return (FIXTURES / name).read_text(encoding="utf-8-sig").splitlines()


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_eu_and_uk_csv_refuse_each_others_format(tmp_path: Path) -> None:
    with pytest.raises(ListImportError, match=r"UK-Sanctions-List.csv:1: header lacks column"
                                              r"\(s\) Entity_LogicalId"):
        load_eu_fsf_csv(FIXTURES / "UK-Sanctions-List.csv")
    with pytest.raises(ListImportError, match=r"eu_fsf.csv:1: header lacks column\(s\) "
                                              r"Unique ID"):
        load_uk_sanctions_list(FIXTURES / "eu_fsf.csv")
    with pytest.raises(ListImportError, match=r"ConList.csv:1: header lacks column\(s\) "
                                              r"Unique ID.*not the UK Sanctions List"):
        load_uk_sanctions_list(FIXTURES / "ConList.csv")  # the former OFSI format


def test_eu_and_uk_csv_truncated_name_the_line(tmp_path: Path) -> None:
    eu = _lines("eu_fsf.csv")
    cut = _write(tmp_path / "eu.csv", [*eu[:-1], eu[-1][:200]])
    with pytest.raises(ListImportError, match=rf"eu.csv:{len(eu)}: expected 118 columns as in "
                                              r"the header, found \d+ \(a truncated"):
        load_eu_fsf_csv(cut)
    uk = _lines("UK-Sanctions-List.csv")
    cut = _write(tmp_path / "uk.csv", [*uk[:-1], uk[-1][:60]])
    with pytest.raises(ListImportError, match=rf"uk.csv:{len(uk)}: expected 58 columns"):
        load_uk_sanctions_list(cut)


def test_eu_and_uk_csv_in_utf16(tmp_path: Path) -> None:
    for name, load in (("eu_fsf.csv", load_eu_fsf_csv),
                       ("UK-Sanctions-List.csv", load_uk_sanctions_list)):
        text = (FIXTURES / name).read_text(encoding="utf-8-sig")
        with_bom = tmp_path / f"bom-{name}"
        with_bom.write_bytes(text.encode("utf-16"))
        assert load(with_bom).entries == load(FIXTURES / name).entries
        without = tmp_path / f"nobom-{name}"
        without.write_bytes(text.encode("utf-16-le"))
        with pytest.raises(ListImportError, match=rf"nobom-{name}:1: NUL byte: a UTF-16 file"):
            load(without)


def test_eu_csv_duplicate_logical_id_and_rows_without_one(tmp_path: Path) -> None:
    eu = _lines("eu_fsf.csv")
    # Sechin's rows (lines 2-3), Rosoboronexport's (4-9), then Sechin's id again
    dup = _write(tmp_path / "dup.csv", [*eu, eu[1]])
    with pytest.raises(ListImportError, match=r"dup.csv:10: duplicate Entity_LogicalId '13180' "
                                              r"\(first at line 2"):
        load_eu_fsf_csv(dup)
    orphan = _write(tmp_path / "orphan.csv", [*eu, eu[2].replace(";13180;", ";;", 1)])
    with pytest.raises(ListImportError, match=r"orphan.csv:10: row has no Entity_LogicalId"):
        load_eu_fsf_csv(orphan)


def test_uk_csv_duplicate_unique_id_and_alias_of_an_unknown_entry(tmp_path: Path) -> None:
    uk = _lines("UK-Sanctions-List.csv")
    ship = uk[-1]
    other = _write(tmp_path / "dup.csv", [*uk, ship.replace("KOROLEV PROSPECT", "OTHER SHIP")])
    with pytest.raises(ListImportError, match=rf"dup.csv:{len(uk) + 1}: duplicate Unique ID "
                                              rf"'RUS2176': primary name 'OTHER SHIP' here, "
                                              rf"'KOROLEV PROSPECT' at line {len(uk)}"):
        load_uk_sanctions_list(other)
    kind = _write(tmp_path / "kind.csv", [*uk, ship.replace(",Ship,", ",Entity,")])
    with pytest.raises(ListImportError, match=r"duplicate Unique ID 'RUS2176': designation type"):
        load_uk_sanctions_list(kind)
    alias = ship.replace("RUS2176", "RUS9999").replace("Primary Name", "Alias")
    orphan = _write(tmp_path / "orphan.csv", [*uk, alias])
    with pytest.raises(ListImportError, match=rf"orphan.csv:{len(uk) + 1}: alias row of Unique "
                                              r"ID 'RUS9999', which has no Primary Name row"):
        load_uk_sanctions_list(orphan)


# -- atomic writes ---------------------------------------------------------------------------


def test_a_failed_write_leaves_the_old_list_intact(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "list.yaml"
    old = Watchlist("w", (WatchlistEntry("1", "Old Name"),))
    write_watchlist(old, target)
    before = target.read_bytes()

    def broken(_path: object) -> Watchlist:
        raise ListImportError("simulated: the written file does not read back")

    monkeypatch.setattr("engine.screening.watchlists.load_watchlist", broken)
    with pytest.raises(ListImportError, match="simulated"):
        write_watchlist(Watchlist("w", (WatchlistEntry("2", "New Name"),)), target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["list.yaml"]  # no temporary left behind
    monkeypatch.undo()
    assert load_watchlist(target).entries[0].name == "Old Name"
