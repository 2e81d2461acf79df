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

from addon.auth import GoogleCerts, IdTokenVerifier, UserIdTokenVerifier
from addon.calendar.client import CalendarClient, RetryPolicy
from addon.providers.base import ConferenceProvider
from addon.providers.registry import build_provider
from addon.settings import Settings, SettingsError, Solution
from addon.store.datastore import Store
from addon.store.errors import StoreError
from addon.sync.engine import SyncEngine, SyncRun
from addon.sync.execute import call_budget

# The lease must outlast a provider operation's whole budget this many times over, so a run
# renews it between calls with room to spare (ADDON_LEASE_SECONDS is checked at start-up).
LEASE_TO_CALL_BUDGET = 2.0

log = logging.getLogger(__name__)

# While Google waits for an onCreate answer, a slow Calendar must not eat the deadline.
INTERACTIVE_RETRY = RetryPolicy(attempts=2, base_delay=0.2, max_delay=1.0)


@dataclass
class Services:
    settings: Settings
    providers: dict[str, ConferenceProvider]
    verifier: IdTokenVerifier | None
    store_factory: Callable[[], Store]
    user_verifier: UserIdTokenVerifier | None = None
    calendar_retry: RetryPolicy = field(default_factory=RetryPolicy)
    _store: Store | None = field(default=None, init=False)
    _engine: SyncEngine | None = field(default=None, init=False)
    _pool: ThreadPoolExecutor | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    # calendar id -> "another trigger arrived while this process had a run queued or running"
    _local_runs: dict[str, bool] = field(default_factory=dict, init=False)
    # Background mode: this process's own follow-up run for a calendar left with work (pending
    # changes, a retryable Calendar failure, a dead lease holder), at the calendar's
    # ``retry_at``. It reuses the token the trigger brought (about an hour); a refused token
    # ends the chain and the calendar waits, visibly, for its next trigger.
    _followups: dict[str, threading.Timer] = field(default_factory=dict, init=False)

    @classmethod
    def build(
        cls, settings: Settings, store_factory: Callable[[], Store] | None = None
    ) -> Services:
        providers = {
            s.id: build_provider(s.provider, _with_secret(s, settings.secret_key))
            for s in settings.solutions
        }
        for solution_id, provider in providers.items():
            budget = call_budget(provider)
            if settings.lease_seconds < LEASE_TO_CALL_BUDGET * budget:
                need = int(LEASE_TO_CALL_BUDGET * budget + 0.999)
                raise SettingsError(
                    f"ADDON_LEASE_SECONDS={settings.lease_seconds} is too short for solution "
                    f"{solution_id!r}: one provider operation may take {budget:.1f} s "
                    f"(3 attempts x timeout_seconds {provider.timeout_seconds:g} + backoff); "
                    f"set ADDON_LEASE_SECONDS to at least {need} or lower timeout_seconds"
                )
        certs = GoogleCerts(settings.certs_url)
        verifier = (
            IdTokenVerifier(settings.certs_url, settings.service_account, certs=certs)
            if settings.verify_id_tokens
            else None
        )
        user_verifier = (
            UserIdTokenVerifier(settings.oauth_client_id, certs)
            if settings.oauth_client_id
            else None
        )
        factory = store_factory or (
            lambda: Store.connect(settings.datastore_project, settings.datastore_namespace)
        )
        return cls(
            settings=settings,
            providers=providers,
            verifier=verifier,
            store_factory=factory,
            user_verifier=user_verifier,
        )

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
                    retry_base_seconds=self.settings.retry_base_seconds,
                    retry_max_seconds=self.settings.retry_max_seconds,
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
            state = self.store.get_calendar(calendar_id)
        except StoreError:
            # Datastore is failing: look again later rather than lose the calendar's work.
            self._schedule_followup(calendar_id, client, self.settings.retry_base_seconds)
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
            state = self.store.get_calendar(calendar_id)
        except StoreError:
            self._schedule_followup(calendar_id, client, self.settings.retry_max_seconds / 10)
            return
        if state is None:
            return
        now = datetime.now(UTC)
        if state.lease_owner is not None and state.lease_expires and state.lease_expires > now:
            # A live holder renews its lease and will see the dirty flag; look again when
            # the lease would run out, in case it dies first.
            self._schedule_followup(calendar_id, client, _seconds(state.lease_expires, now) + 1.0)
        elif state.due or state.lease_owner is not None:
            self.start_sync(calendar_id, client)

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


def _seconds(moment: datetime, now: datetime) -> float:
    return (moment - now).total_seconds()


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
