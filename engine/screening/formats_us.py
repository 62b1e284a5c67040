"""Readers of the United States' lists and of OpenSanctions: the OFAC SDN list and the OFAC
Consolidated (non-SDN) list (sdn.csv / cons_prim.csv with their alias and address files, and
the a.k.a.s written in remarks), the US Consolidated Screening List CSV (trade.gov; each entry
keeps its source list), and OpenSanctions' targets.simple.csv.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from engine.language.contract import is_country
from engine.screening.listread import (
    Draft,
    cell,
    country_code,
    csv_rows,
    ent_num,
    header_rows,
    iso_date,
    mtime_date,
    parse_programs,
    records,
    split_cells,
)
from engine.screening.watchlists import ENTRY_TYPES, Watchlist, WatchlistEntry, id_sort_key, import_failure

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
    drafts: dict[str, Draft] = {}
    for line, cells in csv_rows(sdn):
        if len(cells) != SDN_COLUMNS:
            raise import_failure(sdn, line, f"expected {SDN_COLUMNS} columns (ent_num, SDN_Name, SDN_Type, "
                                   f"Program, ...), found {len(cells)}")
        ent = ent_num(sdn, line, cells[0])
        sdn_name = cell(cells[1])
        if not sdn_name:
            raise import_failure(sdn, line, f"entry {ent} has no name")
        if ent in drafts:
            raise import_failure(sdn, line, f"duplicate entry number {ent}")
        kind = cell(cells[2]).lower() or "entity"
        drafts[ent] = Draft(sdn_name, kind if kind in ENTRY_TYPES else "other",
                             parse_programs(cells[3]))
        for alias in _remark_akas(cell(cells[11])):
            if alias != sdn_name and alias not in drafts[ent].aliases:
                drafts[ent].aliases.append(alias)
    skipped = {"alias rows of an absent entry": 0, "address rows of an absent entry": 0}
    if alt is not None:
        for line, cells in csv_rows(alt):
            if len(cells) != ALT_COLUMNS:
                raise import_failure(alt, line, f"expected {ALT_COLUMNS} columns (ent_num, alt_num, "
                                       f"alt_type, alt_name, alt_remarks), found {len(cells)}")
            draft = drafts.get(ent_num(alt, line, cells[0]))
            alias = cell(cells[3])
            if draft is None:
                skipped["alias rows of an absent entry"] += 1
            elif alias and alias != draft.name and alias not in draft.aliases:
                draft.aliases.append(alias)
    if add is not None:
        for line, cells in csv_rows(add):
            if len(cells) != ADD_COLUMNS:
                raise import_failure(add, line, f"expected {ADD_COLUMNS} columns (ent_num, add_num, "
                                       f"address, city, country, remarks), found {len(cells)}")
            draft = drafts.get(ent_num(add, line, cells[0]))
            code = country_code(cell(cells[4]))
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
        as_of=as_of or mtime_date(sdn),
        sample=False,
        license="Public domain (U.S. federal government work)",
        skipped=tuple((reason, n) for reason, n in skipped.items() if n),
    )


_AKA = re.compile(r"\ba\.k\.a\.,?\s*'(.+?)'(?=[\s.;,)]|$)")


def _remark_akas(remarks: str) -> list[str]:
    """The a.k.a.s written in an OFAC remark: "a.k.a. 'BNC'.", "a.k.a. 'ABU-'UMAR'"."""
    return [m.group(1).strip() for m in _AKA.finditer(remarks) if m.group(1).strip()]


# --------------------------------------------------------------------------------------------
# OpenSanctions


def load_opensanctions(path: str | Path, *, name: str = "opensanctions",
                       as_of: dt.date | None = None) -> Watchlist:
    """OpenSanctions `targets.simple.csv` (multi-values separated by `;`).

    Never bundle the output: OpenSanctions data is CC BY-NC 4.0. `as_of` defaults to the
    latest `last_change` in the file.
    """
    rows = csv_rows(path)
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
        changed = iso_date(get(cells, "last_change"))
        if changed is not None and (latest is None or changed > latest):
            latest = changed
        aliases = [a for a in split_cells(get(cells, "aliases")) if a != entry_name]
        countries = []
        for value in split_cells(get(cells, "countries")):
            code = value.upper()
            if is_country(code) and code not in countries:
                countries.append(code)
        entries.append(WatchlistEntry(
            id=entry_id,
            name=entry_name,
            aliases=tuple(dict.fromkeys(aliases)),
            type=_FTM_TYPES.get(get(cells, "schema"), "other"),
            programs=tuple(dict.fromkeys(split_cells(get(cells, "program_ids")))),
            countries=tuple(countries),
        ))
    entries.sort(key=lambda e: id_sort_key(e.id))
    return Watchlist(
        name=name,
        entries=tuple(entries),
        description="OpenSanctions targets (targets.simple.csv)",
        source="OpenSanctions: targets.simple.csv",
        as_of=as_of or latest or mtime_date(path),
        sample=False,
        license="CC BY-NC 4.0 (OpenSanctions): do not redistribute without a licence",
    )


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
    columns, rows = header_rows(path, CSL_REQUIRED, "a Consolidated Screening List file "
                                                     "(consolidated.csv)")
    entries: list[WatchlistEntry] = []
    seen: dict[str, int] = {}
    for line, get in records(path, columns, rows):
        entry_id, entry_name = get("_id"), get("name")
        if not entry_id or not entry_name:
            raise import_failure(path, line, "row has no _id or no name")
        if entry_id in seen:
            raise import_failure(path, line, f"duplicate _id '{entry_id}' (first at line {seen[entry_id]})")
        seen[entry_id] = line
        countries: list[str] = []
        for address in split_cells(get("addresses")):
            code = country_code(address.rsplit(",", 1)[-1])
            if code is not None and code not in countries:
                countries.append(code)
        for value in (*split_cells(get("citizenships")), *split_cells(get("nationalities"))):
            code = country_code(value)
            if code is not None and code not in countries:
                countries.append(code)
        aliases = [a for a in dict.fromkeys(split_cells(get("alt_names"))) if a != entry_name]
        entries.append(WatchlistEntry(
            id=entry_id, name=entry_name, aliases=tuple(aliases),
            type=_CSL_TYPES.get(get("type").lower(), "entity" if get("type") == "" else "other"),
            programs=tuple(dict.fromkeys(split_cells(get("programs")))),
            countries=tuple(countries), source=get("source")))
    entries.sort(key=lambda e: id_sort_key(e.id))
    return Watchlist(
        name=name, entries=tuple(entries),
        description="US Consolidated Screening List (Departments of Commerce, State and the "
                    "Treasury)",
        source="International Trade Administration: consolidated.csv",
        as_of=as_of or mtime_date(path), sample=False,
        license="Public domain (U.S. federal government work)")


