"""`riskrules score`: score proposals from files or stdin and print assessments; stores nothing."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import Any

from cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    add_format,
    load_or_report,
    print_json,
    read_proposals,
)
from engine.errors import EngineError, ProposalError


def register(sub: Any) -> None:
    p = sub.add_parser("score", help="score proposals (JSON, JSON Lines, or - for stdin)",
                       description="Score proposals and print their assessments. With "
                       "--format json, one assessment per line (JSON Lines), each with "
                       "source_file, the file (and line) the proposal came from.")
    p.add_argument("files", nargs="*", metavar="FILE", help="JSON or JSON Lines files, "
                   "directories of .json files, or - for stdin (default)")
    p.add_argument("--as-of", type=dt.date.fromisoformat, default=None, metavar="YYYY-MM-DD",
                   help="assessment date for rule effective windows (default today, UTC)")
    add_format(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    pack = load_or_report(args.rules)
    if pack is None:
        return EXIT_USAGE
    status = EXIT_OK
    try:
        for item in read_proposals(args.files):
            try:
                assessment = pack.assess(item.data, as_of=args.as_of)
            except ProposalError as exc:
                for error in exc.errors:
                    print(f"{item.origin}: {error.path or '<proposal>'}: {error.message}",
                          file=sys.stderr)
                status = EXIT_USAGE
                continue
            except EngineError as exc:
                print(f"{item.origin}: {exc.code} {exc.detail}", file=sys.stderr)
                status = EXIT_USAGE
                continue
            if args.format == "json":
                print_json(json_line(item.origin, assessment.to_dict()))
            else:
                print(render(item.origin, assessment.to_dict()))
    except ValueError as exc:
        print(f"riskrules score: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        pack.close()
    return status


def json_line(origin: str, doc: dict[str, Any]) -> dict[str, Any]:
    """One JSON Lines record: `source_file`, where the proposal came from (`examples/x.json`,
    `batch.jsonl:3`, `<stdin>`), then the assessment as the response contract has it, `id`
    included: null, because only the service stores assessments and gives them an id."""
    return {"source_file": origin, "id": doc.get("id"),
            **{key: value for key, value in doc.items() if key != "id"}}


def _screened(a: dict[str, Any], pointer: str | None) -> str | None:
    """The screening outcome an evidence item points to, in one line: the best candidate's
    listed name, list, entry and score."""
    if not pointer or "screening" not in a:
        return None
    party = a["screening"]["parties"][int(pointer.rsplit("/", 1)[1])]
    if not party["candidates"]:
        return f"screening of {party['path']}: {party['outcome']}"
    best = party["candidates"][0]
    return (f"screening of {party['path']}: {party['outcome']}, {best['listed_name']!r} "
            f"({best['list']} {best['entry_id']}, score {best['score']:g})")


def render(origin: str, a: dict[str, Any]) -> str:
    """A readable report of one assessment for a terminal."""
    lines = [f"{origin}: {a['reference'] or '(no reference)'}",
             f"  decision {a['decision'].upper()}  band {a['band']}  score {a['score']:.2f}"
             f"  (inherent {a['inherent_score']:.2f})",
             f"  {a['summary']}"]
    for factor in a["factors"]:
        capped = ""
        if "raw_points" in factor and factor["raw_points"] != factor["inherent_score"]:
            capped = f"  (raw points {factor['raw_points']:g}, capped to 0..100)"
        lines.append(f"  {factor['label']:<28} score {factor['score']:6.2f}  "
                     f"contribution {factor['contribution']:6.2f}{capped}")
        for hit in factor["rules"]:
            lines.append(f"    {hit['points']:+5g}  {hit['rule']:<8} {hit['title']}")
            for ev in hit["evidence"]:
                lines.append(f"             {ev['path']} = {ev['value']!r}  ({ev['test']})")
                listed = _screened(a, ev.get("screening_record"))
                if listed:
                    lines.append(f"               {listed}")
    for item in a["missing_information"]:
        lines.append(f"  missing: {item['path']} (needed by {', '.join(item['rules'])})")
    for floor in a.get("floors", []):
        lines.append(f"  floor: {floor['rule']} {floor['title']} (at least {floor['at_least']})")
    for item in a.get("unsettled", []):
        lines.append(f"  unsettled: {item['rule']} {item['title']} (would force "
                     f"{item['decision']}; settle {', '.join(item['paths'])})")
    if a.get("provisional"):
        lines.append("  PROVISIONAL: the decision may change once the unsettled facts are given")
    clear = a.get("checked_clear", [])
    if clear:
        lines.append(f"  checked and clear: {', '.join(c['rule'] for c in clear)}")
    return "\n".join(lines)
