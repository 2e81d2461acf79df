"""The host's log of its outbound calls to the add-on (newest last, bounded), for tests and
the local console: ``GET /_emulator/addon/calls``."""

from __future__ import annotations

import datetime
import threading
from collections import deque
from typing import Any

from localgoogle.addon_host.calls import AddonAnswer

CALL_LOG_SIZE = 500


def now_iso() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")


def outcome_of(answer: AddonAnswer) -> str:
    """``unreachable`` (no answer), ``http_error``, ``not_json`` or ``ok``."""
    if answer.status is None:
        return "unreachable"
    if not answer.ok:
        return "http_error"
    return "not_json" if answer.error else "ok"


class CallLog:
    """Thread-safe; entries are plain dicts so a call can be annotated after it was logged."""

    def __init__(self, size: int = CALL_LOG_SIZE) -> None:
        self._lock = threading.Lock()
        self._entries: deque[dict[str, Any]] = deque(maxlen=size)

    def log(
        self, kind: str, answer: AddonAnswer, *, calendar_id: str, user: str, **extra: Any
    ) -> dict[str, Any]:
        """Log one call and what came back; returns the entry for ``annotate``."""
        return self.record(
            kind=kind,
            url=answer.url,
            status=answer.status,
            calendarId=calendar_id,
            user=user,
            outcome=outcome_of(answer),
            **({"detail": answer.error} if answer.error else {}),
            **extra,
        )

    def record(self, **fields: Any) -> dict[str, Any]:
        entry = {"at": now_iso(), **fields}
        with self._lock:
            self._entries.append(entry)
        return entry

    def annotate(self, entry: dict[str, Any], **fields: Any) -> None:
        """Add what the answer led to (applied, subscribed, …) to an already logged call."""
        with self._lock:
            entry.update(fields)

    def entries(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Recent calls, oldest first (at most ``limit``)."""
        with self._lock:
            entries = [dict(entry) for entry in self._entries]
        return entries[-limit:] if limit else entries

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
