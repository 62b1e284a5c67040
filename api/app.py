"""The Flask app factory: settings, services, blueprints, error handlers and the request log.

No module-level app: gunicorn builds one per worker (`api:create_app()`), after fork, so each
worker has its own durable_rules state, database pool and metrics.
"""

from __future__ import annotations

import atexit
import logging
import re
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, Response, g, request

from api.auth import KeyRing, KeySource, RateLimiter, keys_summary
from api.config import Settings
from api.context import EXTENSION, Services
from api.errors import ConfigError, register_error_handlers
from api.guard import last_good_pack
from api.logs import configure_logging
from api.metrics import Metrics
from api.service import AssessmentService, PackService
from api.store import Store
from api.watcher import RulesWatcher, fingerprint
from engine.holder import PackHolder
from engine.pack import Pack

log = logging.getLogger("riskrules.api")
access_log = logging.getLogger("riskrules.access")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

INSECURE_BANNER = (
    "*** riskrules is running WITHOUT AUTHENTICATION (--insecure-no-auth): every client may "
    "score, read and reload. Never expose this server. ***")


def _engine_loader(path: str | Path) -> Pack:
    """load_pack, again if a file changed meanwhile: the engine reads each file once to parse
    it and once more for the digest, so a file replaced during the load (an operator editing
    the pack as a worker starts) gave a pack whose digest matches neither version."""
    from engine import load_pack  # imported late: the API must start (503) without a pack

    for _ in range(3):
        before = fingerprint(str(path))
        pack = load_pack(path)
        if fingerprint(str(path)) == before:
            return pack
        pack.close()
        log.warning("rule pack at %s changed while it was loading; loading it again", path)
    return load_pack(path)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app. `config` keys are the Settings names (RULES_DIR, DATABASE_URL, KEYS, ...).

    Raises ConfigError when no API key is configured and INSECURE_NO_AUTH is not set.
    """
    settings = Settings.build(config)
    if settings.configure_logging:
        configure_logging(settings.log_level)
    if not settings.keys and not settings.insecure_no_auth and not settings.keys_all_revoked:
        raise ConfigError(
            "no API keys configured (RISKRULES_KEYS_FILE, RISKRULES_API_KEYS or --keys-file); "
            "create one with `riskrules keys create`, or start with --insecure-no-auth")
    if settings.insecure_no_auth:
        log.warning(INSECURE_BANNER)
    elif settings.keys_all_revoked:
        log.warning("every API key is revoked (all_revoked: true): every request needing a key "
                    "gets 401")
    else:
        log.info("API keys loaded: %s", keys_summary(settings.keys))

    app = Flask("api")
    # One byte over the limit: werkzeug refuses any read past MAX_CONTENT_LENGTH, so a chunked
    # body of exactly the limit could not be told from a longer one (api/body.py decides).
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes + 1
    app.json.sort_keys = False  # type: ignore[attr-defined]

    if settings.auto_migrate:
        from api.migrate import upgrade

        upgrade(settings.database_url)
    store = Store(settings.database_url)
    holder: PackHolder[Pack] = PackHolder(None, settings.pack_loader or _engine_loader)
    metrics = Metrics()
    packs = PackService(holder, settings.rules_dir, metrics)
    packs.start(fallback=last_good_pack())
    source = None
    if settings.keys_file and not settings.insecure_no_auth:
        source = KeySource(settings.keys_file, settings.api_keys, settings.keys_check_interval)
        if settings.keys_rejected:
            source.mark_rejected(settings.keys_rejected)
    svc = Services(settings=settings, store=store, holder=holder, packs=packs,
                   assessments=AssessmentService(store, packs, metrics),
                   keyring=KeyRing(settings.keys, source),
                   limiter=RateLimiter(settings.rate_limit_rps, settings.rate_limit_burst),
                   metrics=metrics,
                   auth_failures=RateLimiter(settings.auth_failure_rate,
                                             settings.auth_failure_burst))
    app.extensions[EXTENSION] = svc

    if settings.watch_rules:
        svc.watcher = _start_watcher(app, svc)

    from api.views import assessments, ops, ruleset
    from api.web import bp as workbench
    from api.web import configure as configure_workbench

    configure_workbench(app, settings)
    app.register_blueprint(workbench)
    app.register_blueprint(assessments.bp)
    app.register_blueprint(ruleset.bp)
    app.register_blueprint(ops.bp)
    register_error_handlers(app)
    _install_request_hooks(app, svc)
    return app


def _start_watcher(app: Flask, svc: Services) -> RulesWatcher:
    def reload() -> None:
        with app.app_context():
            svc.packs.reload()

    watcher = RulesWatcher(reload, svc.settings.rules_dir, svc.settings.watch_interval)
    watcher.start()
    atexit.register(watcher.stop)
    return watcher


def _install_request_hooks(app: Flask, svc: Services) -> None:
    @app.before_request
    def _start() -> None:
        g.started = time.perf_counter()
        incoming = request.headers.get("X-Request-Id", "")
        g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex

    @app.after_request
    def _finish(response: Response) -> Response:
        request_id = g.get("request_id") or uuid.uuid4().hex
        response.headers["X-Request-Id"] = request_id
        # Answers are per key and per moment: no cache may keep them, no browser may sniff
        # a JSON body into something it renders.
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers.setdefault("Cache-Control", "no-store")
        started = g.get("started")
        seconds = time.perf_counter() - started if started is not None else 0.0
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        svc.metrics.observe_request(request.method, route, response.status_code, seconds)
        ids = g.get("assessment_ids") or []
        fields: dict[str, Any] = {
            "request_id": request_id, "method": request.method, "route": route,
            "path": request.path, "status": response.status_code,
            "duration_ms": round(seconds * 1000, 3), "key_id": g.get("key_id"),
            "remote_addr": request.remote_addr,
        }
        if len(ids) == 1:
            fields["assessment_id"] = ids[0]
        elif ids:
            fields["assessment_ids"] = ids
        if g.get("problem_code"):
            fields["error_code"] = g.problem_code
        access_log.info("%s %s %s", request.method, request.path, response.status_code,
                        extra=fields)
        return response
