"""Published sanctions list formats, read into the one model of engine.screening.watchlists: OFAC SDN
and Consolidated (non-SDN) CSV, the US Consolidated Screening List CSV, the EU Financial
Sanctions Files (XML and CSV), the UK Sanctions List CSV (FCDO) and the former UK (OFSI)
consolidated list CSV, and OpenSanctions CSV.

Readers are strict: bad input (a wrong format, a truncated or UTF-16 file, duplicate ids, an
alias of an unknown entry where the format cannot tell a newer file) raises `ListImportError`
naming the file and line; rows that a format allows to be skipped are counted
(`Watchlist.skipped`). Nothing here writes: `engine.screening.watchlists.write_watchlist` does, atomically.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pycountry
from anyascii import anyascii

from engine.language.contract import is_country
from engine.screening.watchlists import ENTRY_TYPES, Watchlist, WatchlistEntry, id_sort_key, import_failure

# OFAC's CSV marks an empty cell with this token (usually followed by a space).
OFAC_EMPTY = "-0-"
SDN_COLUMNS = 12
ALT_COLUMNS = 5
ADD_COLUMNS = 6
OPENSANCTIONS_REQUIRED = ("id", "schema", "name")

# OpenSanctions FollowTheMoney schemata → our entry types.
_FTM_TYPES = {
    "Person": "individual",
    "Company": "entity",
    "Organization": "entity",
    "LegalEntity": "entity",
    "PublicBody": "entity",
    "Vessel": "vessel",
    "Airplane": "aircraft",
}

# Country names as OFAC writes them that pycountry does not know under that spelling.
_OFAC_COUNTRIES = {
    "russia": "RU",
    "korea, north": "KP",
    "north korea": "KP",
    "korea, south": "KR",
    "south korea": "KR",
    "burma": "MM",
    "turkey": "TR",
    "macau": "MO",
    "macao": "MO",
    "congo, democratic republic of the": "CD",
    "congo, republic of the": "CG",
    "cote d ivoire": "CI",
    "ivory coast": "CI",
    "brunei": "BN",
    "cape verde": "CV",
    "swaziland": "SZ",
    "macedonia": "MK",
    "holy see": "VA",
    "vatican city": "VA",
    "east timor": "TL",
    "bahamas": "BS",
    "gambia": "GM",
    "palestinian": "PS",
    "west bank": "PS",
    "gaza": "PS",
    "laos": "LA",
    "syria": "SY",
    "iran": "IR",
    "vietnam": "VN",
    "moldova": "MD",
    "tanzania": "TZ",
    "venezuela": "VE",
    "bolivia": "BO",
    "czech republic": "CZ",
    "united kingdom": "GB",
    "united states": "US",
}


# --------------------------------------------------------------------------------------------
# CSV helpers


def _read_bytes(path: str | Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise import_failure(path, 0, f"cannot read file: {exc.strerror or exc}") from exc


def _read_text(path: str | Path) -> str:
    """CSV text: UTF-8 (with or without BOM), UTF-16 with a BOM (as spreadsheets save
    "Unicode text"), else Windows-1252, which OFAC has shipped over the years. A file with NUL
    bytes and no BOM (UTF-16 without BOM, a binary file) is refused, naming the line."""
    raw = _read_bytes(path)
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise import_failure(path, raw[:exc.start].count(b"\n\x00") + 1,
                        "not valid UTF-16 text (truncated?)") from exc
    if b"\x00" in raw:
        line = raw[:raw.index(b"\x00")].count(b"\n") + 1
        raise import_failure(path, line, "NUL byte: a UTF-16 file without byte order mark, or not a "
                                "text file; save it as UTF-8")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _rows(path: str | Path, delimiter: str = ",") -> Iterator[tuple[int, list[str]]]:
    """(first line, cells) of each non-blank record; CSV syntax errors become file:line errors."""
    text = _read_text(path)
    reader = csv.reader(text.splitlines(keepends=True), strict=True, delimiter=delimiter)
    previous_end = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise import_failure(path, reader.line_num, f"malformed CSV: {exc}") from exc
        start = previous_end + 1
        previous_end = reader.line_num
        # OFAC files end with a DOS end-of-file character (Ctrl-Z) on a line of its own.
        if not cells or all(not c.strip() or c.strip() == "\x1a" for c in cells):
            continue
        yield start, cells


def _cell(value: str) -> str:
    value = value.strip()
    return "" if value == OFAC_EMPTY else value


def _ent_num(path: str | Path, line: int, value: str) -> str:
    value = value.strip()
    if not (value.isascii() and value.isdigit()):
        raise import_failure(path, line, f"entry number '{value}' is not a whole number")
    return str(int(value))


def _programs(value: str) -> tuple[str, ...]:
    """`RUSSIA-EO14024] [UKRAINE-EO13662` (OFAC strips the outer brackets) → two programmes."""
    names = (p.strip(" []") for p in re.split(r"[\[\]]", _cell(value)))
    return tuple(dict.fromkeys(name for name in names if name))


def _fold(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9,]+", " ", anyascii(text).casefold()).split())


@cache
def _country_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for country in pycountry.countries:
        for attr in ("name", "official_name", "common_name"):
            value = getattr(country, attr, None)
            if value:
                table[_fold(value)] = country.alpha_2
    table.update(_OFAC_COUNTRIES)
    return table


def country_code(name: str) -> str | None:
    """ISO alpha-2 for a country name as sanctions lists write it ("Korea, North"), else None."""
    folded = _fold(name)
    if not folded:
        return None
    if len(folded) == 2 and is_country(folded.upper()):
        return folded.upper()
    table = _country_table()
    if folded in table:
        return table[folded]
    # "Bahamas, The" / "Gambia, The"
    if folded.endswith(", the"):
        return table.get(folded[: -len(", the")])
    return None


# --------------------------------------------------------------------------------------------
# OFAC SDN


def load_ofac_sdn(sdn: str | Path, alt: str | Path | None = None, add: str | Path | None = None,
                  *, name: str = "ofac_sdn", as_of: dt.date | None = None,
                  consolidated: bool = False) -> Watchlist:
    """OFAC's legacy CSV files: `sdn.csv` (+ `alt.csv` aliases, + `add.csv` countries), or the
    same three files of the Consolidated Sanctions List (non-SDN: `cons_prim.csv`,
    `cons_alt.csv`, `cons_add.csv`) with `consolidated=True`.

    Names are kept exactly as OFAC writes them ("KOVALCHUK, Yury Valentinovich"): screening
    handles token order. The a.k.a.s OFAC writes in the remarks ("a.k.a. 'BNC'") are aliases
    too. Alias and address rows of an entry absent from the main file are skipped and counted
    (`Watchlist.skipped`): OFAC publishes the files separately, so they can be newer. `as_of`
    defaults to the modification date of the main file, i.e. when it was downloaded.
    """
    drafts: dict[str, _Draft] = {}
    for line, cells in _rows(sdn):
        if len(cells) != SDN_COLUMNS:
            raise import_failure(sdn, line, f"expected {SDN_COLUMNS} columns (ent_num, SDN_Name, SDN_Type, "
                                   f"Program, ...), found {len(cells)}")
        ent = _ent_num(sdn, line, cells[0])
        sdn_name = _cell(cells[1])
        if not sdn_name:
            raise import_failure(sdn, line, f"entry {ent} has no name")
        if ent in drafts:
            raise import_failure(sdn, line, f"duplicate entry number {ent}")
        kind = _cell(cells[2]).lower() or "entity"
        drafts[ent] = _Draft(sdn_name, kind if kind in ENTRY_TYPES else "other",
                             _programs(cells[3]))
        for alias in _remark_akas(_cell(cells[11])):
            if alias != sdn_name and alias not in drafts[ent].aliases:
                drafts[ent].aliases.append(alias)
    skipped = {"alias rows of an absent entry": 0, "address rows of an absent entry": 0}
    if alt is not None:
        for line, cells in _rows(alt):
            if len(cells) != ALT_COLUMNS:
                raise import_failure(alt, line, f"expected {ALT_COLUMNS} columns (ent_num, alt_num, "
                                       f"alt_type, alt_name, alt_remarks), found {len(cells)}")
            draft = drafts.get(_ent_num(alt, line, cells[0]))
            alias = _cell(cells[3])
            if draft is None:
                skipped["alias rows of an absent entry"] += 1
            elif alias and alias != draft.name and alias not in draft.aliases:
                draft.aliases.append(alias)
    if add is not None:
        for line, cells in _rows(add):
            if len(cells) != ADD_COLUMNS:
                raise import_failure(add, line, f"expected {ADD_COLUMNS} columns (ent_num, add_num, "
                                       f"address, city, country, remarks), found {len(cells)}")
            draft = drafts.get(_ent_num(add, line, cells[0]))
            code = country_code(_cell(cells[4]))
            if draft is None:
                skipped["address rows of an absent entry"] += 1
            elif code is not None and code not in draft.countries:
                draft.countries.append(code)
    built = tuple(
        WatchlistEntry(ent, d.name, tuple(d.aliases), d.type, d.programs, tuple(d.countries))
        for ent, d in sorted(drafts.items(), key=lambda kv: id_sort_key(kv[0]))
    )
    return Watchlist(
        name=name,
        entries=built,
        description="OFAC Consolidated Sanctions List (non-SDN lists)" if consolidated
        else "OFAC Specially Designated Nationals and Blocked Persons List (SDN)",
        source="U.S. Treasury, Office of Foreign Assets Control: "
               + ", ".join(Path(p).name for p in (sdn, alt, add) if p is not None),
        as_of=as_of or _mtime_date(sdn),
        sample=False,
        license="Public domain (U.S. federal government work)",
        skipped=tuple((reason, n) for reason, n in skipped.items() if n),
    )


_AKA = re.compile(r"\ba\.k\.a\.,?\s*'(.+?)'(?=[\s.;,)]|$)")


def _remark_akas(remarks: str) -> list[str]:
    """The a.k.a.s written in an OFAC remark: "a.k.a. 'BNC'.", "a.k.a. 'ABU-'UMAR'"."""
    return [m.group(1).strip() for m in _AKA.finditer(remarks) if m.group(1).strip()]


@dataclass
class _Draft:
    """An SDN entry while its aliases and addresses are still being collected."""

    name: str
    type: str
    programs: tuple[str, ...]
    aliases: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)


def _entries(drafts: dict[str, _Draft]) -> tuple[WatchlistEntry, ...]:
    """The entries of `drafts` (by id), without an alias equal to the name."""
    return tuple(
        WatchlistEntry(entry_id, d.name, tuple(a for a in d.aliases if a != d.name), d.type,
                       d.programs, tuple(d.countries))
        for entry_id, d in sorted(drafts.items(), key=lambda kv: id_sort_key(kv[0])))


def _mtime_date(path: str | Path) -> dt.date:
    return dt.date.fromtimestamp(Path(path).stat().st_mtime)


# --------------------------------------------------------------------------------------------
# OpenSanctions


def load_opensanctions(path: str | Path, *, name: str = "opensanctions",
                       as_of: dt.date | None = None) -> Watchlist:
    """OpenSanctions `targets.simple.csv` (multi-values separated by `;`).

    Never bundle the output: OpenSanctions data is CC BY-NC 4.0. `as_of` defaults to the
    latest `last_change` in the file.
    """
    rows = _rows(path)
    try:
        _, header = next(rows)
    except StopIteration:
        raise import_failure(path, 1, "file is empty (expected a header line)") from None
    columns = {column.strip(): i for i, column in enumerate(header)}
    missing = [c for c in OPENSANCTIONS_REQUIRED if c not in columns]
    if missing:
        raise import_failure(path, 1, f"header lacks column(s) {', '.join(missing)}: not a "
                             "targets.simple.csv file")

    def get(cells: list[str], column: str) -> str:
        index = columns.get(column)
        return cells[index].strip() if index is not None else ""

    entries: list[WatchlistEntry] = []
    seen: dict[str, int] = {}
    latest: dt.date | None = None
    for line, cells in rows:
        if len(cells) != len(header):
            raise import_failure(path, line, f"expected {len(header)} columns as in the header, "
                                    f"found {len(cells)}")
        entry_id, entry_name = get(cells, "id"), get(cells, "name")
        if not entry_id or not entry_name:
            raise import_failure(path, line, "row has no id or no name")
        if entry_id in seen:
            raise import_failure(path, line, f"duplicate id '{entry_id}' (first at line {seen[entry_id]})")
        seen[entry_id] = line
        changed = _iso_date(get(cells, "last_change"))
        if changed is not None and (latest is None or changed > latest):
            latest = changed
        aliases = [a for a in _split(get(cells, "aliases")) if a != entry_name]
        countries = []
        for value in _split(get(cells, "countries")):
            code = value.upper()
            if is_country(code) and code not in countries:
                countries.append(code)
        entries.append(WatchlistEntry(
            id=entry_id,
            name=entry_name,
            aliases=tuple(dict.fromkeys(aliases)),
            type=_FTM_TYPES.get(get(cells, "schema"), "other"),
            programs=tuple(dict.fromkeys(_split(get(cells, "program_ids")))),
            countries=tuple(countries),
        ))
    entries.sort(key=lambda e: id_sort_key(e.id))
    return Watchlist(
        name=name,
        entries=tuple(entries),
        description="OpenSanctions targets (targets.simple.csv)",
        source="OpenSanctions: targets.simple.csv",
        as_of=as_of or latest or _mtime_date(path),
        sample=False,
        license="CC BY-NC 4.0 (OpenSanctions): do not redistribute without a licence",
    )


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(";") if part.strip()]


def _iso_date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None


# --------------------------------------------------------------------------------------------
# CSV with a header (US Consolidated Screening List, UK consolidated list)


def _header_rows(path: str | Path, required: Sequence[str], what: str, *,
                 skip_lines: int = 0, delimiter: str = ","
                 ) -> tuple[dict[str, int], Iterator[tuple[int, list[str]]]]:
    """(column → index, remaining rows) of a CSV file whose header names `required` columns."""
    rows = _rows(path, delimiter)
    for _ in range(skip_lines):
        next(rows, None)
    try:
        _, header = next(rows)
    except StopIteration:
        raise import_failure(path, 1, f"file is empty (expected the header of {what})") from None
    columns = {column.strip().lstrip("\ufeff"): i for i, column in enumerate(header)}
    missing = [c for c in required if c not in columns]
    if missing:
        raise import_failure(path, 1 + skip_lines, f"header lacks column(s) {', '.join(missing)}: not "
                                          f"{what}")
    return columns, rows


def _records(path: str | Path, columns: dict[str, int], rows: Iterator[tuple[int, list[str]]]
             ) -> Iterator[tuple[int, Callable[[str], str]]]:
    """(line, the row's cell by column name) of each row; a row of another number of cells
    than the header's columns (a truncated or malformed file) is refused."""
    for line, cells in rows:
        if len(cells) != len(columns):
            raise import_failure(path, line, f"expected {len(columns)} columns as in the header, "
                                             f"found {len(cells)} (a truncated or malformed row)")

        def get(column: str, cells: list[str] = cells) -> str:
            index = columns.get(column)
            return cells[index].strip() if index is not None else ""
        yield line, get


def _uk_name(get: Callable[[str], str], kind: str) -> str:
    """A UK list row's name: Name 6 is the surname (or the entity's or ship's whole name),
    Names 1-5 the other names; "SURNAME, Others" for an individual."""
    surname = get("Name 6")
    others = " ".join(p for p in (get(f"Name {i}") for i in range(1, 6)) if p)
    if surname and others:
        return f"{surname}, {others}" if kind == "individual" else f"{others} {surname}"
    return surname or others


CSL_COLUMNS = ("_id", "source", "entity_number", "type", "programs", "name", "title",
               "addresses", "federal_register_notice", "start_date", "end_date",
               "standard_order", "license_requirement", "license_policy", "call_sign",
               "vessel_type", "gross_tonnage", "gross_registered_tonnage", "vessel_flag",
               "vessel_owner", "remarks", "source_list_url", "alt_names", "citizenships",
               "dates_of_birth", "nationalities", "places_of_birth", "source_information_url")
CSL_REQUIRED = ("_id", "source", "name", "type", "programs", "alt_names", "addresses")
_CSL_TYPES = {"individual": "individual", "entity": "entity", "vessel": "vessel",
              "aircraft": "aircraft"}


def load_us_csl(path: str | Path, *, name: str = "us_csl",
                as_of: dt.date | None = None) -> Watchlist:
    """The US Consolidated Screening List (`consolidated.csv`, trade.gov): the SDN list, the
    BIS Entity List, Military End User, Unverified and Denied Persons lists, ITAR debarred,
    NS-CMIC and others in one file. Each entry keeps its `source` (the list it comes from) so
    that rules can tell an Entity List party from a blocked one. Multi-values (aliases,
    programmes, addresses) are separated by `;`; an address's country is its last part."""
    columns, rows = _header_rows(path, CSL_REQUIRED, "a Consolidated Screening List file "
                                                     "(consolidated.csv)")
    entries: list[WatchlistEntry] = []
    seen: dict[str, int] = {}
    for line, get in _records(path, columns, rows):
        entry_id, entry_name = get("_id"), get("name")
        if not entry_id or not entry_name:
            raise import_failure(path, line, "row has no _id or no name")
        if entry_id in seen:
            raise import_failure(path, line, f"duplicate _id '{entry_id}' (first at line {seen[entry_id]})")
        seen[entry_id] = line
        countries: list[str] = []
        for address in _split(get("addresses")):
            code = country_code(address.rsplit(",", 1)[-1])
            if code is not None and code not in countries:
                countries.append(code)
        for value in (*_split(get("citizenships")), *_split(get("nationalities"))):
            code = country_code(value)
            if code is not None and code not in countries:
                countries.append(code)
        aliases = [a for a in dict.fromkeys(_split(get("alt_names"))) if a != entry_name]
        entries.append(WatchlistEntry(
            id=entry_id, name=entry_name, aliases=tuple(aliases),
            type=_CSL_TYPES.get(get("type").lower(), "entity" if get("type") == "" else "other"),
            programs=tuple(dict.fromkeys(_split(get("programs")))),
            countries=tuple(countries), source=get("source")))
    entries.sort(key=lambda e: id_sort_key(e.id))
    return Watchlist(
        name=name, entries=tuple(entries),
        description="US Consolidated Screening List (Departments of Commerce, State and the "
                    "Treasury)",
        source="International Trade Administration: consolidated.csv",
        as_of=as_of or _mtime_date(path), sample=False,
        license="Public domain (U.S. federal government work)")


UK_REQUIRED = ("Name 6", "Name 1", "Group Type", "Alias Type", "Regime", "Group ID")
_UK_TYPES = {"individual": "individual", "entity": "entity", "ship": "vessel"}


def load_uk_ofsi(path: str | Path, *, name: str = "uk_ofsi",
                 as_of: dt.date | None = None) -> Watchlist:
    """The UK consolidated list of financial sanctions targets (OFSI `ConList.csv`): a
    "Last Updated" line, a header, then one row per name of a target, grouped by Group ID
    (the primary name and its aliases). Name 6 is the surname or entity name, Names 1-5 the
    other names. `as_of` defaults to the Last Updated date."""
    first = next(_rows(path), None)
    skip = 1 if first is not None and first[1] and first[1][0].strip().lower() \
        .startswith("last updated") else 0
    updated = None
    if skip and first is not None and len(first[1]) > 1:
        updated = _uk_date(first[1][1])
    columns, rows = _header_rows(path, UK_REQUIRED, "the UK consolidated list (ConList.csv)",
                                 skip_lines=skip)
    groups: dict[str, _Draft] = {}
    primary: dict[str, bool] = {}
    for line, get in _records(path, columns, rows):
        group = get("Group ID")
        if not group:
            raise import_failure(path, line, "row has no Group ID")
        kind = _UK_TYPES.get(get("Group Type").lower(), "other")
        full = _uk_name(get, kind)
        if not full:
            raise import_failure(path, line, f"row of group {group} has no name")
        is_primary = get("Alias Type").lower().startswith("primary")
        draft = groups.get(group)
        if draft is None:
            draft = groups[group] = _Draft(full, kind, ())
            primary[group] = is_primary
        elif is_primary and not primary[group]:
            draft.aliases.append(draft.name)
            draft.name, primary[group] = full, True
        elif full != draft.name and full not in draft.aliases:
            draft.aliases.append(full)
        script = get("Name Non-Latin Script")
        if script and script not in draft.aliases:
            draft.aliases.append(script)
        regime = get("Regime")
        if regime and regime not in draft.programs:
            draft.programs = (*draft.programs, regime)
        for value in (get("Country"), *_split(get("Nationality").replace(",", ";"))):
            code = country_code(value) if value else None
            if code is not None and code not in draft.countries:
                draft.countries.append(code)
    return Watchlist(
        name=name, entries=_entries(groups),
        description="UK consolidated list of financial sanctions targets (OFSI)",
        source="HM Treasury, Office of Financial Sanctions Implementation: ConList.csv",
        as_of=as_of or updated or _mtime_date(path), sample=False,
        license="Open Government Licence v3.0")


def _uk_date(value: str) -> dt.date | None:
    try:
        return dt.datetime.strptime(value.strip(), "%d/%m/%Y").date()
    except ValueError:
        return None


# --------------------------------------------------------------------------------------------
# EU Financial Sanctions Files (XML)


def load_eu_fsf(path: str | Path, *, name: str = "eu_fsf",
                as_of: dt.date | None = None) -> Watchlist:
    """The EU consolidated list of persons, groups and entities subject to financial
    sanctions (Financial Sanctions Files, XML 1.1): one `sanctionEntity` per target with its
    `nameAlias` names, `regulation` programmes, `subjectType`, citizenships and addresses.
    `as_of` defaults to the file's generation date."""
    raw = _read_bytes(path)
    declaration = re.search(rb"<!(?:DOCTYPE|ENTITY)", raw)
    if declaration:  # what makes entity-expansion attacks possible; the real file has none
        raise import_failure(path, raw[:declaration.start()].count(b"\n") + 1,
                    "a DTD or entity declaration is not accepted in a sanctions list")
    try:
        root = ET.fromstring(raw)  # noqa: S314 (no DTD, so no entity expansion: checked above)
    except ET.ParseError as exc:
        line = exc.position[0] if exc.position else 0
        raise import_failure(path, line, f"not well-formed XML (truncated?): {exc}") from None
    if _local(root.tag) != "export":
        raise import_failure(path, 1, f"root element is <{_local(root.tag)}>, not <export>: not an EU "
                             "Financial Sanctions Files XML")
    entries: list[WatchlistEntry] = []
    seen: set[str] = set()
    for element in root:
        if _local(element.tag) != "sanctionEntity":
            continue
        entry_id = element.get("logicalId", "").strip()
        if not entry_id:
            raise import_failure(path, 0, "a sanctionEntity has no logicalId")
        if entry_id in seen:
            raise import_failure(path, 0, f"duplicate sanctionEntity logicalId '{entry_id}'")
        seen.add(entry_id)
        names: list[str] = []
        programs: list[str] = []
        countries: list[str] = []
        kind = "other"
        for child in element:
            tag = _local(child.tag)
            if tag == "nameAlias":
                whole = (child.get("wholeName") or "").strip()
                if whole and whole not in names:
                    names.append(whole)
            elif tag == "regulation":
                programme = (child.get("programme") or "").strip()
                if programme and programme not in programs:
                    programs.append(programme)
            elif tag == "subjectType":
                kind = {"person": "individual", "enterprise": "entity"}.get(
                    (child.get("code") or "").strip(), "other")
            elif tag in ("citizenship", "address"):
                code = (child.get("countryIso2Code") or "").strip().upper()
                if is_country(code) and code not in countries:
                    countries.append(code)
        if not names:
            raise import_failure(path, 0, f"sanctionEntity {entry_id} has no nameAlias wholeName")
        entries.append(WatchlistEntry(entry_id, names[0], tuple(names[1:]), kind,
                                      tuple(programs), tuple(countries)))
    entries.sort(key=lambda e: id_sort_key(e.id))
    return Watchlist(
        name=name, entries=tuple(entries),
        description="EU consolidated list of persons, groups and entities subject to "
                    "financial sanctions",
        source="European Commission, Financial Sanctions Files (XML)",
        as_of=as_of or _iso_date(root.get("generationDate", "")) or _mtime_date(path),
        sample=False, license="European Commission reuse policy (Decision 2011/833/EU)")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


# --------------------------------------------------------------------------------------------
# EU Financial Sanctions Files (CSV 1.1)

# The published header (118 columns); the reader needs only EU_CSV_REQUIRED of them.
EU_CSV_COLUMNS = tuple(f"{group}_{field}" if group else field for group, fields in (
    ("", "fileGenerationDate"),
    ("Entity", "LogicalId EU_ReferenceNumber UnitedNationId DesignationDate DesignationDetails "
               "Remark SubjectType SubjectType_ClassificationCode"),
    ("Entity_Regulation", "Type OrganisationType PublicationDate EntryIntoForceDate NumberTitle "
                          "Programme PublicationUrl"),
    ("NameAlias", "LastName FirstName MiddleName WholeName NameLanguage Gender Title Function "
                  "LogicalId RegulationLanguage Remark"),
    ("NameAlias_Regulation", "Type OrganisationType PublicationDate EntryIntoForceDate "
                             "NumberTitle Programme PublicationUrl"),
    ("Address", "City Street PoBox ZipCode Region Place AsAtListingTime ContactInfo "
                "CountryIso2Code CountryDescription LogicalId RegulationLanguage Remark"),
    ("Address_Regulation", "Type OrganisationType PublicationDate EntryIntoForceDate "
                           "NumberTitle Programme PublicationUrl"),
    ("BirthDate", "BirthDate Day Month Year YearRangeFrom YearRangeTo Circa CalendarType ZipCode "
                  "Region Place City CountryIso2Code CountryDescription LogicalId "
                  "RegulationLanguage Remark"),
    ("BirthDate_Regulation", "Type OrganisationType PublicationDate EntryIntoForceDate "
                             "NumberTitle Programme PublicationUrl"),
    ("Identification", "Number Diplomatic KnownExpired KnownFalse ReportedLost RevokedByIssuer "
                       "IssuedBy IssuedDate ValidFrom ValidTo LatinNumber NameOnDocument "
                       "TypeCode TypeDescription Region CountryIso2Code CountryDescription "
                       "LogicalId RegulationLanguage Remark"),
    ("Identification_Regulation", "Type OrganisationType PublicationDate EntryIntoForceDate "
                                  "NumberTitle Programme PublicationUrl"),
    ("Citizenship", "Region CountryIso2Code CountryDescription LogicalId RegulationLanguage "
                    "Remark"),
    ("Citizenship_Regulation", "Type OrganisationType PublicationDate EntryIntoForceDate "
                               "NumberTitle Programme PublicationUrl"),
) for field in fields.split())
EU_CSV_REQUIRED = ("Entity_LogicalId", "NameAlias_WholeName", "Entity_Regulation_Programme")
# The subject type is written both ways round across versions of the file: the code
# ("person", "enterprise") in one column, the letter ("P", "E") in the other.
EU_SUBJECT_COLUMNS = ("Entity_SubjectType_ClassificationCode", "Entity_SubjectType")
_EU_TYPES = {"person": "individual", "p": "individual", "enterprise": "entity", "e": "entity"}


def load_eu_fsf_csv(path: str | Path, *, name: str = "eu_fsf",
                    as_of: dt.date | None = None) -> Watchlist:
    """The EU consolidated financial sanctions file as CSV (version 1.1: `;`-separated, a
    header of 118 columns from `fileGenerationDate`, `Entity_LogicalId` to the citizenship
    columns). The file is flattened: an entity takes one row per combination of its names,
    addresses, birth dates, identifications and citizenships, all with its Entity_LogicalId,
    one after the other. Its names are the distinct `NameAlias_WholeName` values (or first,
    middle and last name), the first one its name. A logical id that comes back after another
    entity's rows is a duplicate id. `as_of` defaults to the fileGenerationDate."""
    columns, rows = _header_rows(path, EU_CSV_REQUIRED, "the EU financial sanctions file "
                                                        "(CSV 1.1, ';'-separated)", delimiter=";")
    drafts: dict[str, _Draft] = {}
    first_line: dict[str, int] = {}
    current = ""
    generated: dt.date | None = None
    for line, get in _records(path, columns, rows):
        entry_id = get("Entity_LogicalId")
        if not entry_id:
            raise import_failure(path, line, "row has no Entity_LogicalId: its names belong to no "
                                             "entry")
        if entry_id != current and entry_id in drafts:
            raise import_failure(path, line, f"duplicate Entity_LogicalId '{entry_id}' (first at "
                                             f"line {first_line[entry_id]}, other entries between)")
        current = entry_id
        generated = generated or _day(get("fileGenerationDate"))
        whole = get("NameAlias_WholeName") or " ".join(p for p in (
            get("NameAlias_FirstName"), get("NameAlias_MiddleName"), get("NameAlias_LastName")) if p)
        draft = drafts.get(entry_id)
        if draft is None:
            kind = next((_EU_TYPES[v] for v in (get(c).lower() for c in EU_SUBJECT_COLUMNS)
                         if v in _EU_TYPES), "other")
            draft = drafts[entry_id] = _Draft(whole, kind, ())
            first_line[entry_id] = line
        elif whole and not draft.name:
            draft.name = whole
        elif whole and whole != draft.name and whole not in draft.aliases:
            draft.aliases.append(whole)
        programme = get("Entity_Regulation_Programme")
        if programme and programme not in draft.programs:
            draft.programs = (*draft.programs, programme)
        for column in ("Address_CountryIso2Code", "Citizenship_CountryIso2Code"):
            code = get(column).upper()
            if is_country(code) and code not in draft.countries:
                draft.countries.append(code)
    for entry_id, draft in drafts.items():
        if not draft.name:
            raise import_failure(path, first_line[entry_id], f"entity {entry_id} has no name "
                                                             "(NameAlias_WholeName) in any row")
    return Watchlist(
        name=name, entries=_entries(drafts),
        description="EU consolidated list of persons, groups and entities subject to "
                    "financial sanctions",
        source="European Commission, Financial Sanctions Files (CSV 1.1)",
        as_of=as_of or generated or _mtime_date(path), sample=False,
        license="European Commission reuse policy (Decision 2011/833/EU)")


def _day(value: str) -> dt.date | None:
    """A date as the EU and UK files write it: DD/MM/YYYY, or ISO (YYYY-MM-DD...)."""
    value = value.strip()
    for pattern in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(value[:10], pattern).date()
        except ValueError:
            continue
    return None


# --------------------------------------------------------------------------------------------
# UK Sanctions List (FCDO, CSV)

# The published header (58 columns); the reader needs only UK_LIST_REQUIRED of them.
UK_LIST_COLUMNS = (
    "Last Updated", "Unique ID", "OFSI Group ID", "UN Reference Number", "Name 6", "Name 1",
    "Name 2", "Name 3", "Name 4", "Name 5", "Name type", "Alias strength", "Title",
    "Name non-latin script", "Non-latin script type", "Non-latin script language",
    "Regime Name", "Designation Type", "Designation source", "Sanctions Imposed",
    "Other Information", "UK Statement of Reasons", *(f"Address Line {i}" for i in range(1, 7)),
    "Address Postal Code", "Address Country", "Phone number", "Website", "Email address",
    "Date Designated", "D.O.B", "Nationality(/ies)", "National Identifier number",
    "National Identifier additional information", "Passport number",
    "Passport additional information", "Position", "Gender", "Town of birth",
    "Country of birth", "Type of entity", "Subsidiaries", "Parent company",
    "Business registration number (s)", "IMO number", "Current owner/operator (s)",
    "Previous owner/operator (s)", "Current believed flag of ship", "Previous flags",
    "Type of ship", "Tonnage of ship", "Length of ship", "Year Built",
    "Hull identification number (HIN)")
UK_LIST_REQUIRED = ("Unique ID", "Name 6", "Name 1", "Name type", "Regime Name",
                    "Designation Type")
_UK_LIST_TYPES = {"individual": "individual", "entity": "entity", "ship": "vessel"}
_REPORT_DATE = re.compile(r"report date:\s*(\d{1,2}-[A-Za-z]{3}-\d{4})", re.IGNORECASE)


def load_uk_sanctions_list(path: str | Path, *, name: str = "uk_sanctions_list",
                           as_of: dt.date | None = None) -> Watchlist:
    """The UK Sanctions List (FCDO, `UK-Sanctions-List.csv`), the UK's single list since OFSI's
    consolidated list closed: a "Report Date: DD-Mon-YYYY" line, a header of 58 columns
    (Last Updated, Unique ID, OFSI Group ID, UN Reference Number, Name 6, Name 1-5, Name type,
    ...), then one row per name of a designation, grouped by Unique ID. Name 6 is the surname
    or the entity's or ship's name; `Name type` is "Primary Name" or "Alias"; the name in
    non-Latin script is an alias too. An alias whose Unique ID has no primary name anywhere
    in the file, or a Unique ID with two different primary names or designation types, is an
    error. `as_of` defaults to the report date."""
    first = next(_rows(path), None)
    skip, reported = 0, None
    if first is not None and first[1]:
        found = _REPORT_DATE.search(first[1][0].lstrip("\ufeff"))
        if found:
            skip = 1
            reported = dt.datetime.strptime(found.group(1).title(), "%d-%b-%Y").date()
    columns, rows = _header_rows(path, UK_LIST_REQUIRED, "the UK Sanctions List "
                                                         "(UK-Sanctions-List.csv)", skip_lines=skip)
    drafts: dict[str, _Draft] = {}
    primary_line: dict[str, int] = {}
    first_alias: dict[str, int] = {}
    kinds: dict[str, tuple[str, int]] = {}
    for line, get in _records(path, columns, rows):
        entry_id = get("Unique ID")
        if not entry_id:
            raise import_failure(path, line, "row has no Unique ID: its name belongs to no entry")
        designation = get("Designation Type")
        if entry_id in kinds and kinds[entry_id][0] != designation:
            raise import_failure(path, line, f"duplicate Unique ID '{entry_id}': designation type "
                                             f"'{designation}' here, '{kinds[entry_id][0]}' at "
                                             f"line {kinds[entry_id][1]}")
        kinds.setdefault(entry_id, (designation, line))
        kind = _UK_LIST_TYPES.get(designation.lower(), "other")
        full = _uk_name(get, kind)
        if not full:
            raise import_failure(path, line, f"row of {entry_id} has no name (Name 1-6)")
        is_primary = get("Name type").lower() == "primary name"
        draft = drafts.setdefault(entry_id, _Draft("", kind, ()))
        if is_primary:
            if draft.name and draft.name != full and entry_id in primary_line:
                raise import_failure(path, line, f"duplicate Unique ID '{entry_id}': primary name "
                                                 f"'{full}' here, '{draft.name}' at line "
                                                 f"{primary_line[entry_id]}")
            if draft.name and draft.name != full and draft.name not in draft.aliases:
                draft.aliases.insert(0, draft.name)  # an alias listed before the primary name
            draft.name = full
            primary_line.setdefault(entry_id, line)
        else:
            first_alias.setdefault(entry_id, line)
            if not draft.name:
                draft.name = full  # until the primary name comes
            elif full != draft.name and full not in draft.aliases:
                draft.aliases.append(full)
        script = get("Name non-latin script")
        if script and script not in draft.aliases:
            draft.aliases.append(script)
        regime = get("Regime Name")
        if regime and regime not in draft.programs:
            draft.programs = (*draft.programs, regime)
        for value in (get("Address Country"), *re.split(r"[|;,]", get("Nationality(/ies)"))):
            code = country_code(value) if value.strip() else None
            if code is not None and code not in draft.countries:
                draft.countries.append(code)
    orphans = sorted((line, entry_id) for entry_id, line in first_alias.items()
                     if entry_id not in primary_line)
    if orphans:
        line, entry_id = orphans[0]
        raise import_failure(path, line, f"alias row of Unique ID '{entry_id}', which has no "
                                         "Primary Name row: an alias of an unknown entry")
    return Watchlist(
        name=name, entries=_entries(drafts),
        description="UK Sanctions List (Foreign, Commonwealth and Development Office)",
        source="FCDO: UK Sanctions List (CSV)",
        as_of=as_of or reported or _mtime_date(path), sample=False,
        license="Open Government Licence v3.0")
