"""`riskrules schema`: write the editor JSON Schemas of the pack, or check that they are current."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cli.common import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE
from engine.errors import PackError
from engine.language.contractfile import load_contract
from engine.tooling import schema


def register(sub: Any) -> None:
    p = sub.add_parser(
        "schema", help="write (or --check) the JSON Schemas editors use for the pack's YAML",
        description="Generate the JSON Schemas (Draft 2020-12) of pack.yaml, rule files, lists, "
                    "watchlists and rule tests from the rule language itself, into "
                    f"<rules>/{schema.SCHEMA_DIR}/ by default. With --check, write nothing and "
                    "exit 1 if the files on disk differ from what would be generated (for CI).")
    p.add_argument("--output", metavar="DIR",
                   help=f"directory of the schema files (default <rules>/{schema.SCHEMA_DIR})")
    p.add_argument("--check", action="store_true",
                   help="compare instead of writing; exit 1 when a file is missing or differs")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    folder = Path(args.output) if args.output else Path(args.rules) / schema.SCHEMA_DIR
    try:
        declared = load_contract(args.rules)
    except PackError as exc:
        for diagnostic in exc.diagnostics:
            print(diagnostic, file=sys.stderr)
        return EXIT_USAGE
    if args.check:
        stale = schema.stale(folder, declared)
        for name in stale:
            state = "out of date" if (folder / name).exists() else "missing"
            print(f"{folder / name}: {state} (regenerate with `riskrules schema`)",
                  file=sys.stderr)
        if stale:
            return EXIT_PROBLEMS
        print(f"ok: {len(schema.SCHEMAS)} schemas in {folder} are current", file=sys.stderr)
        return EXIT_OK
    try:
        written = schema.write(folder, declared)
    except OSError as exc:
        print(f"riskrules: cannot write the schemas to {folder}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for path in written:
        print(path)
    return EXIT_OK
