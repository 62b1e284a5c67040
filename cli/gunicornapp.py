"""The gunicorn application `riskrules serve` runs: gunicorn with riskrules' settings.

A module of its own because importing gunicorn is slow: `riskrules serve` imports it when it
starts the server, every other sub-command never does.
"""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication


class RiskrulesApplication(BaseApplication):  # type: ignore[misc]
    """gunicorn with the settings of api/gunicornconf.py, overridden by the command line's;
    the app is built in each worker after fork."""

    def __init__(self, options: dict[str, Any], app_config: dict[str, Any]) -> None:
        self.options = options
        self.app_config = app_config
        super().__init__()

    def load_config(self) -> None:
        from api.gunicornconf import settings

        merged = {**settings(), **self.options}
        for name, value in merged.items():
            if name in self.cfg.settings and value is not None:
                self.cfg.set(name, value)

    def load(self) -> Any:
        from api import create_app

        return create_app(self.app_config)
