"""What the readers of published list formats share: reading a file (encodings, a byte
order mark, UTF-16 refused without one), CSV rows with their line numbers, a header that must
name the columns a reader needs, cells, programmes, country names to ISO codes, and the
entries of a list while their aliases are still being collected.

The readers themselves: engine.screening.formats_us (OFAC, US Consolidated Screening List,
OpenSanctions) and engine.screening.formats_europe (EU Financial Sanctions Files, UK lists);
engine.screening.listformats names them all.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pycountry
from anyascii import anyascii

from engine.language.contract import is_country
from engine.screening.watchlists import WatchlistEntry, id_sort_key, import_failure

# OFAC's CSV marks an empty cell with this token (usually followed by a space).
OFAC_EMPTY = "-0-"

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


def read_bytes(path: str | Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise import_failure(path, 0, f"cannot read file: {exc.strerror or exc}") from exc


def read_text(path: str | Path) -> str:
    """CSV text: UTF-8 (with or without BOM), UTF-16 with a BOM (as spreadsheets save
    "Unicode text"), else Windows-1252, which OFAC has shipped over the years. A file with NUL
    bytes and no BOM (UTF-16 without BOM, a binary file) is refused, naming the line."""
    raw = read_bytes(path)
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


def csv_rows(path: str | Path, delimiter: str = ",") -> Iterator[tuple[int, list[str]]]:
    """(first line, cells) of each non-blank record; CSV syntax errors become file:line errors."""
    text = read_text(path)
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


def cell(value: str) -> str:
    value = value.strip()
    return "" if value == OFAC_EMPTY else value


def ent_num(path: str | Path, line: int, value: str) -> str:
    value = value.strip()
    if not (value.isascii() and value.isdigit()):
        raise import_failure(path, line, f"entry number '{value}' is not a whole number")
    return str(int(value))


def parse_programs(value: str) -> tuple[str, ...]:
    """`RUSSIA-EO14024] [UKRAINE-EO13662` (OFAC strips the outer brackets) → two programmes."""
    names = (p.strip(" []") for p in re.split(r"[\[\]]", cell(value)))
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


@dataclass
class Draft:
    """An SDN entry while its aliases and addresses are still being collected."""

    name: str
    type: str
    programs: tuple[str, ...]
    aliases: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)


def entries_of(drafts: dict[str, Draft]) -> tuple[WatchlistEntry, ...]:
    """The entries of `drafts` (by id), without an alias equal to the name."""
    return tuple(
        WatchlistEntry(entry_id, d.name, tuple(a for a in d.aliases if a != d.name), d.type,
                       d.programs, tuple(d.countries))
        for entry_id, d in sorted(drafts.items(), key=lambda kv: id_sort_key(kv[0])))


def mtime_date(path: str | Path) -> dt.date:
    return dt.date.fromtimestamp(Path(path).stat().st_mtime)


def split_cells(value: str) -> list[str]:
    return [part.strip() for part in value.split(";") if part.strip()]


def iso_date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None


# --------------------------------------------------------------------------------------------
# CSV with a header (US Consolidated Screening List, UK consolidated list)


def header_rows(path: str | Path, required: Sequence[str], what: str, *,
                 skip_lines: int = 0, delimiter: str = ","
                 ) -> tuple[dict[str, int], Iterator[tuple[int, list[str]]]]:
    """(column → index, remaining rows) of a CSV file whose header names `required` columns."""
    rows = csv_rows(path, delimiter)
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


def records(path: str | Path, columns: dict[str, int], rows: Iterator[tuple[int, list[str]]]
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


