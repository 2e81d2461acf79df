"""Everything a request needs, built once per process and kept on ``app.extensions``.

Nothing here runs at import time. Providers are built in the factory (so a bad provider option
stops start-up with a clear message); the Datastore client is built on first use.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import google.oauth2.credentials
from google.auth.credentials import Credentials

from addon.auth import IdTokenVerifier
from addon.calendar.client import CalendarClient, RetryPolicy
from addon.providers.base import ConferenceProvider
from addon.providers.registry import build_provider
from addon.settings import Settings, Solution
from addon.store.datastore import Store
from addon.sync.engine import SyncEngine, SyncRun

log = logging.getLogger(__name__)

# While Google waits for an onCreate answer, a slow Calendar must not eat the deadline.
INTERACTIVE_RETRY = RetryPolicy(attempts=2, base_delay=0.2, max_delay=1.0)


@dataclass
class Services:
    settings: Settings
    providers: dict[str, ConferenceProvider]
    verifier: IdTokenVerifier | None
    store_factory: Callable[[], Store]
    calendar_retry: RetryPolicy = field(default_factory=RetryPolicy)
    _store: Store | None = field(default=None, init=False)
    _engine: SyncEngine | None = field(default=None, init=False)
    _pool: ThreadPoolExecutor | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    # calendar id -> "another trigger arrived while this process had a run queued or running"
    _local_runs: dict[str, bool] = field(default_factory=dict, init=False)
    # Background mode: delays of this process's own follow-up runs for a calendar left with
    # work (pending changes, a dead lease holder). They reuse the token the trigger brought,
    # which lives about an hour, so the schedule stays well inside that.
    followup_delays: tuple[float, ...] = (5.0, 20.0, 60.0, 180.0, 600.0)
    _followups: dict[str, tuple[threading.Timer, int]] = field(default_factory=dict, init=False)

    @classmethod
    def build(
        cls, settings: Settings, store_factory: Callable[[], Store] | None = None
    ) -> Services:
        providers = {
            s.id: build_provider(s.provider, _with_secret(s, settings.secret_key))
            for s in settings.solutions
        }
        verifier = (
            IdTokenVerifier(settings.certs_url, settings.service_account)
            if settings.verify_id_tokens
            else None
        )
        factory = store_factory or (
            lambda: Store.connect(settings.datastore_project, settings.datastore_namespace)
        )
        return cls(settings=settings, providers=providers, verifier=verifier, store_factory=factory)

    @property
    def solutions(self) -> dict[str, Solution]:
        return {s.id: s for s in self.settings.solutions}

    @property
    def store(self) -> Store:
        with self._lock:
            if self._store is None:
                self._store = self.store_factory()
            return self._store

    @property
    def engine(self) -> SyncEngine:
        store = self.store
        with self._lock:
            if self._engine is None:
                self._engine = SyncEngine(
                    store=store,
                    providers=self.providers,
                    solutions=self.solutions,
                    lease_seconds=self.settings.lease_seconds,
                    lookback_days=self.settings.sync_lookback_days,
                )
            return self._engine

    def calendar(
        self, credentials: Credentials, retry: RetryPolicy | None = None
    ) -> CalendarClient:
        return CalendarClient(
            credentials,
            api_endpoint=self.settings.calendar_api_endpoint,
            retry=retry or self.calendar_retry,
        )

    def calendar_for_token(self, access_token: str, *, interactive: bool = False) -> CalendarClient:
        """Calendar as the user whose short-lived OAuth token Google sent with the request.

        ``interactive``: Google is waiting for our answer, so fewer, shorter retries.
        """
        credentials = google.oauth2.credentials.Credentials(token=access_token)  # type: ignore[no-untyped-call]
        return self.calendar(credentials, INTERACTIVE_RETRY if interactive else None)

    def start_sync(
        self, calendar_id: str, client: CalendarClient
    ) -> Future[SyncRun] | SyncRun | None:
        """Run a sync now (inline mode) or on this process's background pool.

        Background mode coalesces: while this process has a run for the calendar queued or
        running, further triggers only ask it to go round once more (None is returned), so
        a storm costs one lease transaction per round, not one per trigger. Across processes
        the Datastore lease and its dirty flag do the same job.
        """
        if self.settings.sync_mode == "inline":
            return self.engine.sync(calendar_id, client)
        with self._lock:
            if calendar_id in self._local_runs:
                self._local_runs[calendar_id] = True
                return None
            self._local_runs[calendar_id] = False
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="sync")
            pool = self._pool
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
            timers = [timer for timer, _ in self._followups.values()]
            self._followups.clear()
        for timer in timers:
            timer.cancel()
        if pool is not None:
            pool.shutdown(wait=True)

    def _after_run(self, calendar_id: str, client: CalendarClient, run: SyncRun) -> None:
        """Work left behind gets another try from this process, without waiting for a trigger:
        pending changes (the provider was down), or a lease held by a process that may have
        died. A 401 or an exhausted quota ends the chain: retrying cannot help."""
        errors = [r.error for r in run.reports if r.error]
        if any(e.startswith(("Unauthorized", "QuotaExceeded")) for e in errors):
            self._end_followups(calendar_id)
            return
        state = self.store.get_calendar(calendar_id)
        if state is None:
            return
        if run.status == "busy" and state.lease_expires is not None:
            wait = (state.lease_expires - datetime.now(UTC)).total_seconds() + 1.0
            self._schedule_followup(calendar_id, client, max(1.0, wait))
        elif state.due:
            self._schedule_followup(calendar_id, client, None)
        else:
            self._end_followups(calendar_id)

    def _schedule_followup(
        self, calendar_id: str, client: CalendarClient, delay: float | None
    ) -> None:
        with self._lock:
            if self._pool is None:
                return  # closed
            previous = self._followups.get(calendar_id)
            attempt = previous[1] + 1 if previous else 0
            if previous:
                previous[0].cancel()
            if attempt >= len(self.followup_delays):
                self._followups.pop(calendar_id, None)
                log.warning("calendar still has work after every follow-up; next trigger resumes")
                return
            wait = self.followup_delays[attempt] if delay is None else delay
            timer = threading.Timer(wait, self._followup, (calendar_id, client))
            timer.daemon = True
            self._followups[calendar_id] = (timer, attempt)
            timer.start()

    def _end_followups(self, calendar_id: str) -> None:
        with self._lock:
            entry = self._followups.pop(calendar_id, None)
        if entry is not None:
            entry[0].cancel()

    def _followup(self, calendar_id: str, client: CalendarClient) -> None:
        state = self.store.get_calendar(calendar_id)
        if state is None:
            return
        now = datetime.now(UTC)
        if state.lease_owner is not None and state.lease_expires and state.lease_expires > now:
            # A live holder renews its lease and will see the dirty flag; look again when
            # the lease would run out, in case it dies first.
            wait = (state.lease_expires - now).total_seconds() + 1.0
            self._schedule_followup(calendar_id, client, wait)
        elif state.due or state.lease_owner is not None:
            self.start_sync(calendar_id, client)
        else:
            self._end_followups(calendar_id)

    def _run_coalesced(self, calendar_id: str, client: CalendarClient) -> SyncRun:
        try:
            while True:
                # Each run under the lease lists everything changed so far: triggers that
                # arrived before it started need no further round (else a burst landing during
                # one run would cost a third listing after the lease's own second one).
                run = self.engine.sync(calendar_id, client, lambda: self._covered(calendar_id))
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


def _with_secret(solution: Solution, secret_key: str) -> dict[str, Any]:
    """Jitsi derives room names from a secret; default it from the service's secret key."""
    options = dict(solution.options)
    if solution.provider == "jitsi":
        options.setdefault("room_secret", secret_key)
    return options


def _log_failure(future: Future[Any]) -> None:
    exc = future.exception()
    if exc is not None:
        log.error("background sync failed", exc_info=exc)
