"""The ruleset blueprint: the loaded pack, its rules, and the admin reload.

A reload replaces the pack of the worker that receives it; when the app runs under gunicorn
(the master's pid is known), it then sends SIGHUP to the master so that every worker is
replaced by one that loads the new pack, and answers with scope `all-workers`.
"""

from __future__ import annotations

import logging
import os
import signal

from flask import Blueprint, Response, request

from api.context import authorize, json_response, services
from api.errors import NotFound
from api.responses import rule_document, ruleset_document
from api.schemas import RuleQuerySchema, load_query
from api.service import loaded_at

bp = Blueprint("ruleset", __name__)
log = logging.getLogger("riskrules.api")


@bp.get("/v1/ruleset")
def get_ruleset() -> Response:
    authorize()
    lease = services().packs.require()
    return json_response(ruleset_document(lease.pack, loaded_at(lease)))


@bp.get("/v1/rules")
def list_rules() -> Response:
    authorize()
    query = load_query(RuleQuerySchema(), request.args.to_dict(flat=False))
    lease = services().packs.require()
    items = [rule_document(rule) for rule in lease.pack.rules]
    if "factor" in query:
        items = [r for r in items if r["factor"] == query["factor"]]
    if "kind" in query:
        items = [r for r in items if r["kind"] == query["kind"]]
    return json_response({"items": items, "count": len(items)})


@bp.get("/v1/rules/<rule_id>")
def get_rule(rule_id: str) -> Response:
    authorize()
    lease = services().packs.require()
    for rule in lease.pack.rules:
        if rule.id == rule_id:
            return json_response(rule_document(rule))
    raise NotFound(f"no rule with id {rule_id!r} in the loaded pack")


@bp.post("/v1/ruleset:reload")
def reload_ruleset() -> Response:
    authorize("admin")
    svc = services()
    previous_digest, lease = svc.packs.reload()
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
        "ruleset": ruleset_document(lease.pack, loaded_at(lease)),
        "scope": scope,
    })
