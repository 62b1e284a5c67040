"""Readers of the European lists: the EU Financial Sanctions Files (XML 1.1, and CSV 1.1 whose
flattened rows are grouped by entity), the UK Sanctions List CSV (FCDO) and the former UK
(OFSI) consolidated list CSV.
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

from engine.language.contract import is_country
from engine.screening.listread import (
    Draft,
    country_code,
    csv_rows,
    entries_of,
    header_rows,
    iso_date,
    mtime_date,
    read_bytes,
    records,
    split_cells,
)
from engine.screening.watchlists import Watchlist, WatchlistEntry, id_sort_key, import_failure


def _uk_name(get: Callable[[str], str], kind: str) -> str:
    """A UK list row's name: Name 6 is the surname (or the entity's or ship's whole name),
    Names 1-5 the other names; "SURNAME, Others" for an individual."""
    surname = get("Name 6")
    others = " ".join(p for p in (get(f"Name {i}") for i in range(1, 6)) if p)
    if surname and others:
        return f"{surname}, {others}" if kind == "individual" else f"{others} {surname}"
    return surname or others


UK_REQUIRED = ("Name 6", "Name 1", "Group Type", "Alias Type", "Regime", "Group ID")
_UK_TYPES = {"individual": "individual", "entity": "entity", "ship": "vessel"}


def load_uk_ofsi(path: str | Path, *, name: str = "uk_ofsi",
                 as_of: dt.date | None = None) -> Watchlist:
    """The UK consolidated list of financial sanctions targets (OFSI `ConList.csv`): a
    "Last Updated" line, a header, then one row per name of a target, grouped by Group ID
    (the primary name and its aliases). Name 6 is the surname or entity name, Names 1-5 the
    other names. `as_of` defaults to the Last Updated date."""
    first = next(csv_rows(path), None)
    skip = 1 if first is not None and first[1] and first[1][0].strip().lower() \
        .startswith("last updated") else 0
    updated = None
    if skip and first is not None and len(first[1]) > 1:
        updated = _uk_date(first[1][1])
    columns, rows = header_rows(path, UK_REQUIRED, "the UK consolidated list (ConList.csv)",
                                 skip_lines=skip)
    groups: dict[str, Draft] = {}
    primary: dict[str, bool] = {}
    for line, get in records(path, columns, rows):
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
            draft = groups[group] = Draft(full, kind, ())
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
        for value in (get("Country"), *split_cells(get("Nationality").replace(",", ";"))):
            code = country_code(value) if value else None
            if code is not None and code not in draft.countries:
                draft.countries.append(code)
    return Watchlist(
        name=name, entries=entries_of(groups),
        description="UK consolidated list of financial sanctions targets (OFSI)",
        source="HM Treasury, Office of Financial Sanctions Implementation: ConList.csv",
        as_of=as_of or updated or mtime_date(path), sample=False,
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
    raw = read_bytes(path)
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
        as_of=as_of or iso_date(root.get("generationDate", "")) or mtime_date(path),
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
    columns, rows = header_rows(path, EU_CSV_REQUIRED, "the EU financial sanctions file "
                                                        "(CSV 1.1, ';'-separated)", delimiter=";")
    drafts: dict[str, Draft] = {}
    first_line: dict[str, int] = {}
    current = ""
    generated: dt.date | None = None
    for line, get in records(path, columns, rows):
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
            draft = drafts[entry_id] = Draft(whole, kind, ())
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
        name=name, entries=entries_of(drafts),
        description="EU consolidated list of persons, groups and entities subject to "
                    "financial sanctions",
        source="European Commission, Financial Sanctions Files (CSV 1.1)",
        as_of=as_of or generated or mtime_date(path), sample=False,
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
    first = next(csv_rows(path), None)
    skip, reported = 0, None
    if first is not None and first[1]:
        found = _REPORT_DATE.search(first[1][0].lstrip("\ufeff"))
        if found:
            skip = 1
            reported = dt.datetime.strptime(found.group(1).title(), "%d-%b-%Y").date()
    columns, rows = header_rows(path, UK_LIST_REQUIRED, "the UK Sanctions List "
                                                         "(UK-Sanctions-List.csv)", skip_lines=skip)
    drafts: dict[str, Draft] = {}
    primary_line: dict[str, int] = {}
    first_alias: dict[str, int] = {}
    kinds: dict[str, tuple[str, int]] = {}
    for line, get in records(path, columns, rows):
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
        draft = drafts.setdefault(entry_id, Draft("", kind, ()))
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
        name=name, entries=entries_of(drafts),
        description="UK Sanctions List (Foreign, Commonwealth and Development Office)",
        source="FCDO: UK Sanctions List (CSV)",
        as_of=as_of or reported or mtime_date(path), sample=False,
        license="Open Government Licence v3.0")
