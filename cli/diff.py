"""`riskrules diff`: what a rule change does to real decisions (impact analysis for pull requests).

Scores a corpus under a base and a head pack (engine.tooling.impact) and prints the decision and band
matrices, score deltas, rule fire-count changes, the proposals whose decision changed and
those whose score changed (with the delta), as text, a Markdown pull-request comment or JSON.
`--base` may be a git revision: the pack directory is then exported from that commit with
`git archive` into a temporary directory, so the working tree is never touched.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from cli.common import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, print_json, read_proposals
from cli.gitrev import Checkout, RevisionError
from engine import Pack, PackError, load_pack
from engine.errors import EngineError, Severity
from engine.tooling.impact import DEFAULT_CHUNK, compare
from engine.tooling.impactreport import ChangedProposal, ImpactReport, Matrix, RuleDifference, number

MARKER = "<!-- riskrules-diff -->"  # lets CI find and update its previous comment


class UsageError(Exception):
    """A bad --base/--head or an unusable corpus: exit 2 with this message."""


def register(sub: Any) -> None:
    p = sub.add_parser(
        "diff", help="impact analysis: score a corpus under two rule packs and compare",
        description="Score every proposal of CORPUS under the base and the head pack (same "
        "--as-of date) and report the decision and band changes (base × head matrices), score "
        "deltas, rules whose fire count changed, and the proposals whose decision changed with "
        "the rules that made the difference. Exit 0, or 1 with --fail-on-decision-change when "
        "a decision changed; 2 on usage or input errors.")
    p.add_argument("corpus", nargs="+", metavar="CORPUS", help="directories of .json files, "
                   "JSON or JSON Lines files (riskrules export output too), or - for stdin")
    p.add_argument("--base", required=True, metavar="DIR|REV",
                   help="base pack: a directory, or a git revision (origin/main, HEAD~1) of "
                   "the repository holding --head, read from the same path at that commit")
    p.add_argument("--head", default=None, metavar="DIR",
                   help="head pack directory (default: the global --rules)")
    p.add_argument("--as-of", type=dt.date.fromisoformat, default=None, metavar="YYYY-MM-DD",
                   help="assessment date for both packs (default today, UTC)")
    p.add_argument("--format", choices=("text", "markdown", "json"), default="text",
                   help="text (default), markdown (a pull-request comment) or json")
    p.add_argument("--fail-on-decision-change", action="store_true",
                   help="exit 1 if any proposal's decision changed")
    p.add_argument("--skip-invalid", action="store_true",
                   help="report proposals that break the contract but do not exit 2 for them")
    p.add_argument("--workers", type=_positive, default=os.cpu_count() or 1, metavar="N",
                   help="worker processes (default: one per core, here %(default)s)")
    p.add_argument("--chunk-size", type=_positive, default=DEFAULT_CHUNK, metavar="N",
                   help="proposals per unit of work sent to a worker (default %(default)s)")
    p.add_argument("--progress", action="store_true",
                   help="report progress on stderr (default: only when stderr is a terminal)")
    p.add_argument("--max-rows", type=_non_negative, default=50, metavar="N",
                   help="changed decisions and changed scores listed in text and markdown "
                   "(default 50; 0 = all; json lists all)")
    p.set_defaults(func=run)


def _positive(text: str) -> int:
    value = _non_negative(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return value


# Complexity D (23, radon), kept in one piece: the command's options in order (base from a revision,
# corpus, formats, failure on change, exit codes).
def run(args: argparse.Namespace) -> int:
    head_dir = Path(args.head or args.rules)
    as_of: dt.date = args.as_of or dt.datetime.now(dt.UTC).date()
    with contextlib.ExitStack() as stack:
        try:
            base_dir, base_label, rename = resolve_base(args.base, head_dir, stack)
        except UsageError as exc:
            print(f"riskrules diff: {exc}", file=sys.stderr)
            return EXIT_USAGE
        base = _load("base", base_dir, base_label, rename)
        head = _load("head", head_dir, str(head_dir), {})
        if base is not None:
            stack.callback(base.close)
        if head is not None:
            stack.callback(head.close)
        if base is None or head is None:
            return EXIT_USAGE
        progress = Progress(sys.stderr) if args.progress or sys.stderr.isatty() else None
        try:
            report = compare(base, head, read_proposals(args.corpus), as_of=as_of,
                             workers=args.workers,
                             chunk_size=args.chunk_size,
                             progress=progress, base_source=base_label,
                             head_source=str(head_dir))
        except ValueError as exc:
            print(f"riskrules diff: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except EngineError as exc:
            print(f"riskrules diff: {exc.code} {exc.detail}", file=sys.stderr)
            return EXIT_USAGE
    if report.total == 0:
        print(f"riskrules diff: no proposals in {' '.join(args.corpus)}", file=sys.stderr)
        return EXIT_USAGE
    for failure in report.failures:
        for message in failure.messages:
            print(f"{failure.origin}: {message}", file=sys.stderr)
    if args.format == "json":
        print_json(report.to_dict(), pretty=True)
    elif args.format == "markdown":
        sys.stdout.write(render_markdown(report, args.max_rows))
    else:
        sys.stdout.write(render_text(report, args.max_rows))
    if args.format != "json":
        t = report.timing
        print(f"riskrules diff: {report.total} proposals in {t.seconds:.2f} s "
              f"({t.proposals_per_second:.0f} proposals/s, {t.workers} worker(s))",
              file=sys.stderr)
    if report.engine_failures or (report.invalid and not args.skip_invalid):
        return EXIT_USAGE
    if args.fail_on_decision_change and report.changed:
        return EXIT_PROBLEMS
    return EXIT_OK


def _load(role: str, path: Path, label: str, rename: dict[str, str]) -> Pack | None:
    """Load a pack; on failure print its diagnostics (temporary paths shown as REV:path)."""
    try:
        return load_pack(path)
    except PackError as exc:
        for d in exc.diagnostics:
            print(_renamed(str(d), rename), file=sys.stderr)
        errors = sum(1 for d in exc.diagnostics if d.severity is Severity.ERROR)
        print(f"riskrules diff: the {role} pack ({label}) does not load ({errors} error(s))",
              file=sys.stderr)
        return None


def _renamed(text: str, rename: dict[str, str]) -> str:
    for old, new in rename.items():
        text = text.replace(old, new)
    return text


# ---------------------------------------------------------------------------------------------
# --base as a git revision


def resolve_base(base: str, head_dir: Path,
                 stack: contextlib.ExitStack) -> tuple[Path, str, dict[str, str]]:
    """The base pack directory, its label, and how to rename its temporary paths in messages.

    An existing directory is used as it is. Otherwise `base` must be a revision of the git
    repository holding `head_dir`; the head directory's path at that revision is exported
    (cli.gitrev) into a temporary directory that `stack` removes.
    """
    if Path(base).is_dir():
        return Path(base), base, {}
    try:
        checkout = Checkout(head_dir)
        sha = checkout.commit(base)
        pack_dir, tmp = checkout.export(sha, stack, "riskrules-diff-")
    except RevisionError as exc:
        raise UsageError(f"--base {base}: not a directory, and {exc}") from None
    return pack_dir, f"{base} ({sha[:12]})", {str(tmp) + os.sep: f"{base}:"}


# ---------------------------------------------------------------------------------------------
# progress


class Progress:
    """Prints `N proposals scored` every `every` proposals or `interval` seconds, whichever
    comes first, so that a long corpus shows life without flooding a CI log."""

    def __init__(self, out: TextIO, every: int = 1000, interval: float = 2.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.out, self.every, self.interval, self.clock = out, every, interval, clock
        self.started = self.last_time = clock()
        self.last_count = 0

    def __call__(self, done: int) -> None:
        now = self.clock()
        if done - self.last_count < self.every and now - self.last_time < self.interval:
            return
        elapsed = now - self.started
        rate = f", {done / elapsed:.0f}/s" if elapsed > 0 else ""
        print(f"riskrules diff: {done} proposals scored{rate}", file=self.out, flush=True)
        self.last_count, self.last_time = done, now


# ---------------------------------------------------------------------------------------------
# rendering


def _score(value: float) -> str:
    return f"{value:.2f}"


def _signed(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.2f}"


def _points(value: float | None) -> str:
    shown = number(value)
    return "?" if shown is None else f"{shown:+}"


def _difference(d: RuleDifference) -> str:
    if d.change == "head_only":
        return f"+{d.rule} ({_points(d.head_points)})"
    if d.change == "base_only":
        return f"−{d.rule} ({_points(d.base_points)})"
    return f"{d.rule} ({_points(d.base_points)} → {_points(d.head_points)})"


def _differences(c: ChangedProposal) -> str:
    if not c.rules:
        return "same rules: bands or weights changed"
    return ", ".join(_difference(d) for d in c.rules)


def _headline(r: ImpactReport) -> str:
    s = r.scores
    parts = [f"{len(r.changed)} of {r.assessed} decision(s) changed",
             f"{r.bands.changed} band(s) changed",
             f"{s.increased + s.decreased} score(s) changed "
             f"({s.increased} up, {s.decreased} down)"]
    if r.failures:
        parts.append(f"{len(r.failures)} proposal(s) not assessed")
    return ", ".join(parts)


def _pack_line(role: str, info: Any) -> str:
    return f"{role} {info.source}: {info.name} {info.version}, {info.rules} rules, {info.digest[:19]}"


def _rule_rows(r: ImpactReport) -> list[tuple[str, str, str, str, str]]:
    rows = []
    for rc in r.rules:
        before = "—" if rc.base_fires is None else str(rc.base_fires)
        after = "—" if rc.head_fires is None else str(rc.head_fires)
        delta = f"{(rc.head_fires or 0) - (rc.base_fires or 0):+d}"
        rows.append((rc.rule, rc.title, rc.status, f"{before} → {after}", delta))
    return rows


def _matrix_text(m: Matrix, name: str) -> list[str]:
    corner = "base / head"
    first = max(len(corner), *(len(label) for label in m.labels)) + 2
    cell = max(len("total"), *(len(label) for label in m.labels)) + 2
    lines = [f"{name} (rows: base, columns: head; * = changed)",
             f"  {corner:<{first}}" + "".join(f"{label:>{cell}}" for label in m.labels)
             + f"{'total':>{cell}}"]
    for b in m.labels:
        cells = "".join(f"{(f'*{n}' if b != h and n else str(n)):>{cell}}"
                        for h in m.labels for n in [m.get(b, h)])
        lines.append(f"  {b:<{first}}{cells}{m.row_total(b):>{cell}}")
    return lines


def render_text(r: ImpactReport, max_rows: int = 50) -> str:
    """A readable report for a terminal."""
    s = r.scores
    out = [_pack_line("base", r.base), _pack_line("head", r.head),
           f"{r.total} proposal(s) as of {r.as_of.isoformat()}: {_headline(r)}"]
    if r.identical_packs:
        out.append("the two packs are identical")
    out += ["", *_matrix_text(r.decisions, "decisions"), "", *_matrix_text(r.bands, "bands"), "",
            f"score deltas: min {_signed(s.minimum)}, median {_signed(s.median)}, max "
            f"{_signed(s.maximum)}; {s.increased} increased, {s.decreased} decreased, "
            f"{s.unchanged} unchanged"]
    if r.rules:
        out += ["", "rule fire counts (base → head):"]
        out += [f"  {rule:<12} {before_after:>12}  {delta:>5}  {status:<8} {title}"
                for rule, title, status, before_after, delta in _rule_rows(r)]
    if r.pack_changes:
        out += ["", "pack changes:"] + [f"  {c.describe()}" for c in r.pack_changes]
    if r.changed:
        out += ["", "decision changes:"]
        shown = r.changed if max_rows == 0 else r.changed[:max_rows]
        for c in shown:
            out.append(f"  {c.label} ({c.origin}): {c.base.decision} → {c.head.decision}, "
                       f"score {_score(c.base.score)} → {_score(c.head.score)}; "
                       f"{_differences(c)}")
        if len(shown) < len(r.changed):
            out.append(f"  … and {len(r.changed) - len(shown)} more (--max-rows 0 or "
                       "--format json for all)")
    if r.score_changes:
        out += ["", f"score changes ({len(r.score_changes)}):"]
        scored = r.score_changes if max_rows == 0 else r.score_changes[:max_rows]
        for sc in scored:
            decision = (f"{sc.base.decision} → {sc.head.decision}"
                        if sc.base.decision != sc.head.decision else sc.head.decision)
            out.append(f"  {sc.label} ({sc.origin}): score {_score(sc.base.score)} → "
                       f"{_score(sc.head.score)} ({_signed(sc.score_delta)}), {decision}")
        if len(scored) < len(r.score_changes):
            out.append(f"  … and {len(r.score_changes) - len(scored)} more (--max-rows 0 or "
                       "--format json for all)")
    if r.failures:
        out += ["", "not assessed:"]
        out += [f"  {f.origin}: {f.kind}: {'; '.join(f.messages)}" for f in r.failures]
    return "\n".join(out) + "\n"


def _md(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return (text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")
            .replace("<", "&lt;").replace(">", "&gt;"))


def _md_matrix(m: Matrix, corner: str) -> list[str]:
    lines = [f"| {corner} | " + " | ".join(m.labels) + " | total |",
             "|---|" + "---:|" * (len(m.labels) + 1)]
    for b in m.labels:
        cells = []
        for h in m.labels:
            n = m.get(b, h)
            cells.append(f"**{n}**" if b != h and n else str(n))
        lines.append(f"| **{b}** | " + " | ".join(cells) + f" | {m.row_total(b)} |")
    lines.append("| total | " + " | ".join(str(m.column_total(h)) for h in m.labels)
                 + f" | {sum(m.counts.values())} |")
    return lines


def render_markdown(r: ImpactReport, max_rows: int = 50) -> str:
    """A pull-request comment: headline, matrices, changed proposals, rule and pack changes."""
    s = r.scores
    icon = "⚠️" if r.changed or r.failures else "✅"
    out = [MARKER, f"### {icon} riskrules diff: {_headline(r)}", "",
           f"Base `{_md(r.base.source)}` ({_md(r.base.name)} {_md(r.base.version)}, "
           f"`{r.base.digest[:19]}`) → head `{_md(r.head.source)}` ({_md(r.head.name)} "
           f"{_md(r.head.version)}, `{r.head.digest[:19]}`); {r.total} proposal(s) as of "
           f"{r.as_of.isoformat()}."]
    if r.identical_packs:
        out.append("The two packs are identical.")
    out += ["", "#### Decisions", "", *_md_matrix(r.decisions, "base ↓ head →"),
            "", "<details><summary>Bands</summary>", "",
            *_md_matrix(r.bands, "base ↓ head →"), "", "</details>", "",
            f"**Score deltas**: min {_signed(s.minimum)}, median {_signed(s.median)}, max "
            f"{_signed(s.maximum)}; {s.increased} increased, {s.decreased} decreased, "
            f"{s.unchanged} unchanged."]
    if r.changed:
        out += ["", f"#### Decision changes ({len(r.changed)})", "",
                "| proposal | origin | decision | score | rules that made the difference |",
                "|---|---|---|---:|---|"]
        shown = r.changed if max_rows == 0 else r.changed[:max_rows]
        out += [f"| {_md(c.label)} | `{_md(c.origin)}` | {c.base.decision} → "
                f"**{c.head.decision}** | {_score(c.base.score)} → {_score(c.head.score)} | "
                f"{_md(_differences(c))} |" for c in shown]
        if len(shown) < len(r.changed):
            out += ["", f"… and {len(r.changed) - len(shown)} more: run `riskrules diff "
                    "--format json` for the full list."]
    if r.score_changes:
        out += ["", f"<details><summary>Score changes ({len(r.score_changes)})</summary>", "",
                "| proposal | origin | score | Δ | decision |", "|---|---|---:|---:|---|"]
        scored = r.score_changes if max_rows == 0 else r.score_changes[:max_rows]
        out += [f"| {_md(sc.label)} | `{_md(sc.origin)}` | {_score(sc.base.score)} → "
                f"{_score(sc.head.score)} | {_signed(sc.score_delta)} | "
                + (f"{sc.base.decision} → **{sc.head.decision}**"
                   if sc.base.decision != sc.head.decision else sc.head.decision) + " |"
                for sc in scored]
        if len(scored) < len(r.score_changes):
            out += ["", f"… and {len(r.score_changes) - len(scored)} more: run `riskrules "
                    "diff --format json` for the full list."]
        out += ["", "</details>"]
    if r.rules:
        out += ["", "#### Rule fire counts", "", "| rule | title | status | fires (base → head) | Δ |",
                "|---|---|---|---:|---:|"]
        out += [f"| `{_md(rule)}` | {_md(title)} | {status} | {before_after} | {delta} |"
                for rule, title, status, before_after, delta in _rule_rows(r)]
    if r.pack_changes:
        out += ["", "<details><summary>Pack changes</summary>", ""]
        out += [f"- {_md(c.describe())}" for c in r.pack_changes]
        out += ["", "</details>"]
    if r.failures:
        out += ["", f"#### Not assessed ({len(r.failures)})", "", "| origin | kind | problem |",
                "|---|---|---|"]
        out += [f"| `{_md(f.origin)}` | {f.kind} | {_md('; '.join(f.messages))} |"
                for f in r.failures[: max_rows or None]]
    return "\n".join(out) + "\n"

