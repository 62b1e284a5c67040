"""The assessments blueprint: score and store (single, batch, idempotent), read back, list.

Order of checks on a write: credentials and role, media type, size, JSON, idempotency replay,
contract, scoring, storage. The response is sent only after the record is committed; a store
failure answers 503 and never a 201 without a record.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, g, request
from marshmallow import ValidationError

from api.auth import Principal
from api.body import canonical_hash, read_json
from api.context import authorize, holds, json_response, services
from api.dispositions import summary
from api.errors import InvalidRequest, MalformedBody, PayloadTooLarge
from api.schemas import (
    AssessmentGetQuerySchema,
    AssessmentQuerySchema,
    BatchRequestSchema,
    DispositionRequestSchema,
    field_errors,
    load_query,
)
from api.service import BatchOutcome, Created, Submission, dumps
from api.store import Filters

bp = Blueprint("assessments", __name__)

_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


def _submission(principal: Principal, body: Any) -> Submission:
    """Who submits, with the Idempotency-Key and the body's hash when one is sent (only an
    idempotent request is compared with a stored body)."""
    value = request.headers.get("Idempotency-Key")
    if value is None:
        return Submission(principal.key_id)
    if not _IDEMPOTENCY_KEY.match(value):
        raise MalformedBody("Idempotency-Key must be 1-255 visible ASCII characters")
    return Submission(principal.key_id, value, canonical_hash(body))


def _created(created: Created) -> Response:
    g.assessment_ids = [created.id]
    headers = {"Location": f"/v1/assessments/{created.id}"}
    if created.replayed:
        headers["Idempotent-Replayed"] = "true"
    return json_response(created.document_json, 200 if created.replayed else 201, headers)


def _batch(outcome: BatchOutcome) -> Response:
    g.assessment_ids = outcome.ids
    return json_response(outcome.results_json, 200,
                         {"Idempotent-Replayed": "true"} if outcome.replayed else None)


@bp.post("/v1/assessments")
def create_assessment() -> Response:
    principal = authorize("submitter")
    svc = services()
    body = read_json(request, max_bytes=svc.settings.max_body_bytes,
                     max_depth=svc.settings.max_depth)
    submission = _submission(principal, body)
    replayed = svc.assessments.replay(submission)
    if replayed is not None:
        return _created(replayed)
    return _created(svc.assessments.create(body, submission))


@bp.post("/v1/assessments:batch")
def create_batch() -> Response:
    principal = authorize("submitter")
    svc = services()
    body = read_json(request, max_bytes=svc.settings.max_body_bytes,
                     max_depth=svc.settings.max_depth + 2)
    submission = _submission(principal, body)
    replayed = svc.assessments.replay_batch(submission)
    if replayed is not None:
        return _batch(replayed)
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
    return _batch(svc.assessments.create_batch(proposals, submission, request.path))


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


@bp.get("/v1/assessments/<assessment_id>")
def get_assessment(assessment_id: str) -> Response:
    principal = authorize("auditor", "submitter", "reviewer")
    query = load_query(AssessmentGetQuerySchema(), request.args.to_dict(flat=False))
    service = services().assessments
    # reviewers read what they decide on; submitters only what their key created
    owner = None if holds(principal, "reviewer") else _own_only(principal)
    stored = service.get(assessment_id, owner)
    members: dict[str, Any] = {"disposition": summary(service.dispositions_of(stored))}
    if query["what_if"]:
        members["what_if"] = service.what_if(stored)
    return json_response(with_members(stored.assessment_json, members))


@bp.post("/v1/assessments/<assessment_id>/dispositions")
def create_disposition(assessment_id: str) -> Response:
    principal = authorize("reviewer")
    svc = services()
    body = read_json(request, max_bytes=svc.settings.max_body_bytes, max_depth=4)
    if not isinstance(body, dict):
        raise InvalidRequest("the body must be an object {\"decision\", \"reason\", ...}")
    stored = svc.assessments.get(assessment_id)
    try:
        data = DispositionRequestSchema().load(body)
    except ValidationError as exc:
        raise InvalidRequest("the disposition is invalid",
                             errors=field_errors(exc.messages)) from None
    record = svc.assessments.record_disposition(stored, principal.key_id, data)
    g.assessment_ids = [stored.id]
    return json_response(record.to_dict(), 201, {
        "Location": f"/v1/assessments/{stored.id}/dispositions"})


@bp.get("/v1/assessments/<assessment_id>/dispositions")
def list_dispositions(assessment_id: str) -> Response:
    authorize("auditor", "reviewer")
    service = services().assessments
    history = service.dispositions_of(service.get(assessment_id))
    return json_response({"items": [d.to_dict() for d in history]})


@bp.get("/v1/assessments")
def list_assessments() -> Response:
    principal = authorize("auditor", "submitter")
    query = load_query(AssessmentQuerySchema(), request.args.to_dict(flat=False))
    filters = Filters(decision=query.get("decision"), band=query.get("band"),
                      since=query.get("since"), until=query.get("until"),
                      reference=query.get("reference"), api_key_id=_own_only(principal),
                      provisional=query.get("provisional"),
                      has_disposition=None if "disposition" not in query
                      else query["disposition"] == "with")
    svc = services()
    page = svc.assessments.page(filters, query["limit"], query.get("cursor"),
                                max_bytes=svc.settings.max_page_bytes)
    items = ",".join(with_members(row.assessment_json, {
        "disposition": summary(page.dispositions.get(row.id, []))}) for row in page.rows)
    return json_response('{"items":[' + items + '],"next_cursor":' + dumps(page.next_cursor)
                         + "}")
