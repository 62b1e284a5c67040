"""`riskrules fields`: the analysts' field reference of the pack's contract (Markdown), with the
rules that read each field; `--output` writes it (docs/fields.md), `--check` compares."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cli.common import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, load_or_report
from engine.tooling.fields import reference


def register(sub: Any) -> None:
    p = sub.add_parser(
        "fields", help="list the proposal fields of the pack's contract and the rules reading each",
        description="Print the field reference of the pack's contract (contract.yaml) as "
                    "Markdown: each field's type, bounds, description and example, and the "
                    "rules that read it. With --output FILE write it there; with --check, "
                    "exit 1 when FILE differs from what would be written (for CI).")
    p.add_argument("--output", metavar="FILE", help="write the reference to FILE")
    p.add_argument("--check", action="store_true",
                   help="compare FILE (--output) instead of writing it")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    pack = load_or_report(args.rules)
    if pack is None:
        return EXIT_USAGE
    try:
        text = reference(pack.contract, pack.rules, pack.name)
    finally:
        pack.close()
    if not args.output:
        if args.check:
            print("riskrules fields: --check needs --output FILE", file=sys.stderr)
            return EXIT_USAGE
        sys.stdout.write(text)
        return EXIT_OK
    target = Path(args.output)
    if args.check:
        current = target.read_text(encoding="utf-8") if target.is_file() else None
        if current != text:
            print(f"{target}: out of date (regenerate with `riskrules fields --output "
                  f"{target}`)", file=sys.stderr)
            return EXIT_PROBLEMS
        print(f"ok: {target} is current", file=sys.stderr)
        return EXIT_OK
    try:
        target.write_text(text, encoding="utf-8", newline="\n")
    except OSError as exc:
        print(f"riskrules: cannot write {target}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(target)
    return EXIT_OK
