"""Server settings: one typed object built from the app-factory mapping over the environment.

Precedence: explicit `create_app(config)` entries, then `RISKRULES_*` environment variables,
then defaults, as the one settings table (`api.settings.SERVICE`) declares them; keeping the
names in one table makes `riskrules serve` flags, the container environment and tests agree
on what each setting means.
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
from api.settings import SERVICE, SettingError, setting
from engine.pack import Pack

log = logging.getLogger("riskrules.api")

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
        try:
            return setting(name, config, environ)
        except SettingError as error:
            raise ConfigError(str(error)) from None

    @classmethod
    def build(cls, config: Mapping[str, Any] | None = None,
              environ: Mapping[str, str] | None = None) -> Settings:
        config = dict(config or {})
        environ = os.environ if environ is None else environ
        values = {name.lower(): cls.resolve(name, config, environ) for name in SERVICE}
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
