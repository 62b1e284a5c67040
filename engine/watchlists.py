"""Watchlist file formats: the canonical YAML of a pack, OFAC SDN CSV and OpenSanctions CSV.

Every source is turned into one model (`Watchlist` of `WatchlistEntry`) so that screening
never knows where a list came from. Readers are strict: a malformed file raises
`ListImportError` naming the file and line, because a silently half-read sanctions list is
worse than none (screening would report "no match" for names it never saw).
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pycountry
import yaml
from anyascii import anyascii

from engine.contract import is_country
from engine.errors import DiagnosticSink, ListImportError
from engine.yamlsource import YMap, YNode, YScalar, YSeq, parse_yaml

ENTRY_TYPES = ("individual", "entity", "vessel", "aircraft", "other")
SCHEMA_LINE = "# yaml-language-server: $schema=../schema/watchlist.schema.json"

LIST_KEYS = ("name", "description", "source", "as_of", "sample", "license", "entries")
ENTRY_KEYS = ("id", "name", "aliases", "type", "programs", "countries")
LIST_REQUIRED = ("name", "entries")
ENTRY_REQUIRED = ("id", "name")
LIST_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")

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


@dataclass(frozen=True)
class WatchlistEntry:
    """One listed person or thing: names to screen against, and what to report on a hit."""

    id: str
    name: str
    aliases: tuple[str, ...] = ()
    type: str = "other"
    programs: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()


@dataclass(frozen=True)
class Watchlist:
    """A named list of entries with its provenance (where from, as of when, under what licence)."""

    name: str
    entries: tuple[WatchlistEntry, ...]
    description: str = ""
    source: str = ""
    as_of: dt.date | None = None
    sample: bool = False
    license: str = ""


def json_schema() -> dict[str, object]:
    """JSON Schema of the canonical watchlist YAML, for `rules/schema/watchlist.schema.json`
    (editor completion and checks; `load_watchlist` stays the authority)."""
    text_list = {"type": "array", "items": {"type": "string", "minLength": 1}}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "riskrules watchlist",
        "description": "A sanctions watchlist screened against every party name and alias.",
        "type": "object",
        "additionalProperties": False,
        "required": ["name", "entries"],
        "properties": {
            "name": {"type": "string", "pattern": LIST_NAME.pattern},
            "description": {"type": "string"},
            "source": {"type": "string"},
            "as_of": {"type": "string", "format": "date"},
            "sample": {"type": "boolean", "description": "true marks sample data"},
            "license": {"type": "string"},
            "entries": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["id", "name"],
                    "properties": {
                        "id": {"type": ["string", "integer"]},
                        "name": {"type": "string", "minLength": 1},
                        "aliases": text_list,
                        "type": {"enum": list(ENTRY_TYPES)},
                        "programs": text_list,
                        "countries": {"type": "array",
                                      "items": {"type": "string", "pattern": "^[A-Z]{2}$"}},
                    },
                },
            },
        },
    }


def id_sort_key(entry_id: str) -> tuple[int, int, str]:
    """Numeric ids in numeric order (OFAC `ent_num`), then the rest as text: stable everywhere."""
    return (0, int(entry_id), "") if entry_id.isascii() and entry_id.isdigit() \
        else (1, 0, entry_id)


def _fail(path: str | Path, line: int, message: str) -> ListImportError:
    """`FILE:LINE: message`, or `FILE: message` when the problem is the whole file (line 0)."""
    return ListImportError(f"{path}:{line}: {message}" if line else f"{path}: {message}")


# --------------------------------------------------------------------------------------------
# canonical YAML


def write_watchlist(watchlist: Watchlist, path: str | Path) -> None:
    """Write the canonical YAML: deterministic (entries by id, fixed key order) for clean diffs."""
    Path(path).write_text(dump_watchlist(watchlist), encoding="utf-8")


def dump_watchlist(watchlist: Watchlist) -> str:
    """The canonical YAML text of `watchlist` (what `write_watchlist` writes)."""
    head: dict[str, object] = {"name": watchlist.name}
    if watchlist.description:
        head["description"] = watchlist.description
    if watchlist.source:
        head["source"] = watchlist.source
    if watchlist.as_of is not None:
        head["as_of"] = watchlist.as_of.isoformat()  # quoted on output: text for every reader
    head["sample"] = watchlist.sample
    if watchlist.license:
        head["license"] = watchlist.license
    entries = []
    for entry in sorted(watchlist.entries, key=lambda e: id_sort_key(e.id)):
        item: dict[str, object] = {"id": entry.id, "name": entry.name}
        if entry.aliases:
            item["aliases"] = list(entry.aliases)
        item["type"] = entry.type
        if entry.programs:
            item["programs"] = list(entry.programs)
        if entry.countries:
            item["countries"] = list(entry.countries)
        entries.append(item)
    text = yaml.dump(head, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=88,
                     default_flow_style=False)
    body = yaml.dump({"entries": entries}, Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                     width=88, default_flow_style=None)
    return f"{SCHEMA_LINE}\n{text}{body}"


class _Dumper(yaml.SafeDumper):
    """Long prose (descriptions) as folded `>-` blocks, so the file reads like the other lists."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = ">" if len(value) > 80 and "\n" not in value and value == value.strip() else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def load_watchlist(path: str | Path) -> Watchlist:
    """Read and validate a canonical watchlist; every problem is reported, the first is raised."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(file, 0, f"cannot read watchlist: {exc}") from exc
    return parse_watchlist(text, file)


def parse_watchlist(text: str, file: str) -> Watchlist:
    """Validate canonical watchlist text (see `load_watchlist`)."""
    sink = DiagnosticSink()
    root = parse_yaml(text, file, sink)
    reader = _CanonicalReader(file, sink)
    watchlist = reader.watchlist(root) if root is not None else None
    errors = sorted(sink.errors, key=lambda d: (d.position.line, d.position.column))
    if errors or watchlist is None:
        first = errors[0] if errors else None
        line = first.position.line if first else 1
        message = first.message if first else "not a watchlist"
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        failure = _fail(file, line, message + more)
        failure.diagnostics = tuple(errors)
        raise failure
    return watchlist


class _CanonicalReader:
    """Turns located YAML into a `Watchlist`, reporting shape errors with their line."""

    def __init__(self, file: str, sink: DiagnosticSink) -> None:
        self.file = file
        self.sink = sink

    def _error(self, node: YNode, message: str) -> None:
        self.sink.error("E400", message, node.pos)

    def watchlist(self, root: YNode) -> Watchlist | None:
        if not isinstance(root, YMap):
            self._error(root, "a watchlist must be a mapping with 'name' and 'entries'")
            return None
        self._keys(root, LIST_KEYS, LIST_REQUIRED, "watchlist")
        name = self._text(root.get("name"), "name") or ""
        if name and not LIST_NAME.match(name):
            self._error(root.values["name"], f"watchlist name '{name}' must match "
                                             f"{LIST_NAME.pattern}")
        as_of_node = root.get("as_of")
        as_of: dt.date | None = None
        if as_of_node is not None:
            if isinstance(as_of_node, YScalar) and type(as_of_node.value) is dt.date:
                as_of = as_of_node.value
            elif isinstance(as_of_node, YScalar) and isinstance(as_of_node.value, str) \
                    and _ISO_DAY.fullmatch(as_of_node.value):
                try:
                    as_of = dt.date.fromisoformat(as_of_node.value)
                except ValueError:
                    self._error(as_of_node, "as_of must be a date (YYYY-MM-DD)")
            else:
                self._error(as_of_node, "as_of must be a date (YYYY-MM-DD)")
        sample_node = root.get("sample")
        sample = False
        if sample_node is not None:
            if isinstance(sample_node, YScalar) and isinstance(sample_node.value, bool):
                sample = sample_node.value
            else:
                self._error(sample_node, "sample must be true or false")
        entries_node = root.get("entries")
        entries: list[WatchlistEntry] = []
        if entries_node is not None:
            if not isinstance(entries_node, YSeq):
                self._error(entries_node, "entries must be a list")
            else:
                seen: dict[str, int] = {}
                for item in entries_node.items:
                    entry = self._entry(item)
                    if entry is None:
                        continue
                    if entry.id in seen:
                        self._error(item, f"duplicate entry id '{entry.id}' "
                                          f"(first at line {seen[entry.id]})")
                        continue
                    seen[entry.id] = item.pos.line
                    entries.append(entry)
        return Watchlist(
            name=name,
            entries=tuple(entries),
            description=self._text(root.get("description"), "description") or "",
            source=self._text(root.get("source"), "source") or "",
            as_of=as_of,
            sample=sample,
            license=self._text(root.get("license"), "license") or "",
        )

    def _entry(self, node: YNode) -> WatchlistEntry | None:
        if not isinstance(node, YMap):
            self._error(node, "each entry must be a mapping with 'id' and 'name'")
            return None
        self._keys(node, ENTRY_KEYS, ENTRY_REQUIRED, "entry")
        id_node = node.get("id")
        entry_id = None
        if id_node is not None:
            # Numeric ids (OFAC ent_num) may be written unquoted: accept int, never float/bool.
            if isinstance(id_node, YScalar) and type(id_node.value) is int:
                entry_id = str(id_node.value)
            else:
                entry_id = self._text(id_node, "id")
        name = self._text(node.get("name"), "name")
        kind = self._text(node.get("type"), "type") or "other"
        if kind not in ENTRY_TYPES:
            self._error(node.values["type"], f"type '{kind}' must be one of "
                                             f"{', '.join(ENTRY_TYPES)}")
        aliases = self._texts(node.get("aliases"), "aliases")
        programs = self._texts(node.get("programs"), "programs")
        countries = self._texts(node.get("countries"), "countries")
        for code, item in zip(countries, _items(node.get("countries")), strict=False):
            if not is_country(code):
                self._error(item, f"country '{code}' is not an ISO 3166-1 alpha-2 code")
        if entry_id is None or name is None:
            return None
        return WatchlistEntry(entry_id, name, tuple(aliases), kind, tuple(programs),
                              tuple(countries))

    def _keys(self, node: YMap, allowed: Sequence[str], required: Sequence[str],
              what: str) -> None:
        for key in node.order:
            if key not in allowed:
                self.sink.error("E400", f"unknown key '{key}' in {what} (allowed: "
                                        f"{', '.join(allowed)})", node.keys[key])
        for key in required:
            if key not in node.values:
                self._error(node, f"{what} needs '{key}'")

    def _text(self, node: YNode | None, what: str) -> str | None:
        if node is None:
            return None
        if not isinstance(node, YScalar) or not isinstance(node.value, str) \
                or not node.value.strip():
            self._error(node, f"{what} must be non-empty text")
            return None
        return node.value.strip()

    def _texts(self, node: YNode | None, what: str) -> list[str]:
        if node is None:
            return []
        if not isinstance(node, YSeq):
            self._error(node, f"{what} must be a list of text")
            return []
        out = []
        for item in node.items:
            value = self._text(item, f"each of {what}")
            if value is not None:
                out.append(value)
        return out


def _items(node: YNode | None) -> list[YNode]:
    return node.items if isinstance(node, YSeq) else []


# --------------------------------------------------------------------------------------------
# CSV helpers


def _read_text(path: str | Path) -> str:
    """CSV text; OFAC has shipped both UTF-8 and Windows-1252 files over the years."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise _fail(path, 0, f"cannot read file: {exc.strerror or exc}") from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _rows(path: str | Path) -> Iterator[tuple[int, list[str]]]:
    """(first line, cells) of each non-blank record; CSV syntax errors become file:line errors."""
    text = _read_text(path)
    reader = csv.reader(text.splitlines(keepends=True), strict=True)
    previous_end = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _fail(path, reader.line_num, f"malformed CSV: {exc}") from exc
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
        raise _fail(path, line, f"entry number '{value}' is not a whole number")
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
                  *, name: str = "ofac_sdn", as_of: dt.date | None = None) -> Watchlist:
    """OFAC's legacy CSV files: `sdn.csv` (+ `alt.csv` aliases, + `add.csv` countries).

    Names are kept exactly as OFAC writes them ("KOVALCHUK, Yury Valentinovich"): screening
    handles token order. `as_of` defaults to the modification date of `sdn.csv`, i.e. when
    it was downloaded.
    """
    drafts: dict[str, _Draft] = {}
    for line, cells in _rows(sdn):
        if len(cells) != SDN_COLUMNS:
            raise _fail(sdn, line, f"expected {SDN_COLUMNS} columns (ent_num, SDN_Name, SDN_Type, "
                                   f"Program, ...), found {len(cells)}")
        ent = _ent_num(sdn, line, cells[0])
        sdn_name = _cell(cells[1])
        if not sdn_name:
            raise _fail(sdn, line, f"entry {ent} has no name")
        if ent in drafts:
            raise _fail(sdn, line, f"duplicate entry number {ent}")
        kind = _cell(cells[2]).lower() or "entity"
        drafts[ent] = _Draft(sdn_name, kind if kind in ENTRY_TYPES else "other",
                             _programs(cells[3]))
    if alt is not None:
        for line, cells in _rows(alt):
            if len(cells) != ALT_COLUMNS:
                raise _fail(alt, line, f"expected {ALT_COLUMNS} columns (ent_num, alt_num, "
                                       f"alt_type, alt_name, alt_remarks), found {len(cells)}")
            draft = drafts.get(_ent_num(alt, line, cells[0]))
            alias = _cell(cells[3])
            # Rows of entries absent from sdn.csv are skipped: OFAC publishes the files
            # separately and a delisted entry's aliases can briefly outlive it.
            if draft is not None and alias and alias != draft.name \
                    and alias not in draft.aliases:
                draft.aliases.append(alias)
    if add is not None:
        for line, cells in _rows(add):
            if len(cells) != ADD_COLUMNS:
                raise _fail(add, line, f"expected {ADD_COLUMNS} columns (ent_num, add_num, "
                                       f"address, city, country, remarks), found {len(cells)}")
            draft = drafts.get(_ent_num(add, line, cells[0]))
            code = country_code(_cell(cells[4]))
            if draft is not None and code is not None and code not in draft.countries:
                draft.countries.append(code)
    built = tuple(
        WatchlistEntry(ent, d.name, tuple(d.aliases), d.type, d.programs, tuple(d.countries))
        for ent, d in sorted(drafts.items(), key=lambda kv: id_sort_key(kv[0]))
    )
    return Watchlist(
        name=name,
        entries=built,
        description="OFAC Specially Designated Nationals and Blocked Persons List (SDN)",
        source="U.S. Treasury, Office of Foreign Assets Control: "
               + ", ".join(Path(p).name for p in (sdn, alt, add) if p is not None),
        as_of=as_of or _mtime_date(sdn),
        sample=False,
        license="Public domain (U.S. federal government work)",
    )


@dataclass
class _Draft:
    """An SDN entry while its aliases and addresses are still being collected."""

    name: str
    type: str
    programs: tuple[str, ...]
    aliases: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)


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
        raise _fail(path, 1, "file is empty (expected a header line)") from None
    columns = {column.strip(): i for i, column in enumerate(header)}
    missing = [c for c in OPENSANCTIONS_REQUIRED if c not in columns]
    if missing:
        raise _fail(path, 1, f"header lacks column(s) {', '.join(missing)}: not a "
                             "targets.simple.csv file")

    def get(cells: list[str], column: str) -> str:
        index = columns.get(column)
        return cells[index].strip() if index is not None else ""

    entries: list[WatchlistEntry] = []
    seen: dict[str, int] = {}
    latest: dt.date | None = None
    for line, cells in rows:
        if len(cells) != len(header):
            raise _fail(path, line, f"expected {len(header)} columns as in the header, "
                                    f"found {len(cells)}")
        entry_id, entry_name = get(cells, "id"), get(cells, "name")
        if not entry_id or not entry_name:
            raise _fail(path, line, "row has no id or no name")
        if entry_id in seen:
            raise _fail(path, line, f"duplicate id '{entry_id}' (first at line {seen[entry_id]})")
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
