"""The operations blueprint: liveness, readiness, Prometheus metrics, OpenAPI and its docs page."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response

from api.context import authorize, json_response, services
from api.errors import NotReady
from api.guard import refusal_warnings, state_dir
from api.openapi import build_spec, docs_html
from api.store import StoreUnavailable

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    return json_response({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    svc = services()
    problems: list[str] = []
    if not svc.packs.loaded:
        reason = svc.packs.load_error
        problems.append(f"no rule pack loaded{f' ({reason})' if reason else ''}")
    try:
        svc.store.ping(write=True)
    except StoreUnavailable as error:
        problems.append(error.detail)
    if problems:
        raise NotReady("; ".join(problems))
    body: dict[str, object] = {"status": "ready", "checks": {"pack": "ok", "store": "ok"}}
    warnings = refusal_warnings(state_dir())
    if svc.packs.fallback_note:
        warnings.append(svc.packs.fallback_note)
    source = svc.keyring.source
    if source is not None and source.rejected:
        warnings.append(f"keys file {source.keys_file} is refused ({source.rejected}); "
                        "serving the last good keys")
    screening = _screening_state(svc.packs.installed())
    if screening is not None:
        body["screening"] = screening
        # Sample data is reported in the detail only (the pack's own check warns about it);
        # a list gone stale since the pack loaded is news for the operator.
        for item in screening["lists"]:
            if item["stale"]:
                warnings.append(f"watchlist {item['name']} is stale: as of {item['as_of']}, "
                                f"past max_age_days {screening['max_age_days']}")
    if warnings:
        body["warnings"] = warnings
    return json_response(body)


def _screening_state(lease: Any) -> dict[str, Any] | None:
    """The lists the current pack screens against, with their as-of, age, digest, size and
    sample/stale flags today; None when the pack screens nothing."""
    pack = getattr(lease, "pack", None)
    lists = getattr(pack, "watchlists", None)
    if not lists:
        return None
    settings = getattr(getattr(pack, "spec", None), "screening", None)
    max_age = getattr(settings, "max_age_days", None)
    today = dt.date.today()
    rows = [w.to_dict(today, max_age) for w in lists]
    return {"max_age_days": max_age, "lists": rows,
            "sample": any(r["sample"] for r in rows), "stale": any(r["stale"] for r in rows)}


@bp.get("/metrics")
def metrics() -> Response:
    svc = services()
    if svc.settings.metrics_require_key:
        authorize()
    body, content_type = svc.metrics.render(state_dir())
    return Response(body, status=200, content_type=content_type)


def _spec() -> dict[str, Any]:
    """The document for the loaded pack's contract (503 while no pack is loaded)."""
    with services().packs.lease() as lease:
        return build_spec(lease.pack.contract)


@bp.get("/openapi.json")
def openapi() -> Response:
    return json_response(_spec())


@bp.get("/docs")
def docs() -> Response:
    return Response(docs_html(_spec()), status=200, mimetype="text/html")
