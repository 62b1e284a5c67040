"""`riskrules db`: database migrations of the assessment store (`upgrade`, `current`)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from cli.common import print_help_of


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("db", help="assessment store migrations",
                                   description="Manage the assessment store's schema.")
    sub = parser.add_subparsers(dest="db_command", metavar="ACTION")
    up = sub.add_parser("upgrade", help="apply every pending migration")
    up.add_argument("--database-url", metavar="URL",
                    help="default $RISKRULES_DATABASE_URL or sqlite:///var/riskrules.sqlite3")
    up.add_argument("--revision", default="head", help="target revision (default head)")
    up.set_defaults(func=handle_upgrade)
    cur = sub.add_parser("current", help="print the database's revision and the code's head")
    cur.add_argument("--database-url", metavar="URL")
    cur.set_defaults(func=handle_current)
    parser.set_defaults(func=lambda args: print_help_of(parser))



def handle_upgrade(args: argparse.Namespace) -> int:
    from api.migrate import upgrade
    from api.store import StoreUnavailable
    from cli.common import database_url

    url = database_url(args.database_url)
    try:
        upgrade(url, args.revision)
    except StoreUnavailable as error:
        print(f"riskrules db upgrade: {error.detail}", file=sys.stderr)
        return 2
    print(f"database at revision {args.revision}")
    return 0


def handle_current(args: argparse.Namespace) -> int:
    from api.migrate import current, head
    from api.store import StoreUnavailable
    from cli.common import database_url

    try:
        revision = current(database_url(args.database_url))
    except StoreUnavailable as error:
        print(f"riskrules db current: {error.detail}", file=sys.stderr)
        return 2
    latest = head()
    print(f"database: {revision or 'empty'}; code head: {latest}")
    return 0 if revision == latest else 1
