"""Per-app services (store, pack holder and services, keys, limiter, metrics) and the helpers views share.

Kept apart from the app factory so that views import helpers without importing the factory,
and so tests can build an app with injected services.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Response, current_app, g, request

from api.auth import ANONYMOUS, KeyRing, Principal, RateLimiter, retry_after_header
from api.config import Settings
from api.errors import Forbidden, TooManyRequests, Unauthorized
from api.metrics import Metrics
from api.service import AssessmentService, PackService, dumps
from api.store import Store
from api.watcher import RulesWatcher
from engine.holder import PackHolder
from engine.pack import Pack

EXTENSION = "riskrules"
JSON = "application/json"


@dataclass
class Services:
    """Everything one app instance owns; kept in `app.extensions["riskrules"]`."""

    settings: Settings
    store: Store
    holder: PackHolder[Pack]  # the engine's one holder; `packs` owns how it is (re)loaded
    packs: PackService
    assessments: AssessmentService
    keyring: KeyRing
    limiter: RateLimiter
    metrics: Metrics
    auth_failures: RateLimiter | None = None  # failed authentications per client address
    watcher: RulesWatcher | None = None


def services() -> Services:
    found: Services = current_app.extensions[EXTENSION]
    return found


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def client_address(trusted: str) -> str:
    """The client's address: the peer, or the last X-Forwarded-For hop when the peer is a
    trusted proxy (`FORWARDED_ALLOW_IPS`, comma-separated, `*` for any)."""
    peer = request.remote_addr or "unknown"
    allowed = {part.strip() for part in trusted.split(",") if part.strip()}
    forwarded = request.headers.get("X-Forwarded-For", "")
    if forwarded and ("*" in allowed or peer in allowed):
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return last[:64]
    return peer


def _refuse_over_failure_budget(svc: Services) -> None:
    """429 before any hash is computed when this address spent its failed-authentication budget."""
    limiter = svc.auth_failures
    if limiter is None or not limiter.enabled:
        return
    wait = limiter.wait(client_address(svc.settings.forwarded_allow_ips))
    if wait is not None:
        raise TooManyRequests("too many failed authentications from this address",
                              headers={"Retry-After": retry_after_header(wait)})


def _count_failure(svc: Services) -> None:
    if svc.auth_failures is not None:
        svc.auth_failures.take(client_address(svc.settings.forwarded_allow_ips))


def holds(principal: Principal, role: str) -> bool:
    """Whether `principal` may act as `role`: admin holds every role."""
    return role in principal.roles or "admin" in principal.roles


def authorize(*roles: str) -> Principal:
    """Authenticate the request and check that the key holds one of `roles` (none: any key;
    admin holds every role).

    401 without or with unknown credentials, 429 over the key's rate, 403 without the role.
    """
    svc = services()
    if svc.settings.insecure_no_auth:
        principal = ANONYMOUS
    else:
        token = _bearer()
        challenge = 'Bearer realm="riskrules"'
        if token is None:
            raise Unauthorized("send an API key as `Authorization: Bearer <key>`",
                               headers={"WWW-Authenticate": challenge})
        _refuse_over_failure_budget(svc)
        found = svc.keyring.authenticate(token)
        if found is None:
            _count_failure(svc)
            raise Unauthorized("the API key is not valid", headers={
                "WWW-Authenticate": f'{challenge}, error="invalid_token"'})
        principal = found
    g.key_id = principal.key_id
    wait = svc.limiter.take(principal.key_id)
    if wait is not None:
        raise TooManyRequests(
            f"key {principal.key_id} is over its rate limit of {svc.limiter.rate:g} requests/s",
            headers={"Retry-After": retry_after_header(wait)})
    if roles and not any(holds(principal, role) for role in roles):
        raise Forbidden(f"key {principal.key_id} lacks the role {' or '.join(roles)} "
                        f"needed for {request.method} {request.path}")
    return principal


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    text = body if isinstance(body, str) else dumps(body)
    resp = Response(text, status=status, mimetype=JSON)
    for name, value in (headers or {}).items():
        resp.headers[name] = value
    return resp
