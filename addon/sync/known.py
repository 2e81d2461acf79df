"""Which records a batch of changed events needs read: only ids that can be ours.

A plan (``addon.sync.plan``) needs an event's record when the event carries an add-on
conference (ours, a copy of ours, or one we deleted and the event shows again), or when a
*live* record exists for it (its conference was removed, or the event cancelled: the listing
then shows nothing of ours). For an occurrence the same holds for its series' record.

Most changed events of a busy calendar are neither, yet looking every one of them up costs a
key each (most of a big sync's Datastore time). So a run whose batches hold many such events
reads, once, the ids of the calendar's live records (keys only) and then looks up only:

* every event carrying an add-on conference, and its series;
* every other event (or series) in that set of live ids.

The set is read once per run and kept current with the records the run itself makes live
(added as it flushes them). A record stored by onCreate *during* the run is not in it: it
matters only if the same run lists its event without our conference (the pick was discarded,
or removed again, within the run). Its meeting is then deleted by the abandoned-onCreate
check (``listing.ABANDONED_AFTER``), not by this run. Reading the records created since the
set was read, before every batch, would close that gap, but it is a query on ``created_at``
whose cost on the emulator grew with the calendar's records (seconds per page at 100,000
changes), so it is not done.

A batch with few such events (a trigger's typical handful) looks them up directly: reading
the set would cost more than it saves.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

from addon.conference_data import carried_conference
from addon.store.datastore import Store
from addon.store.records import Conference
from addon.sync.plan import is_cancelled

# Above this many events a batch could only need through a live record, the run reads the set
# of live ids instead of looking each one up.
DIRECT_LOOKUPS = 200

Event = Mapping[str, Any]


def _carries(event: Event) -> bool:
    return not is_cancelled(event) and carried_conference(event) is not None


class KnownRecords:
    def __init__(self, store: Store, calendar_id: str) -> None:
        self._store = store
        self._calendar_id = calendar_id
        self._live: set[str] | None = None
        # Made live by this run: kept apart, so a flush racing the set's first read (the
        # listing writes one page while it reads the next) is never lost.
        self._made: set[str] = set()
        self._lock = threading.Lock()
        self.reads = 0  # reads of the set (at most one per run)

    def lookup_ids(self, batch: Iterable[Event]) -> list[str]:
        """The record keys the batch's plans may need, in batch order, without repeats."""
        certain: dict[str, None] = {}
        maybe: dict[str, None] = {}
        for event in batch:
            refs = [event.get("id"), event.get("recurringEventId")]
            target = certain if _carries(event) else maybe
            for ref in refs:
                if isinstance(ref, str) and ref:
                    target[ref] = None
        maybe = {k: None for k in maybe if k not in certain}
        if self._live is None and len(maybe) <= DIRECT_LOOKUPS:
            return [*certain, *maybe]
        live = self._read()
        with self._lock:
            return [*certain, *(k for k in maybe if k in live or k in self._made)]

    def flushed(self, records: Iterable[Conference]) -> None:
        """Records this run wrote: those now live count as known."""
        with self._lock:
            self._made.update(r.event_id for r in records if r.live)

    def _read(self) -> set[str]:
        if self._live is None:
            self._live = self._store.live_record_ids(self._calendar_id)
            self.reads += 1
        return self._live
