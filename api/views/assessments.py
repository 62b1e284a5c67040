"""The assessments blueprint: score and store (single, batch, idempotent), read back, list.

Order of checks on a write: credentials and role, media type, size, JSON, idempotency replay,
contract, scoring, storage. The response is sent only after the record is committed; a store
failure answers 503 and never a 201 without a record.
"""

from __future__ import annotations

import re
import secrets
import time
import uuid
from typing import Any

from flask import Blueprint, Response, g, request
from marshmallow import ValidationError

from api import dispositions
from api.auth import Principal
from api.body import canonical_hash, read_json
from api.context import authorize, dumps, holds, json_response, services
from api.errors import (
    IdempotencyConflict,
    InvalidRequest,
    MalformedBody,
    NotFound,
    PayloadTooLarge,
    StoreUnavailable,
    problem_document,
)
from api.schemas import (
    AssessmentGetQuerySchema,
    AssessmentQuerySchema,
    BatchRequestSchema,
    DispositionRequestSchema,
    field_errors,
    load_query,
    validate_proposal,
)
from api.store import (
    DuplicateIdempotencyKey,
    Filters,
    NewAssessment,
    NewBatch,
    StoredAssessment,
    StoredBatch,
    decode_cursor,
    encode_cursor,
)
from engine.errors import ProposalError, RiskrulesError
from engine.timefmt import rfc3339, utc_now_seconds

bp = Blueprint("assessments", __name__)

_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
# Ids this server issues are UUIDs; anything else (control characters, which PostgreSQL cannot
# even compare, or 10,000 characters) is not looked up at all.
_LOOKUP_ID = re.compile(r"^[\x21-\x7e]{1,64}$")


def new_assessment_id() -> str:
    """A UUIDv7-style id: time-ordered (index-friendly), 74 random bits (unguessable)."""
    millis = int(time.time() * 1000) & ((1 << 48) - 1)
    rand = secrets.randbits(74)
    value = (millis << 80) | (0x7 << 76) | ((rand >> 62) << 64) | (0b10 << 62) | (
        rand & ((1 << 62) - 1))
    return str(uuid.UUID(int=value))


def _idempotency_key() -> str | None:
    value = request.headers.get("Idempotency-Key")
    if value is None:
        return None
    if not _IDEMPOTENCY_KEY.match(value):
        raise MalformedBody("Idempotency-Key must be 1-255 visible ASCII characters")
    return value


def _score(pack: Any, proposal: dict[str, Any], key_id: str, idem: str | None,
           body_hash: str | None) -> tuple[dict[str, Any], NewAssessment]:
    """Score one validated proposal; returns the response document and the record to store."""
    created = utc_now_seconds()
    result = pack.assess(proposal, created_at=created, validate=False)
    doc: dict[str, Any] = dict(result.to_dict())
    doc["id"] = new_assessment_id()
    doc["created_at"] = rfc3339(created)
    ruleset = doc.get("ruleset") or {}
    record = NewAssessment(
        id=doc["id"], created_at=created, reference=proposal.get("reference"),
        decision=str(doc["decision"]), band=str(doc["band"]), score=float(doc["score"]),
        pack_name=str(ruleset.get("name", pack.name)),
        pack_version=str(ruleset.get("version", pack.version)),
        pack_digest=str(ruleset.get("digest", pack.digest)), api_key_id=key_id,
        idempotency_key=idem, body_hash=body_hash, proposal_json=dumps(proposal),
        assessment_json=dumps(doc),
        provisional=doc["provisional"] if isinstance(doc.get("provisional"), bool) else None)
    return doc, record


def _replay(stored: StoredAssessment, body_hash: str) -> Response:
    if stored.body_hash != body_hash:
        raise IdempotencyConflict(
            "this Idempotency-Key was used with a different body; use a new key for a new proposal")
    g.assessment_ids = [stored.id]
    return json_response(stored.assessment_json, 200, {
        "Location": f"/v1/assessments/{stored.id}", "Idempotent-Replayed": "true"})


@bp.post("/v1/assessments")
def create_assessment() -> Response:
    principal = authorize("submitter")
    svc = services()
    body = read_json(request, max_bytes=svc.settings.max_body_bytes,
                     max_depth=svc.settings.max_depth)
    idem = _idempotency_key()
    body_hash: str | None = None  # only an idempotent request is compared with a stored body
    if idem is not None:
        body_hash = canonical_hash(body)
        stored = svc.store.find_idempotent(principal.key_id, idem)
        if stored is not None:
            return _replay(stored, body_hash)
    with svc.holder.lease() as lease:
        validate_proposal(body, lease.pack)
        doc, record = _score(lease.pack, body, principal.key_id, idem, body_hash)
    try:
        svc.store.insert([record])
    except DuplicateIdempotencyKey:
        # A concurrent request with the same key won the race: answer with its record.
        stored = svc.store.find_idempotent(principal.key_id, idem or "")
        if stored is None or body_hash is None:
            raise
        return _replay(stored, body_hash)
    svc.metrics.observe_assessment(doc)
    g.assessment_ids = [record.id]
    return json_response(record.assessment_json, 201,
                         {"Location": f"/v1/assessments/{record.id}"})


@bp.post("/v1/assessments:batch")
def create_batch() -> Response:
    principal = authorize("submitter")
    svc = services()
    body = read_json(request, max_bytes=svc.settings.max_body_bytes,
                     max_depth=svc.settings.max_depth + 2)
    idem = _idempotency_key()
    body_hash: str | None = None
    if idem is not None:
        body_hash = canonical_hash(body)
        stored = svc.store.find_idempotent_batch(principal.key_id, idem)
        if stored is not None:
            return _replay_batch(stored, body_hash)
    if not isinstance(body, dict):
        raise InvalidRequest("the body must be an object {\"proposals\": [...]}")
    errors = BatchRequestSchema().validate(body)
    if errors:
        raise InvalidRequest("the batch envelope is invalid", errors=field_errors(errors))
    proposals: list[Any] = body["proposals"]
    if len(proposals) > svc.settings.max_batch:
        raise PayloadTooLarge(
            f"a batch holds at most {svc.settings.max_batch} proposals, not {len(proposals)}")
    if not proposals:
        raise InvalidRequest("the batch is empty", errors=field_errors(
            {"proposals": ["at least one proposal is needed"]}))
    results: list[str] = []
    plan: list[Any] = []  # per proposal: the assessment's id, or its problem document
    records: list[NewAssessment] = []
    docs: list[dict[str, Any]] = []
    with svc.holder.lease() as lease:
        for index, proposal in enumerate(proposals):
            try:
                validate_proposal(proposal, lease.pack)
                doc, record = _score(lease.pack, proposal, principal.key_id, None, None)
            except RiskrulesError as error:
                problem = problem_document(error)
                problem["instance"] = f"{request.path}#/proposals/{index}"
                reference = proposal.get("reference") if isinstance(proposal, dict) else None
                if isinstance(reference, str):
                    problem["reference"] = reference  # which of the caller's proposals failed
                if isinstance(error, ProposalError):
                    problem["detail"] = f"proposal {index}: {error.detail}"
                results.append(dumps(problem))
                plan.append(problem)
                continue
            records.append(record)
            docs.append(doc)
            results.append(record.assessment_json)
            plan.append(record.id)
    batch = None
    if idem is not None and body_hash is not None:
        batch = NewBatch(created_at=utc_now_seconds(), api_key_id=principal.key_id, idempotency_key=idem,
                         body_hash=body_hash, results_json=dumps(plan))
    try:
        svc.store.insert(records, batch)
    except DuplicateIdempotencyKey:
        # A concurrent batch with the same key won the race; nothing of this one was stored.
        found = svc.store.find_idempotent_batch(principal.key_id, idem or "")
        if found is None or body_hash is None:
            raise
        return _replay_batch(found, body_hash)
    for doc in docs:
        svc.metrics.observe_assessment(doc)
    g.assessment_ids = [r.id for r in records]
    return json_response('{"results":[' + ",".join(results) + "]}", 200)


def _replay_batch(stored: StoredBatch, body_hash: str) -> Response:
    """The answer a batch got the first time, rebuilt byte for byte from what was stored."""
    if stored.body_hash != body_hash:
        raise IdempotencyConflict(
            "this Idempotency-Key was used with a different batch; use a new key for a new batch")
    parts: list[str] = []
    for item in stored.results:
        if isinstance(item, str):
            if item not in stored.assessments:
                raise StoreUnavailable(f"assessment {item} of an idempotent batch is missing")
            parts.append(stored.assessments[item])
        else:
            parts.append(dumps(item))
    g.assessment_ids = [item for item in stored.results if isinstance(item, str)]
    return json_response('{"results":[' + ",".join(parts) + "]}", 200,
                         {"Idempotent-Replayed": "true"})


def _own_only(principal: Principal) -> str | None:
    """The key id a reader is limited to: an auditor reads every assessment, a submitter only
    those its own key created (None: no limit)."""
    return None if holds(principal, "auditor") else principal.key_id


def with_members(document_json: str, members: dict[str, Any]) -> str:
    """A stored JSON object with members appended (the stored text itself is unchanged)."""
    extra = ",".join(f"{dumps(k)}:{dumps(v)}" for k, v in members.items() if v is not None)
    if not extra:
        return document_json
    return document_json[:-1] + ("," if document_json != "{}" else "") + extra + "}"


def stored_or_404(assessment_id: str, owner: str | None = None) -> StoredAssessment:
    stored = services().store.get(assessment_id) if _LOOKUP_ID.match(assessment_id) else None
    if stored is None or (owner is not None and stored.api_key_id != owner):
        # Another key's assessment is not found either: its existence is not disclosed.
        raise NotFound(f"no assessment with id {assessment_id!r}")
    return stored


def what_if_document(proposal: dict[str, Any], as_of: str | None) -> dict[str, Any]:
    """engine.whatif under the loaded pack, on the assessment's own as-of day."""
    from datetime import date

    from engine.whatif import what_if

    day = date.fromisoformat(as_of) if as_of else None
    with services().holder.lease() as lease:
        return what_if(lease.pack, proposal, as_of=day).to_dict()


@bp.get("/v1/assessments/<assessment_id>")
def get_assessment(assessment_id: str) -> Response:
    principal = authorize("auditor", "submitter", "reviewer")
    query = load_query(AssessmentGetQuerySchema(), request.args.to_dict(flat=False))
    # reviewers read what they decide on; submitters only what their key created
    owner = None if holds(principal, "reviewer") else _own_only(principal)
    stored = stored_or_404(assessment_id, owner)
    history = services().store.dispositions_of([stored.id]).get(stored.id, [])
    members: dict[str, Any] = {"disposition": dispositions.summary(history)}
    if query["what_if"]:
        members["what_if"] = what_if_document(stored.proposal, stored.assessment.get("as_of"))
    return json_response(with_members(stored.assessment_json, members))


@bp.post("/v1/assessments/<assessment_id>/dispositions")
def create_disposition(assessment_id: str) -> Response:
    principal = authorize("reviewer")
    svc = services()
    body = read_json(request, max_bytes=svc.settings.max_body_bytes, max_depth=4)
    if not isinstance(body, dict):
        raise InvalidRequest("the body must be an object {\"decision\", \"reason\", ...}")
    stored = stored_or_404(assessment_id)
    try:
        data = DispositionRequestSchema().load(body)
    except ValidationError as exc:
        raise InvalidRequest("the disposition is invalid",
                             errors=field_errors(exc.messages)) from None
    record = dispositions.record(svc, stored, principal.key_id, data)
    g.assessment_ids = [stored.id]
    return json_response(record.to_dict(), 201, {
        "Location": f"/v1/assessments/{stored.id}/dispositions"})


@bp.get("/v1/assessments/<assessment_id>/dispositions")
def list_dispositions(assessment_id: str) -> Response:
    authorize("auditor", "reviewer")
    stored = stored_or_404(assessment_id)
    history = services().store.dispositions_of([stored.id]).get(stored.id, [])
    return json_response({"items": [d.to_dict() for d in history]})


@bp.get("/v1/assessments")
def list_assessments() -> Response:
    principal = authorize("auditor", "submitter")
    query = load_query(AssessmentQuerySchema(), request.args.to_dict(flat=False))
    before = decode_cursor(query["cursor"]) if "cursor" in query else None
    filters = Filters(decision=query.get("decision"), band=query.get("band"),
                      since=query.get("since"), until=query.get("until"),
                      reference=query.get("reference"), api_key_id=_own_only(principal),
                      provisional=query.get("provisional"),
                      has_disposition=None if "disposition" not in query
                      else query["disposition"] == "with")
    svc = services()
    rows, next_before = svc.store.page(filters, query["limit"], before,
                                       max_bytes=svc.settings.max_page_bytes)
    cursor = None if next_before is None else encode_cursor(next_before)
    found = svc.store.dispositions_of([row.id for row in rows])
    items = ",".join(with_members(row.assessment_json, {
        "disposition": dispositions.summary(found.get(row.id, []))}) for row in rows)
    return json_response('{"items":[' + items + '],"next_cursor":' + dumps(cursor) + "}")
