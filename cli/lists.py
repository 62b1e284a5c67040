"""`riskrules lists import` and `lists status`: bring published sanctions lists into the pack
and tell how current they are.

The pack only ever reads the canonical YAML (engine.screening.watchlists); `import` is the one place
where the real, large lists come in (OFAC SDN and Consolidated, the US Consolidated Screening
List, the EU and UK consolidated lists, OpenSanctions), written atomically so that a failed
import leaves the old list in place. `status` reports, per list of the pack, its entries,
as-of date, age, digest and whether it is sample data or stale.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from cli.common import print_help_of, rules_dir
from engine.assessment import WatchlistInfo
from engine.errors import DiagnosticSink, ListImportError
from engine.language.packfile import parse_pack_settings
from engine.language.syntax import ScreeningSettings
from engine.language.yamlsource import read_file
from engine.pack import PACK_FILE
from engine.screening.listformats import (
    load_eu_fsf,
    load_eu_fsf_csv,
    load_ofac_sdn,
    load_opensanctions,
    load_uk_ofsi,
    load_uk_sanctions_list,
    load_us_csl,
)
from engine.screening.watchlists import LIST_NAME, Watchlist, load_watchlist, write_watchlist

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2
FORMATS = ("ofac-sdn", "ofac-consolidated", "us-csl", "eu-fsf", "eu-fsf-csv", "uk-sanctions-list",
           "uk-ofsi", "opensanctions")
DEFAULT_NAMES = {"ofac-sdn": "ofac_sdn", "ofac-consolidated": "ofac_consolidated",
                 "us-csl": "us_csl", "eu-fsf": "eu_fsf", "eu-fsf-csv": "eu_fsf",
                 "uk-sanctions-list": "uk_sanctions_list", "uk-ofsi": "uk_ofsi",
                 "opensanctions": "opensanctions"}
OFAC_FORMATS = ("ofac-sdn", "ofac-consolidated")


def register(subparsers: Any) -> None:
    """Add `lists` (with its `import` sub-command) to the `riskrules` parser."""
    lists = subparsers.add_parser("lists", help="manage the pack's sanctions watchlists",
                                  description="Manage the sanctions watchlists of the pack.")
    lists.set_defaults(func=lambda _args: print_help_of(lists))
    commands = lists.add_subparsers(dest="lists_command", metavar="SUBCOMMAND")
    imp = commands.add_parser(
        "import", help="convert a published sanctions list into a pack watchlist",
        description="Read a watchlist in a published format and write it in the pack's "
                    "canonical YAML (default <rules>/watchlists/<name>.yaml). Reference the "
                    "file from pack.yaml (screening.watchlists) to screen against it.")
    imp.add_argument("file", metavar="FILE",
                     help="sdn.csv (ofac-sdn), cons_prim.csv (ofac-consolidated), "
                          "consolidated.csv (us-csl), the EU financial sanctions file as XML "
                          "1.1 (eu-fsf) or CSV 1.1 (eu-fsf-csv), the UK Sanctions List CSV "
                          "(uk-sanctions-list), the former OFSI ConList.csv (uk-ofsi) or "
                          "targets.simple.csv (opensanctions)")
    imp.add_argument("--format", dest="list_format", required=True, choices=FORMATS,
                     help="format of FILE")
    imp.add_argument("--alt", metavar="ALT.csv",
                     help="OFAC alt.csv / cons_alt.csv: aliases (OFAC formats only)")
    imp.add_argument("--add", metavar="ADD.csv",
                     help="OFAC add.csv / cons_add.csv: addresses, for countries (OFAC formats "
                          "only)")
    imp.add_argument("--name", help="watchlist name (default from the format: ofac_sdn, "
                                    "eu_fsf, uk_sanctions_list...)")
    imp.add_argument("--output", metavar="PATH", help="where to write the YAML")
    imp.add_argument("--as-of", dest="as_of", metavar="YYYY-MM-DD",
                     help="date of the list (default: the file's date)")
    # SUPPRESS keeps a global `riskrules --rules DIR lists import ...` from being overwritten.
    imp.add_argument("--rules", default=argparse.SUPPRESS, metavar="DIR",
                     help="rule pack directory (default ./rules or $RISKRULES_RULES_DIR)")
    imp.set_defaults(func=run_import)
    status = commands.add_parser(
        "status", help="entries, as-of date, age, digest and sample/stale flag of each list",
        description="For each watchlist of the pack (screening.watchlists in pack.yaml): "
                    "entries, as-of date, age in days, sha256 digest, whether it is sample "
                    "data and whether it is stale (older than screening.max_age_days). Exit 1 "
                    "when a list is unreadable or empty.")
    status.add_argument("--format", choices=("text", "json"), default="text")
    status.add_argument("--rules", default=argparse.SUPPRESS, metavar="DIR",
                        help="rule pack directory (default ./rules or $RISKRULES_RULES_DIR)")
    status.set_defaults(func=run_status)


def _error(message: str) -> int:
    print(f"riskrules lists import: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def run_import(args: argparse.Namespace) -> int:
    """Import FILE, write the canonical YAML, read it back; 0 when written, 2 on bad input."""
    name = args.name or DEFAULT_NAMES[args.list_format]
    if not LIST_NAME.match(name):
        return _error(f"--name '{name}' must match {LIST_NAME.pattern}")
    if args.list_format not in OFAC_FORMATS and (args.alt or args.add):
        return _error("--alt and --add belong to the OFAC formats")
    as_of = None
    if args.as_of:
        try:
            as_of = dt.date.fromisoformat(args.as_of)
        except ValueError:
            return _error(f"--as-of '{args.as_of}' is not a date (YYYY-MM-DD)")
    rules = rules_dir(getattr(args, "rules", None))
    output = Path(args.output) if args.output else Path(rules) / "watchlists" / f"{name}.yaml"
    try:
        watchlist = _load(args, name, as_of)
        if not watchlist.entries:
            return _error(f"{args.file}: no entries found")
        output.parent.mkdir(parents=True, exist_ok=True)
        # Atomic: written beside, read back, renamed; the old list stays on any failure.
        write_watchlist(watchlist, output)
    except ListImportError as exc:
        return _error(exc.detail)
    except OSError as exc:
        return _error(f"{output}: cannot write: {exc.strerror or exc}")
    print(f"wrote {len(watchlist.entries)} entries to {output} "
          f"(watchlist {watchlist.name}, as of {watchlist.as_of})")
    for reason, count in watchlist.skipped:
        print(f"skipped {count} {reason}")
    return EXIT_OK


def _load(args: argparse.Namespace, name: str, as_of: dt.date | None) -> Watchlist:
    fmt = args.list_format
    if fmt in OFAC_FORMATS:
        return load_ofac_sdn(args.file, args.alt, args.add, name=name, as_of=as_of,
                             consolidated=fmt == "ofac-consolidated")
    loaders = {"us-csl": load_us_csl, "eu-fsf": load_eu_fsf, "eu-fsf-csv": load_eu_fsf_csv,
               "uk-sanctions-list": load_uk_sanctions_list, "uk-ofsi": load_uk_ofsi,
               "opensanctions": load_opensanctions}
    return loaders[fmt](args.file, name=name, as_of=as_of)


def run_status(args: argparse.Namespace) -> int:
    """Print the state of each watchlist of the pack; 1 when one is unreadable or empty."""
    rules = Path(rules_dir(getattr(args, "rules", None)))
    pack_file = rules / PACK_FILE
    sink = DiagnosticSink()
    settings = parse_pack_settings(read_file(pack_file, str(pack_file), sink), str(pack_file),
                                   sink)
    if sink.errors:
        for d in sink.errors:
            print(d, file=sys.stderr)
        return EXIT_PROBLEMS
    screening: ScreeningSettings | None = settings["screening"]  # type: ignore[assignment]
    files = screening.watchlists if screening else ()
    max_age = screening.max_age_days if screening else None
    today = dt.date.today()
    rows: list[dict[str, Any]] = []
    failed = False
    for file in files:
        path = rules / file
        try:
            watchlist = load_watchlist(path)
            digest = "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
        except (ListImportError, OSError) as exc:
            rows.append({"file": file, "error": str(exc)})
            failed = True
            continue
        info = WatchlistInfo(watchlist.name, file, watchlist.as_of, digest,
                             len(watchlist.entries), watchlist.sample)
        rows.append(info.to_dict(today, max_age))
        failed = failed or not watchlist.entries
    if args.format == "json":
        print(json.dumps({"max_age_days": max_age, "lists": rows}, indent=2))
    else:
        if not rows:
            print("the pack screens no watchlist")
        for row in rows:
            if "error" in row:
                print(f"{row['file']}: ERROR {row['error']}")
                continue
            flags = [f for f in ("sample", "stale") if row[f]] + \
                (["EMPTY"] if not row["entries"] else [])
            age = "unknown age" if row["age_days"] is None else f"{row['age_days']} days old"
            print(f"{row['name']} ({row['file']}): {row['entries']} entries, as of "
                  f"{row['as_of'] or 'unknown'} ({age}), {row['digest']}"
                  + (f" [{', '.join(flags)}]" if flags else ""))
    return EXIT_PROBLEMS if failed else EXIT_OK
