"""HTTP-level errors of the API and the one place that turns every error into an RFC 9457 problem.

Every API error is a `RiskrulesError` subclass so that the CLI and the API share one hierarchy;
`problem_response` is the only function that writes a problem document, so every endpoint
(including werkzeug's 404/405/413 and unexpected exceptions) answers in the same format.
This module alone knows HTTP statuses: the API's own errors declare theirs, and `STATUS`
maps the types raised further in (the engine's, the store's `StoreUnavailable`), which know
nothing of HTTP, to theirs (`http_status`).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from flask import Flask, Response, g, has_request_context, request
from werkzeug.exceptions import HTTPException

from api.store import StoreUnavailable
from engine.errors import (
    EngineError,
    FieldError,
    ListImportError,
    NoPack,
    PackError,
    ProposalError,
    RiskrulesError,
)
from engine.jsontext import MalformedJSON

PROBLEM_MEDIA_TYPE = "application/problem+json"

log = logging.getLogger("riskrules.api")


class ApiError(RiskrulesError):
    """An error found by the HTTP layer; `errors` names offending fields, `headers` go out as-is."""

    code = "RR600"
    title = "Bad request"
    status = 400

    def __init__(self, detail: str, *, errors: Iterable[FieldError] = (),
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(detail)
        self.errors = tuple(errors)
        self.headers = dict(headers or {})


class MalformedBody(ApiError):
    """The body is not JSON, has duplicate keys, NaN/Infinity, or is nested too deeply."""

    code = "RR601"
    title = "Malformed JSON body"
    status = 400


class InvalidQuery(ApiError):
    """A query parameter (limit, cursor, filters) is invalid."""

    code = "RR602"
    title = "Invalid query parameters"
    status = 400


class Unauthorized(ApiError):
    """No credentials, or credentials that match no key: the client must authenticate."""

    code = "RR610"
    title = "Unauthorized"
    status = 401


class Forbidden(ApiError):
    """Valid credentials whose roles do not allow this operation."""

    code = "RR611"
    title = "Forbidden"
    status = 403


class NotFound(ApiError):
    """Unknown assessment, rule or route."""

    code = "RR620"
    title = "Not found"
    status = 404


class MethodNotAllowed(ApiError):
    """The route exists but not with this method."""

    code = "RR621"
    title = "Method not allowed"
    status = 405


class IdempotencyConflict(ApiError):
    """An Idempotency-Key reused with a different body."""

    code = "RR630"
    title = "Idempotency key reused with a different body"
    status = 409


class SecondReviewerRequired(ApiError):
    """Four eyes: the pending approval must be confirmed by a different reviewer."""

    code = "RR631"
    title = "A second, different reviewer must approve"
    status = 409


class PayloadTooLarge(ApiError):
    """The body, or the number of proposals in a batch, is over the configured limit."""

    code = "RR640"
    title = "Payload too large"
    status = 413


class UnsupportedMediaType(ApiError):
    """The body is not declared as application/json."""

    code = "RR641"
    title = "Unsupported media type"
    status = 415


class InvalidRequest(ApiError):
    """A JSON body that breaks the shape of the request (outside of the proposal contract)."""

    code = "RR642"
    title = "Invalid request"
    status = 422


class TooManyRequests(ApiError):
    """The key is over its rate limit; `Retry-After` says when to come back."""

    code = "RR650"
    title = "Too many requests"
    status = 429


class NotReady(ApiError):
    """No valid rule pack is loaded (or the server is shutting down)."""

    code = "RR660"
    title = "Service not ready"
    status = 503


# The HTTP status of each error type the engine raises; the nearest class of an error's
# hierarchy decides (an API error declares its own `status`).
STATUS: dict[type[RiskrulesError], int] = {
    RiskrulesError: 500,
    PackError: 422,
    ProposalError: 422,
    MalformedJSON: 400,
    ListImportError: 422,
    EngineError: 500,
    NoPack: 503,
    StoreUnavailable: 503,
}


def http_status(error: RiskrulesError) -> int:
    """The HTTP status that answers `error`."""
    if isinstance(error, ApiError):
        return error.status
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def problem_type(code: str) -> str:
    """A stable URI per error code (a URN: no host name is promised to exist)."""
    return f"urn:riskrules:problem:{code}"


def problem_document(error: RiskrulesError) -> dict[str, Any]:
    """The RFC 9457 members of one error, plus riskrules' `code` and any field `errors`."""
    doc: dict[str, Any] = {
        "type": problem_type(error.code),
        "title": error.title,
        "status": http_status(error),
        "detail": error.detail,
        "code": error.code,
    }
    if isinstance(error, ProposalError | ApiError) and error.errors:
        doc["errors"] = [e.to_dict() for e in error.errors]
    if isinstance(error, PackError):
        doc["errors"] = [
            {"path": str(d.position), "message": f"{d.code} {d.message}"}
            for d in error.diagnostics
        ]
        doc["diagnostics"] = [d.to_dict() for d in error.diagnostics]
    return doc


def problem_response(doc: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> Response:
    """Serialise a problem document with its media type; adds the request path as `instance`."""
    body = dict(doc)
    if has_request_context():
        body.setdefault("instance", request.path)
    resp = Response(json.dumps(body, ensure_ascii=False), status=int(body["status"]),
                    mimetype=PROBLEM_MEDIA_TYPE)
    for name, value in (headers or {}).items():
        resp.headers[name] = value
    return resp


_HTTP_ERRORS: dict[int, type[ApiError]] = {
    400: MalformedBody, 401: Unauthorized, 403: Forbidden, 404: NotFound,
    405: MethodNotAllowed, 413: PayloadTooLarge, 415: UnsupportedMediaType, 429: TooManyRequests,
}


def register_error_handlers(app: Flask) -> None:
    """Install the handlers: typed errors, werkzeug HTTP errors, and everything else (500)."""

    @app.errorhandler(RiskrulesError)
    def _typed(error: RiskrulesError) -> Response:
        headers = error.headers if isinstance(error, ApiError) else {}
        if http_status(error) >= 500:
            g.problem_code = error.code
            log.warning("request failed: %s %s", error.code, error.detail,
                        extra={"error_code": error.code})
        return problem_response(problem_document(error), headers)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> Response:
        status = error.code or 500
        cls = _HTTP_ERRORS.get(status)
        headers: dict[str, str] = {}
        allowed = getattr(error, "valid_methods", None)
        if status == 405 and allowed:
            headers["Allow"] = ", ".join(sorted(allowed))
        if cls is not None:
            detail = error.description or cls.title
            if status == 404:
                detail = f"no resource at {request.path}"
            elif status == 413:
                limit = int(app.config.get("MAX_CONTENT_LENGTH") or 1) - 1  # see api/app.py
                detail = f"request body is over the limit of {limit} bytes"
            return problem_response(problem_document(cls(detail)), headers)
        doc = {"type": "about:blank", "title": error.name, "status": status,
               "detail": error.description or error.name}
        return problem_response(doc, headers)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        correlation_id = uuid.uuid4().hex
        g.problem_code = "RR000"
        log.error("unexpected error, correlation id %s", correlation_id, exc_info=error,
                  extra={"correlation_id": correlation_id})
        doc = {
            "type": problem_type("RR000"),
            "title": "Internal error",
            "status": 500,
            "detail": "an unexpected error occurred; quote the correlation id when reporting it",
            "code": "RR000",
            "correlation_id": correlation_id,
        }
        return problem_response(doc)


class ConfigError(RiskrulesError):
    """The server configuration is unusable (no keys, bad keys file, bad setting): no start."""

    code = "RR670"
    title = "Invalid server configuration"
