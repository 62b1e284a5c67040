"""Watchlists: the one model every list becomes (`Watchlist` of `WatchlistEntry`) and the
canonical YAML a pack reads, written atomically and read strictly.

Every published format (engine.screening.listformats) is turned into this model, so that screening never
knows where a list came from. The reader is strict: a malformed file raises `ListImportError`
naming the file and line, because a silently half-read sanctions list is worse than none
(screening would report "no match" for names it never saw).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from engine.codes import Code
from engine.errors import DiagnosticSink, ListImportError
from engine.language.contract import is_country
from engine.language.yamlsource import Reader, YMap, YNode, YScalar, YSeq, parse_yaml

ENTRY_TYPES = ("individual", "entity", "vessel", "aircraft", "other")
SCHEMA_LINE = "# yaml-language-server: $schema=../schema/watchlist.schema.json"

LIST_KEYS = ("name", "description", "source", "as_of", "sample", "license", "entries")
ENTRY_KEYS = ("id", "name", "aliases", "type", "programs", "countries", "source")
LIST_REQUIRED = ("name", "entries")
ENTRY_REQUIRED = ("id", "name")
LIST_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")

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


def id_sort_key(entry_id: str) -> tuple[int, int, str]:
    """Numeric ids in numeric order (OFAC `ent_num`), then the rest as text: stable everywhere."""
    return (0, int(entry_id), "") if entry_id.isascii() and entry_id.isdigit() \
        else (1, 0, entry_id)


def import_failure(path: str | Path, line: int, message: str) -> ListImportError:
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
        raise import_failure(file, 0, f"cannot read watchlist: {exc}") from exc
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
        failure = import_failure(file, line, message + more)
        failure.diagnostics = tuple(errors)
        raise failure
    return watchlist


class _CanonicalReader:
    """Turns located YAML into a `Watchlist`, reporting shape errors with their line."""

    def __init__(self, file: str, sink: DiagnosticSink) -> None:
        self.file = file
        self.sink = sink
        self.reader = Reader(sink, Code.WATCHLIST_CONTENT)

    def _error(self, node: YNode, message: str) -> None:
        self.sink.error(Code.WATCHLIST_CONTENT, message, node.pos)

    def watchlist(self, root: YNode) -> Watchlist | None:
        if not isinstance(root, YMap):
            self._error(root, "a watchlist must be a mapping with 'name' and 'entries'")
            return None
        self._keys(root, LIST_KEYS, LIST_REQUIRED, "watchlist")
        name = self._text(root.get("name"), "name") or ""
        if name and not LIST_NAME.match(name):
            self._error(root.values["name"], f"watchlist name '{name}' must match "
                                             f"{LIST_NAME.pattern}")
        as_of = self._as_of(root.get("as_of"))
        sample = self._sample(root.get("sample"))
        entries = self._entries(root.get("entries"))
        return Watchlist(
            name=name,
            entries=tuple(entries),
            description=self._text(root.get("description"), "description") or "",
            source=self._text(root.get("source"), "source") or "",
            as_of=as_of,
            sample=sample,
            license=self._text(root.get("license"), "license") or "",
        )

    def _as_of(self, node: YNode | None) -> dt.date | None:
        if node is None:
            return None
        if isinstance(node, YScalar) and type(node.value) is dt.date:
            return node.value
        if isinstance(node, YScalar) and isinstance(node.value, str) \
                and _ISO_DAY.fullmatch(node.value):
            try:
                return dt.date.fromisoformat(node.value)
            except ValueError:
                pass
        self._error(node, "as_of must be a date (YYYY-MM-DD)")
        return None

    def _sample(self, node: YNode | None) -> bool:
        if node is None:
            return False
        if isinstance(node, YScalar) and isinstance(node.value, bool):
            return node.value
        self._error(node, "sample must be true or false")
        return False

    def _entries(self, node: YNode | None) -> list[WatchlistEntry]:
        entries: list[WatchlistEntry] = []
        if node is None:
            return entries
        if not isinstance(node, YSeq):
            self._error(node, "entries must be a list")
            return entries
        seen: dict[str, int] = {}
        for item in node.items:
            entry = self._entry(item)
            if entry is None:
                continue
            if entry.id in seen:
                self._error(item, f"duplicate entry id '{entry.id}' "
                                  f"(first at line {seen[entry.id]})")
                continue
            seen[entry.id] = item.pos.line
            entries.append(entry)
        return entries

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
        self.reader.keys(node, allowed, required, what, listing="allowed")

    def _text(self, node: YNode | None, what: str) -> str | None:
        value = self.reader.nonempty(node, what)
        return None if value is None else value.strip()

    def _texts(self, node: YNode | None, what: str) -> list[str]:
        return [value.strip() for value in self.reader.texts(node, what, "text", f"each of {what}")]


def _items(node: YNode | None) -> list[YNode]:
    return node.items if isinstance(node, YSeq) else []
