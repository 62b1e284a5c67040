"""`riskrules export`: stored assessments as JSON Lines, oldest first, usable as a diff corpus.

Each line is `{"id", "created_at", "proposal", "assessment", "dispositions"}`: the proposal
exactly as received, the assessment exactly as returned, and the human dispositions recorded
on it (oldest first; empty when none). `riskrules diff` and `score` read such records as
proposals (they take the `proposal` member), so an export is a corpus of real traffic.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, TextIO

from engine.language import syntax
from engine.timefmt import rfc3339

if TYPE_CHECKING:  # the API's modules are imported only when the command runs
    from api.service import AssessmentRecords
    from api.store import Filters


def _moment(text: str) -> datetime:
    """An RFC 3339 timestamp, or a date (midnight UTC)."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date or RFC 3339 timestamp: {text!r}") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"timestamp without time zone: {text!r}")
    return moment


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "export", help="write stored assessments as JSON Lines (a diff corpus)",
        description="Write stored assessments, oldest first, one JSON object per line: "
                    '{"id", "created_at", "proposal", "assessment", "dispositions"}.')
    parser.add_argument("--since", type=_moment, metavar="WHEN",
                        help="created at or after (YYYY-MM-DD or RFC 3339)")
    parser.add_argument("--until", type=_moment, metavar="WHEN", help="created before")
    parser.add_argument("--decision", choices=syntax.DECISIONS)
    parser.add_argument("--output", "-o", metavar="FILE", default="-",
                        help="output file (default stdout)")
    parser.add_argument("--database-url", metavar="URL",
                        help="default $RISKRULES_DATABASE_URL or sqlite:///var/riskrules.sqlite3")
    parser.set_defaults(func=handle)


def write_export(records: AssessmentRecords, filters: Filters, out: TextIO,
                 batch: int = 500) -> int:
    """Write every stored assessment matching `filters` as one JSON line; returns how many."""
    from api.service import dumps

    count = 0
    for row, history in records.export(filters, batch=batch):
        # Stored JSON texts are spliced in unchanged: the export is byte-faithful to the API.
        out.write('{"id":' + dumps(row.id) + ',"created_at":' + dumps(rfc3339(row.created_at))
                  + ',"proposal":' + row.proposal_json + ',"assessment":'
                  + row.assessment_json + ',"dispositions":'
                  + dumps([d.to_dict() for d in history]) + "}\n")
        count += 1
    return count


def handle(args: argparse.Namespace) -> int:
    from api.service import AssessmentRecords
    from api.store import Filters, Store, StoreUnavailable
    from cli.common import database_url

    store = Store(database_url(args.database_url))
    records = AssessmentRecords(store)
    filters = Filters(decision=args.decision, since=args.since, until=args.until)
    try:
        if args.output == "-":
            count = write_export(records, filters, sys.stdout)
        else:
            with open(args.output, "w", encoding="utf-8") as out:
                count = write_export(records, filters, out)
    except StoreUnavailable as error:
        print(f"riskrules export: {error.detail}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"riskrules export: cannot write {args.output}: {error.strerror}", file=sys.stderr)
        return 2
    finally:
        store.close()
    print(f"exported {count} assessment(s)", file=sys.stderr)
    return 0
