"""Background syncs of one process: a small pool, per-calendar coalescing, and follow-up runs.

Used when ``ADDON_SYNC_MODE=background``: the trigger answers at once and the sync runs
here. Work a run leaves behind (pending changes, a retryable Calendar failure, a lease held
by a process that may have died) gets a follow-up run from this process at the calendar's
``retry_at``, reusing the token the trigger brought (about an hour); a refused token ends the
chain and the calendar waits, visibly, for its next trigger. All of it lives and dies with
the process, which is why it is to give way to queued tasks (Cloud Tasks).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from addon.calendar.client import CalendarClient
from addon.store.datastore import Store
from addon.store.errors import StoreError
from addon.sync.engine import SyncEngine
from addon.sync.report import SyncRun

log = logging.getLogger(__name__)

POOL_WORKERS = 4


class BackgroundSyncs:
    def __init__(
        self,
        engine: Callable[[], SyncEngine],
        store: Callable[[], Store],
        *,
        retry_base_seconds: float,
        retry_max_seconds: float,
    ) -> None:
        self._engine = engine
        self._store = store
        self.retry_base_seconds = retry_base_seconds
        self.retry_max_seconds = retry_max_seconds
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = ThreadPoolExecutor(
            max_workers=POOL_WORKERS, thread_name_prefix="sync"
        )
        # calendar id -> "another trigger arrived while a run was queued or running"
        self._local_runs: dict[str, bool] = {}
        # calendar id -> this process's follow-up run for it
        self._followups: dict[str, threading.Timer] = {}

    def submit(self, calendar_id: str, client: CalendarClient) -> Future[SyncRun] | None:
        """Run a sync of ``calendar_id`` on the pool; None when one is already queued or
        running (or after ``close``: a follow-up timer that fired while closing starts nothing).

        Coalescing: while this process has a run for the calendar queued or running, further
        triggers only ask it to go round once more, so a storm costs one lease transaction
        per round, not one per trigger. Across processes the Datastore lease and its dirty
        flag do the same job.
        """
        with self._lock:
            pool = self._pool
            if pool is None:
                return None
            if calendar_id in self._local_runs:
                self._local_runs[calendar_id] = True
                return None
            self._local_runs[calendar_id] = False
        future = pool.submit(self._run_coalesced, calendar_id, client)
        future.add_done_callback(_log_failure)
        return future

    def _covered(self, calendar_id: str) -> None:
        with self._lock:
            if calendar_id in self._local_runs:
                self._local_runs[calendar_id] = False

    def close(self) -> None:
        """Cancel follow-ups and wait for background syncs to finish (tests, shutdown)."""
        with self._lock:
            pool, self._pool = self._pool, None
            timers = list(self._followups.values())
            self._followups.clear()
        for timer in timers:
            timer.cancel()
        if pool is not None:
            pool.shutdown(wait=True)

    def _after_run(self, calendar_id: str, client: CalendarClient, run: SyncRun) -> None:
        """Work left behind gets another try from this process, without waiting for a trigger,
        at the time the run stored (``retry_at``: exponential backoff, capped), or when a lease
        held by a process that may have died runs out. A refused token ends the chain."""
        errors = [r.error for r in run.reports if r.error]
        if any(e.startswith("Unauthorized") for e in errors):
            self._end_followup(calendar_id)
            return
        try:
            state = self._store().get_calendar(calendar_id)
        except StoreError:
            # Datastore is failing: look again later rather than lose the calendar's work.
            self._schedule_followup(calendar_id, client, self.retry_base_seconds)
            return
        if state is None:
            return
        now = datetime.now(UTC)
        if run.status == "busy" and state.lease_expires is not None:
            self._schedule_followup(calendar_id, client, _seconds(state.lease_expires, now) + 1.0)
        elif state.retry_at is not None:
            self._schedule_followup(calendar_id, client, _seconds(state.retry_at, now))
        elif state.dirty and state.lease_owner is None:
            self._schedule_followup(calendar_id, client, 1.0)
        else:
            self._end_followup(calendar_id)

    def _schedule_followup(self, calendar_id: str, client: CalendarClient, delay: float) -> None:
        with self._lock:
            if self._pool is None:
                return  # closed
            previous = self._followups.pop(calendar_id, None)
            if previous is not None:
                previous.cancel()
            timer = threading.Timer(max(0.2, delay), self._followup, (calendar_id, client))
            timer.daemon = True
            self._followups[calendar_id] = timer
            timer.start()

    def _end_followup(self, calendar_id: str) -> None:
        with self._lock:
            timer = self._followups.pop(calendar_id, None)
        if timer is not None:
            timer.cancel()

    def _followup(self, calendar_id: str, client: CalendarClient) -> None:
        with self._lock:
            self._followups.pop(calendar_id, None)
        try:
            state = self._store().get_calendar(calendar_id)
        except StoreError:
            self._schedule_followup(calendar_id, client, self.retry_max_seconds / 10)
            return
        if state is None:
            return
        now = datetime.now(UTC)
        if state.lease_owner is not None and state.lease_expires and state.lease_expires > now:
            # A live holder renews its lease and will see the dirty flag; look again when
            # the lease would run out, in case it dies first.
            self._schedule_followup(calendar_id, client, _seconds(state.lease_expires, now) + 1.0)
        elif state.due or state.lease_owner is not None:
            self.submit(calendar_id, client)

    def _run_coalesced(self, calendar_id: str, client: CalendarClient) -> SyncRun:
        try:
            while True:
                # Each run under the lease lists everything changed so far: triggers that
                # arrived before it started need no further round (else a burst landing during
                # one run would cost a third listing after the lease's own second one).
                run = self._engine().sync(calendar_id, client, lambda: self._covered(calendar_id))
                with self._lock:
                    again = bool(self._local_runs.get(calendar_id))
                    if again:
                        self._local_runs[calendar_id] = False
                    else:
                        self._local_runs.pop(calendar_id, None)
                if not again:
                    self._after_run(calendar_id, client, run)
                    return run
        except BaseException:
            with self._lock:
                self._local_runs.pop(calendar_id, None)
            raise


def _seconds(moment: datetime, now: datetime) -> float:
    return (moment - now).total_seconds()


def _log_failure(future: Future[Any]) -> None:
    exc = future.exception()
    if exc is not None:
        log.error("background sync failed", exc_info=exc)
