"""gunicorn settings and hooks for the riskrules API, shared by `riskrules serve` and deploy/.

Why these values: scoring is CPU-bound and durable_rules keeps state per process, so one
worker per core (at least two, so one slow request never blocks the service), no preload
(each worker loads its pack after fork), and workers recycled after a bounded number of
requests (durable_rules has reported long-run state issues after ~70,000 facts per process).
Workers are threaded (4 threads: the engine serialises scoring, threads overlap I/O and keep
`/healthz` answering) and never give a thread to a connection before its request head has
arrived (api/worker.py): slow clients cannot hold them.
"""

from __future__ import annotations

import atexit
import glob
import json
import logging
import os
import shutil
from typing import Any

from gunicorn.glogging import Logger

from api.logs import JsonFormatter
from api.settings import TABLE, setting

log = logging.getLogger("riskrules.api")


class JsonLogger(Logger):  # type: ignore[misc]
    """gunicorn's own log (master and workers: boot, signals, worker exits) as JSON lines like
    the app's, so that a log shipper parses every line. gunicorn's optional access log
    (RISKRULES_ACCESS_LOG) keeps ACCESS_LOG_FORMAT, which is already one JSON object."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.setFormatter(JsonFormatter())

ACCESS_LOG_FORMAT = json.dumps({
    "remote": "%(h)s", "request": "%(r)s", "status": "%(s)s", "bytes": "%(B)s",
    "duration_us": "%(D)s", "request_id": "%({x-request-id}o)s", "agent": "%(a)s",
})


def default_workers() -> int:
    return max(2, os.cpu_count() or 1)


def on_starting(server: Any) -> None:
    """Before the first fork: drop stale multiprocess metric files of an earlier run, keep the
    last good pack and keys, make SIGHUP check them before it replaces the workers, and give
    every worker the same workbench session secret when none is configured."""
    if not setting("SESSION_SECRET"):
        import secrets

        os.environ[str(TABLE["SESSION_SECRET"].env)] = secrets.token_hex(32)
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path:
        os.makedirs(path, exist_ok=True)
        for stale in glob.glob(os.path.join(path, "*.db")):
            os.remove(stale)
    install_guard(server)
    warm_screening(server)


def warm_screening(server: Any) -> None:
    """Load the pack's screening index in the master, frozen out of the garbage collector's
    reach, before the workers fork: a worker whose pack screens the same lists takes the
    inherited index (shared copy-on-write) instead of holding its own copy."""
    import gc

    from api.config import Settings
    from engine.pack import warm_screening as warm

    config: dict[str, Any] = dict(getattr(server.app, "app_config", None) or {})
    try:
        loaded = warm(Settings.resolve("RULES_DIR", config))
    except Exception:  # the workers load and report the pack themselves
        log.exception("screening index not preloaded")
        return
    if loaded:
        gc.collect()
        gc.freeze()


def install_guard(server: Any) -> Any:
    """The SIGHUP guard of api.guard, configured like the workers' app (returns the Guard)."""
    from api.config import Settings
    from api.guard import Guard, install, make_state_dir
    from api.logs import configure_logging

    config: dict[str, Any] = dict(getattr(server.app, "app_config", None) or {})
    configure_logging(Settings.resolve("LOG_LEVEL", config))
    state, owned = make_state_dir()
    if owned:
        master = os.getpid()

        def cleanup() -> None:
            if os.getpid() == master:  # forked workers inherit atexit handlers
                shutil.rmtree(state, ignore_errors=True)

        atexit.register(cleanup)
    guard = Guard(state=state, rules_dir=Settings.resolve("RULES_DIR", config),
                  keys_file=Settings.resolve("KEYS_FILE", config),
                  api_keys=Settings.resolve("API_KEYS", config),
                  insecure_no_auth=Settings.resolve("INSECURE_NO_AUTH", config))
    guard.start()
    log.info("database %s", redact_url(Settings.resolve("DATABASE_URL", config)),
             extra={"database": redact_url(Settings.resolve("DATABASE_URL", config))})
    install(server, guard)
    return guard


def redact_url(url: str) -> str:
    """A database URL without its password, for logs."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL: say nothing that may hold a secret
        return "<unparsable database URL>"


def post_fork(server: Any, worker: Any) -> None:
    """In each worker: tell the app the master's pid (for reloads) and use multiprocess metrics."""
    os.environ[str(TABLE["MASTER_PID"].env)] = str(server.pid)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import values

        # prometheus_client picks its value class at import; the master may have imported it
        # before the directory was configured.
        get_value_class: Any = values.get_value_class  # untyped upstream
        values.ValueClass = get_value_class()


def child_exit(server: Any, worker: Any) -> None:
    """A worker died or was recycled: retire its live gauges from the aggregated metrics."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        mark_dead: Any = multiprocess.mark_process_dead  # untyped upstream
        mark_dead(worker.pid)


def when_ready(server: Any) -> None:
    server.log.info("riskrules API ready on %s (workers: %s)",
                    ", ".join(str(b) for b in server.LISTENERS), server.num_workers)


def settings() -> dict[str, Any]:
    """The gunicorn settings (names as in gunicorn's documentation), from RISKRULES_* env."""
    return {
        "bind": [setting("BIND")],
        "workers": setting("WORKERS") or default_workers(),
        # gthread, with request heads buffered in the poller and a deadline on bodies
        # (api/worker.py): a slow client never holds a worker. RISKRULES_WORKER_CLASS=sync
        # restores the old workers (only behind a buffering proxy).
        "worker_class": setting("WORKER_CLASS"),
        "threads": setting("THREADS"),
        "timeout": setting("WORKER_TIMEOUT"),
        "graceful_timeout": setting("GRACEFUL_TIMEOUT"),
        "keepalive": 5,
        "max_requests": setting("MAX_REQUESTS"),
        "max_requests_jitter": setting("MAX_REQUESTS_JITTER"),
        "preload_app": False,
        "accesslog": setting("ACCESS_LOG"),
        "access_log_format": ACCESS_LOG_FORMAT,
        "errorlog": "-",
        "logger_class": JsonLogger,
        "loglevel": str(setting("LOG_LEVEL")).lower(),
        "forwarded_allow_ips": setting("FORWARDED_ALLOW_IPS"),
        # gunicorn >= 25's control socket lives in $HOME: one per host would clash between
        # instances and needs a writable home; operations here go through signals instead.
        "control_socket_disable": True,
        "on_starting": on_starting,
        "post_fork": post_fork,
        "child_exit": child_exit,
        "when_ready": when_ready,
    }
