"""Entry point of the `riskrules` console script: global options and sub-command dispatch.

Exit status everywhere: 0 success, 1 the check or test found problems, 2 usage or input error.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from cli.common import rules_dir

# Each module exposes register(subparsers); its parsers set func=handler(args) -> int.
COMMANDS = ("cli.score", "cli.check", "cli.tester", "cli.diff", "cli.lists", "cli.serve",
            "cli.export", "cli.db", "cli.keys", "cli.schema", "cli.new",
            "cli.fields")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="riskrules", description="Risk-scoring rules engine for technology "
                     "partnerships: score proposals, check and test rule packs, serve the API.")
    parser.add_argument("--rules", default=rules_dir(),
                        metavar="DIR", help="rule pack directory (default ./rules or "
                        "$RISKRULES_RULES_DIR)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
