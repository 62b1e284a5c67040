"""A loaded rule pack: `load_pack(path)` compiles once; `Pack.assess(proposal)` evaluates many.

Loading parses and validates every file, reports every error at once (PackError), normalises
and compiles the conditions onto one durable_rules ruleset, and computes the digest. After
that, assessing a proposal is: defaults and screening → fact → durable_rules match →
evidence → scores → Assessment.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import marshal
import os
import re
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import engine.screening as screening_package
from engine.assessment import Assessment, RuleHit, WatchlistInfo
from engine.codes import Code
from engine.compile.compiler import CompiledRules, compile_rules
from engine.compile.facts import FactBuilder
from engine.compile.matcher import DurableMatcher
from engine.errors import (
    Diagnostic,
    DiagnosticSink,
    EngineError,
    ListImportError,
    PackError,
    Position,
    RulesetRejected,
    Severity,
)
from engine.evaluate.decision import Decider
from engine.evaluate.enrich import Enricher
from engine.evaluate.explain import compile_evidence, summary, with_chains, without_implied_guards
from engine.evaluate.missing import MissingInformation, needed_by_path
from engine.evaluate.scoring import Scorer, Scores
from engine.evaluate.validation import Validator
from engine.language import syntax
from engine.language.contract import Contract
from engine.language.contractfile import CONTRACT_FILE, parse_contract
from engine.language.lint import lint
from engine.language.normalize import normalize_rules
from engine.language.packfile import parse_list, parse_pack_settings
from engine.language.parser import RuleParser
from engine.language.yamlsource import read_file
from engine.screening.screener import POSSIBLE_AT

PACK_FILE = "pack.yaml"
# the pack lists naming the watchlists whose entries are restricted, not blocked
NON_BLOCKING_LISTS = ("sectoral_watchlists", "export_control_watchlists",
                      "investment_ban_watchlists")


@dataclass
class Pack:
    """A compiled rule pack. Thread-safe: matching is serialised inside the matcher."""

    spec: syntax.PackSpec
    digest: str
    diagnostics: tuple[Diagnostic, ...]
    compiled: CompiledRules
    conditions: dict[str, syntax.Condition]
    contract: Contract
    screener: Any = None
    watchlists: tuple[WatchlistInfo, ...] = ()
    loaded_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    _matcher: DurableMatcher | None = None

    def __post_init__(self) -> None:
        self._matcher = DurableMatcher(self.compiled.definitions, label=self.digest[7:19])
        self._rules_by_id = {r.id: r for r in self.spec.rules}
        self._facts = FactBuilder(self.compiled)
        order = {r.id: i for i, r in enumerate(self.spec.rules)}
        # durable rule name -> (declared order, rule id): fired names sort into rule order
        self._fired_order = {n: (order[rid], rid) for n, rid in self.compiled.names.items()}
        self._evidence = {rid: compile_evidence(c) for rid, c in self.conditions.items()}
        self._missing = MissingInformation(self.spec.rules, self.contract.root)
        self._enrich = Enricher(self.contract.root, self.screener, self._non_blocking())
        self._validate = Validator(self.contract.root)
        self._score = Scorer(self.spec.factors, self.spec.bands, self.spec.knockout_decision,
                             self.spec.rules)
        self._decide = Decider(self.spec.rules, self.spec.knockout_decision,
                               self.spec.incomplete_decision)
        self._band_decisions = {b.name: b.decision for b in self.spec.bands}

    def _non_blocking(self) -> frozenset[str]:
        """The watchlists that block no property: those the pack names in its lists
        `sectoral_watchlists`, `export_control_watchlists` and `investment_ban_watchlists`
        (rules/README.md). An owner matched only on one of them does not count towards the
        50 Percent Rule."""
        return frozenset(str(e) for name in NON_BLOCKING_LISTS
                         if (ref := self.spec.lists.get(name)) is not None
                         for e in ref.values)

    # -- description ------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def version(self) -> str:
        return self.spec.version

    @property
    def factors(self) -> tuple[syntax.Factor, ...]:
        return self.spec.factors

    @property
    def bands(self) -> tuple[syntax.Band, ...]:
        return self.spec.bands

    @property
    def rules(self) -> tuple[syntax.Rule, ...]:
        return self.spec.rules

    @property
    def four_eyes(self) -> bool:
        """review.four_eyes of pack.yaml: approving an escalated or rejected deal takes two
        different reviewers."""
        return self.spec.four_eyes

    @property
    def lists(self) -> dict[str, syntax.RefList]:
        return self.spec.lists

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity is Severity.WARNING]

    def rule(self, rule_id: str) -> syntax.Rule | None:
        return self._rules_by_id.get(rule_id)

    # -- evaluation -------------------------------------------------------------------------
    def validate(self, proposal: Any) -> None:
        """Raise ProposalError naming every field of `proposal` that breaks the pack's
        contract (engine.evaluate.validation); the proposal is not changed."""
        self._validate(proposal)

    def enrich(self, proposal: Mapping[str, Any], day: dt.date | None = None) -> dict[str, Any]:
        """The proposal with contract defaults applied and the derived facts computed (every
        party screened, ownership aggregated, licences checked on `day`, default today)."""
        return self._enrich(proposal, day)

    def match(self, enriched: Mapping[str, Any], day: dt.date) -> list[str]:
        """Ids of the rules durable_rules fires for an enriched proposal, in declared order."""
        if self._matcher is None:
            raise EngineError("the rule pack was closed")
        names = self._matcher.match(self._facts(enriched, day))
        return [rid for _, rid in sorted({self._fired_order[n] for n in names})]

    def assess(self, proposal: Mapping[str, Any], as_of: dt.date | None = None,
               created_at: dt.datetime | None = None, *, validate: bool = True) -> Assessment:
        """Score one proposal. It is validated against the pack's contract first (ProposalError
        naming every bad field) unless the caller already did (`validate=False`)."""
        if validate:
            self._validate(proposal)
        created = created_at or dt.datetime.now(dt.UTC).replace(microsecond=0)
        day = as_of or created.date()
        data, parties = self._enrich.with_record(proposal, day)
        hits = []
        for rule_id in self.match(data, day):
            rule = self._rules_by_id[rule_id]
            found = self._evidence[rule_id](data, "")
            if found is None:
                raise EngineError(f"durable_rules fired {rule_id} but its condition does not "
                                  "hold on the proposal: refusing an unexplained assessment")
            hits.append(RuleHit(rule, tuple(with_chains(without_implied_guards(found), data))))
        fired = [h.rule for h in hits]
        scores = self._score(fired)
        _, readings = self._missing.readings(data, day)
        outcome = self._decide(fired, self._band_decisions[scores.band], readings, day)
        top = max(scores.factors, key=lambda f: f.contribution, default=None)
        top_label = top.factor.label if top and top.contribution > 0 else None
        knockouts = [(r.id, r.title) for r in fired if r.kind is syntax.RuleKind.KNOCKOUT]
        reference = proposal.get("reference")
        record = self.screening_record(parties, day) if self.screener is not None else None
        text = summary(scores.band, scores.score, top_label,
                       top.contribution if top else 0.0, knockouts, outcome.decision,
                       floors=[(r.id, r.title, r.at_least or "") for r in outcome.floors],
                       unsettled=[(u.rule.id, u.paths) for u in outcome.unsettled]
                       if outcome.provisional else [])
        if record is not None:
            text += screening_caveat(record)
        return Assessment(
            reference=reference if isinstance(reference, str) else None,
            ruleset={"name": self.name, "version": self.version, "digest": self.digest},
            as_of=day,
            created_at=created,
            scores=scores,
            hits=tuple(hits),
            missing_information=needed_by_path(readings),
            summary=text,
            outcome=outcome,
            screening=record,
        )

    def decider(self, proposal: Mapping[str, Any],
                day: dt.date) -> Callable[[Sequence[syntax.Rule]], tuple[Scores, str]]:
        """For what-if analysis (engine.tooling.whatif): a function giving the scores and the decision
        had exactly `fired` fired on `proposal` (its missing information unchanged)."""
        data = self.enrich(proposal, day)
        _, readings = self._missing.readings(data, day)

        def decide(fired: Sequence[syntax.Rule]) -> tuple[Scores, str]:
            scores = self._score(fired)
            outcome = self._decide(fired, self._band_decisions[scores.band], readings, day)
            return scores, outcome.decision

        return decide

    def screening_record(self, parties: list[dict[str, Any]], day: dt.date) -> dict[str, Any]:
        """The audit record of screening: the lists screened (as of, digest, size, sample,
        stale on `day`), the threshold, and per party its outcome and best candidates."""
        settings = self.spec.screening
        max_age = settings.max_age_days if settings else None
        lists = [w.to_dict(day, max_age) for w in self.watchlists]
        return {
            "threshold": self.screener.threshold,
            "possible_at": min(POSSIBLE_AT, self.screener.threshold),
            "max_age_days": max_age,
            "lists": lists,
            "sample": any(w["sample"] for w in lists),
            "stale": any(w["stale"] for w in lists),
            "parties": parties,
        }

    def missing_information(self, data: Mapping[str, Any],
                            day: dt.date) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """Absent fields that decided some active rule's outcome, with those rules' ids."""
        return self._missing(data, day)

    @property
    def closed(self) -> bool:
        """True once `close` ran: the pack can still describe itself but not assess."""
        return self._matcher is None

    def close(self) -> None:
        """Free the durable_rules ruleset (call when the pack is replaced)."""
        if self._matcher is not None:
            self._matcher.close()
            self._matcher = None


# ---------------------------------------------------------------------------------------------
# loading


def _label(root: Path, path: Path) -> str:
    return str(root / path.relative_to(root))


def load_pack(path: str | Path, *, extra_diagnostics: bool = True) -> Pack:
    """Load, validate and compile the pack in directory `path`. Raises PackError listing every
    error found (warnings are kept on the pack)."""
    root = Path(path)
    sink = DiagnosticSink()
    pack_file = root / PACK_FILE
    if not pack_file.is_file():
        sink.error(Code.UNREADABLE, f"no {PACK_FILE} in {root}", Position(str(pack_file), 1, 1))
        raise PackError(sink.sorted())
    files = [pack_file]
    settings = parse_pack_settings(read_file(pack_file, str(pack_file), sink), str(pack_file),
                                   sink)
    lists: dict[str, syntax.RefList] = {}
    for list_file in sorted((root / "lists").glob("*.yaml")):
        files.append(list_file)
        ref = parse_list(read_file(list_file, _label(root, list_file), sink), list_file.stem,
                         _label(root, list_file), sink)
        if ref is not None:
            lists[ref.name] = ref
    factors: tuple[syntax.Factor, ...] = settings["factors"]  # type: ignore[assignment]
    contract_file = root / CONTRACT_FILE
    contract: Contract | None = None
    if contract_file.is_file():
        files.append(contract_file)
        label = _label(root, contract_file)
        contract = parse_contract(read_file(contract_file, label, sink), label, sink, lists)
    else:
        sink.error(Code.UNREADABLE, f"no {CONTRACT_FILE} in {root}: a pack declares its proposal "
                   "contract", Position(str(contract_file), 1, 1))
    if contract is None:
        raise PackError(sink.sorted())
    parser = RuleParser(sink, factors, lists, contract.root)
    rules: list[syntax.Rule] = []
    for rule_file in sorted(p for p in root.glob("*.yaml") if p.name not in (PACK_FILE, CONTRACT_FILE)):
        files.append(rule_file)
        rules.extend(parser.parse_file(read_file(rule_file, _label(root, rule_file), sink),
                                       _label(root, rule_file)))
    if not rules and not sink.errors:
        sink.error(Code.EMPTY, "the pack has no rules", Position(str(pack_file), 1, 1))
    screening: syntax.ScreeningSettings | None = settings["screening"]  # type: ignore[assignment]
    screener, watchlists = _screener(root, screening, sink, files)
    spec = syntax.PackSpec(
        root=str(root), name=str(settings["name"]), version=str(settings["version"]),
        description=str(settings["description"]), factors=factors,
        bands=settings["bands"],  # type: ignore[arg-type]
        knockout_decision=str(settings["knockout_decision"]), screening=screening,
        lists=lists, rules=tuple(rules), files=tuple(str(f) for f in files),
        incomplete_decision=str(settings["incomplete_decision"]),
        four_eyes=bool(settings["four_eyes"]))
    conditions = normalize_rules(spec.rules)
    compiled = compile_rules(spec.rules, conditions, sink)
    if extra_diagnostics and not sink.errors:
        lint(spec, conditions, sink)
    if sink.errors:
        raise PackError(sink.sorted())
    try:
        return Pack(spec=spec, digest=digest(root, files), diagnostics=tuple(sink.sorted()),
                    compiled=compiled, conditions=conditions, contract=contract,
                    screener=screener, watchlists=watchlists)
    except RulesetRejected as exc:
        _blame_rejected_rules(spec, compiled, sink, exc.detail)
        raise PackError(sink.sorted()) from None


def _blame_rejected_rules(spec: syntax.PackSpec, compiled: CompiledRules, sink: DiagnosticSink,
                          detail: str) -> None:
    """durable_rules refused the whole ruleset: find the rules it refuses on their own, so that
    the author gets positions rather than an opaque engine code."""
    by_id = {r.id: r for r in spec.rules}
    for name, expr in compiled.definitions.items():
        rule = by_id[compiled.names[name]]
        try:
            DurableMatcher({name: expr}, label="probe").close()
        except RulesetRejected as exc:
            sink.error(Code.RULE_TOO_LARGE, f"rule {rule.id} is beyond what the matching core can hold "
                       f"({exc.detail}); split it into smaller rules or shorten its lists",
                       rule.pos)
    if not sink.errors:
        sink.error(Code.RULE_TOO_LARGE, "the matching core refused the pack as a whole (too many rules "
                   f"or alternatives: {detail}); split it", Position(spec.files[0], 1, 1))


INDEX_FORMAT = 6  # bump when the screening index or its state changes shape


def index_cache_dir() -> Path | None:
    """Where compiled screening indexes are cached: $RISKRULES_INDEX_CACHE_DIR, "off" to
    disable, default a directory of this user's own in the temporary directory. A directory
    that another user could write to is never used (its files are trusted as our own)."""
    setting = os.environ.get("RISKRULES_INDEX_CACHE_DIR", "")
    if setting.lower() == "off":
        return None
    path = Path(setting) if setting else \
        Path(tempfile.gettempdir()) / f"riskrules-index-{os.getuid()}"
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = path.stat()
    except OSError:
        return None
    if info.st_uid != os.getuid() or info.st_mode & 0o022:
        return None
    return path


@functools.cache
def _screening_code_digest() -> str:
    """sha256 of the screening package's source: an index built by other matching code (a
    changed word list, normalisation or scorer) is never read back from the cache."""
    h = hashlib.sha256()
    package = Path(screening_package.__file__).parent
    for source in sorted((*package.glob("*.py"), *package.glob("*.c"))):
        h.update(source.name.encode() + b"\0" + source.read_bytes())
    return h.hexdigest()


def _index_key(threshold: float, files: list[tuple[str, bytes]]) -> str:
    h = hashlib.sha256(f"{INDEX_FORMAT}|{_screening_code_digest()}|{sys.version}|"
                       f"{threshold!r}".encode())
    for name, data in files:
        h.update(len(name).to_bytes(4, "big") + name.encode() + hashlib.sha256(data).digest())
    return h.hexdigest()


# Screeners built before gunicorn forks its workers (`warm_screening`), by index key: a
# worker whose pack has the same lists takes the inherited object instead of reading its own
# copy, so the index pages are shared copy-on-write between the workers.
_WARM: dict[str, Any] = {}


def _pack_screening(root: Path, sink: DiagnosticSink) -> tuple[bool, syntax.ScreeningSettings | None]:
    """(whether pack.yaml reads without errors, its screening settings): for the checks made
    before a server forks, which leave every problem of the pack to its load to report."""
    pack_file = root / PACK_FILE
    try:
        settings = parse_pack_settings(read_file(pack_file, str(pack_file), sink),
                                       str(pack_file), sink)
    except Exception:  # the load reports it properly
        return False, None
    screening: syntax.ScreeningSettings | None = settings.get("screening")  # type: ignore[assignment]
    return not sink.errors, screening


def warm_screening(root: str | Path) -> bool:
    """Load the screening index of the pack at `root` into this process before it forks
    (gunicorn's master): workers loading the same lists share it. True when one was loaded;
    any problem is left for the workers' own load to report."""
    root = Path(root)
    sink = DiagnosticSink()
    read, screening = _pack_screening(root, sink)
    if not read or screening is None:
        return False
    screener, _ = _screener(root, screening, sink, [])
    if screener is None or sink.errors:
        return False
    _WARM.clear()
    _WARM[screener.index_key] = screener
    return True


# empty, sample, stale (the last two: production)
LIFECYCLE_REFUSALS = (Code.WATCHLIST_EMPTY, Code.SAMPLE_WATCHLIST_IN_PRODUCTION,
                      Code.STALE_WATCHLIST_IN_PRODUCTION)


def screening_refusals(root: str | Path, *, production: bool = False) -> list[str]:
    """Why the pack at `root` must not serve: an empty watchlist, and under production rules
    (`screening.production: true` in pack.yaml, or `production=True`: `riskrules serve
    --production`) a sample or stale one. Empty when it may serve; other problems of the pack
    are left to its load. The index built or read here is kept for the workers to share
    (`warm_screening`)."""
    root = Path(root)
    sink = DiagnosticSink()
    read, screening = _pack_screening(root, sink)
    if not read:
        return []
    if screening is None:
        return [f"{root / PACK_FILE}: production screening needs watchlists "
                "(screening.watchlists in pack.yaml)"] if production else []
    if production and not screening.production:
        screening = replace(screening, production=True)
    screener, _ = _screener(root, screening, sink, [])
    refusals = [str(d) for d in sink.errors if d.code in LIFECYCLE_REFUSALS]
    if screener is not None and not sink.errors:
        _WARM.clear()
        _WARM[screener.index_key] = screener
    return refusals


def _cached_screener(key: str, cache: Path | None) -> Any:
    from engine.screening.screener import Screener

    warm = _WARM.get(key)
    if warm is not None:
        return warm
    if cache is None:
        return None
    try:
        data = (cache / f"{key}.index").read_bytes()
        # marshal builds only core values, never runs code; the directory is ours alone
        return Screener.from_state(marshal.loads(data))  # noqa: S302
    except (OSError, EOFError, ValueError, TypeError):  # absent, truncated or foreign
        return None


def _store_screener(key: str, cache: Path | None, screener: Any) -> None:
    if cache is None:
        return
    target = cache / f"{key}.index"
    try:
        fd, temporary = tempfile.mkstemp(dir=cache, prefix=".index.", suffix=".tmp")
        with os.fdopen(fd, "wb") as out:
            out.write(marshal.dumps(screener.state()))
        os.replace(temporary, target)
    except (OSError, ValueError):  # a cache is an optimisation: never fail the load for it
        with contextlib.suppress(OSError, UnboundLocalError):
            os.unlink(temporary)


def _screener(root: Path, settings: syntax.ScreeningSettings | None, sink: DiagnosticSink,
              files: list[Path]) -> tuple[Any, tuple[WatchlistInfo, ...]]:
    """The screener of the pack's watchlists, from the index cache when the lists' bytes are
    unchanged (a full-size list parses and indexes in seconds; the cache reads in a fraction
    of that), else built and cached."""
    if settings is None:
        return None, ()
    from engine.screening.screener import Screener
    from engine.screening.watchlists import parse_watchlist

    contents: list[tuple[str, Path, bytes]] = []
    for name in settings.watchlists:
        file = root / name
        try:
            resolved = file.resolve()
            if root.resolve() not in resolved.parents:
                raise ListImportError("a watchlist must live inside the pack directory")
            contents.append((name, file, file.read_bytes()))
        except (ListImportError, OSError) as exc:
            sink.error(Code.WATCHLIST_UNREADABLE, f"watchlist {name}: {exc}", settings.pos)
    cache = index_cache_dir()
    key = _index_key(settings.threshold, [(name, data) for name, _, data in contents])
    screener = _cached_screener(key, cache)
    if screener is None or len(screener.watchlists) != len(contents):
        watchlists = []
        for name, file, data in contents:
            try:
                text = data.decode("utf-8")
                watchlists.append(parse_watchlist(text, str(file)))
            except UnicodeDecodeError as exc:
                sink.error(Code.WATCHLIST_UNREADABLE,
                           f"watchlist {name}: {file}: cannot read watchlist: {exc}",
                           settings.pos)
            except ListImportError as exc:
                if exc.diagnostics:  # readable, but its content is wrong: point into the file
                    sink.items.extend(exc.diagnostics)
                else:
                    sink.error(Code.WATCHLIST_UNREADABLE, f"watchlist {name}: {exc}", settings.pos)
        screener = Screener(watchlists, settings.threshold)
        if len(watchlists) == len(contents):
            _store_screener(key, cache, screener)
    screener.index_key = key
    infos = []
    today = dt.date.today()
    for (name, file, data), watchlist in zip(contents, screener.watchlists, strict=False):
        files.append(file)
        info = WatchlistInfo(watchlist.name, name, watchlist.as_of,
                             "sha256:" + hashlib.sha256(data).hexdigest(),
                             len(watchlist.entries), watchlist.sample)
        infos.append(info)
        _check_watchlist(info, settings, today, sink)
        _check_as_of_quoted(str(file), data, sink)
    return screener, tuple(infos)


# `as_of: 2026-07-01` at the top level of a watchlist, the date without quotes
_UNQUOTED_AS_OF = re.compile(rb"^as_of:[ \t]*(\d{4}-\d{2}-\d{2})[ \t]*(?:#.*)?$", re.MULTILINE)


def _check_as_of_quoted(file: str, data: bytes, sink: DiagnosticSink) -> None:
    """W004 when a watchlist's `as_of` is an unquoted date (read from the bytes, because a
    cached index skips parsing): editors read it as text, PyYAML as a date."""
    found = _UNQUOTED_AS_OF.search(data)
    if found is not None:
        line = data.count(b"\n", 0, found.start()) + 1
        day = found.group(1).decode()
        sink.warning(Code.UNQUOTED_DATE, f"as_of {day} is not quoted: write \"{day}\" so that editors and "
                     "scripts read the same text", Position(file, line, found.start(1) -
                                                           found.start() + 1))


def _check_watchlist(info: WatchlistInfo, settings: syntax.ScreeningSettings, today: dt.date,
                     sink: DiagnosticSink) -> None:
    """Empty lists are errors (screening would clear every name); sample and stale lists are
    warnings, and errors under `production: true`."""
    label = f"watchlist {info.name} ({info.file})"
    if not info.entries:
        sink.error(Code.WATCHLIST_EMPTY, f"{label} has no entries: screening against it would clear every "
                   "name", settings.pos)
    report = sink.error if settings.production else sink.warning
    if info.sample:
        report(Code.SAMPLE_WATCHLIST_IN_PRODUCTION if settings.production else Code.SAMPLE_WATCHLIST,
               f"{label} is sample data (sample: true), not the current list: import it with "
               "riskrules lists import", settings.pos)
    if info.stale(today, settings.max_age_days):
        age = info.age_days(today)
        report(Code.STALE_WATCHLIST_IN_PRODUCTION if settings.production else Code.STALE_WATCHLIST,
               f"{label} is stale: as of {info.as_of or 'an unknown date'}"
               + (f", {age} days old" if age is not None else "")
               + f", past max_age_days {settings.max_age_days}", settings.pos)


def screening_caveat(record: dict[str, Any]) -> str:
    """The sentence the summary adds when screening used a sample or stale list."""
    notes = []
    sample = [w["name"] for w in record["lists"] if w["sample"]]
    stale = [w["name"] for w in record["lists"] if w["stale"]]
    if sample:
        notes.append(f"screening used sample watchlist data ({', '.join(sample)}), not the "
                     "current lists")
    if stale:
        notes.append(f"screening used stale watchlist(s) ({', '.join(stale)})")
    return (" Caution: " + "; ".join(notes) + ".") if notes else ""


def digest(root: Path, files: list[Path]) -> str:
    """sha256 over the pack's canonical content: each scoring file's path relative to the pack
    and its bytes with line endings normalised, in path order. Same files → same digest on
    every host; any edit (comments included) changes it."""
    h = hashlib.sha256()
    for file in sorted(files, key=lambda f: f.relative_to(root).as_posix()):
        data = file.read_bytes().replace(b"\r\n", b"\n")
        rel = file.relative_to(root).as_posix().encode()
        h.update(len(rel).to_bytes(4, "big") + rel + len(data).to_bytes(8, "big") + data)
    return "sha256:" + h.hexdigest()
