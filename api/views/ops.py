"""The operations blueprint: liveness, readiness, Prometheus metrics, OpenAPI and its docs page."""

from __future__ import annotations

from flask import Blueprint, Response

from api.context import json_response, services
from api.errors import NotReady, StoreUnavailable
from api.openapi import build_spec, docs_html

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    return json_response({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    svc = services()
    problems: list[str] = []
    if not svc.holder.loaded:
        reason = svc.holder.load_error
        problems.append(f"no rule pack loaded{f' ({reason})' if reason else ''}")
    try:
        svc.store.ping(write=True)
    except StoreUnavailable as error:
        problems.append(error.detail)
    if problems:
        raise NotReady("; ".join(problems))
    return json_response({"status": "ready", "checks": {"pack": "ok", "store": "ok"}})


@bp.get("/metrics")
def metrics() -> Response:
    body, content_type = services().metrics.render()
    return Response(body, status=200, content_type=content_type)


@bp.get("/openapi.json")
def openapi() -> Response:
    return json_response(build_spec())


@bp.get("/docs")
def docs() -> Response:
    return Response(docs_html(build_spec()), status=200, mimetype="text/html")
