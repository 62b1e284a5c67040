"""`riskrules lists import`: turn an OFAC SDN or OpenSanctions export into a pack watchlist.

The pack only ever reads the canonical YAML (engine.watchlists); this command is the one
place where the real, large lists come in, so that the bundled sample can be replaced by
the current list without hand editing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path
from typing import Any

from cli.common import print_help_of
from engine.errors import ListImportError
from engine.watchlists import (
    LIST_NAME,
    Watchlist,
    load_ofac_sdn,
    load_opensanctions,
    load_watchlist,
    write_watchlist,
)

EXIT_OK, EXIT_USAGE = 0, 2
FORMATS = ("ofac-sdn", "opensanctions")
DEFAULT_NAMES = {"ofac-sdn": "ofac_sdn", "opensanctions": "opensanctions"}


def register(subparsers: Any) -> None:
    """Add `lists` (with its `import` sub-command) to the `riskrules` parser."""
    lists = subparsers.add_parser("lists", help="manage the pack's sanctions watchlists",
                                  description="Manage the sanctions watchlists of the pack.")
    lists.set_defaults(func=lambda _args: print_help_of(lists))
    commands = lists.add_subparsers(dest="lists_command", metavar="SUBCOMMAND")
    imp = commands.add_parser(
        "import", help="convert an OFAC SDN or OpenSanctions file into a pack watchlist",
        description="Read a watchlist in a published format and write it in the pack's "
                    "canonical YAML (default <rules>/watchlists/<name>.yaml). Reference the "
                    "file from pack.yaml (screening.watchlists) to screen against it.")
    imp.add_argument("file", metavar="FILE",
                     help="sdn.csv (ofac-sdn) or targets.simple.csv (opensanctions)")
    imp.add_argument("--format", dest="list_format", required=True, choices=FORMATS,
                     help="format of FILE")
    imp.add_argument("--alt", metavar="ALT.csv", help="OFAC alt.csv: aliases (ofac-sdn only)")
    imp.add_argument("--add", metavar="ADD.csv",
                     help="OFAC add.csv: addresses, for countries (ofac-sdn only)")
    imp.add_argument("--name", help="watchlist name (default ofac_sdn or opensanctions)")
    imp.add_argument("--output", metavar="PATH", help="where to write the YAML")
    imp.add_argument("--as-of", dest="as_of", metavar="YYYY-MM-DD",
                     help="date of the list (default: the file's date)")
    # SUPPRESS keeps a global `riskrules --rules DIR lists import ...` from being overwritten.
    imp.add_argument("--rules", default=argparse.SUPPRESS, metavar="DIR",
                     help="rule pack directory (default ./rules or $RISKRULES_RULES_DIR)")
    imp.set_defaults(func=run_import)



def _error(message: str) -> int:
    print(f"riskrules lists import: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def run_import(args: argparse.Namespace) -> int:
    """Import FILE, write the canonical YAML, read it back; 0 when written, 2 on bad input."""
    name = args.name or DEFAULT_NAMES[args.list_format]
    if not LIST_NAME.match(name):
        return _error(f"--name '{name}' must match {LIST_NAME.pattern}")
    if args.list_format != "ofac-sdn" and (args.alt or args.add):
        return _error("--alt and --add belong to --format ofac-sdn")
    as_of = None
    if args.as_of:
        try:
            as_of = dt.date.fromisoformat(args.as_of)
        except ValueError:
            return _error(f"--as-of '{args.as_of}' is not a date (YYYY-MM-DD)")
    rules = getattr(args, "rules", None) or os.environ.get("RISKRULES_RULES_DIR") or "rules"
    output = Path(args.output) if args.output else Path(rules) / "watchlists" / f"{name}.yaml"
    try:
        watchlist = _load(args, name, as_of)
        if not watchlist.entries:
            return _error(f"{args.file}: no entries found")
        output.parent.mkdir(parents=True, exist_ok=True)
        write_watchlist(watchlist, output)
        # Read back what was written: the pack will refuse to load a file we cannot read.
        written = load_watchlist(output)
    except ListImportError as exc:
        return _error(exc.detail)
    except OSError as exc:
        return _error(f"{output}: cannot write: {exc.strerror or exc}")
    print(f"wrote {len(written.entries)} entries to {output} "
          f"(watchlist {written.name}, as of {written.as_of})")
    return EXIT_OK


def _load(args: argparse.Namespace, name: str, as_of: dt.date | None) -> Watchlist:
    if args.list_format == "ofac-sdn":
        return load_ofac_sdn(args.file, args.alt, args.add, name=name, as_of=as_of)
    return load_opensanctions(args.file, name=name, as_of=as_of)
