"""The settings table: every `RISKRULES_*` environment variable, its converter and its default.

The HTTP service (`api.config.Settings`), gunicorn's configuration (`api.gunicornconf`), its
worker (`api.worker`), the store and the command line read configuration only through
`setting(name)`, so a flag of `riskrules serve`, a container's environment and a test's
`create_app(config)` agree on what each name means and what it defaults to. Standard library
only: the command line reads it before (or without) importing Flask or SQLAlchemy.
Precedence: an explicit `config` entry, then the environment (an empty value counts as
unset), then the default. The engine's own cache setting (`RISKRULES_INDEX_CACHE_DIR`) is read
in engine/pack.py: the engine imports nothing from `api`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

MIB = 1024 * 1024
DEFAULT_DATABASE_URL = "sqlite:///var/riskrules.sqlite3"
DEFAULT_KEYS_FILE = "var/keys.yaml"  # where `riskrules keys` writes and `serve` looks first


class SettingError(ValueError):
    """A setting's value cannot be used; the message names the variable."""


def boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("", "0", "false", "no", "off"):
        return False
    raise ValueError(f"not a boolean: {value!r}")


def number(cast: Callable[[Any], Any], minimum: float | None = None) -> Callable[[Any], Any]:
    """A converter to `cast` (int or float), refusing values below `minimum`."""

    def convert(value: Any) -> Any:
        try:
            out = cast(value)
        except (TypeError, ValueError):
            raise ValueError(f"not a number: {value!r}") from None
        if minimum is not None and out < minimum:
            raise ValueError(f"{value!r} is below the minimum {minimum}")
        return out

    return convert


@dataclass(frozen=True)
class Setting:
    """One setting: its environment variable (None: only given in code), converter, default."""

    env: str | None
    convert: Callable[[Any], Any]
    default: Any


def _env(name: str, convert: Callable[[Any], Any], default: Any) -> Setting:
    return Setting(f"RISKRULES_{name}", convert, default)


# The settings of the HTTP service (api.config.Settings has one field per name, lower case).
SERVICE: dict[str, Setting] = {
    "RULES_DIR": _env("RULES_DIR", str, "rules"),
    "DATABASE_URL": _env("DATABASE_URL", str, DEFAULT_DATABASE_URL),
    "KEYS_FILE": _env("KEYS_FILE", str, None),
    "API_KEYS": _env("API_KEYS", str, None),
    "INSECURE_NO_AUTH": _env("INSECURE_NO_AUTH", boolean, False),
    "MAX_BODY_BYTES": _env("MAX_BODY_BYTES", number(int, 1024), MIB),
    "MAX_DEPTH": _env("MAX_DEPTH", number(int, 4), 32),
    "MAX_BATCH": _env("MAX_BATCH", number(int, 1), 1000),
    "MAX_PAGE_BYTES": _env("MAX_PAGE_BYTES", number(int, 1024), 8 * MIB),
    "RATE_LIMIT_RPS": _env("RATE_LIMIT_RPS", number(float, 0), 50.0),
    "RATE_LIMIT_BURST": _env("RATE_LIMIT_BURST", number(int, 1), 100),
    "AUTO_MIGRATE": _env("AUTO_MIGRATE", boolean, False),
    "WATCH_RULES": _env("WATCH_RULES", boolean, False),
    "WATCH_INTERVAL": _env("WATCH_INTERVAL", number(float, 0.05), 2.0),
    "MASTER_PID": _env("GUNICORN_MASTER_PID", number(int, 1), None),
    "LOG_LEVEL": _env("LOG_LEVEL", str, "INFO"),
    "KEYS_CHECK_INTERVAL": _env("KEYS_CHECK_INTERVAL", number(float, 0), 1.0),
    "AUTH_FAILURE_RATE": _env("AUTH_FAILURE_RATE", number(float, 0), 1.0),
    "AUTH_FAILURE_BURST": _env("AUTH_FAILURE_BURST", number(int, 1), 20),
    "METRICS_REQUIRE_KEY": _env("METRICS_REQUIRE_KEY", boolean, False),
    "FORWARDED_ALLOW_IPS": _env("FORWARDED_ALLOW_IPS", str, "127.0.0.1"),
    "CONFIGURE_LOGGING": Setting(None, boolean, True),
    # workbench (api/web): cookie signing secret (random per process when unset; gunicorn's
    # master sets one for all its workers), Secure cookies behind TLS, the playground examples
    "SESSION_SECRET": _env("SESSION_SECRET", str, None),
    "SECURE_COOKIES": _env("SECURE_COOKIES", boolean, False),
    "EXAMPLES_DIR": _env("EXAMPLES_DIR", str, "examples"),
}

# The process around it: gunicorn (api/gunicornconf.py; `workers` defaults to one per core,
# at least 2), its worker's deadlines (api/worker.py) and the database connection (api/store.py).
PROCESS: dict[str, Setting] = {
    "BIND": _env("BIND", str, "127.0.0.1:8000"),
    "WORKERS": _env("WORKERS", int, None),
    "THREADS": _env("THREADS", int, 4),
    "WORKER_CLASS": _env("WORKER_CLASS", str, "api.worker.BufferedThreadWorker"),
    "WORKER_TIMEOUT": _env("WORKER_TIMEOUT", int, 30),
    "GRACEFUL_TIMEOUT": _env("GRACEFUL_TIMEOUT", int, 30),
    "MAX_REQUESTS": _env("MAX_REQUESTS", int, 20000),
    "MAX_REQUESTS_JITTER": _env("MAX_REQUESTS_JITTER", int, 2000),
    "ACCESS_LOG": _env("ACCESS_LOG", str, None),
    "HEADER_TIMEOUT": _env("HEADER_TIMEOUT", float, 10.0),
    "BODY_TIMEOUT": _env("BODY_TIMEOUT", float, 15.0),
    "DB_CONNECT_TIMEOUT": _env("DB_CONNECT_TIMEOUT", int, 5),
    "DB_TCP_TIMEOUT_MS": _env("DB_TCP_TIMEOUT_MS", int, 5000),
    # where gunicorn's master keeps the last good pack and keys for its workers (api/guard.py)
    "STATE_DIR": _env("STATE_DIR", str, None),
}

TABLE: dict[str, Setting] = {**SERVICE, **PROCESS}


def setting(name: str, config: Mapping[str, Any] | None = None,
            environ: Mapping[str, str] | None = None) -> Any:
    """One setting by name: `config[name]`, else its environment variable, else its default.
    Raises SettingError naming the variable when the value does not convert."""
    found = TABLE[name]
    environ = os.environ if environ is None else environ
    if config is not None and config.get(name) is not None:
        raw = config[name]
    elif found.env is not None and environ.get(found.env) not in (None, ""):
        raw = environ[found.env]
    else:
        return found.default
    try:
        return found.convert(raw)
    except (TypeError, ValueError) as error:
        raise SettingError(f"{found.env or name}: {error}") from None
