"""Helpers shared by sub-commands: loading the pack, reading proposals, printing diagnostics,
and where the keys file and the database are (from the settings table, api/settings.py)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from api.settings import DEFAULT_KEYS_FILE, setting
from engine import Pack, PackError, load_pack
from engine.jsontext import MalformedJSON, loads_strict

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


def print_help_of(parser: argparse.ArgumentParser) -> int:
    """Handler for a command group called without a sub-command: its help, exit 2."""
    parser.print_help(sys.stderr)
    return EXIT_USAGE


def add_format(parser: argparse.ArgumentParser, *extra: str) -> None:
    parser.add_argument("--format", choices=("text", "json", *extra), default="text",
                        help="output format (default text)")


def resolve_keys_file(given: str | None) -> str | None:
    """--keys-file, else $RISKRULES_KEYS_FILE, else ./var/keys.yaml when it exists."""
    found: str | None = given or setting("KEYS_FILE")
    if found:
        return found
    return DEFAULT_KEYS_FILE if Path(DEFAULT_KEYS_FILE).is_file() else None


def keys_file_to_write(given: str | None) -> str:
    """--keys-file, else $RISKRULES_KEYS_FILE, else ./var/keys.yaml (created when missing)."""
    return given or setting("KEYS_FILE") or DEFAULT_KEYS_FILE


def database_url(given: str | None) -> str:
    """--database-url, else $RISKRULES_DATABASE_URL, else the SQLite file under ./var."""
    return given or str(setting("DATABASE_URL"))


def rules_dir(given: str | None = None) -> str:
    """--rules, else $RISKRULES_RULES_DIR, else ./rules."""
    return given or str(setting("RULES_DIR"))


def load_or_report(rules: str, out: TextIO | None = None) -> Pack | None:
    """Load the pack; on failure print every diagnostic (to stderr) and return None."""
    out = out or sys.stderr
    try:
        return load_pack(rules)
    except PackError as exc:
        for d in exc.diagnostics:
            print(d, file=out)
        print(f"riskrules: the rule pack in {rules} does not load "
              f"({len([d for d in exc.diagnostics if d.code.startswith('E')])} errors)", file=out)
        return None


@dataclass
class ProposalInput:
    """One proposal read from a file, with where it came from (for messages)."""

    origin: str
    data: Any


def read_proposals(sources: list[str], stdin: TextIO | None = None) -> Iterator[ProposalInput]:
    """Proposals from JSON files, JSON Lines files, directories of .json files, or '-' (stdin).

    A JSON Lines record that wraps a proposal (`{"proposal": {...}, "assessment": ...}`, as
    written by `riskrules export`) yields the proposal. Raises ValueError on unreadable input.
    """
    for source in sources or ["-"]:
        if source == "-":
            yield from _parse_text((stdin or sys.stdin).read(), "<stdin>")
            continue
        path = Path(source)
        if path.is_dir():
            for file in sorted(path.glob("*.json")):
                yield from _parse_text(_read(file), str(file))
            for file in sorted(path.glob("*.jsonl")):
                yield from _parse_text(_read(file), str(file))
            continue
        yield from _parse_text(_read(path), source)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read: {exc}") from exc


def _parse_text(text: str, origin: str) -> Iterator[ProposalInput]:
    stripped = text.strip()
    if not stripped:
        return
    try:
        whole = loads_strict(stripped)
    except MalformedJSON:
        whole = None
        lines = True
    else:
        lines = False
    if not lines:
        for i, item in enumerate(whole if isinstance(whole, list) else [whole]):
            yield ProposalInput(origin if not isinstance(whole, list) else f"{origin}[{i}]",
                                _unwrap(item))
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = loads_strict(line)
        except MalformedJSON as exc:
            raise ValueError(f"{origin}:{number}: invalid JSON: {exc.detail}") from exc
        yield ProposalInput(f"{origin}:{number}", _unwrap(item))


def _unwrap(item: Any) -> Any:
    if isinstance(item, dict) and "proposal" in item and isinstance(item["proposal"], dict) \
            and "title" not in item:
        return item["proposal"]
    return item


def print_json(doc: Any, out: TextIO | None = None, *, pretty: bool = False) -> None:
    (out or sys.stdout).write(json.dumps(doc, ensure_ascii=False, indent=2 if pretty else None,
                         sort_keys=False) + "\n")
