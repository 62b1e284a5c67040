"""The reviewer workbench: server-rendered pages under /ui for compliance officers.

Owns the pages (queue, assessment, rule browser, playground, impact report), their sign-in
(an API key exchanged for a signed session cookie: HttpOnly, SameSite=Lax, Secure behind
TLS), CSRF protection of every form, and the role checks (the API's roles: reading stored
assessments needs `auditor`, recording a disposition `reviewer`). No JavaScript build step, no
external resources; the read-only pages work without JavaScript. Presentation helpers are
api/web/present.py (words, numbers) and api/web/svg.py (the factor waterfall).
"""

from __future__ import annotations

import hmac
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from flask import (
    Blueprint,
    Flask,
    Response,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from api import dispositions
from api.auth import ANONYMOUS, Principal, retry_after_header
from api.body import depth
from api.config import Settings
from api.context import _count_failure, _refuse_over_failure_budget, holds, services
from api.errors import ApiError, InvalidQuery, NotFound, http_status
from api.schemas import (
    AssessmentQuerySchema,
    DispositionRequestSchema,
    field_errors,
    load_query,
)
from api.store import Filters
from api.web import present
from api.web.svg import waterfall_svg
from engine.errors import ProposalError, RiskrulesError
from engine.jsontext import MalformedJSON, loads_strict
from engine.language import syntax

bp = Blueprint("web", __name__, url_prefix="/ui", template_folder="templates",
               static_folder="static", static_url_path="/static")
log = logging.getLogger("riskrules.web")

SESSION_HOURS = 8
PAGE_SIZE = 25
FIRE_WINDOW_DAYS = 30
FIRE_SCAN_LIMIT = 20_000
MAX_UPLOAD_BYTES = 8 * 1024 * 1024
F = TypeVar("F", bound=Callable[..., Any])


class PageError(Exception):
    """An error page: status and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def configure(app: Flask, settings: Settings) -> None:
    """Session cookie settings of the app (the workbench is the only user of the session)."""
    app.secret_key = settings.session_secret or secrets.token_hex(32)
    app.config.update(
        SESSION_COOKIE_NAME="riskrules_session", SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_SECURE=settings.secure_cookies,
        SESSION_COOKIE_PATH="/ui", PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS))


# ---------------------------------------------------------------------------------------------
# session, CSRF, roles


def csrf_token() -> str:
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def current_principal() -> Principal | None:
    """The signed-in key (None when signed out, expired, or the key was removed)."""
    svc = services()
    if svc.settings.insecure_no_auth:
        return ANONYMOUS
    key_id, issued = session.get("key_id"), session.get("issued")
    if not isinstance(key_id, str) or not isinstance(issued, int | float):
        return None
    if time.time() - issued > SESSION_HOURS * 3600:
        return None
    svc.keyring.refresh()
    for key in svc.keyring.keys:  # a key revoked or removed from the keys file ends its sessions
        if key.id == key_id:
            return Principal(key.id, key.roles)
    return None


@bp.before_request
def _guard() -> BaseResponse | None:
    if request.method == "POST":
        # Form limits before the form is read (here, for the CSRF check): an impact report may
        # be larger than a proposal; a proposal pasted in a form is URL-encoded (up to 3x).
        limit = (MAX_UPLOAD_BYTES if request.endpoint == "web.impact"
                 else 3 * services().settings.max_body_bytes)
        request.max_content_length = limit
        request.max_form_memory_size = limit
        sent = request.form.get("csrf_token", "")
        expected = session.get("csrf")
        if not isinstance(expected, str) or not hmac.compare_digest(sent, expected):
            raise PageError(400, "The form was refused: its CSRF token is missing or stale. "
                                 "Reload the page and try again.")
    if request.endpoint in ("web.sign_in", "web.static"):
        return None
    principal = current_principal()
    if principal is None:
        return redirect(url_for("web.sign_in", next=request.full_path.rstrip("?")))
    g.key_id = principal.key_id
    g.principal = principal
    wait = services().limiter.take(principal.key_id)
    if wait is not None:
        response = Response("Too many requests", status=429)
        response.headers["Retry-After"] = retry_after_header(wait)
        return response
    return None


def require(*roles: str) -> Principal:
    principal: Principal = g.principal
    if roles and not any(holds(principal, role) for role in roles):
        raise PageError(403, f"The key {principal.key_id} lacks the role "
                             f"{' or '.join(roles)} needed for this page.")
    return principal


@bp.app_template_global()
def csrf_field() -> Any:
    from markupsafe import Markup

    return Markup('<input type="hidden" name="csrf_token" value="{}">').format(csrf_token())


@bp.context_processor
def _globals() -> dict[str, Any]:
    principal = g.get("principal")
    return {"principal": principal, "words": present, "json_text": present.json_text}


@bp.errorhandler(PageError)
def _page_error(error: PageError) -> tuple[str, int]:
    return render_template("web/error.html", status=error.status, message=error.message), \
        error.status


@bp.errorhandler(RiskrulesError)
def _typed_error(error: RiskrulesError) -> tuple[str, int]:
    errors = [f"{e.path}: {e.message}" for e in getattr(error, "errors", ())]
    status = http_status(error)
    return render_template("web/error.html", status=status, message=error.detail,
                           errors=errors), status


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> tuple[str, int]:
    status = error.code or 500
    return render_template("web/error.html", status=status,
                           message=error.description or error.name), status


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/ui/") and not target.startswith("//"):
        return target
    return url_for("web.queue")


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> Any:
    error = None
    if request.method == "POST":
        token = request.form.get("api_key", "").strip()
        svc = services()
        _refuse_over_failure_budget(svc)  # the API's failed-authentication budget, shared
        principal = svc.keyring.authenticate(token) if token else None
        if principal is None:
            _count_failure(svc)
            error = "That API key is not valid."
            log.info("workbench sign-in refused")
        else:
            session.clear()
            session.permanent = True
            session["key_id"] = principal.key_id
            session["issued"] = int(time.time())
            session["csrf"] = secrets.token_urlsafe(32)
            log.info("workbench sign-in", extra={"key_id": principal.key_id})
            return redirect(_safe_next(request.form.get("next")))
    csrf_token()
    return render_template("web/sign_in.html", error=error,
                           next=request.values.get("next", "")), 401 if error else 200


@bp.post("/sign-out")
def sign_out() -> BaseResponse:
    session.clear()
    return redirect(url_for("web.sign_in"))


@bp.get("/")
def home() -> BaseResponse:
    return redirect(url_for("web.queue"))


# ---------------------------------------------------------------------------------------------
# queue


def _queue_filters() -> tuple[dict[str, Any], dict[str, str]]:
    """The queue's query (API names; dates as YYYY-MM-DD) and the raw values for the form."""
    raw = {k: v.strip() for k, v in request.args.items() if v.strip()}
    api: dict[str, list[str]] = {}
    for name in ("decision", "band", "reference", "disposition", "cursor"):
        if name in raw:
            api[name] = [raw[name]]
    if raw.get("provisional") in ("true", "false"):
        api["provisional"] = [raw["provisional"]]
    for name, key in (("from", "since"), ("to", "until")):
        if name in raw:
            try:
                day = date.fromisoformat(raw[name])
            except ValueError:
                raise PageError(400, f"{name}: not a date (YYYY-MM-DD): {raw[name]!r}") from None
            if name == "to":
                day += timedelta(days=1)
            api[key] = [datetime(day.year, day.month, day.day, tzinfo=UTC).isoformat()]
    api["limit"] = [str(PAGE_SIZE)]
    try:
        return load_query(AssessmentQuerySchema(), api), raw
    except InvalidQuery as error:
        raise PageError(400, "; ".join(f"{e.path}: {e.message}" for e in error.errors)) from None


def readers_limit(principal: Principal) -> str | None:
    """As in the API: auditors and reviewers read every assessment, a submitter only those its
    own key created (the key id it is limited to)."""
    if holds(principal, "auditor") or holds(principal, "reviewer"):
        return None
    return principal.key_id


READ_ROLES = ("auditor", "reviewer", "submitter")


@bp.get("/queue")
def queue() -> str:
    principal = require(*READ_ROLES)
    query, raw = _queue_filters()
    svc = services()
    filters = Filters(api_key_id=readers_limit(principal),
                      decision=query.get("decision"), band=query.get("band"),
                      since=query.get("since"), until=query.get("until"),
                      reference=query.get("reference"), provisional=query.get("provisional"),
                      has_disposition=None if "disposition" not in query
                      else query["disposition"] == "with")
    page = svc.assessments.page(filters, PAGE_SIZE, query.get("cursor"))
    rows, found = page.rows, page.dispositions
    counts = svc.assessments.count_by_decision(replace(filters, decision=None))
    items = []
    for row in rows:
        doc = row.assessment
        history = found.get(row.id, [])
        items.append({"id": row.id, "doc": doc, "created_at": row.created_at,
                      "disposition": history[0] if history else None,
                      "effective": dispositions.effective_decision(history)})
    next_args = None
    if page.next_cursor is not None:
        next_args = {**raw, "cursor": page.next_cursor}
    return render_template("web/queue.html", items=items, raw=raw, counts=counts,
                           total=sum(counts.values()), next_args=next_args,
                           base_args={k: v for k, v in raw.items()
                                      if k not in ("decision", "cursor")},
                           decisions=syntax.DECISIONS, bands=syntax.BAND_NAMES)


# ---------------------------------------------------------------------------------------------
# assessment


def _pack_or_none() -> Any:
    lease = services().packs.installed()
    return None if lease is None else lease.pack


def _what_if(proposal: dict[str, Any], as_of: str | None) -> dict[str, Any] | None:
    from engine.tooling.whatif import what_if

    try:
        day = date.fromisoformat(as_of) if as_of else None
        with services().packs.lease() as lease:
            return what_if(lease.pack, proposal, as_of=day).to_dict()
    except (RiskrulesError, ValueError) as error:
        log.warning("what-if unavailable: %s", error)
        return None


def _assessment_context(doc: dict[str, Any], proposal: dict[str, Any],
                        what_if: dict[str, Any] | None) -> dict[str, Any]:
    pack = _pack_or_none()
    view = present.assessment_view(doc, pack)
    return {"doc": doc, "view": view, "proposal": proposal, "what_if": what_if,
            "waterfall": waterfall_svg(view["waterfall"], doc.get("score")),
            "proposal_rows": present.flatten(proposal)}


def _stored(assessment_id: str, principal: Principal) -> Any:
    try:
        return services().assessments.get(assessment_id, readers_limit(principal))
    except NotFound:
        raise PageError(404, f"No assessment with id {assessment_id!r}.") from None


@bp.get("/assessments/<assessment_id>")
def assessment(assessment_id: str) -> str:
    principal = require(*READ_ROLES)
    svc = services()
    stored = _stored(assessment_id, principal)
    doc = stored.assessment
    history = svc.assessments.dispositions_of(stored)
    context = _assessment_context(doc, stored.proposal,
                                  _what_if(stored.proposal, doc.get("as_of")))
    return render_template(
        "web/assessment.html", stored=stored, history=history,
        effective=dispositions.effective_decision(history),
        expired=dispositions.expired(history),
        disposition_decisions=dispositions.DECISIONS,
        four_eyes=svc.packs.four_eyes() and doc.get("decision") in
        dispositions.FOUR_EYES_ENGINE_DECISIONS,
        can_record=holds(principal, "reviewer"), form={}, form_errors=[], **context)


@bp.post("/assessments/<assessment_id>/dispositions")
def record_disposition(assessment_id: str) -> Any:
    principal = require("reviewer")
    svc = services()
    stored = _stored(assessment_id, principal)
    form = {"decision": request.form.get("decision", ""),
            "reason": request.form.get("reason", ""),
            "conditions": [line.strip() for line in request.form.get("conditions", "")
                           .splitlines() if line.strip()],
            "expires_on": request.form.get("expires_on", "").strip() or None}
    errors: list[str] = []
    try:
        data = DispositionRequestSchema().load(form)
        svc.assessments.record_disposition(stored, principal.key_id, data)
    except ValidationError as exc:
        errors = [f"{e.path}: {e.message}" for e in field_errors(exc.messages)]
    except ApiError as exc:
        errors = [exc.detail]
    if not errors:
        return redirect(url_for("web.assessment", assessment_id=stored.id) + "#disposition",
                        code=303)
    doc = stored.assessment
    history = svc.assessments.dispositions_of(stored)
    context = _assessment_context(doc, stored.proposal, None)
    form["conditions"] = "\n".join(str(c) for c in form["conditions"] or ())
    return render_template(
        "web/assessment.html", stored=stored, history=history,
        effective=dispositions.effective_decision(history),
        expired=dispositions.expired(history),
        disposition_decisions=dispositions.DECISIONS, four_eyes=False, can_record=True,
        form=form, form_errors=errors, **context), 422


# ---------------------------------------------------------------------------------------------
# rules


def _fires(window_days: int = FIRE_WINDOW_DAYS) -> tuple[dict[str, list[tuple[str, str]]], int]:
    """Rule id → [(assessment id, created)] over stored assessments of the last days."""
    since = datetime.now(UTC) - timedelta(days=window_days)
    fired: dict[str, list[tuple[str, str]]] = {}
    scanned = 0
    for row in services().assessments.each(Filters(since=since)):
        scanned += 1
        if scanned > FIRE_SCAN_LIMIT:
            break
        created = row.created_at.strftime("%Y-%m-%d %H:%M")
        for rule_id in present.fired_rule_ids(row.assessment):
            fired.setdefault(rule_id, []).append((row.id, created))
    return fired, min(scanned, FIRE_SCAN_LIMIT)


@bp.get("/rules")
def rules() -> str:
    lease = services().packs.installed()
    if lease is None:
        raise PageError(503, "No rule pack is loaded.")
    counts = readers_limit(g.principal) is None
    fired, scanned = _fires() if counts else ({}, 0)
    return render_template("web/rules.html", pack=lease.pack,
                           rules=[present.rule_view(r, lease.pack) for r in lease.pack.rules],
                           fired=fired, scanned=scanned, window=FIRE_WINDOW_DAYS,
                           show_counts=counts)


@bp.get("/rules/<rule_id>")
def rule(rule_id: str) -> str:
    lease = services().packs.installed()
    if lease is None:
        raise PageError(503, "No rule pack is loaded.")
    found = lease.pack.rule(rule_id)
    if found is None:
        raise PageError(404, f"No rule {rule_id!r} in the loaded pack.")
    counts = readers_limit(g.principal) is None
    fired, scanned = _fires() if counts else ({}, 0)
    hits = sorted(fired.get(rule_id, []), key=lambda h: h[1], reverse=True)
    return render_template("web/rule.html", rule=present.rule_view(found, lease.pack),
                           hits=hits, scanned=scanned, window=FIRE_WINDOW_DAYS,
                           show_counts=counts)


# ---------------------------------------------------------------------------------------------
# playground


def _examples() -> dict[str, Path]:
    folder = Path(services().settings.examples_dir)
    if not folder.is_dir():
        return {}
    return {p.stem: p for p in sorted(folder.glob("*.json"))[:200]}


@bp.route("/playground", methods=["GET", "POST"])
def playground() -> Any:
    examples = _examples()
    chosen = request.values.get("example", "")
    text = request.form.get("proposal", "") if request.method == "POST" else ""
    if not text and chosen in examples:
        text = examples[chosen].read_text(encoding="utf-8")
    elif not text and examples:
        chosen = next(iter(examples))
        text = examples[chosen].read_text(encoding="utf-8")
    errors: list[str] = []
    context: dict[str, Any] = {}
    if request.method == "POST":
        max_bytes = services().settings.max_body_bytes
        try:
            if len(text.encode("utf-8")) > max_bytes:
                raise PageError(413, f"The proposal is over the limit of {max_bytes} bytes.")
            proposal = loads_strict(text)
            if depth(proposal) > services().settings.max_depth:
                raise PageError(400, "The proposal is nested too deeply.")
            with services().packs.lease() as lease:
                result = lease.pack.assess(proposal)  # validates against the pack's contract
            doc = result.to_dict()
            context = _assessment_context(doc, proposal, _what_if(proposal, doc.get("as_of")))
        except MalformedJSON as exc:
            errors = [f"Not JSON: {exc.detail}"]
        except ProposalError as exc:
            errors = [f"{e.path}: {e.message}" for e in exc.errors]
        except PageError as exc:
            errors = [exc.message]
    return render_template("web/playground.html", examples=list(examples), chosen=chosen,
                           text=text, errors=errors, **context)


# ---------------------------------------------------------------------------------------------
# impact report


@bp.route("/impact", methods=["GET", "POST"])
def impact() -> Any:
    report: dict[str, Any] | None = None
    errors: list[str] = []
    if request.method == "POST":
        upload = request.files.get("report")
        if upload is not None and upload.filename:
            try:
                raw = upload.read(MAX_UPLOAD_BYTES + 1)
            finally:
                upload.close()
        else:
            raw = request.form.get("report_text", "").encode("utf-8")
        if len(raw) > MAX_UPLOAD_BYTES:
            errors = [f"The report is over {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB."]
        elif not raw.strip():
            errors = ["Choose a file written by `riskrules diff --format json`, or paste it."]
        else:
            try:
                report = present.impact_view(loads_strict(raw))
            except MalformedJSON as exc:
                errors = [f"Not JSON: {exc.detail}"]
            except ValueError as exc:
                errors = [str(exc)]
    return render_template("web/impact.html", report=report, errors=errors)

