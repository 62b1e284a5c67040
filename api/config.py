"""Server settings: one typed object built from the app-factory mapping over the environment.

Precedence: explicit `create_app(config)` entries, then `RISKRULES_*` environment variables,
then defaults. Keeping the names in one table makes `riskrules serve` flags, the container
environment and tests agree on what each setting means.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from api.auth import ApiKey, load_key_set
from api.errors import ConfigError
from api.store import DEFAULT_DATABASE_URL
from engine.pack import Pack

log = logging.getLogger("riskrules.api")

MIB = 1024 * 1024


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("", "0", "false", "no", "off"):
        return False
    raise ConfigError(f"not a boolean: {value!r}")


def _number(cast: Callable[[Any], Any], minimum: float) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        try:
            out = cast(value)
        except (TypeError, ValueError):
            raise ConfigError(f"not a number: {value!r}") from None
        if out < minimum:
            raise ConfigError(f"{value!r} is below the minimum {minimum}")
        return out

    return convert


# setting: (environment variable, converter, default)
_SETTINGS: dict[str, tuple[str | None, Callable[[Any], Any], Any]] = {
    "RULES_DIR": ("RISKRULES_RULES_DIR", str, "rules"),
    "DATABASE_URL": ("RISKRULES_DATABASE_URL", str, DEFAULT_DATABASE_URL),
    "KEYS_FILE": ("RISKRULES_KEYS_FILE", str, None),
    "API_KEYS": ("RISKRULES_API_KEYS", str, None),
    "INSECURE_NO_AUTH": ("RISKRULES_INSECURE_NO_AUTH", _bool, False),
    "MAX_BODY_BYTES": ("RISKRULES_MAX_BODY_BYTES", _number(int, 1024), MIB),
    "MAX_DEPTH": ("RISKRULES_MAX_DEPTH", _number(int, 4), 32),
    "MAX_BATCH": ("RISKRULES_MAX_BATCH", _number(int, 1), 1000),
    "MAX_PAGE_BYTES": ("RISKRULES_MAX_PAGE_BYTES", _number(int, 1024), 8 * MIB),
    "RATE_LIMIT_RPS": ("RISKRULES_RATE_LIMIT_RPS", _number(float, 0), 50.0),
    "RATE_LIMIT_BURST": ("RISKRULES_RATE_LIMIT_BURST", _number(int, 1), 100),
    "AUTO_MIGRATE": ("RISKRULES_AUTO_MIGRATE", _bool, False),
    "WATCH_RULES": ("RISKRULES_WATCH_RULES", _bool, False),
    "WATCH_INTERVAL": ("RISKRULES_WATCH_INTERVAL", _number(float, 0.05), 2.0),
    "MASTER_PID": ("RISKRULES_GUNICORN_MASTER_PID", _number(int, 1), None),
    "LOG_LEVEL": ("RISKRULES_LOG_LEVEL", str, "INFO"),
    "KEYS_CHECK_INTERVAL": ("RISKRULES_KEYS_CHECK_INTERVAL", _number(float, 0), 1.0),
    "AUTH_FAILURE_RATE": ("RISKRULES_AUTH_FAILURE_RATE", _number(float, 0), 1.0),
    "AUTH_FAILURE_BURST": ("RISKRULES_AUTH_FAILURE_BURST", _number(int, 1), 20),
    "METRICS_REQUIRE_KEY": ("RISKRULES_METRICS_REQUIRE_KEY", _bool, False),
    "FORWARDED_ALLOW_IPS": ("RISKRULES_FORWARDED_ALLOW_IPS", str, "127.0.0.1"),
    "CONFIGURE_LOGGING": (None, _bool, True),
    # workbench (api/web): cookie signing secret (random per process when unset; gunicorn's
    # master sets one for all its workers), Secure cookies behind TLS, the playground examples
    "SESSION_SECRET": ("RISKRULES_SESSION_SECRET", str, None),
    "SECURE_COOKIES": ("RISKRULES_SECURE_COOKIES", _bool, False),
    "EXAMPLES_DIR": ("RISKRULES_EXAMPLES_DIR", str, "examples"),
}


@dataclass
class Settings:
    """Every setting of the HTTP service (see deploy/README.md for the environment names)."""

    rules_dir: str
    database_url: str
    keys_file: str | None
    api_keys: str | None
    insecure_no_auth: bool
    max_body_bytes: int
    max_depth: int
    max_batch: int
    max_page_bytes: int
    rate_limit_rps: float
    rate_limit_burst: int
    auto_migrate: bool
    watch_rules: bool
    watch_interval: float
    master_pid: int | None
    log_level: str
    configure_logging: bool
    keys_check_interval: float
    auth_failure_rate: float
    auth_failure_burst: int
    metrics_require_key: bool
    forwarded_allow_ips: str
    session_secret: str | None = None
    secure_cookies: bool = False
    examples_dir: str = "examples"
    keys: list[ApiKey] = field(default_factory=list)
    keys_all_revoked: bool = False
    keys_rejected: str | None = None  # why the keys file was refused at start (last good used)
    pack_loader: Callable[[str | Path], Pack] | None = None  # another loader than load_pack

    @classmethod
    def resolve(cls, name: str, config: Mapping[str, Any] | None = None,
                environ: Mapping[str, str] | None = None) -> Any:
        """One setting by name (config, then environment, then default), keys not loaded."""
        config = dict(config or {})
        environ = os.environ if environ is None else environ
        env, convert, default = _SETTINGS[name]
        if name in config and config[name] is not None:
            raw = config[name]
        elif env is not None and environ.get(env) not in (None, ""):
            raw = environ[env]
        else:
            return default
        try:
            return convert(raw)
        except ConfigError as error:
            raise ConfigError(f"{env or name}: {error.detail}") from None

    @classmethod
    def build(cls, config: Mapping[str, Any] | None = None,
              environ: Mapping[str, str] | None = None) -> Settings:
        config = dict(config or {})
        environ = os.environ if environ is None else environ
        values = {name.lower(): cls.resolve(name, config, environ) for name in _SETTINGS}
        settings = cls(**values)
        if config.get("KEYS") is not None:
            settings.keys = list(config["KEYS"])
        else:
            settings._load_keys(environ)
        settings.pack_loader = config.get("PACK_LOADER")
        return settings

    def _load_keys(self, environ: Mapping[str, str]) -> None:
        """The keys file, or the master's last good copy of it when the file is refused.

        A worker started while the keys file is broken or empty (recycled, or replacing a
        killed one) must not fail to boot: gunicorn stops the whole server when one does.
        """
        from api.guard import last_good_keys

        try:
            found = load_key_set(self.keys_file, self.api_keys)
            if self.keys_file:
                found.require_usable(self.keys_file)
        except ConfigError as error:
            fallback = last_good_keys(environ)
            if not self.keys_file or fallback is None:
                raise
            found = load_key_set(str(fallback), self.api_keys)
            self.keys_rejected = error.detail
            log.error("keys file %s is refused (%s); this worker uses the last good keys "
                      "kept by the master", self.keys_file, error.detail,
                      extra={"event": "keys_refused", "keys_file": self.keys_file})
        self.keys = found.keys
        self.keys_all_revoked = found.all_revoked
