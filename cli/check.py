"""`riskrules check`: load and compile the pack, report every error and warning."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cli.common import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, add_format, print_json
from cli.versioncheck import BaseNotFound, version_warnings
from engine import PackError, load_pack
from engine.codes import Code
from engine.errors import Diagnostic, Severity

SAMPLE_LIST_WARNING = Code.SAMPLE_WATCHLIST


def register(sub: Any) -> None:
    p = sub.add_parser("check", help="load and compile the rule pack; report every problem",
                       description="Report every error and warning of the pack as "
                       "FILE:LINE:COL: CODE message. Exit 1 on any error (on warnings too "
                       "with --strict).")
    p.add_argument("--strict", action="store_true", help="fail on warnings too")
    p.add_argument("--allow-sample-lists", action="store_true",
                   help="with --strict, do not fail on W040 (a watchlist marked sample: "
                        "true): for demonstration packs that ship sample data on purpose")
    p.add_argument("--base", metavar="REF",
                   help="git revision to compare the pack with for W050 (scoring files changed, "
                        "version not bumped); default HEAD, in CI the target branch "
                        "(origin/main)")
    add_format(p)
    p.set_defaults(func=run)


# Complexity D (21, radon), kept in one piece: the command's options in order (strict, formats,
# rule-test warnings, exit codes).
def run(args: argparse.Namespace) -> int:
    pack = None
    try:
        pack = load_pack(args.rules)
        diagnostics: tuple[Diagnostic, ...] = pack.diagnostics
        diagnostics += tuple(extra_warnings(pack))
        diagnostics += tuple(version_warnings(Path(args.rules), pack.digest, pack.version,
                                              args.base or "HEAD", explicit=bool(args.base)))
    except PackError as exc:
        diagnostics = exc.diagnostics
    except BaseNotFound as exc:
        if pack is not None:
            pack.close()
        print(f"riskrules check: {exc}", file=sys.stderr)
        return EXIT_USAGE
    errors = [d for d in diagnostics if d.severity is Severity.ERROR]
    warnings = [d for d in diagnostics if d.severity is Severity.WARNING]
    blocking = [d for d in warnings
                if not (d.code == SAMPLE_LIST_WARNING and args.allow_sample_lists)]
    failed = bool(errors) or (args.strict and bool(blocking))
    if args.format == "json":
        print_json({
            "ok": not failed,
            "pack": None if pack is None else {
                "name": pack.name, "version": pack.version, "digest": pack.digest,
                "rules": len(pack.rules), "factors": [f.id for f in pack.factors]},
            "errors": [d.to_dict() for d in errors],
            "warnings": [d.to_dict() for d in warnings],
        }, pretty=True)
    else:
        for d in sorted(diagnostics, key=lambda d: (d.position, d.code)):
            print(d)
        verdict = "FAILED" if failed else "ok"
        what = f"{pack.name} {pack.version}, {len(pack.rules)} rules, {pack.digest}" \
            if pack else args.rules
        print(f"{verdict}: {what}: {len(errors)} error(s), {len(warnings)} warning(s)",
              file=sys.stderr)
    if pack is not None:
        pack.close()
    return EXIT_PROBLEMS if failed else EXIT_OK


def extra_warnings(pack: Any) -> list[Diagnostic]:
    """Warnings that need more than the pack itself (rule tests); see cli.tester."""
    try:
        from cli.tester import coverage_warnings
    except ImportError:
        return []
    result: list[Diagnostic] = coverage_warnings(pack)
    return result
