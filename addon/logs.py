"""Structured JSON logs that Cloud Logging understands (``severity``, ``message``).

Fields passed with ``extra={"json_fields": {...}}`` are merged into the entry. Keys that
could carry a secret (tokens, authorization, bodies) are dropped: a token or a whole event
body must never reach the logs.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

_SECRET_WORDS = ("token", "authorization", "secret", "password", "body", "jwt")


def _safe(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if not any(word in k.lower() for word in _SECRET_WORDS)}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "severity": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
        }
        fields = getattr(record, "json_fields", None)
        if isinstance(fields, dict):
            entry.update(_safe(fields))
        if record.exc_info and record.exc_info[0] is not None:
            # The exception type and frames, but not str(exc): messages can echo input.
            entry["error"] = record.exc_info[0].__name__
            entry["stack_trace"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure(level: str = "INFO") -> None:
    """Route the ``addon`` loggers to stderr as JSON lines (idempotent)."""
    logger = logging.getLogger("addon")
    logger.setLevel(level.upper())
    if not any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
    logger.propagate = False
