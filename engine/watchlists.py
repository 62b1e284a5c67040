"""Watchlist file formats: the canonical YAML of a pack, and the published formats it is
imported from: OFAC SDN and Consolidated (non-SDN) CSV, the US Consolidated Screening List
CSV, the EU Financial Sanctions Files XML, the UK (OFSI) consolidated list CSV and
OpenSanctions CSV.

Every source is turned into one model (`Watchlist` of `WatchlistEntry`) so that screening
never knows where a list came from. Readers are strict: a malformed file raises
`ListImportError` naming the file and line, because a silently half-read sanctions list is
worse than none (screening would report "no match" for names it never saw).
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import os
import re
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Sequence
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
ENTRY_KEYS = ("id", "name", "aliases", "type", "programs", "countries", "source")
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
    source: str = ""  # the list within a consolidated file ("Entity List (EL) - ...")


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
    # rows an importer skipped by design, by reason (e.g. an alias of an absent entry)
    skipped: tuple[tuple[str, int], ...] = ()


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
    """Write the canonical YAML: deterministic (entries by id, fixed key order) for clean diffs.

    Atomic: the text goes to a temporary file beside `path`, is read back and validated, and
    only then renamed over `path`; a failure at any step leaves the old list as it was.
    """
    target = Path(path)
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp",
                                     dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(dump_watchlist(watchlist))
            out.flush()
            os.fsync(out.fileno())
        load_watchlist(temporary)  # the pack must be able to read what we leave behind
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


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
        if entry.source:
            item["source"] = entry.source
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
        source = self._text(node.get("source"), "source") or ""
        return WatchlistEntry(entry_id, name, tuple(aliases), kind, tuple(programs),
                              tuple(countries), source)

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


def _read_bytes(path: str | Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise _fail(path, 0, f"cannot read file: {exc.strerror or exc}") from exc


def _read_text(path: str | Path) -> str:
    """CSV text: UTF-8 (with or without BOM), UTF-16 with a BOM (as spreadsheets save
    "Unicode text"), else Windows-1252, which OFAC has shipped over the years. A file with NUL
    bytes and no BOM (UTF-16 without BOM, a binary file) is refused, naming the line."""
    raw = _read_bytes(path)
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise _fail(path, raw[:exc.start].count(b"\n\x00") + 1,
                        "not valid UTF-16 text (truncated?)") from exc
    if b"\x00" in raw:
        line = raw[:raw.index(b"\x00")].count(b"\n") + 1
        raise _fail(path, line, "NUL byte: a UTF-16 file without byte order mark, or not a "
                                "text file; save it as UTF-8")
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
        for alias in _remark_akas(_cell(cells[11])):
            if alias != sdn_name and alias not in drafts[ent].aliases:
                drafts[ent].aliases.append(alias)
    skipped = {"alias rows of an absent entry": 0, "address rows of an absent entry": 0}
    if alt is not None:
        for line, cells in _rows(alt):
            if len(cells) != ALT_COLUMNS:
                raise _fail(alt, line, f"expected {ALT_COLUMNS} columns (ent_num, alt_num, "
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
                raise _fail(add, line, f"expected {ADD_COLUMNS} columns (ent_num, add_num, "
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


# --------------------------------------------------------------------------------------------
# CSV with a header (US Consolidated Screening List, UK consolidated list)


def _header_rows(path: str | Path, required: Sequence[str], what: str, *,
                 skip_lines: int = 0) -> tuple[dict[str, int], Iterator[tuple[int, list[str]]]]:
    """(column → index, remaining rows) of a CSV file whose header names `required` columns."""
    rows = _rows(path)
    for _ in range(skip_lines):
        next(rows, None)
    try:
        _, header = next(rows)
    except StopIteration:
        raise _fail(path, 1, f"file is empty (expected the header of {what})") from None
    columns = {column.strip().lstrip("\ufeff"): i for i, column in enumerate(header)}
    missing = [c for c in required if c not in columns]
    if missing:
        raise _fail(path, 1 + skip_lines, f"header lacks column(s) {', '.join(missing)}: not "
                                          f"{what}")
    return columns, rows


def _getter(columns: dict[str, int]) -> Callable[[list[str]], Callable[[str], str]]:
    def row(cells: list[str]) -> Callable[[str], str]:
        def get(column: str) -> str:
            index = columns.get(column)
            return cells[index].strip() if index is not None and index < len(cells) else ""
        return get
    return row


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
    row = _getter(columns)
    entries: list[WatchlistEntry] = []
    seen: dict[str, int] = {}
    for line, cells in rows:
        if len(cells) != len(columns):
            raise _fail(path, line, f"expected {len(columns)} columns as in the header, found "
                                    f"{len(cells)} (a truncated or malformed row)")
        get = row(cells)
        entry_id, entry_name = get("_id"), get("name")
        if not entry_id or not entry_name:
            raise _fail(path, line, "row has no _id or no name")
        if entry_id in seen:
            raise _fail(path, line, f"duplicate _id '{entry_id}' (first at line {seen[entry_id]})")
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
    row = _getter(columns)
    groups: dict[str, _Draft] = {}
    primary: dict[str, bool] = {}
    for line, cells in rows:
        if len(cells) != len(columns):
            raise _fail(path, line, f"expected {len(columns)} columns as in the header, found "
                                    f"{len(cells)} (a truncated or malformed row)")
        get = row(cells)
        group = get("Group ID")
        if not group:
            raise _fail(path, line, "row has no Group ID")
        surname = get("Name 6")
        others = " ".join(p for p in (get(f"Name {i}") for i in range(1, 6)) if p)
        kind = _UK_TYPES.get(get("Group Type").lower(), "other")
        full = (f"{surname}, {others}" if kind == "individual" else f"{others} {surname}") \
            if surname and others else surname or others
        if not full:
            raise _fail(path, line, f"row of group {group} has no name")
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
    built = tuple(
        WatchlistEntry(gid, d.name, tuple(a for a in d.aliases if a != d.name), d.type,
                       d.programs, tuple(d.countries))
        for gid, d in sorted(groups.items(), key=lambda kv: id_sort_key(kv[0])))
    return Watchlist(
        name=name, entries=built,
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
        raise _fail(path, raw[:declaration.start()].count(b"\n") + 1,
                    "a DTD or entity declaration is not accepted in a sanctions list")
    try:
        root = ET.fromstring(raw)  # noqa: S314 (no DTD, so no entity expansion: checked above)
    except ET.ParseError as exc:
        line = exc.position[0] if exc.position else 0
        raise _fail(path, line, f"not well-formed XML (truncated?): {exc}") from None
    if _local(root.tag) != "export":
        raise _fail(path, 1, f"root element is <{_local(root.tag)}>, not <export>: not an EU "
                             "Financial Sanctions Files XML")
    entries: list[WatchlistEntry] = []
    seen: set[str] = set()
    for element in root:
        if _local(element.tag) != "sanctionEntity":
            continue
        entry_id = element.get("logicalId", "").strip()
        if not entry_id:
            raise _fail(path, 0, "a sanctionEntity has no logicalId")
        if entry_id in seen:
            raise _fail(path, 0, f"duplicate sanctionEntity logicalId '{entry_id}'")
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
            raise _fail(path, 0, f"sanctionEntity {entry_id} has no nameAlias wholeName")
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
