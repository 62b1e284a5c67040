"""Impact analysis: score one corpus under a base and a head pack and report what changes
(the report itself: engine.tooling.impactreport).

This is what `riskrules diff` computes; rendering belongs to the CLI. The scoring fans out to
worker processes started with `spawn`: durable_rules keeps its state in the C extension of
each process, so a process must never be forked once a pack is loaded, and every worker
loads both packs itself. Outcomes come back in corpus order whatever the number of workers,
so the report is the same for 1 or N workers (apart from `timing`).
"""

from __future__ import annotations

import atexit
import datetime as dt
import itertools
import multiprocessing
import statistics
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from engine.errors import EngineError, PackError, ProposalError, RiskrulesError
from engine.language.syntax import DECISIONS
from engine.pack import Pack, load_pack
from engine.tooling.impactreport import (
    ChangedProposal,
    Failure,
    ImpactReport,
    Matrix,
    Outcome,
    PackInfo,
    RuleCount,
    RuleDifference,
    ScoreChange,
    ScoreDeltas,
    Side,
    Timing,
    cents,
    pack_changes,
)

DEFAULT_CHUNK = 50
# Chunks in flight per worker: enough to keep every worker busy while the main process reads
# the corpus, few enough that a large corpus is never held in memory at once.
_WINDOW_PER_WORKER = 3

Validator = Callable[[Any], object]


class ProposalSource(Protocol):
    """One corpus item (cli.common.ProposalInput fits): where it came from and its JSON."""

    @property
    def origin(self) -> str: ...

    @property
    def data(self) -> Any: ...


# ---------------------------------------------------------------------------------------------
# scoring one chunk (in this process or in a worker)


def label_of(data: Any, origin: str) -> str:
    """How a proposal is named in the report: its reference, else its title, else its origin."""
    if isinstance(data, Mapping):
        for key in ("reference", "title"):
            value = data.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
    return origin


class _Scorer:
    """Scores proposals under both packs; one per process."""

    def __init__(self, base: Pack, head: Pack, as_of: dt.date,
                 validate: Validator | None) -> None:
        self.base, self.head, self.as_of, self.validate = base, head, as_of, validate

    def score(self, chunk: Sequence[tuple[int, str, Any]]) -> list[Outcome]:
        return [self._one(index, origin, data) for index, origin, data in chunk]

    def _one(self, index: int, origin: str, data: Any) -> Outcome:
        label = label_of(data, origin)
        try:
            (self.validate or self.head.validate)(data)
            if not isinstance(data, Mapping):
                raise ProposalError((), "a proposal must be a JSON object")
        except ProposalError as exc:
            messages = tuple(f"{e.path or '<proposal>'}: {e.message}" for e in exc.errors)
            return Outcome(index, origin, label, error="invalid",
                           messages=messages or (exc.detail,))
        try:
            base = self.base.assess(data, as_of=self.as_of, validate=False)
            head = self.head.assess(data, as_of=self.as_of, validate=False)
        except RiskrulesError as exc:
            return Outcome(index, origin, label, error="engine",
                           messages=(f"{exc.code} {exc.detail}",))
        except Exception as exc:  # one bad proposal must not sink a whole corpus
            return Outcome(index, origin, label, error="engine",
                           messages=(f"internal error: {type(exc).__name__}: {exc}",))
        return Outcome(index, origin, label,
                       base=Side(base.decision, base.band, base.score, tuple(base.fired)),
                       head=Side(head.decision, head.band, head.score, tuple(head.fired)))


_WORKER: dict[str, Any] = {}


def _init_worker(base_root: str, head_root: str, digests: tuple[str, str], as_of: dt.date,
                 validate: Validator | None) -> None:
    """Worker initializer: remember what to load; loading happens on the first chunk so that
    a failure reaches the parent as an exception rather than as a broken pool."""
    _WORKER.update(roots=(base_root, head_root), digests=digests, as_of=as_of,
                   validate=validate, scorer=None)


def _worker_scorer() -> _Scorer:
    scorer = _WORKER.get("scorer")
    if isinstance(scorer, _Scorer):
        return scorer
    packs = []
    for root, expected in zip(_WORKER["roots"], _WORKER["digests"], strict=True):
        try:
            pack = load_pack(root, extra_diagnostics=False)
        except PackError as exc:  # re-raised as EngineError: PackError does not unpickle
            raise EngineError(f"the pack in {root} no longer loads: {exc.detail}") from None
        if pack.digest != expected:
            raise EngineError(f"the pack in {root} changed on disk while the diff was running")
        atexit.register(pack.close)
        packs.append(pack)
    scorer = _Scorer(packs[0], packs[1], _WORKER["as_of"], _WORKER["validate"])
    _WORKER["scorer"] = scorer
    return scorer


def _score_chunk(chunk: list[tuple[int, str, Any]]) -> list[Outcome]:
    return _worker_scorer().score(chunk)


def _chunks(proposals: Iterable[ProposalSource],
            size: int) -> Iterator[list[tuple[int, str, Any]]]:
    numbered = ((i, p.origin, p.data) for i, p in enumerate(proposals))
    while chunk := list(itertools.islice(numbered, size)):
        yield chunk


def _plan(proposals: Iterable[ProposalSource], workers: int,
          chunk_size: int) -> tuple[int, Iterator[list[tuple[int, str, Any]]]]:
    """The number of worker processes worth starting, and the chunks. A corpus that fits in
    one chunk is scored here: a pool would give that one chunk to one worker anyway, after
    paying a second of start-up."""
    chunks = _chunks(proposals, chunk_size)
    if workers <= 1:
        return 1, chunks
    head = list(itertools.islice(chunks, 2))
    return (workers if len(head) > 1 else 1), itertools.chain(head, chunks)


def _outcomes(base: Pack, head: Pack, chunks: Iterator[list[tuple[int, str, Any]]],
              as_of: dt.date, workers: int,
              validate: Validator | None) -> Iterator[list[Outcome]]:
    """Outcome chunks in corpus order, scored here (1 worker) or by a spawned pool."""
    if workers <= 1:
        scorer = _Scorer(base, head, as_of, validate)
        for chunk in chunks:
            yield scorer.score(chunk)
        return
    roots = (str(Path(base.spec.root).resolve()), str(Path(head.spec.root).resolve()))
    context = multiprocessing.get_context("spawn")
    executor = ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_init_worker,
        initargs=(roots[0], roots[1], (base.digest, head.digest), as_of, validate))
    pending: deque[Future[list[Outcome]]] = deque()
    try:
        for chunk in chunks:
            pending.append(executor.submit(_score_chunk, chunk))
            if len(pending) >= workers * _WINDOW_PER_WORKER:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    except BrokenProcessPool as exc:
        raise EngineError(f"a diff worker process died: {exc}") from exc
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


# ---------------------------------------------------------------------------------------------
# aggregation


@dataclass
class _Tally:
    base: Pack
    head: Pack
    total: int = 0
    decisions: Counter[tuple[str, str]] = field(default_factory=Counter)
    bands: Counter[tuple[str, str]] = field(default_factory=Counter)
    deltas: list[Decimal] = field(default_factory=list)
    base_fires: Counter[str] = field(default_factory=Counter)
    head_fires: Counter[str] = field(default_factory=Counter)
    changed: list[ChangedProposal] = field(default_factory=list)
    score_changes: list[ScoreChange] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)

    def add(self, outcome: Outcome) -> None:
        self.total += 1
        if outcome.base is None or outcome.head is None:
            self.failures.append(Failure(outcome.index, outcome.origin, outcome.label,
                                         outcome.error or "engine", outcome.messages))
            return
        b, h = outcome.base, outcome.head
        self.decisions[b.decision, h.decision] += 1
        self.bands[b.band, h.band] += 1
        delta = cents(h.score) - cents(b.score)
        self.deltas.append(delta)
        if delta != 0:
            self.score_changes.append(ScoreChange(outcome.index, outcome.origin, outcome.label,
                                                  b, h))
        self.base_fires.update(b.fired)
        self.head_fires.update(h.fired)
        if b.decision != h.decision:
            self.changed.append(ChangedProposal(outcome.index, outcome.origin, outcome.label,
                                                b, h, self._differences(b, h)))

    def _differences(self, b: Side, h: Side) -> tuple[RuleDifference, ...]:
        out = []
        base_set, head_set = set(b.fired), set(h.fired)
        for rule_id in [*h.fired, *(r for r in b.fired if r not in head_set)]:
            old, new = self.base.rule(rule_id), self.head.rule(rule_id)
            known = new or old
            title = known.title if known is not None else rule_id
            if rule_id not in head_set:
                out.append(RuleDifference(rule_id, title, "base_only",
                                          old.points if old else None, None))
            elif rule_id not in base_set:
                out.append(RuleDifference(rule_id, title, "head_only", None,
                                          new.points if new else None))
            elif old is not None and new is not None and old.points != new.points:
                out.append(RuleDifference(rule_id, title, "points", old.points, new.points))
        return tuple(out)

    def rule_counts(self) -> tuple[RuleCount, ...]:
        base_rules = {r.id: r for r in self.base.rules}
        head_rules = {r.id: r for r in self.head.rules}
        out = []
        for rule in self.head.rules:
            old = base_rules.get(rule.id)
            if old is None:
                out.append(RuleCount(rule.id, rule.title, "added", None,
                                     self.head_fires[rule.id], None, rule.points))
            elif self.base_fires[rule.id] != self.head_fires[rule.id]:
                out.append(RuleCount(rule.id, rule.title, "changed", self.base_fires[rule.id],
                                     self.head_fires[rule.id], old.points, rule.points))
        for rule in self.base.rules:
            if rule.id not in head_rules:
                out.append(RuleCount(rule.id, rule.title, "removed", self.base_fires[rule.id],
                                     None, rule.points, None))
        return tuple(out)

    def score_deltas(self) -> ScoreDeltas:
        d = self.deltas
        if not d:
            return ScoreDeltas(None, None, None, 0, 0, 0)
        return ScoreDeltas(float(min(d)), float(statistics.median(d)), float(max(d)),
                           sum(1 for x in d if x > 0), sum(1 for x in d if x < 0),
                           sum(1 for x in d if x == 0))


def _decision_labels() -> tuple[str, ...]:
    return tuple(DECISIONS)


def _band_labels(base: Pack, head: Pack) -> tuple[str, ...]:
    names = [b.name for b in base.bands]
    names += [b.name for b in head.bands if b.name not in names]
    return tuple(names)


def pack_info(pack: Pack, source: str | None = None) -> PackInfo:
    return PackInfo(source or pack.spec.root, pack.name, pack.version, pack.digest,
                    len(pack.rules))


def compare(base: Pack, head: Pack, proposals: Iterable[ProposalSource], *, as_of: dt.date,
            workers: int = 1, validate: Validator | None = None,
            progress: Callable[[int], None] | None = None, chunk_size: int = DEFAULT_CHUNK,
            base_source: str | None = None, head_source: str | None = None) -> ImpactReport:
    """Score every proposal under `base` and `head` (same `as_of`) and report the differences.

    Proposals are validated against the head pack's contract (or by `validate`, a
    module-level function so that workers can unpickle it, raising ProposalError); those
    that fail, and those the engine fails on, are listed in `failures` rather than raised.
    With `workers` > 1 each worker process loads both packs from their directories (which
    must stay in place until this returns); a corpus that fits in one chunk is scored in this process whatever
    `workers` says (`timing.workers` tells). `progress(done)` is called after every chunk.
    ValueError raised while iterating `proposals` (unreadable corpus) propagates.
    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    tally = _Tally(base, head)
    started = time.perf_counter()
    used, chunks = _plan(proposals, workers, chunk_size)
    for chunk in _outcomes(base, head, chunks, as_of, used, validate):
        for outcome in chunk:
            tally.add(outcome)
        if progress is not None:
            progress(tally.total)
    seconds = time.perf_counter() - started
    return ImpactReport(
        base=pack_info(base, base_source), head=pack_info(head, head_source), as_of=as_of,
        total=tally.total,
        decisions=Matrix(_decision_labels(), dict(tally.decisions)),
        bands=Matrix(_band_labels(base, head), dict(tally.bands)),
        scores=tally.score_deltas(), rules=tally.rule_counts(),
        changed=tuple(tally.changed), score_changes=tuple(tally.score_changes),
        failures=tuple(tally.failures),
        pack_changes=pack_changes(base, head),
        timing=Timing(used, seconds, tally.total))
