"""The services between HTTP and the engine: the pack a worker serves, and the assessments.

`PackService` owns what serving a pack means beyond the engine's one holder
(`engine.holder.PackHolder`): the first load with the master's last good copy as fallback,
reloads, and what /readyz reports (why no pack loaded, which fallback is served).
`AssessmentService` scores, stores, reads back and lists assessments and records their
dispositions; the API's views, the workbench and `riskrules export` call it.

Typed end to end: a proposal goes in, the engine's `Assessment` comes out with the id this
service gives it, and the store's records (`NewAssessment`, `StoredAssessment`, `Disposition`)
are written and read. Nothing here knows a request, a header or a status: failures are
exception types (the engine's, the store's, api/errors.py's), which api/errors.py alone maps
to HTTP statuses.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import secrets
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from api import dispositions
from api.errors import IdempotencyConflict, InvalidQuery, NotFound, NotReady
from api.errors import problem_document as _problem_document
from api.metrics import Metrics
from api.schemas import validate_proposal
from api.store import (
    MAX_SEQ,
    Disposition,
    DuplicateIdempotencyKey,
    Filters,
    NewAssessment,
    NewBatch,
    Store,
    StoredAssessment,
    StoredBatch,
    StoreUnavailable,
)
from engine.assessment import Assessment
from engine.errors import FieldError, NoPack, ProposalError, RiskrulesError
from engine.holder import Lease, PackHolder
from engine.pack import Pack
from engine.timefmt import rfc3339, utc_now_seconds

log = logging.getLogger("riskrules.api")

NOT_READY = "no valid rule pack is loaded; see the server log and /readyz"


def dumps(value: Any) -> str:
    """The one JSON serialisation of responses and stored documents (compact, UTF-8, ordered)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def new_assessment_id() -> str:
    """A UUIDv7-style id: time-ordered (index-friendly), 74 random bits (unguessable)."""
    millis = int(time.time() * 1000) & ((1 << 48) - 1)
    rand = secrets.randbits(74)
    value = (millis << 80) | (0x7 << 76) | ((rand >> 62) << 64) | (0b10 << 62) | (
        rand & ((1 << 62) - 1))
    return str(uuid.UUID(int=value))


def encode_cursor(seq: int) -> str:
    """An opaque cursor: clients must not build or parse it."""
    raw = json.dumps({"v": 1, "before": seq}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The `before` of a cursor `encode_cursor` made; InvalidQuery for anything else. Every
    field is bounded: exactly {v: 1, before: 1 .. MAX_SEQ}, so no value can overflow a
    database integer (2^63 did: 500 on SQLite, 503 on PostgreSQL)."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.b64decode(padded.encode(), altchars=b"-_", validate=True))
        if not isinstance(data, dict) or set(data) != {"v", "before"}:
            raise ValueError(cursor)
        seq = data["before"]
        if (data["v"] != 1 or isinstance(data["v"], bool) or not isinstance(seq, int)
                or isinstance(seq, bool) or not 1 <= seq <= MAX_SEQ):
            raise ValueError(cursor)
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error, RecursionError):
        raise InvalidQuery("invalid cursor",
                           errors=[FieldError("cursor", "not a cursor this server issued")]
                           ) from None
    return seq


def loaded_at(lease: Lease[Pack]) -> str:
    """When the leased pack was installed, as the ruleset document shows it."""
    return rfc3339(lease.installed_at, "milliseconds")


class PackService:
    """The pack one worker serves: `holder` is the engine's, `rules_dir` the source of every
    (re)load. Thread-safe (the holder is)."""

    def __init__(self, holder: PackHolder[Pack], rules_dir: str, metrics: Metrics) -> None:
        self.holder = holder
        self.rules_dir = rules_dir
        self.metrics = metrics
        self.load_error: Exception | None = None  # why no pack is loaded (for /readyz)
        self.fallback_note: str | None = None  # set when serving the master's last good copy

    @property
    def loaded(self) -> bool:
        return self.holder.installed() is not None

    def installed(self) -> Lease[Pack] | None:
        """The current pack, unleased (metadata only: name, digest, rules), None without one."""
        return self.holder.installed()

    def require(self) -> Lease[Pack]:
        """`installed`, or NotReady (503) when no pack is loaded."""
        lease = self.holder.installed()
        if lease is None:
            raise NotReady(NOT_READY)
        return lease

    @contextmanager
    def lease(self) -> Iterator[Lease[Pack]]:
        """Hold the current pack for one evaluation (or batch); NotReady when none is loaded."""
        with ExitStack() as stack:
            try:
                lease = stack.enter_context(self.holder.current())
            except NoPack:
                raise NotReady(NOT_READY) from None
            yield lease

    def start(self, fallback: Path | None = None) -> None:
        """Load at start; a failure is remembered (readyz says 503) instead of raised.

        With `fallback` (the last good copy the gunicorn master keeps, see api.guard), a pack
        that does not load is replaced by that copy: the worker serves the last good pack, and
        /readyz says so in its warnings. `rules_dir` stays the source of later reloads.
        """
        try:
            self.holder.load(self.rules_dir)
            self.load_error = None
        except Exception as error:
            self.load_error = error
            log.error("rule pack at %s did not load: %s", self.rules_dir, error)
            if fallback is not None:
                self._serve_fallback(fallback)
        lease = self.holder.installed()
        if lease is not None:
            self.metrics.set_ruleset(lease.pack.name, lease.pack.version, lease.pack.digest)

    def _serve_fallback(self, fallback: Path) -> None:
        try:
            lease = self.holder.load(fallback)
        except Exception as error:
            log.error("the last good pack at %s did not load either: %s", fallback, error)
            return
        self.fallback_note = (f"rule pack at {self.rules_dir} does not load ({self.load_error}); "
                              f"serving the last good pack {lease.pack.digest}")
        self.load_error = None
        log.error("%s", self.fallback_note, extra={"event": "pack_fallback",
                                                   "digest": lease.pack.digest})

    def reload(self) -> tuple[str | None, Lease[Pack]]:
        """Load the pack from `rules_dir` and swap it in; a failure (PackError) leaves the old
        pack serving. Returns the previous pack's digest and the new pack's lease."""
        previous = self.holder.installed()
        previous_digest = None if previous is None else previous.pack.digest
        try:
            lease = self.holder.load(self.rules_dir)
        except Exception:  # PackError (answered 422 with diagnostics) or anything unexpected
            self.metrics.reloads.labels("failure").inc()
            raise
        self.load_error = None
        self.fallback_note = None
        self.metrics.reloads.labels("success").inc()
        self.metrics.set_ruleset(lease.pack.name, lease.pack.version, lease.pack.digest)
        log.info("rule pack reloaded", extra={"digest": lease.pack.digest,
                                              "previous_digest": previous_digest})
        return previous_digest, lease

    def four_eyes(self) -> bool:
        """The loaded pack's `review.four_eyes`. With no pack loaded (the service started on a
        pack that does not load) the setting is unknown, so four eyes apply: a control must not
        switch itself off because a rule file is broken."""
        lease = self.holder.installed()
        return lease is None or lease.pack.four_eyes

    def close(self) -> None:
        self.holder.close()


@dataclass(frozen=True)
class Submission:
    """Who submits (the API key's id) and, for an idempotent request, its Idempotency-Key and
    the canonical hash of its body (both None otherwise)."""

    key_id: str
    idempotency_key: str | None = None
    body_hash: str | None = None


@dataclass(frozen=True)
class Created:
    """A stored assessment, new or replayed: its id and its exact JSON document."""

    id: str
    document_json: str
    replayed: bool = False


@dataclass(frozen=True)
class BatchOutcome:
    """A batch's answer (`{"results": [...]}`, byte for byte) and the assessments it stored."""

    results_json: str
    ids: list[str]
    replayed: bool = False


@dataclass(frozen=True)
class Page:
    """One page of the listing, newest first, with each assessment's dispositions."""

    rows: list[StoredAssessment]
    dispositions: dict[str, list[Disposition]]
    next_cursor: str | None


class AssessmentRecords:
    """The reading side: stored assessments and their dispositions (no pack needed, so that
    `riskrules export` runs without one)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def get(self, assessment_id: str, owner: str | None = None) -> StoredAssessment:
        """A stored assessment; NotFound when there is none, or when `owner` (a key id) is set
        and another key created it (its existence is not disclosed)."""
        stored = self.store.get(assessment_id) if _lookup_id(assessment_id) else None
        if stored is None or (owner is not None and stored.api_key_id != owner):
            raise NotFound(f"no assessment with id {assessment_id!r}")
        return stored

    def dispositions_of(self, stored: StoredAssessment) -> list[Disposition]:
        """Every disposition of an assessment, newest first."""
        return self.store.dispositions_of([stored.id]).get(stored.id, [])

    def count_by_decision(self, filters: Filters) -> dict[str, int]:
        """How many stored assessments match `filters`, per decision (the workbench's tabs)."""
        return self.store.count_by_decision(filters)

    def each(self, filters: Filters) -> Iterator[StoredAssessment]:
        """Every stored assessment matching `filters`, oldest first, without dispositions."""
        return self.store.iter_all(filters)

    def page(self, filters: Filters, limit: int, cursor: str | None = None,
             max_bytes: int | None = None) -> Page:
        """One page of the listing, newest first (InvalidQuery for a cursor not issued here)."""
        before = decode_cursor(cursor) if cursor is not None else None
        rows, next_before = self.store.page(filters, limit, before, max_bytes=max_bytes)
        return Page(rows, self.store.dispositions_of([row.id for row in rows]),
                    None if next_before is None else encode_cursor(next_before))

    def export(self, filters: Filters,
               batch: int = 500) -> Iterator[tuple[StoredAssessment, list[Disposition]]]:
        """Every stored assessment matching `filters`, oldest first, with its dispositions
        (oldest first), read `batch` at a time (`riskrules export`)."""
        pending: list[StoredAssessment] = []

        def flush() -> Iterator[tuple[StoredAssessment, list[Disposition]]]:
            found = self.store.dispositions_of([row.id for row in pending])
            for row in pending:
                yield row, list(reversed(found.get(row.id, [])))
            pending.clear()

        for row in self.store.iter_all(filters, batch=batch):
            pending.append(row)
            if len(pending) >= batch:
                yield from flush()
        yield from flush()


class AssessmentService(AssessmentRecords):
    """Score, store, read back and list assessments; record their dispositions."""

    def __init__(self, store: Store, packs: PackService, metrics: Metrics) -> None:
        super().__init__(store)
        self.packs = packs
        self.metrics = metrics

    # -- scoring -------------------------------------------------------------------------------
    @staticmethod
    def assess(pack: Pack, proposal: dict[str, Any],
               submission: Submission) -> tuple[Assessment, NewAssessment]:
        """Score one validated proposal: the assessment, with its id, and the record to store
        (its `assessment_json` is the exact response body)."""
        created = utc_now_seconds()
        assessment = replace(pack.assess(proposal, created_at=created, validate=False),
                             id=new_assessment_id())
        record = NewAssessment(
            id=str(assessment.id), created_at=created, reference=assessment.reference,
            decision=assessment.decision, band=assessment.band, score=assessment.score,
            pack_name=pack.name, pack_version=pack.version, pack_digest=pack.digest,
            api_key_id=submission.key_id, idempotency_key=submission.idempotency_key,
            body_hash=submission.body_hash, proposal_json=dumps(proposal),
            assessment_json=dumps(assessment.to_dict()), provisional=assessment.provisional)
        return assessment, record

    def replay(self, submission: Submission) -> Created | None:
        """The assessment stored under this submission's Idempotency-Key (IdempotencyConflict
        when it came with another body), or None."""
        if submission.idempotency_key is None:
            return None
        stored = self.store.find_idempotent(submission.key_id, submission.idempotency_key)
        if stored is None:
            return None
        if stored.body_hash != submission.body_hash:
            raise IdempotencyConflict("this Idempotency-Key was used with a different body; "
                                      "use a new key for a new proposal")
        return Created(stored.id, stored.assessment_json, replayed=True)

    def create(self, proposal: Any, submission: Submission) -> Created:
        """Validate (ProposalError), score and store one proposal; the record is committed
        before this returns. A concurrent request with the same Idempotency-Key that stored
        first is answered with its record."""
        with self.packs.lease() as lease:
            validate_proposal(proposal, lease.pack)
            assessment, record = self.assess(lease.pack, proposal, submission)
        try:
            self.store.insert([record])
        except DuplicateIdempotencyKey:
            found = self.replay(submission)
            if found is None:
                raise
            return found
        self.metrics.observe_assessment(assessment)
        return Created(record.id, record.assessment_json)

    def replay_batch(self, submission: Submission) -> BatchOutcome | None:
        """The answer an idempotent batch got the first time, rebuilt byte for byte from what
        was stored (IdempotencyConflict when the key came with another batch), or None."""
        if submission.idempotency_key is None:
            return None
        stored = self.store.find_idempotent_batch(submission.key_id, submission.idempotency_key)
        if stored is None:
            return None
        if stored.body_hash != submission.body_hash:
            raise IdempotencyConflict("this Idempotency-Key was used with a different batch; "
                                      "use a new key for a new batch")
        return _replayed_batch(stored)

    def create_batch(self, proposals: Sequence[Any], submission: Submission,
                     instance: str) -> BatchOutcome:
        """Score every proposal on one pack and store the valid ones in one transaction; a
        proposal that fails gets its problem document in its place (`instance#/proposals/i`)."""
        results: list[str] = []
        plan: list[Any] = []  # per proposal: the assessment's id, or its problem document
        records: list[NewAssessment] = []
        scored: list[Assessment] = []
        item = Submission(submission.key_id)  # the batch, not each item, is idempotent
        with self.packs.lease() as lease:
            for index, proposal in enumerate(proposals):
                try:
                    validate_proposal(proposal, lease.pack)
                    assessment, record = self.assess(lease.pack, proposal, item)
                except RiskrulesError as error:
                    problem = _item_problem(error, proposal, index, instance)
                    results.append(dumps(problem))
                    plan.append(problem)
                    continue
                records.append(record)
                scored.append(assessment)
                results.append(record.assessment_json)
                plan.append(record.id)
        batch = None
        if submission.idempotency_key is not None and submission.body_hash is not None:
            batch = NewBatch(created_at=utc_now_seconds(), api_key_id=submission.key_id,
                             idempotency_key=submission.idempotency_key,
                             body_hash=submission.body_hash, results_json=dumps(plan))
        try:
            self.store.insert(records, batch)
        except DuplicateIdempotencyKey:
            # A concurrent batch with the same key won the race; nothing of this one was stored.
            found = self.replay_batch(submission)
            if found is None:
                raise
            return found
        for assessment in scored:
            self.metrics.observe_assessment(assessment)
        return BatchOutcome('{"results":[' + ",".join(results) + "]}", [r.id for r in records])

    def what_if(self, stored: StoredAssessment) -> dict[str, Any]:
        """engine.tooling.whatif under the loaded pack, on the assessment's own as-of day."""
        from engine.tooling.whatif import what_if

        as_of = stored.assessment.get("as_of")
        day = date.fromisoformat(as_of) if as_of else None
        with self.packs.lease() as lease:
            return what_if(lease.pack, stored.proposal, as_of=day).to_dict()

    # -- dispositions ------------------------------------------------------------------------
    def record_disposition(self, stored: StoredAssessment, reviewer: str,
                           data: dict[str, Any]) -> Disposition:
        """Append a validated disposition under the four-eyes rule of the loaded pack."""
        return dispositions.record(self.store, stored, reviewer, data, self.packs.four_eyes())


# Ids this server issues are UUIDs; anything else (control characters, which PostgreSQL cannot
# even compare, or 10,000 characters) is not looked up at all.
_lookup_id = re.compile(r"^[\x21-\x7e]{1,64}$").match


def _item_problem(error: RiskrulesError, proposal: Any, index: int,
                  instance: str) -> dict[str, Any]:
    problem = _problem_document(error)
    problem["instance"] = f"{instance}#/proposals/{index}"
    reference = proposal.get("reference") if isinstance(proposal, dict) else None
    if isinstance(reference, str):
        problem["reference"] = reference  # which of the caller's proposals failed
    if isinstance(error, ProposalError):
        problem["detail"] = f"proposal {index}: {error.detail}"
    return problem


def _replayed_batch(stored: StoredBatch) -> BatchOutcome:
    parts: list[str] = []
    for item in stored.results:
        if isinstance(item, str):
            if item not in stored.assessments:
                raise StoreUnavailable(f"assessment {item} of an idempotent batch is missing")
            parts.append(stored.assessments[item])
        else:
            parts.append(dumps(item))
    return BatchOutcome('{"results":[' + ",".join(parts) + "]}",
                        [item for item in stored.results if isinstance(item, str)],
                        replayed=True)

