"""One calendar's sync: ``SyncEngine.sync(calendar_id, calendar_client)``.

Follows Calendar's sync guide (developers.google.com/workspace/calendar/api/guides/sync):

1. Take the calendar's lease (Datastore transaction). If another process holds it, mark the
   calendar dirty and return at once: the holder runs again before releasing it, so a burst
   of N triggers costs at most two listing runs, not N.
2. Replay pending changes (changes a provider outage kept from being applied).
3. List: incremental with the stored sync token, or — with no token, or after 410
   ``fullSyncRequired`` — a windowed full listing (``timeMin`` = now - lookback,
   ``showDeleted``, 2500 per page, no ``orderBy``) followed by a **reconcile**: every live
   conference whose event the full listing did not show alive is checked with events.get,
   because a full listing never shows deletions made while we had no valid token.
4. Every page's changes are planned (``plan``) and executed (``execute``); only after the
   last page is the new sync token stored, and only while we still hold the lease, so the
   stored token never goes backwards.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from addon.calendar.client import CalendarClient
from addon.calendar.errors import (
    CalendarError,
    CalendarUnavailable,
    QuotaExceeded,
    SyncTokenInvalid,
    Unauthorized,
)
from addon.providers.base import ConferenceProvider
from addon.settings import Solution
from addon.store.datastore import Store
from addon.store.records import Conference
from addon.sync.execute import Executor
from addon.sync.plan import foreign_conference_ids, is_cancelled, plan_event

log = logging.getLogger(__name__)

MAX_RUNS_PER_LEASE = 5
RENEW_EVERY_SECONDS = 10.0


@dataclass
class SyncReport:
    """What one run did (stored as the calendar's ``last_result``, shown in logs)."""

    calendar_id: str
    mode: str = "incremental"
    pages: int = 0
    changes: int = 0
    reconciled: int = 0
    actions: dict[str, int] = field(default_factory=dict)
    provider_calls: dict[str, int] = field(default_factory=dict)
    pending: int = 0
    failed: int = 0
    write_backs: int = 0
    conflicts: int = 0
    token_stored: bool = False
    error: str | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SyncRun:
    """The outcome of one trigger: ``busy`` (someone else syncs; marked dirty) or the reports
    of the runs made under our lease."""

    calendar_id: str
    status: str
    reports: list[SyncReport] = field(default_factory=list)


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
    ) -> None:
        self._store = store
        self._providers = providers
        self._solutions = solutions
        self._lease_seconds = lease_seconds
        self._lookback = timedelta(days=lookback_days)
        self._clock = clock
        self._provider_backoff = provider_backoff
        self._solution_ids = frozenset(solutions)

    # ---- the lease loop ---------------------------------------------------------------
    def sync(
        self,
        calendar_id: str,
        calendar: CalendarClient,
        on_run_start: Callable[[], None] | None = None,
    ) -> SyncRun:
        """``on_run_start`` is called before each run under the lease: whatever triggered us
        before that moment is covered by that run's listing."""
        owner = uuid.uuid4().hex
        if not self._store.acquire_lease(calendar_id, owner, self._lease_seconds):
            return SyncRun(calendar_id, "busy")
        run = SyncRun(calendar_id, "done")
        released = False
        try:
            for _ in range(MAX_RUNS_PER_LEASE):
                if on_run_start is not None:
                    on_run_start()
                report = self._sync_once(calendar_id, calendar, owner)
                run.reports.append(report)
                if report.error:
                    run.status = "error"
                    break
                if self._store.finish_run(calendar_id, owner, self._lease_seconds):
                    released = True
                    break
            else:
                # Still dirty after several runs (a sustained storm): leave it due for the
                # next trigger or the periodic sweep instead of holding the lease forever.
                self._store.update_calendar(calendar_id, lambda s: s.with_(dirty=True))
        finally:
            if not released:
                self._store.release_lease(calendar_id, owner)
        return run

    # ---- one run ----------------------------------------------------------------------
    def _sync_once(self, calendar_id: str, calendar: CalendarClient, owner: str) -> SyncReport:
        started = time.monotonic()
        report = SyncReport(calendar_id)
        executor = Executor(
            store=self._store,
            calendar=calendar,
            providers=self._providers,
            solutions=self._solutions,
            provider_backoff=self._provider_backoff,
        )
        renew = _Renewer(
            lambda: self._store.renew_lease(calendar_id, owner, self._lease_seconds),
            # Well inside the lease, however short it is configured (ADDON_LEASE_SECONDS >= 5).
            every=min(RENEW_EVERY_SECONDS, self._lease_seconds / 3),
        )
        state = self._store.get_calendar(calendar_id)
        token = None if state is None or state.needs_full_sync else state.sync_token
        next_token: str | None = None
        try:
            for change in self._store.list_pending(calendar_id):
                # Delete a pending change only once it is applied: the stored token is already
                # past it, so a crash between delete and apply would lose it for good. One that
                # fails again was stored anew by the executor (same key) and must stay.
                stored_again = executor.outcome.pending
                self._process(calendar_id, [dict(change.event)], executor, report, renew)
                if executor.outcome.pending == stored_again:
                    self._store.delete_pending(calendar_id, change.event_id)
            if token is not None:
                try:
                    next_token = self._list(calendar_id, calendar, executor, report, renew, token)
                except SyncTokenInvalid:
                    log.info("sync token expired for a calendar; running a full sync")
                    token = None
            if token is None:
                report.mode = "full"
                seen_alive: set[str] = set()
                next_token = self._list(
                    calendar_id, calendar, executor, report, renew, None, seen_alive
                )
                self._reconcile(calendar_id, calendar, executor, report, seen_alive, renew)
        except (Unauthorized, QuotaExceeded, CalendarUnavailable, SyncTokenInvalid) as exc:
            # Stop cleanly and keep the stored token: the next trigger resumes from it.
            report.error = f"{type(exc).__name__}: {exc}"
            next_token = None
        except CalendarError as exc:
            report.error = f"{type(exc).__name__}: {exc}"
            next_token = None
        except _LeaseLost:
            report.error = "lease lost (another process took over); nothing stored"
            next_token = None
        out = executor.outcome
        report.provider_calls = dict(out.provider_calls)
        report.pending, report.failed = out.pending, out.failed
        report.write_backs, report.conflicts = out.write_backs, out.conflicts
        report.seconds = round(time.monotonic() - started, 3)
        if report.error and "lease lost" in report.error:
            return report
        report.token_stored = next_token is not None
        self._store.store_sync_result(
            calendar_id,
            owner,
            sync_token=next_token,
            result=report.to_dict(),
            pending_count=self._store.count_pending(calendar_id),
            full_sync_failed=report.mode == "full" and report.error is not None,
        )
        self._store.append_sync_run(calendar_id, report.to_dict())
        log.info(
            "sync finished",
            extra={
                "json_fields": {k: v for k, v in report.to_dict().items() if k != "calendar_id"}
            },
        )
        return report

    def _list(
        self,
        calendar_id: str,
        calendar: CalendarClient,
        executor: Executor,
        report: SyncReport,
        renew: _Renewer,
        token: str | None,
        seen_alive: set[str] | None = None,
    ) -> str | None:
        time_min = None
        if token is None:
            time_min = (self._clock() - self._lookback).strftime("%Y-%m-%dT%H:%M:%SZ")
        next_token: str | None = None
        for page in calendar.iter_pages(calendar_id, sync_token=token, time_min=time_min):
            report.pages += 1
            items = [i for i in page.get("items") or () if isinstance(i, Mapping)]
            report.changes += len(items)
            if seen_alive is not None:
                seen_alive.update(
                    str(i["id"])
                    for i in items
                    if isinstance(i.get("id"), str) and not is_cancelled(i)
                )
            self._process(calendar_id, items, executor, report, renew)
            renew()
            next_token = page.get("nextSyncToken") or next_token
        return next_token

    def _reconcile(
        self,
        calendar_id: str,
        calendar: CalendarClient,
        executor: Executor,
        report: SyncReport,
        seen_alive: set[str],
        renew: _Renewer,
    ) -> None:
        for conf in self._store.list_conferences(calendar_id):
            if conf.event_id in seen_alive:
                continue
            report.reconciled += 1
            event = calendar.get_event(calendar_id, conf.event_id)
            self._process(
                calendar_id,
                [event or {"id": conf.event_id, "status": "cancelled"}],
                executor,
                report,
                renew,
            )

    def _process(
        self,
        calendar_id: str,
        events: Iterable[Mapping[str, Any]],
        executor: Executor,
        report: SyncReport,
        renew: _Renewer,
    ) -> None:
        batch = list(events)
        if not batch:
            return
        # Records are re-read per batch below; keep the executor's memory to one batch.
        executor.latest.clear()
        ids: list[str] = []
        for e in batch:
            for key in ("id", "recurringEventId"):
                if isinstance(e.get(key), str):
                    ids.append(e[key])
        records = self._store.get_conferences(calendar_id, ids)
        owners: dict[str, Conference] = {}
        for conference_id in foreign_conference_ids(batch, records):
            found = self._store.find_by_conference_id(conference_id)
            if found:
                owners[conference_id] = found[0]
        for event in batch:
            actions = plan_event(event, records, owners, self._solution_ids)
            for action in actions:
                name = type(action).__name__
                report.actions[name] = report.actions.get(name, 0) + 1
                executor.run(calendar_id, action, event)
            if actions:
                # Provider calls can be slow: a page's worth must not outlive the lease.
                renew()
                # Later changes in the same batch (pending replay, then the listing) must be
                # planned against what we just stored, or they would be applied twice.
                for key in ("id", "recurringEventId"):
                    event_id = event.get(key)
                    if isinstance(event_id, str) and event_id in executor.latest:
                        records[event_id] = executor.latest[event_id]


class _LeaseLost(Exception):
    pass


class _Renewer:
    """Renews the lease at most every few seconds; raises ``_LeaseLost`` if it was taken."""

    def __init__(self, renew: Callable[[], bool], every: float = RENEW_EVERY_SECONDS) -> None:
        self._renew = renew
        self._every = every
        self._last = time.monotonic()

    def __call__(self) -> None:
        if time.monotonic() - self._last < self._every:
            return
        self._last = time.monotonic()
        if not self._renew():
            raise _LeaseLost
