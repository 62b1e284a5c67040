"""A loaded rule pack: `load_pack(path)` compiles once; `Pack.assess(proposal)` evaluates many.

Loading parses and validates every file, reports every error at once (PackError), normalises
and compiles the conditions onto one durable_rules ruleset, and computes the digest. After
that, assessing a proposal is: defaults and screening → fact → durable_rules match →
evidence → scores → Assessment.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from engine import ast
from engine.compiler import CompiledRules, compile_rules
from engine.contract import PROPOSAL
from engine.decision import Decider, Outcome, clear_entry
from engine.enrich import Enricher
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
from engine.explain import Evidence, compile_evidence, summary
from engine.facts import FactBuilder
from engine.language import RuleParser, parse_list, parse_pack_settings, read_file
from engine.lint import lint
from engine.matcher import DurableMatcher
from engine.missing import MissingInformation, needed_by_path
from engine.normalize import normalize_rules
from engine.scoring import Scorer, Scores

PACK_FILE = "pack.yaml"


class RuleHit(NamedTuple):
    """A fired rule and the evidence that its condition held."""

    rule: ast.Rule
    evidence: tuple[Evidence, ...]

    def to_dict(self) -> dict[str, Any]:
        r = self.rule
        out = {"rule": r.id, "title": r.title, "kind": r.kind.value, "factor": r.factor,
               "points": _number(r.points), "rationale": r.rationale, "source": r.source,
               "legal_basis": [b.to_dict() for b in r.legal_basis],
               "evidence": [e.to_dict() for e in self.evidence]}
        if r.at_least is not None:
            out["at_least"] = r.at_least
        return out


@dataclass(frozen=True)
class Assessment:
    """The result of scoring one proposal (assessment-v1); `id` is set by whoever stores it."""

    reference: str | None
    ruleset: dict[str, str]
    as_of: dt.date
    created_at: dt.datetime
    scores: Scores
    hits: tuple[RuleHit, ...]
    missing_information: tuple[tuple[str, tuple[str, ...]], ...]
    summary: str
    outcome: Outcome
    id: str | None = None

    @property
    def decision(self) -> str:
        return self.outcome.decision

    @property
    def provisional(self) -> bool:
        return self.outcome.provisional

    @property
    def floors(self) -> list[RuleHit]:
        return [h for h in self.hits if h.rule.kind is ast.RuleKind.RISK
                and h.rule.at_least is not None]

    @property
    def band(self) -> str:
        return self.scores.band

    @property
    def score(self) -> float:
        return self.scores.score

    @property
    def inherent_score(self) -> float:
        return self.scores.inherent

    @property
    def fired(self) -> list[str]:
        return [h.rule.id for h in self.hits]

    @property
    def knockouts(self) -> list[RuleHit]:
        return [h for h in self.hits if h.rule.kind is ast.RuleKind.KNOCKOUT]

    def to_dict(self) -> dict[str, Any]:
        by_factor: dict[str, list[dict[str, Any]]] = {}
        for hit in self.hits:
            by_factor.setdefault(hit.rule.factor, []).append(hit.to_dict())
        return {
            "id": self.id,
            "created_at": self.created_at.isoformat().replace("+00:00", "Z"),
            "reference": self.reference,
            "ruleset": dict(self.ruleset),
            "as_of": self.as_of.isoformat(),
            "inherent_score": self.scores.inherent,
            "score": self.scores.score,
            "band": self.scores.band,
            "decision": self.outcome.decision,
            "knockouts": [h.to_dict() for h in self.knockouts],
            "factors": [
                {"factor": fs.factor.id, "label": fs.factor.label,
                 "weight": _number(fs.factor.weight), "inherent_score": fs.inherent,
                 "score": fs.score, "contribution": fs.contribution,
                 "rules": by_factor.get(fs.factor.id, [])}
                for fs in self.scores.factors
            ],
            "missing_information": [{"path": p, "rules": list(r)}
                                    for p, r in self.missing_information],
            "summary": self.summary,
            "band_decision": self.outcome.band_decision,
            "floors": [h.to_dict() for h in self.floors],
            "provisional": self.outcome.provisional,
            "unsettled": [u.to_dict() for u in self.outcome.unsettled],
            "checked_clear": [clear_entry(r) for r in self.outcome.checked_clear],
        }


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


@dataclass
class Pack:
    """A compiled rule pack. Thread-safe: matching is serialised inside the matcher."""

    spec: ast.PackSpec
    digest: str
    diagnostics: tuple[Diagnostic, ...]
    compiled: CompiledRules
    conditions: dict[str, ast.Condition]
    screener: Any = None
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
        self._missing = MissingInformation(self.spec.rules, PROPOSAL)
        self._enrich = Enricher(PROPOSAL, self.screener)
        self._score = Scorer(self.spec.factors, self.spec.bands, self.spec.knockout_decision,
                             self.spec.rules)
        self._decide = Decider(self.spec.rules, self.spec.knockout_decision,
                               self.spec.incomplete_decision)
        self._band_decisions = {b.name: b.decision for b in self.spec.bands}

    # -- description ------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def version(self) -> str:
        return self.spec.version

    @property
    def factors(self) -> tuple[ast.Factor, ...]:
        return self.spec.factors

    @property
    def bands(self) -> tuple[ast.Band, ...]:
        return self.spec.bands

    @property
    def rules(self) -> tuple[ast.Rule, ...]:
        return self.spec.rules

    @property
    def four_eyes(self) -> bool:
        """review.four_eyes of pack.yaml: approving an escalated or rejected deal takes two
        different reviewers."""
        return self.spec.four_eyes

    @property
    def lists(self) -> dict[str, ast.RefList]:
        return self.spec.lists

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity is Severity.WARNING]

    def rule(self, rule_id: str) -> ast.Rule | None:
        return self._rules_by_id.get(rule_id)

    # -- evaluation -------------------------------------------------------------------------
    def enrich(self, proposal: Mapping[str, Any]) -> dict[str, Any]:
        """The proposal with contract defaults applied and every party screened."""
        return self._enrich(proposal)

    def match(self, enriched: Mapping[str, Any], day: dt.date) -> list[str]:
        """Ids of the rules durable_rules fires for an enriched proposal, in declared order."""
        if self._matcher is None:
            raise EngineError("the rule pack was closed")
        names = self._matcher.match(self._facts(enriched, day))
        return [rid for _, rid in sorted({self._fired_order[n] for n in names})]

    def assess(self, proposal: Mapping[str, Any], as_of: dt.date | None = None,
               created_at: dt.datetime | None = None) -> Assessment:
        """Score one proposal (already validated against the proposal contract)."""
        created = created_at or dt.datetime.now(dt.UTC).replace(microsecond=0)
        day = as_of or created.date()
        data = self.enrich(proposal)
        hits = []
        for rule_id in self.match(data, day):
            rule = self._rules_by_id[rule_id]
            found = self._evidence[rule_id](data, "")
            if found is None:
                raise EngineError(f"durable_rules fired {rule_id} but its condition does not "
                                  "hold on the proposal: refusing an unexplained assessment")
            hits.append(RuleHit(rule, tuple(found)))
        fired = [h.rule for h in hits]
        scores = self._score(fired)
        _, readings = self._missing.readings(data, day)
        outcome = self._decide(fired, self._band_decisions[scores.band], readings, day)
        top = max(scores.factors, key=lambda f: f.contribution, default=None)
        top_label = top.factor.label if top and top.contribution > 0 else None
        knockouts = [(r.id, r.title) for r in fired if r.kind is ast.RuleKind.KNOCKOUT]
        reference = proposal.get("reference")
        return Assessment(
            reference=reference if isinstance(reference, str) else None,
            ruleset={"name": self.name, "version": self.version, "digest": self.digest},
            as_of=day,
            created_at=created,
            scores=scores,
            hits=tuple(hits),
            missing_information=needed_by_path(readings),
            summary=summary(scores.band, scores.score, top_label,
                            top.contribution if top else 0.0, knockouts, outcome.decision,
                            floors=[(r.id, r.title, r.at_least or "") for r in outcome.floors],
                            unsettled=[(u.rule.id, u.paths) for u in outcome.unsettled]
                            if outcome.provisional else []),
            outcome=outcome,
        )

    def decider(self, proposal: Mapping[str, Any],
                day: dt.date) -> Callable[[Sequence[ast.Rule]], tuple[Scores, str]]:
        """For what-if analysis (engine.whatif): a function giving the scores and the decision
        had exactly `fired` fired on `proposal` (its missing information unchanged)."""
        data = self.enrich(proposal)
        _, readings = self._missing.readings(data, day)

        def decide(fired: Sequence[ast.Rule]) -> tuple[Scores, str]:
            scores = self._score(fired)
            outcome = self._decide(fired, self._band_decisions[scores.band], readings, day)
            return scores, outcome.decision

        return decide

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
        sink.error("E001", f"no {PACK_FILE} in {root}", Position(str(pack_file), 1, 1))
        raise PackError(sink.sorted())
    files = [pack_file]
    settings = parse_pack_settings(read_file(pack_file, str(pack_file), sink), str(pack_file),
                                   sink)
    lists: dict[str, ast.RefList] = {}
    for list_file in sorted((root / "lists").glob("*.yaml")):
        files.append(list_file)
        ref = parse_list(read_file(list_file, _label(root, list_file), sink), list_file.stem,
                         _label(root, list_file), sink)
        if ref is not None:
            lists[ref.name] = ref
    factors: tuple[ast.Factor, ...] = settings["factors"]  # type: ignore[assignment]
    parser = RuleParser(sink, factors, lists)
    rules: list[ast.Rule] = []
    for rule_file in sorted(p for p in root.glob("*.yaml") if p.name != PACK_FILE):
        files.append(rule_file)
        rules.extend(parser.parse_file(read_file(rule_file, _label(root, rule_file), sink),
                                       _label(root, rule_file)))
    if not rules and not sink.errors:
        sink.error("E017", "the pack has no rules", Position(str(pack_file), 1, 1))
    screening: ast.ScreeningSettings | None = settings["screening"]  # type: ignore[assignment]
    screener = _screener(root, screening, sink, files)
    spec = ast.PackSpec(
        root=str(root), name=str(settings["name"]), version=str(settings["version"]),
        description=str(settings["description"]), factors=factors,
        bands=settings["bands"],  # type: ignore[arg-type]
        knockout_decision=str(settings["knockout_decision"]), screening=screening,
        lists=lists, rules=tuple(rules), files=tuple(str(f) for f in files),
        incomplete_decision=str(settings["incomplete_decision"]),
        four_eyes=bool(settings["four_eyes"]))
    conditions = normalize_rules(spec.rules, sink)
    compiled = compile_rules(spec.rules, conditions, sink)
    if extra_diagnostics and not sink.errors:
        lint(spec, conditions, sink)
    if sink.errors:
        raise PackError(sink.sorted())
    try:
        return Pack(spec=spec, digest=digest(root, files), diagnostics=tuple(sink.sorted()),
                    compiled=compiled, conditions=conditions, screener=screener)
    except RulesetRejected:
        _blame_rejected_rules(spec, compiled, sink)
        raise PackError(sink.sorted()) from None


def _blame_rejected_rules(spec: ast.PackSpec, compiled: CompiledRules, sink: DiagnosticSink) -> None:
    """durable_rules refused the whole ruleset: find the rules it refuses on their own, so that
    the author gets positions rather than an opaque engine code."""
    by_id = {r.id: r for r in spec.rules}
    for name, expr in compiled.definitions.items():
        rule = by_id[compiled.names[name]]
        try:
            DurableMatcher({name: expr}, label="probe").close()
        except RulesetRejected as exc:
            sink.error("E022", f"rule {rule.id} is beyond what the matching core can hold "
                       f"({exc.detail}); split it into smaller rules or shorten its lists",
                       rule.pos)
    if not sink.errors:
        sink.error("E022", "the matching core refused the pack as a whole (too many rules "
                   "or alternatives); split it", Position(spec.files[0], 1, 1))


def _screener(root: Path, settings: ast.ScreeningSettings | None, sink: DiagnosticSink,
              files: list[Path]) -> Any:
    if settings is None:
        return None
    from engine.screening import Screener
    from engine.watchlists import load_watchlist

    watchlists = []
    for name in settings.watchlists:
        file = root / name
        try:
            resolved = file.resolve()
            if root.resolve() not in resolved.parents:
                raise ListImportError("a watchlist must live inside the pack directory")
            watchlists.append(load_watchlist(file))
            files.append(file)
        except ListImportError as exc:
            if exc.diagnostics:  # readable, but its content is wrong: point into the file
                sink.items.extend(exc.diagnostics)
            else:
                sink.error("E040", f"watchlist {name}: {exc}", settings.pos)
        except OSError as exc:
            sink.error("E040", f"watchlist {name}: {exc}", settings.pos)
    return Screener(watchlists, settings.threshold)


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
