"""What one sync run writes: staged records and the per-event failures it records.

``Ledger`` is the executor's bookkeeping, kept apart from the actions themselves:

* ``stage(record)`` keeps a record to write; ``flush()`` writes everything staged in one
  fenced transaction per chunk (``Store.commit_batch``) and returns the event ids whose records
  changed meanwhile (a creation replaced them: they are planned again later);
* ``fail(...)`` records a change that could not be applied on its event, as a *pending* change:
  ``retry`` (replayed until it succeeds), ``permanent`` (parked after ``PERMANENT_ATTEMPTS``
  attempts of the same event version), ``attention`` (parked at once: a person must act);
* ``settle(event)`` drops the pending change an event stood for once its actions succeeded.

``pending`` is the run's view of the calendar's pending changes (stored, or recorded in this
run); ``latest`` the records as this run last saw or staged them, for the current batch.

The threads of a run's provider pool share one ledger: every method holds its lock, and each
thread only stages the records of its own events (``addon.sync.batch``). ``flush()`` answers
every event id superseded since the batch began, whoever's flush found it: a write-back must
not show a meeting whose record another thread's flush just found replaced.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from addon.calendar.errors import BadRequest, CalendarUnavailable, Forbidden
from addon.linking import AccountNotLinked
from addon.providers.base import ProviderAuthRequired, ProviderError, ProviderUnavailable
from addon.store.datastore import Store
from addon.store.records import Conference, PendingChange, PendingKind

log = logging.getLogger(__name__)

PERMANENT_ATTEMPTS = 3


def describe_failure(exc: BaseException) -> str:
    """A failure in plain words, for the pending entry, the console and logs (no tokens, no
    event content: only status codes, reasons and what to do)."""
    if isinstance(exc, Forbidden):
        return (
            f"Calendar refused the change ({exc.status} {exc.reason}): "
            "the syncing user may not edit this event"
        )
    if isinstance(exc, BadRequest):
        return f"Calendar refused the change as invalid ({exc.status} {exc.reason})"
    if isinstance(exc, CalendarUnavailable):
        return f"Calendar is unavailable ({exc.status or 'no answer'}); retried later"
    if isinstance(exc, AccountNotLinked):
        return f"the meeting's owner must link their account again ({str(exc)[:200]})"
    if isinstance(exc, ProviderAuthRequired):
        return "the conferencing system asks the meeting's owner to sign in again"
    if isinstance(exc, ProviderUnavailable):
        return f"the conferencing system is unavailable; retried later ({str(exc)[:160]})"
    if isinstance(exc, ProviderError):
        return f"the conferencing system refused it: {str(exc)[:200]}"
    return str(exc)[:300]


class Ledger:
    def __init__(
        self,
        *,
        store: Store,
        calendar_id: str,
        owner: str,
        pending: Mapping[str, PendingChange] | None,
        clock: Callable[[], datetime],
        on_stored: Callable[[list[Conference]], None] | None = None,
    ) -> None:
        self._store = store
        self._on_stored = on_stored
        self._calendar_id = calendar_id
        self._owner = owner
        self._clock = clock
        self.pending: dict[str, PendingChange] = dict(pending or {})
        self.latest: dict[str, Conference] = {}
        self.superseded = 0
        self._staged: dict[str, Conference] = {}
        self._puts: dict[str, PendingChange] = {}
        self._deletes: set[str] = set()
        self._failed: set[str] = set()
        self._superseded: set[str] = set()
        self._lock = threading.RLock()

    def begin_batch(self) -> None:
        """Records are read per batch: keep this run's memory to one batch."""
        with self._lock:
            self.latest.clear()
            self._superseded.clear()

    # ---- records ------------------------------------------------------------------------
    def stage(self, record: Conference) -> Conference:
        with self._lock:
            self._staged[record.event_id] = record
            self.latest[record.event_id] = record
            return record

    def current(self, conference: Conference) -> Conference:
        with self._lock:
            return self.latest.get(conference.event_id) or conference

    def flush(self) -> set[str]:
        """Write what is staged (fenced by the lease); the event ids superseded in this
        batch so far."""
        with self._lock:
            if self._staged or self._puts or self._deletes:
                self._flush()
            return set(self._superseded)

    def _flush(self) -> None:
        result = self._store.commit_batch(
            self._calendar_id,
            self._owner,
            list(self._staged.values()),
            list(self._puts.values()),
            sorted(self._deletes),
        )
        for stored in result.stored:
            self.latest[stored.event_id] = stored
        if self._on_stored is not None:
            self._on_stored(result.stored)
        for event_id in result.superseded:
            self.latest.pop(event_id, None)
            log.info("record changed during the sync; it is planned again next time")
        self.superseded += len(result.superseded)
        self._superseded.update(result.superseded)
        self.pending.update(self._puts)
        for event_id in self._deletes:
            self.pending.pop(event_id, None)
        self._staged.clear()
        self._puts.clear()
        self._deletes.clear()

    # ---- pending changes ----------------------------------------------------------------
    def settle(self, event: Mapping[str, Any]) -> None:
        """The event's actions are done: a pending change it stood for is no longer needed."""
        event_id = str(event.get("id"))
        with self._lock:
            if event_id in self._failed:
                return
            if event_id in self.pending or event_id in self._puts:
                self._puts.pop(event_id, None)
                self._deletes.add(event_id)

    def fail(
        self,
        event: Mapping[str, Any],
        *,
        action: str,
        meeting_id: str | None,
        kind: PendingKind,
        reason: str,
        needs_solution: str | None = None,
        needs_link: str | None = None,
    ) -> PendingChange:
        """Record the change as pending (or parked); returns the entry."""
        with self._lock:
            event_id = str(event.get("id"))
            previous = self._puts.get(event_id) or self.pending.get(event_id)
            # Attempts count per event version: a new version (the user changed something) may
            # well succeed, so it starts afresh.
            same = previous is not None and previous.event.get("etag") == event.get("etag")
            attempts = (previous.attempts if previous is not None and same else 0) + 1
            parked = kind == "attention" or (kind == "permanent" and attempts >= PERMANENT_ATTEMPTS)
            entry = PendingChange(
                calendar_id=self._calendar_id,
                event_id=event_id,
                event=dict(event),
                action=action,
                meeting_id=meeting_id,
                kind=kind,
                attempts=attempts,
                last_error=reason,
                parked=parked,
                needs_solution=needs_solution,
                needs_link=needs_link,
                first_failed_at=(previous.first_failed_at if previous else None) or self._clock(),
            )
            self._puts[event_id] = entry
            self._deletes.discard(event_id)
            self._failed.add(event_id)
            if parked:
                log.warning(
                    "change parked: needs attention",
                    extra={"json_fields": {"eventId": event_id, "action": action,
                                           "attempts": attempts, "reason": reason}},
                )  # fmt: skip
            return entry

    def counts(self) -> tuple[int, int]:
        """(changes still to replay, changes parked) after what this run flushed."""
        with self._lock:
            left = sum(1 for p in self.pending.values() if not p.parked)
            return left, len(self.pending) - left
