"""The durable, append-only assessment store (SQLAlchemy Core; SQLite by default, PostgreSQL).

One interface for both backends. Every assessment is written in one transaction before its
response is sent; no method updates or deletes. Database failures (down, disk full, read-only
file, locked too long) surface as `StoreUnavailable`, which knows nothing of HTTP (api/errors.py
answers it with a 503).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import Engine, make_url

from api.settings import setting
from engine.errors import RiskrulesError
from engine.timefmt import rfc3339

MAX_SEQ = 2**63 - 1  # the largest BIGINT (PostgreSQL) and INTEGER (SQLite)
SQLITE_BUSY_TIMEOUT_MS = 10_000

T = TypeVar("T")


class UTCDateTime(sa.types.TypeDecorator):  # type: ignore[type-arg]
    """Timezone-aware UTC datetimes on both backends (SQLite keeps naive UTC text)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None,
                             dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = sa.MetaData()

assessments = sa.Table(
    "assessments",
    metadata,
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
              autoincrement=True),
    sa.Column("id", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime(), nullable=False, index=True),
    sa.Column("reference", sa.String(128), nullable=True, index=True),
    sa.Column("decision", sa.String(32), nullable=False, index=True),
    sa.Column("band", sa.String(32), nullable=False, index=True),
    sa.Column("score", sa.Float(), nullable=False),
    sa.Column("pack_name", sa.String(200), nullable=False),
    sa.Column("pack_version", sa.String(100), nullable=False),
    sa.Column("pack_digest", sa.String(100), nullable=False),
    sa.Column("api_key_id", sa.String(100), nullable=False),
    sa.Column("idempotency_key", sa.String(255), nullable=True),
    sa.Column("body_hash", sa.String(100), nullable=True),
    sa.Column("proposal", sa.Text(), nullable=False),
    sa.Column("assessment", sa.Text(), nullable=False),
    sa.Column("provisional", sa.Boolean(), nullable=True),
    sa.UniqueConstraint("api_key_id", "idempotency_key", name="uq_assessments_idempotency"),
)

# Human dispositions of stored assessments: append-only like the assessments (a new one
# supersedes the previous, nothing is updated); see api/dispositions.py for the rules.
dispositions = sa.Table(
    "dispositions",
    metadata,
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
              autoincrement=True),
    sa.Column("id", sa.String(64), nullable=False, unique=True),
    sa.Column("assessment_id", sa.String(64), nullable=False, index=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("decision", sa.String(32), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("conditions", sa.Text(), nullable=False),
    sa.Column("expires_on", sa.Date(), nullable=True),
    sa.Column("reviewer", sa.String(100), nullable=False),
    sa.Column("supersedes", sa.String(64), nullable=True),
)


idempotent_batches = sa.Table(
    "idempotent_batches",
    metadata,
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
              autoincrement=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("api_key_id", sa.String(100), nullable=False),
    sa.Column("idempotency_key", sa.String(255), nullable=False),
    sa.Column("body_hash", sa.String(100), nullable=False),
    sa.Column("results", sa.Text(), nullable=False),
    sa.UniqueConstraint("api_key_id", "idempotency_key", name="uq_batches_idempotency"),
)


@dataclass(frozen=True)
class NewBatch:
    """An idempotent batch: `results` is a JSON list, per proposal in order, of the assessment's
    id (a string) or the proposal's problem document (an object)."""

    created_at: datetime
    api_key_id: str
    idempotency_key: str
    body_hash: str
    results_json: str


@dataclass(frozen=True)
class StoredBatch:
    """An idempotent batch as read back, with the stored assessments it names, by id."""

    body_hash: str
    results: list[Any]
    assessments: dict[str, str]


@dataclass(frozen=True)
class NewAssessment:
    """What is written for one assessment; `assessment_json` is the exact response body."""

    id: str
    created_at: datetime
    reference: str | None
    decision: str
    band: str
    score: float
    pack_name: str
    pack_version: str
    pack_digest: str
    api_key_id: str
    idempotency_key: str | None
    body_hash: str | None
    proposal_json: str
    assessment_json: str
    provisional: bool | None = None


@dataclass(frozen=True)
class StoredAssessment:
    """One stored record as read back."""

    seq: int
    id: str
    created_at: datetime
    api_key_id: str
    idempotency_key: str | None
    body_hash: str | None
    pack_digest: str
    proposal_json: str
    assessment_json: str

    @property
    def proposal(self) -> Any:
        return json.loads(self.proposal_json)

    @property
    def assessment(self) -> Any:
        return json.loads(self.assessment_json)


@dataclass(frozen=True)
class Filters:
    """Filters of the listing and of `riskrules export`; None means no filter."""

    decision: str | None = None
    band: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    reference: str | None = None
    api_key_id: str | None = None  # the key that created the assessment
    provisional: bool | None = None
    has_disposition: bool | None = None


@dataclass(frozen=True)
class Disposition:
    """One recorded human disposition (as written and as read back)."""

    id: str
    assessment_id: str
    created_at: datetime
    decision: str
    status: str
    reason: str
    conditions: tuple[str, ...]
    expires_on: date | None
    reviewer: str
    supersedes: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "assessment_id": self.assessment_id,
                "created_at": rfc3339(self.created_at),
                "decision": self.decision, "status": self.status, "reason": self.reason,
                "conditions": list(self.conditions),
                "expires_on": None if self.expires_on is None else self.expires_on.isoformat(),
                "reviewer": self.reviewer, "supersedes": self.supersedes}


class StoreUnavailable(RiskrulesError):
    """The assessment store cannot be read or written (database down, disk full, read-only file)."""

    code = "RR700"
    title = "Assessment store unavailable"


class DuplicateIdempotencyKey(Exception):
    """Another request stored an assessment under the same (key id, Idempotency-Key) first."""


def normalise_url(url: str) -> str:
    """`postgresql://` means psycopg 3 here (the driver the project ships)."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://"):]
    if url.startswith("postgres://"):
        return "postgresql+psycopg://" + url[len("postgres://"):]
    return url


def make_engine(url: str) -> Engine:
    """An Engine configured for the backend: WAL and busy timeout on SQLite, pre-ping on PG."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
                mode = cursor.execute("PRAGMA journal_mode").fetchone()
                if mode and str(mode[0]).lower() != "wal":
                    # A read-only file keeps its mode; reads still work.
                    with contextlib.suppress(Exception):
                        cursor.execute("PRAGMA journal_mode=WAL")
                # FULL: a committed assessment survives power loss, not only a crash.
                cursor.execute("PRAGMA synchronous=FULL")
            finally:
                cursor.close()

        return engine
    connect_args: dict[str, Any] = {}
    if parsed.get_backend_name() == "postgresql":
        connect_args["connect_timeout"] = setting("DB_CONNECT_TIMEOUT")
        # A stalled link (a partition, not a refused connection) must become a 503 within
        # seconds instead of hanging a worker: TCP keepalives and a user timeout (ms).
        connect_args.setdefault("keepalives", 1)
        connect_args.setdefault("keepalives_idle", 5)
        connect_args.setdefault("keepalives_interval", 2)
        connect_args.setdefault("keepalives_count", 2)
        connect_args.setdefault("tcp_user_timeout", setting("DB_TCP_TIMEOUT_MS"))
    return sa.create_engine(url, pool_pre_ping=True, connect_args=connect_args)


def _row(row: Any) -> StoredAssessment:
    return StoredAssessment(seq=row.seq, id=row.id, created_at=row.created_at,
                            api_key_id=row.api_key_id, idempotency_key=row.idempotency_key,
                            body_hash=row.body_hash, pack_digest=row.pack_digest,
                            proposal_json=row.proposal, assessment_json=row.assessment)


class Store:
    """The assessment store. Thread-safe (SQLAlchemy pool); one per process, made after fork."""

    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        self.engine = make_engine(self.url)

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    def _guard(self, action: Callable[[], T]) -> T:
        """Run a database action; infrastructure failures become StoreUnavailable."""
        try:
            return action()
        except exc.IntegrityError:
            raise
        except (exc.OperationalError, exc.InterfaceError, exc.DatabaseError,
                exc.TimeoutError, OSError) as error:
            reason = str(getattr(error, "orig", None) or error).strip().splitlines()
            raise StoreUnavailable(
                f"assessment store unavailable: {reason[0] if reason else type(error).__name__}"
            ) from error

    def ping(self, *, write: bool = False) -> None:
        """Raise StoreUnavailable unless the database answers and the schema is there; with
        `write`, also unless it accepts writes (a read-only file, volume or replica answers
        reads): an UPDATE that matches no row takes the write lock and is rolled back, so
        nothing is written."""

        def action() -> None:
            with self.engine.connect() as conn:
                conn.execute(sa.select(sa.func.count()).select_from(
                    sa.select(assessments.c.seq).limit(1).subquery()))
                if write:
                    conn.execute(sa.update(assessments).where(sa.false())
                                 .values(seq=assessments.c.seq))
                conn.rollback()

        self._guard(action)

    def insert(self, records: Sequence[NewAssessment], batch: NewBatch | None = None) -> None:
        """Write all records (and the idempotent batch they came in) in one transaction: all
        are stored or none.

        Raises DuplicateIdempotencyKey when the (key id, Idempotency-Key) pair already exists.
        """
        if not records and batch is None:
            return

        def action() -> None:
            with self.engine.begin() as conn:
                if records:
                    conn.execute(assessments.insert(), [_values(r) for r in records])
                if batch is not None:
                    conn.execute(idempotent_batches.insert(), {
                        "created_at": batch.created_at, "api_key_id": batch.api_key_id,
                        "idempotency_key": batch.idempotency_key,
                        "body_hash": batch.body_hash, "results": batch.results_json})

        try:
            self._guard(action)
        except exc.IntegrityError as error:
            raise DuplicateIdempotencyKey(str(error.orig)) from error

    def get(self, assessment_id: str) -> StoredAssessment | None:
        def action() -> StoredAssessment | None:
            with self.engine.connect() as conn:
                row = conn.execute(sa.select(assessments).where(
                    assessments.c.id == assessment_id)).first()
            return None if row is None else _row(row)

        return self._guard(action)

    def find_idempotent(self, api_key_id: str, idempotency_key: str) -> StoredAssessment | None:
        def action() -> StoredAssessment | None:
            with self.engine.connect() as conn:
                row = conn.execute(sa.select(assessments).where(
                    assessments.c.api_key_id == api_key_id,
                    assessments.c.idempotency_key == idempotency_key)).first()
            return None if row is None else _row(row)

        return self._guard(action)

    def find_idempotent_batch(self, api_key_id: str,
                              idempotency_key: str) -> StoredBatch | None:
        """The batch stored under this (key id, Idempotency-Key), with its assessments."""

        def action() -> StoredBatch | None:
            b = idempotent_batches.c
            with self.engine.connect() as conn:
                row = conn.execute(sa.select(b.body_hash, b.results).where(
                    b.api_key_id == api_key_id, b.idempotency_key == idempotency_key)).first()
                if row is None:
                    return None
                results = json.loads(row.results)
                ids = [r for r in results if isinstance(r, str)]
                found: dict[str, str] = {}
                for start in range(0, len(ids), 500):
                    found.update((r.id, r.assessment) for r in conn.execute(
                        sa.select(assessments.c.id, assessments.c.assessment).where(
                            assessments.c.id.in_(ids[start:start + 500]))))
            return StoredBatch(row.body_hash, results, found)

        return self._guard(action)

    def page(self, filters: Filters, limit: int, before: int | None = None,
             max_bytes: int | None = None) -> tuple[list[StoredAssessment], int | None]:
        """Newest first; returns the page and the `before` of the next page (None at the end).

        With `max_bytes`, the page also stops before the assessment that would take the
        documents' total over that many bytes (it always holds at least one): the sizes are
        read first, so a worker never loads more than one page's budget of documents.
        """

        def action() -> tuple[list[StoredAssessment], int | None]:
            c = assessments.c
            query = _filtered(sa.select(c.seq, self._size(c.assessment)), filters)
            if before is not None:
                query = query.where(c.seq < before)
            query = query.order_by(c.seq.desc()).limit(limit + 1)
            with self.engine.connect() as conn:
                sizes = [(int(r[0]), int(r[1] or 0)) for r in conn.execute(query)]
                chosen: list[int] = []
                total = 0
                for seq, size in sizes[:limit]:
                    if chosen and max_bytes is not None and total + size > max_bytes:
                        break
                    chosen.append(seq)
                    total += size
                rows = [_row(r) for r in conn.execute(
                    sa.select(assessments).where(c.seq.in_(chosen)).order_by(c.seq.desc())
                )] if chosen else []
            more = len(sizes) > len(chosen)
            return rows, (rows[-1].seq if more and rows else None)

        return self._guard(action)

    def _size(self, column: Any) -> Any:
        """The size in bytes (UTF-8) of a text column on this backend."""
        if self.backend == "sqlite":
            return sa.func.length(sa.cast(column, sa.LargeBinary))
        return sa.func.octet_length(column)
    def count_by_decision(self, filters: Filters) -> dict[str, int]:
        """How many stored assessments match `filters`, per engine decision."""

        def action() -> dict[str, int]:
            query = _filtered(sa.select(assessments.c.decision, sa.func.count())
                              .select_from(assessments), filters).group_by(
                                  assessments.c.decision)
            with self.engine.connect() as conn:
                return {str(d): int(n) for d, n in conn.execute(query)}

        return self._guard(action)

    def add_disposition(self, record: Disposition) -> Disposition:
        """Append a disposition; it supersedes the assessment's latest one (found in the same
        transaction). Returns the record as stored."""

        def action() -> Disposition:
            with self.engine.begin() as conn:
                latest = conn.execute(
                    sa.select(dispositions.c.id).where(
                        dispositions.c.assessment_id == record.assessment_id)
                    .order_by(dispositions.c.seq.desc()).limit(1)).scalar()
                stored = replace(record, supersedes=latest)
                conn.execute(dispositions.insert(), [{
                    "id": stored.id, "assessment_id": stored.assessment_id,
                    "created_at": stored.created_at, "decision": stored.decision,
                    "status": stored.status, "reason": stored.reason,
                    "conditions": json.dumps(list(stored.conditions), ensure_ascii=False),
                    "expires_on": stored.expires_on, "reviewer": stored.reviewer,
                    "supersedes": stored.supersedes}])
            return stored

        return self._guard(action)

    def dispositions_of(self, assessment_ids: Sequence[str]) -> dict[str, list[Disposition]]:
        """Every disposition of each assessment, newest first (ids without one are absent)."""
        if not assessment_ids:
            return {}

        def action() -> dict[str, list[Disposition]]:
            out: dict[str, list[Disposition]] = {}
            query = sa.select(dispositions).where(
                dispositions.c.assessment_id.in_(list(assessment_ids))).order_by(
                    dispositions.c.seq.desc())
            with self.engine.connect() as conn:
                for row in conn.execute(query):
                    out.setdefault(row.assessment_id, []).append(_disposition(row))
            return out

        return self._guard(action)

    def count(self) -> int:
        def action() -> int:
            with self.engine.connect() as conn:
                return int(conn.execute(
                    sa.select(sa.func.count()).select_from(assessments)).scalar_one())

        return self._guard(action)

    def iter_all(self, filters: Filters, batch: int = 500) -> Iterator[StoredAssessment]:
        """Oldest first, in batches (for `riskrules export`: a stable, resumable order)."""
        after = 0
        while True:
            query = _filtered(sa.select(assessments), filters).where(
                assessments.c.seq > after).order_by(assessments.c.seq).limit(batch)

            def action(q: Any = query) -> list[StoredAssessment]:
                with self.engine.connect() as conn:
                    return [_row(r) for r in conn.execute(q)]

            rows = self._guard(action)
            yield from rows
            if len(rows) < batch:
                return
            after = rows[-1].seq


def _disposition(row: Any) -> Disposition:
    return Disposition(id=row.id, assessment_id=row.assessment_id, created_at=row.created_at,
                       decision=row.decision, status=row.status, reason=row.reason,
                       conditions=tuple(json.loads(row.conditions)), expires_on=row.expires_on,
                       reviewer=row.reviewer, supersedes=row.supersedes)


def _filtered(query: Any, filters: Filters) -> Any:
    c = assessments.c
    if filters.provisional is not None:
        query = query.where(c.provisional.is_(True) if filters.provisional
                            else sa.or_(c.provisional.is_(None), c.provisional.is_(False)))
    if filters.has_disposition is not None:
        exists = sa.exists().where(dispositions.c.assessment_id == c.id)
        query = query.where(exists if filters.has_disposition else ~exists)
    if filters.decision is not None:
        query = query.where(c.decision == filters.decision)
    if filters.band is not None:
        query = query.where(c.band == filters.band)
    if filters.since is not None:
        query = query.where(c.created_at >= filters.since)
    if filters.until is not None:
        query = query.where(c.created_at < filters.until)
    if filters.reference is not None:
        query = query.where(c.reference == filters.reference)
    if filters.api_key_id is not None:
        query = query.where(c.api_key_id == filters.api_key_id)
    return query


def _values(r: NewAssessment) -> dict[str, Any]:
    return {
        "id": r.id, "created_at": r.created_at, "reference": r.reference,
        "decision": r.decision, "band": r.band, "score": r.score, "pack_name": r.pack_name,
        "pack_version": r.pack_version, "pack_digest": r.pack_digest,
        "api_key_id": r.api_key_id, "idempotency_key": r.idempotency_key,
        "body_hash": r.body_hash, "proposal": r.proposal_json, "assessment": r.assessment_json,
        "provisional": r.provisional,
    }

