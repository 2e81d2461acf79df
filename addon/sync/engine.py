"""One calendar's sync: ``SyncEngine.sync(calendar_id, calendar_client)``.

Follows Calendar's sync guide (developers.google.com/workspace/calendar/api/guides/sync):

1. Take the calendar's lease (Datastore transaction). If another process holds it, mark the
   calendar dirty and return at once: the holder runs again before releasing it, so a burst
   of N triggers costs at most two listing runs, not N. While it works, the run keeps the lease
   alive (``LeaseGuard``) and every write it makes is fenced by it.
2. Replay pending changes (changes an outage or a refusal kept from being applied); parked
   ones wait until their event changes again.
3. List (``listing.Reader``): incremental with the stored sync token, or (with no token, or
   after 410 ``fullSyncRequired``) a windowed full listing (``timeMin`` = now - lookback,
   ``showDeleted``, 2500 per page, no ``orderBy``), followed by a **reconcile**: every live
   conference whose event the full listing did not show alive is checked with events.get,
   because a full listing never shows deletions made while we had no valid token. Records of
   events that ended before the window are *retired* instead: nothing is left to do for them.
4. Every page's changes are planned (``plan``), executed (``execute``) and flushed. Only after
   the last page is the new sync token stored, and only while we still hold the lease, so the
   stored token never goes backwards.
5. With a time-slice budget (``slices``), a run stops between pages (or reconcile batches)
   once the budget is spent and stores the listing's cursor instead of a token; the next run
   of the calendar, whoever makes it, resumes there (``listing``).

Failures: a failure of one event's change is recorded on that event (see ``execute``) and the
run goes on. Only a failure of the listing (or reconcile reads) stops a run; the stored token
is kept. Retryable ones (429, 5xx, quota) leave the calendar due with ``retry_at`` set by an
exponential backoff (base ``retry_base_seconds``, capped at ``retry_max_seconds``), as does
work left pending; terminal ones (the user's token refused, access lost) set ``attention``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import random
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from addon.calendar.client import CalendarClient
from addon.calendar.errors import CalendarUnavailable, SyncTokenInvalid
from addon.linking import LinkedAccounts
from addon.providers.base import ConferenceProvider
from addon.settings import Solution
from addon.store.calendars import MissingSeen
from addon.store.datastore import Store
from addon.store.errors import LeaseLost, StoreError
from addon.sync.batch import process_batch
from addon.sync.execute import Executor
from addon.sync.lease import LeaseGuard
from addon.sync.listing import Reader
from addon.sync.plan import PlanContext
from addon.sync.report import (
    LEASE_LOST,
    Stop,
    SyncReport,
    SyncRun,
    finish_report,
    stop_for,
)
from addon.sync.slices import Meter, Progress, SliceBudget, new_cursor, restart

log = logging.getLogger(__name__)

MAX_RUNS_PER_LEASE = 5
# A listing Calendar keeps answering 410 for (token, then page token, then a fresh full
# listing's page token) is given up for this run.
MAX_RESTARTS = 3


class SyncEngine:
    def __init__(
        self,
        *,
        store: Store,
        providers: Mapping[str, ConferenceProvider],
        solutions: Mapping[str, Solution],
        lease_seconds: int = 120,
        lookback_days: int = 1,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        provider_backoff: float = 0.2,
        retry_base_seconds: float = 5.0,
        retry_max_seconds: float = 600.0,
        rng: random.Random | None = None,
        pool_size: int = 8,
        check_interval_seconds: float = 86400.0,
        accounts: LinkedAccounts | None = None,
    ) -> None:
        self._store = store
        self._accounts = accounts
        self._check_interval = check_interval_seconds
        self._pool_size = pool_size
        self._providers = providers
        self._solutions = solutions
        self._lease_seconds = lease_seconds
        self._lookback = timedelta(days=lookback_days)
        self._clock = clock
        self._provider_backoff = provider_backoff
        self._retry_base = retry_base_seconds
        self._retry_max = retry_max_seconds
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self._solution_ids = frozenset(solutions)

    def _check_in(self) -> float:
        """Seconds until this calendar's next periodic check: the interval minus up to 10%."""
        return self._check_interval * (1.0 - 0.1 * self._rng.random())

    # ---- the lease loop ---------------------------------------------------------------
    def sync(
        self,
        calendar_id: str,
        calendar: CalendarClient,
        on_run_start: Callable[[], None] | None = None,
        *,
        retry_parked: bool = False,
        budget: SliceBudget | None = None,
    ) -> SyncRun:
        """``on_run_start`` is called before each run under the lease: whatever triggered us
        before that moment is covered by that run's listing. ``retry_parked``: a person asks
        for the parked changes to be tried again (once more each, attempts counted afresh).
        ``budget``: the time slice this call may use; past it the listing's cursor is stored
        and the run answers ``continue`` (the caller enqueues the continuation)."""
        owner = uuid.uuid4().hex
        acquired_at = time.monotonic()
        try:
            if not self._store.acquire_lease(calendar_id, owner, self._lease_seconds):
                return SyncRun(calendar_id, "busy")
        except StoreError as exc:
            log.warning("sync not started: the store failed (%s)", type(exc).__name__)
            error = SyncReport(calendar_id, error=f"{type(exc).__name__}: {exc}")
            return SyncRun(calendar_id, "error", [error])
        guard = LeaseGuard(
            calendar_id,
            lambda: self._store.renew_lease(calendar_id, owner, self._lease_seconds),
            self._lease_seconds,
            acquired_at=acquired_at,
        )
        run = SyncRun(calendar_id, "done")
        released = False
        try:
            for round_ in range(MAX_RUNS_PER_LEASE):
                if round_:
                    guard.renew()  # finish_run extended it; count from now
                if on_run_start is not None:
                    on_run_start()
                report = self._sync_once(
                    calendar_id, calendar, owner, guard, retry_parked and not round_, budget
                )
                run.reports.append(report)
                if report.error:
                    run.status = "error"
                    break
                if report.continues:
                    # Released below with the dirty flag kept: the continuation (or whoever
                    # takes the lease next) resumes the cursor, then runs again for it.
                    run.status = "continue"
                    break
                if self._store.finish_run(calendar_id, owner, self._lease_seconds):
                    released = True
                    break
            else:
                # Still dirty after several runs (a sustained storm): leave it due for the
                # next trigger or the periodic sweep instead of holding the lease forever.
                self._store.update_calendar(calendar_id, lambda s: s.with_(dirty=True))
        except LeaseLost:
            run.status = "error"
        except StoreError as exc:
            # Datastore itself failed past its retries: nothing more can be stored now. The
            # lease expires on its own if it cannot be released; the caller retries later.
            log.warning("sync stopped: the store failed (%s)", type(exc).__name__)
            run.status = "error"
            run.reports.append(SyncReport(calendar_id, error=f"{type(exc).__name__}: {exc}"))
        finally:
            if not released:
                with contextlib.suppress(StoreError):
                    self._store.release_lease(calendar_id, owner)
        return run

    def _backoff(self, retry_count: int, floor: float = 0.0) -> float:
        delay = min(self._retry_max, self._retry_base * 2**retry_count)
        return float(max(floor, delay * self._rng.uniform(0.8, 1.2)))

    # ---- one run ----------------------------------------------------------------------
    def _sync_once(
        self,
        calendar_id: str,
        calendar: CalendarClient,
        owner: str,
        guard: LeaseGuard,
        retry_parked: bool = False,
        budget: SliceBudget | None = None,
    ) -> SyncReport:
        started = time.monotonic()
        report = SyncReport(calendar_id)
        state = self._store.get_calendar(calendar_id)
        pending = {p.event_id: p for p in self._store.list_pending(calendar_id)}
        for event_id, change in pending.items():
            # Parked for a solution that is configured again, or a person asked to retry.
            back = change.needs_solution is not None and change.needs_solution in self._solutions
            # Parked because the owner's link was gone, and the owner linked again since.
            if change.needs_link is not None and self._accounts is not None:
                back = back or self._accounts.linked(change.needs_link)
            if change.parked and (retry_parked or back):
                pending[event_id] = dataclasses.replace(change, parked=False, attempts=0)
        executor = Executor(
            store=self._store,
            calendar=calendar,
            providers=self._providers,
            solutions=self._solutions,
            calendar_id=calendar_id,
            owner=owner,
            guard=guard,
            pending=pending,
            provider_backoff=self._provider_backoff,
            pool_size=self._pool_size,
            accounts=self._accounts,
            default_owner=state.sync_user_id if state else None,
        )
        reader = Reader(
            store=self._store,
            calendar=calendar,
            executor=executor,
            report=report,
            guard=guard,
            meter=Meter(budget),
            solution_ids=self._solution_ids,
            clock=self._clock,
            lookback=self._lookback,
            role=state.access_role if state else None,
        )
        resumed = state.cursor if state else None
        if resumed is None:
            token = None if state is None or state.needs_full_sync else state.sync_token
            progress = Progress(new_cursor(token, self._time_min()))
        else:
            progress = Progress(resumed)
        report.mode = progress.cursor.mode
        report.slice = progress.cursor.slices + 1
        seen: set[str] = set()
        done = False
        stop: Stop | None = None
        lost = False
        try:
            replay = [p.event for p in pending.values() if not p.parked]
            if replay and resumed is None:
                # Once per listing: a continuation slice leaves retries to the run after it.
                report.replayed = len(replay)
                executor.context = PlanContext(calendar_id, self._solution_ids, reader.role)
                process_batch(self._store, replay, executor, report, guard)
            done = self._advance(reader, progress, seen)
        except LeaseLost:
            lost = True
        except Exception as exc:
            stop = stop_for(exc)
            if stop is None:
                raise
        finally:
            executor.close()  # the run's provider pool: every lane has finished by now
        if not lost:
            try:
                executor.flush()  # everything, or what was done before the stop
            except LeaseLost:
                lost = True
            except StoreError as exc:
                stop = stop or stop_for(exc)
                done = False
        finish_report(report, executor, started)
        if lost:
            report.error = LEASE_LOST
            return report
        left, parked = executor.ledger.counts()
        retry_count = state.retry_count if state else 0
        retry_in: float | None = None
        report.continues = not done and stop is None
        if stop is not None:
            report.error = stop.error
            if stop.retry is not None:
                retry_in = self._backoff(retry_count, stop.retry)
        elif left and not report.continues:
            # A listing that goes on is its own follow-up; what it left is replayed, and
            # counted as a retry, once it ends (else every slice would count as one).
            retry_in = self._backoff(retry_count)
        report.retry_in = round(retry_in, 1) if retry_in is not None else None
        cursor = progress.cursor
        next_token = cursor.next_sync_token if done and stop is None else None
        report.token_stored = next_token is not None
        finished = done and stop is None
        keep = None if finished else dataclasses.replace(cursor, slices=cursor.slices + 1)
        new_seen = sorted(seen) if keep is not None and keep.mode == "full" else []
        stored = self._store.store_sync_result(
            calendar_id,
            owner,
            sync_token=next_token,
            result=report.to_dict(),
            pending_count=left,
            parked_count=parked,
            retry_in=retry_in,
            attention=stop.attention if stop else None,
            access_role=reader.role,
            full_sync_failed=report.mode == "full" and stop is not None,
            cursor=keep,
            seen=new_seen,
            # A listing that ended is as good as a periodic check: the next one is a whole
            # interval later (jittered, so calendars subscribed together spread out).
            check_in=self._check_in() if finished else None,
        )
        if not stored:
            report.error = LEASE_LOST
            report.token_stored = report.continues = False
            return report
        if keep is None and cursor.seen_chunks:
            with contextlib.suppress(StoreError):
                self._store.drop_seen(calendar_id, cursor)  # left over: only costs storage
        self._store.append_sync_run(calendar_id, report.to_dict())
        log.info(
            "sync finished",
            extra={
                "json_fields": {k: v for k, v in report.to_dict().items() if k != "calendar_id"}
            },
        )
        return report

    def _time_min(self) -> str:
        return (self._clock() - self._lookback).strftime("%Y-%m-%dT%H:%M:%SZ")

    def _advance(self, reader: Reader, progress: Progress, seen: set[str]) -> bool:
        """Move the listing on from ``progress.cursor``: True when it is complete (its
        ``next_sync_token`` may be stored), False when the slice budget ended first."""
        report = reader.report
        for _ in range(MAX_RESTARTS):
            cursor = progress.cursor
            try:
                if not cursor.reconciling:
                    reader.list_pages(progress, seen)
                    if progress.cursor.next_sync_token is None:
                        return False  # cut by the slice budget
                if progress.cursor.mode == "incremental":
                    reader.check_abandoned()
                    return True
                # What earlier slices of this full listing saw, plus this one's.
                earlier = self._store.load_seen(report.calendar_id, cursor)
                return reader.reconcile(progress, seen | earlier)
            except (SyncTokenInvalid, MissingSeen) as exc:
                if isinstance(exc, SyncTokenInvalid) and cursor.mode == "incremental":
                    if cursor.page_token is None:
                        log.info("sync token expired for a calendar; running a full sync")
                        report.token_expired = True
                    else:
                        log.info("a continuation's page token expired; listing again")
                progress.cursor = restart(cursor, self._time_min())
                report.mode = progress.cursor.mode
                seen.clear()
                if cursor.mode == "full" and cursor.seen_chunks:
                    with contextlib.suppress(StoreError):
                        self._store.drop_seen(report.calendar_id, cursor)
        raise CalendarUnavailable("Calendar kept refusing fresh listings (410)")
