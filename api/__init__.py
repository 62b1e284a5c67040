"""The riskrules HTTP API: `create_app(config)` builds the Flask app (no module-level app)."""

from api.app import create_app

__all__ = ["create_app"]
