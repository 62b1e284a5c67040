"""Structured JSON logging: one JSON object per line, on stderr, for the `riskrules` loggers.

Log shippers parse one object per line; the request log (`riskrules.access`) carries the
request id, method, route, status, duration, key id and the assessment id(s) created.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from engine.timefmt import rfc3339

_STANDARD = set(logging.LogRecord("x", 0, "x", 0, "x", None, None).__dict__) | {
    "message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line; `extra=` fields become top-level members."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": rfc3339(datetime.fromtimestamp(record.created, UTC), "milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                doc[key] = value
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False, default=str)


def configure_logging(level: str = "INFO") -> None:
    """Attach one JSON stderr handler to the `riskrules` logger (idempotent)."""
    logger = logging.getLogger("riskrules")
    logger.setLevel(level.upper())
    if not any(getattr(h, "_riskrules", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        handler._riskrules = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.propagate = False
