"""`riskrules serve`: run the HTTP API under gunicorn (migrations first, then the workers).

gunicorn is driven programmatically (BaseApplication) with the settings of api/gunicornconf.py
(also used by deploy/gunicorn.conf.py). Migrations run once here, before any worker forks;
each worker then builds its own app and loads the pack itself (no preload: durable_rules state
is per process). SIGHUP to this process makes gunicorn replace its workers gracefully, which
reloads the pack from disk everywhere.
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from api.settings import setting
from cli.common import database_url, resolve_keys_file


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve", help="run the HTTP API under gunicorn",
        description="Run the HTTP API under gunicorn. Applies database migrations first. "
                    "Refuses to start without API keys unless --insecure-no-auth is given.")
    parser.add_argument("--bind", metavar="HOST:PORT",
                        help="address to listen on (default $RISKRULES_BIND or 127.0.0.1:8000)")
    parser.add_argument("--workers", type=int, metavar="N",
                        help="worker processes (default $RISKRULES_WORKERS or one per core)")
    parser.add_argument("--threads", type=int, metavar="N",
                        help="threads per worker (default $RISKRULES_THREADS or 4)")
    parser.add_argument("--database-url", metavar="URL",
                        help="SQLAlchemy URL (default $RISKRULES_DATABASE_URL or "
                             "sqlite:///var/riskrules.sqlite3); postgresql://... for PostgreSQL")
    parser.add_argument("--keys-file", metavar="FILE",
                        help="API keys file (default $RISKRULES_KEYS_FILE or ./var/keys.yaml)")
    parser.add_argument("--insecure-no-auth", action="store_true",
                        help="serve without authentication (development only)")
    parser.add_argument("--production", action="store_true",
                        help="refuse to start on sample or stale watchlists, as "
                             "screening.production: true in pack.yaml does")
    parser.add_argument("--watch-rules", action="store_true",
                        help="reload the pack when a file under --rules changes (per worker)")
    parser.set_defaults(func=handle)


def _multiprocess_metrics_dir() -> None:
    """Workers share metrics through files; make a private directory unless one is configured."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    path = tempfile.mkdtemp(prefix="riskrules-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    owner = os.getpid()

    def cleanup() -> None:
        # Forked workers inherit atexit handlers and exit through sys.exit: only the master
        # may remove the directory, or a worker leaving after SIGHUP would take it away from
        # the workers that replace it.
        if os.getpid() == owner:
            shutil.rmtree(path, ignore_errors=True)

    atexit.register(cleanup)


def handle(args: argparse.Namespace) -> int:
    from api.app import INSECURE_BANNER
    from api.auth import load_keys
    from api.errors import ConfigError
    from api.logs import configure_logging
    from api.migrate import upgrade
    from api.store import StoreUnavailable

    configure_logging(setting("LOG_LEVEL"))
    keys_file = resolve_keys_file(args.keys_file)
    try:
        keys = load_keys(keys_file, setting("API_KEYS"))
    except ConfigError as error:
        print(f"riskrules serve: {error.detail}", file=sys.stderr)
        return 2
    if not keys and not args.insecure_no_auth:
        print("riskrules serve: no API keys configured: refusing to start.\n"
              "  create one:  riskrules keys create --role submitter --role auditor\n"
              "  or give --keys-file FILE / RISKRULES_KEYS_FILE / RISKRULES_API_KEYS;\n"
              "  --insecure-no-auth serves without authentication (development only).",
              file=sys.stderr)
        return 2
    if args.insecure_no_auth:
        print(f"\n{INSECURE_BANNER}\n", file=sys.stderr)
    if not Path(args.rules).is_dir():
        print(f"riskrules serve: rule pack directory {args.rules} does not exist",
              file=sys.stderr)
        return 2
    from engine.pack import screening_refusals

    refusals = screening_refusals(args.rules, production=args.production)
    if refusals:
        print("riskrules serve: the pack's watchlists are not fit to screen with: refusing to "
              "start.\n  " + "\n  ".join(refusals), file=sys.stderr)
        return 2
    url = database_url(args.database_url)
    try:
        upgrade(url)
    except StoreUnavailable as error:
        print(f"riskrules serve: {error.detail}", file=sys.stderr)
        return 2
    _multiprocess_metrics_dir()
    app_config: dict[str, Any] = {
        "RULES_DIR": args.rules, "DATABASE_URL": url, "KEYS_FILE": keys_file,
        "INSECURE_NO_AUTH": args.insecure_no_auth, "AUTO_MIGRATE": False,
        "MASTER_PID": os.getpid(),
    }
    if args.watch_rules:
        app_config["WATCH_RULES"] = True
    options: dict[str, Any] = {}
    if args.bind:
        options["bind"] = [args.bind]
    if args.workers:
        options["workers"] = args.workers
    if args.threads:
        options["threads"] = args.threads
    try:
        from cli.gunicornapp import RiskrulesApplication

        RiskrulesApplication(options, app_config).run()
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    return 0

