"""The reading half of a run: list the calendar's changes page by page from a ``ListCursor``,
reconcile after a full listing, and look for abandoned onCreate meetings.

Every page (and every reconcile batch) is planned, executed and flushed before the cursor in
``Progress`` moves past it, so a run cut by its slice budget, a failure or a crash resumes
at a point whose changes are all applied; re-applying a page is idempotent.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from addon.calendar.client import CalendarClient
from addon.conference_data import carried_conference
from addon.store.datastore import Store
from addon.sync.batch import process_batch
from addon.sync.execute import Executor
from addon.sync.lease import LeaseGuard
from addon.sync.plan import DeleteMeeting, PlanContext, is_cancelled
from addon.sync.report import SyncReport
from addon.sync.slices import Meter, Progress

RECONCILE_BATCH = 100
# How long an onCreate meeting may wait for its event to show it before the event is read
# (a user may keep the event's dialog open a while before saving).
ABANDONED_AFTER = timedelta(hours=1)


@dataclass
class Reader:
    """What one run reads with: the calendar, the executor, the lease, the slice meter."""

    store: Store
    calendar: CalendarClient
    executor: Executor
    report: SyncReport
    guard: LeaseGuard
    meter: Meter
    solution_ids: frozenset[str]
    clock: Callable[[], datetime]
    lookback: timedelta
    role: str | None = None

    @property
    def calendar_id(self) -> str:
        return self.report.calendar_id

    # ---- listing ------------------------------------------------------------------------
    def list_pages(self, progress: Progress, seen: set[str]) -> None:
        """Read pages from ``progress.cursor`` until the listing ends (the cursor then holds
        ``next_sync_token``) or the slice budget does (it holds the next ``page_token``).

        ``seen`` collects the ids a full listing shows alive: reconcile skips their records.
        """
        cursor = progress.cursor
        full = cursor.mode == "full"
        while True:
            page = self.calendar.list_page(
                self.calendar_id,
                sync_token=None if full else cursor.base_token,
                page_token=cursor.page_token,
                time_min=cursor.time_min if full else None,
            )
            self.report.pages += 1
            self.meter.page()
            if isinstance(page.get("accessRole"), str):
                self.role = page["accessRole"]
            self.executor.context = PlanContext(self.calendar_id, self.solution_ids, self.role)
            items = [i for i in page.get("items") or () if isinstance(i, Mapping)]
            self.report.changes += len(items)
            if full:
                seen.update(
                    str(i["id"])
                    for i in items
                    if isinstance(i.get("id"), str) and not is_cancelled(i)
                )
            process_batch(self.store, items, self.executor, self.report, self.guard)
            self.guard.tick()
            next_page = page.get("nextPageToken")
            if isinstance(next_page, str) and next_page:
                cursor = dataclasses.replace(cursor, page_token=next_page)
                progress.cursor = cursor
                if self.meter.exhausted():
                    return
                continue
            token = page.get("nextSyncToken")
            cursor = dataclasses.replace(
                cursor,
                page_token=None,
                next_sync_token=token if isinstance(token, str) and token else None,
            )
            progress.cursor = cursor
            return

    # ---- after a full listing -----------------------------------------------------------
    def reconcile(self, progress: Progress, seen: set[str]) -> bool:
        """Check every live conference the full listing did not show alive (a full listing
        never shows deletions made while we had no valid token), in event-id order from where
        the cursor stands. True when done; False when the slice budget ended first."""
        cursor = progress.cursor
        horizon = self.clock() - self.lookback
        after = cursor.reconciled_after
        batch: list[Mapping[str, Any]] = []
        last = after
        live = self.store.list_conferences(self.calendar_id)
        for conf in sorted(live, key=lambda c: c.event_id):
            if after is not None and conf.event_id <= after:
                continue
            last = conf.event_id
            if conf.event_id in seen:
                continue
            last_end = conf.snapshot.last_end()
            if last_end is not None and last_end < horizon:
                self.executor.retire(conf)
                continue
            self.guard.tick()
            self.report.reconciled += 1
            event = self.calendar.get_event(self.calendar_id, conf.event_id)
            batch.append(event or {"id": conf.event_id, "status": "cancelled"})
            if len(batch) >= RECONCILE_BATCH:
                process_batch(self.store, batch, self.executor, self.report, self.guard)
                self.executor.flush()
                batch = []
                progress.cursor = dataclasses.replace(cursor, reconciled_after=last)
                if self.meter.exhausted():
                    return False
        process_batch(self.store, batch, self.executor, self.report, self.guard)
        self.executor.flush()
        progress.cursor = dataclasses.replace(cursor, reconciled_after=last)
        return True

    # ---- after an incremental listing ---------------------------------------------------
    def check_abandoned(self) -> None:
        """Meetings created by onCreate whose event never showed them for a long while: the
        event was a draft the user discarded (it never existed), or it was saved without our
        conference. No listing will ever show that, so read the event (a full sync's reconcile
        does the same for every live record)."""
        horizon = self.clock() - ABANDONED_AFTER
        stale = [
            c
            for c in self.store.unconfirmed_conferences(self.calendar_id)
            if c.created_at is not None
            and c.created_at < horizon
            and c.event_id not in self.executor.latest
        ]
        shown: list[Mapping[str, Any]] = []
        for conf in stale[:RECONCILE_BATCH]:
            self.guard.tick()
            self.report.reconciled += 1
            event = self.calendar.get_event(self.calendar_id, conf.event_id)
            carried = carried_conference(event) if event is not None else None
            if event is not None and carried and carried.conference_id == conf.conference_id:
                shown.append(event)  # it is there after all: confirm as usual
                continue
            gone = event or {"id": conf.event_id, "status": "cancelled"}
            action = DeleteMeeting(conf, gone, "the event never showed the conference")
            self.report.actions["DeleteMeeting"] = self.report.actions.get("DeleteMeeting", 0) + 1
            self.executor.run(action, gone)
        process_batch(self.store, shown, self.executor, self.report, self.guard)
