"""The ruleset blueprint: the loaded pack, its rules, and the admin reload.

A reload replaces the pack of the worker that receives it; when the app runs under gunicorn
(the master's pid is known), it then sends SIGHUP to the master so that every worker is
replaced by one that loads the new pack, and answers with scope `all-workers`.
"""

from __future__ import annotations

import logging
import os
import signal
from typing import Any

from flask import Blueprint, Response, request

from api.context import Services, authorize, json_response, services
from api.errors import NotFound, NotReady
from api.schemas import RuleQuerySchema, load_query, rule_document, ruleset_document

bp = Blueprint("ruleset", __name__)
log = logging.getLogger("riskrules.api")


def _current(svc: Services) -> Any:
    lease = svc.holder.current()
    if lease is None:
        raise NotReady("no valid rule pack is loaded; see the server log and /readyz")
    return lease


@bp.get("/v1/ruleset")
def get_ruleset() -> Response:
    authorize()
    lease = _current(services())
    return json_response(ruleset_document(lease.pack, lease.loaded_at))


@bp.get("/v1/rules")
def list_rules() -> Response:
    authorize()
    query = load_query(RuleQuerySchema(), request.args.to_dict(flat=False))
    lease = _current(services())
    items = [rule_document(rule) for rule in lease.pack.rules]
    if "factor" in query:
        items = [r for r in items if r["factor"] == query["factor"]]
    if "kind" in query:
        items = [r for r in items if r["kind"] == query["kind"]]
    return json_response({"items": items, "count": len(items)})


@bp.get("/v1/rules/<rule_id>")
def get_rule(rule_id: str) -> Response:
    authorize()
    lease = _current(services())
    for rule in lease.pack.rules:
        if rule.id == rule_id:
            return json_response(rule_document(rule))
    raise NotFound(f"no rule with id {rule_id!r} in the loaded pack")


def reload_pack(svc: Services) -> tuple[str | None, Any]:
    """Load the pack from disk and swap it in; a failure (PackError) leaves the old pack serving."""
    previous = svc.holder.current()
    previous_digest = None if previous is None else previous.pack.digest
    try:
        lease = svc.holder.load()
    except Exception:  # PackError (answered 422 with diagnostics) or anything unexpected
        svc.metrics.reloads.labels("failure").inc()
        raise
    svc.holder.load_error = None
    svc.holder.fallback_note = None
    svc.metrics.reloads.labels("success").inc()
    svc.metrics.set_ruleset(lease.pack.name, lease.pack.version, lease.pack.digest)
    log.info("rule pack reloaded", extra={"digest": lease.pack.digest,
                                          "previous_digest": previous_digest})
    return previous_digest, lease


@bp.post("/v1/ruleset:reload")
def reload_ruleset() -> Response:
    authorize("admin")
    svc = services()
    previous_digest, lease = reload_pack(svc)
    scope = "worker"
    master = svc.settings.master_pid
    if master and master != os.getpid():
        try:
            os.kill(master, signal.SIGHUP)
            scope = "all-workers"
        except OSError as error:
            log.warning("could not signal the gunicorn master %s: %s", master, error)
    return json_response({
        "reloaded": True,
        "previous_digest": previous_digest,
        "ruleset": ruleset_document(lease.pack, lease.loaded_at),
        "scope": scope,
    })
