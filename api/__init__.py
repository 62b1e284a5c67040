"""The riskrules HTTP API: `create_app(config)` builds the Flask app (no module-level app).

`create_app` is imported on first use, so that the parts usable without a server (the request
schemas, which `riskrules score` and the `diff` workers validate proposals with) load without
Flask and SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from api.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from api.app import create_app

        return create_app
    raise AttributeError(f"module 'api' has no attribute {name!r}")
