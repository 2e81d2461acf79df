"""What every request shares, built once per process and kept on ``app.extensions``:
settings, providers, ID-token verifiers, the Datastore store, the sync engine, Calendar
clients, the Cloud Tasks queue and the sealer of the tokens its tasks carry. What a trigger
or a task does with them is ``addon.scheduling``.

Nothing here runs at import time. Providers are built in the factory (so a bad provider option
stops start-up with a clear message); the Datastore client is built on first use.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import google.oauth2.credentials
from google.auth.credentials import Credentials

from addon.auth import GoogleCerts, IdTokenVerifier, UserIdTokenVerifier
from addon.calendar.client import CalendarClient, RetryPolicy
from addon.credentials.access import CalendarAccess
from addon.credentials.delegation import Delegation
from addon.credentials.offline import OfflineConsent
from addon.linking import LinkedAccounts
from addon.providers.base import ConferenceProvider
from addon.providers.http import RequestsTransport
from addon.providers.options import ProviderConfigError
from addon.providers.registry import build_provider
from addon.sealing import TokenSealer
from addon.settings import Settings, SettingsError, Solution
from addon.store.datastore import Store
from addon.sync.engine import SyncEngine
from addon.sync.provider_calls import call_budget
from addon.tasks.queue import SyncQueue

# The lease must outlast a provider operation's whole budget this many times over, so a run
# renews it between calls with room to spare (ADDON_LEASE_SECONDS is checked at start-up).
LEASE_TO_CALL_BUDGET = 2.0

# Threads that run a request's reads side by side (onCreate reads its records while Calendar
# answers events.get): one wait instead of two. More requests than this at once queue their
# side reads, which then take as long as they did one after the other.
SIDE_READ_THREADS = 16

# While Google waits for an onCreate answer, a slow Calendar must not eat the deadline.
INTERACTIVE_RETRY = RetryPolicy(attempts=2, base_delay=0.2, max_delay=1.0)


@dataclass
class Services:
    settings: Settings
    providers: dict[str, ConferenceProvider]
    verifier: IdTokenVerifier | None
    store_factory: Callable[[], Store]
    sealer: TokenSealer
    user_verifier: UserIdTokenVerifier | None = None
    # Proves a task delivery comes from Cloud Tasks (OIDC token of the invoker account).
    tasks_verifier: IdTokenVerifier | None = None
    # Proves a sweep comes from Cloud Scheduler (or from Cloud Tasks, continuing one).
    sweep_verifier: IdTokenVerifier | None = None
    # --- Apps Script bridge (issue 15) ---
    # Verifies ScriptApp.getIdentityToken() (audience ADDON_BRIDGE_CLIENT_ID), always when the
    # bridge is on, whatever ADDON_VERIFY_ID_TOKENS says; None: the bridge is off (404).
    bridge_verifier: UserIdTokenVerifier | None = None
    calendar_retry: RetryPolicy = field(default_factory=RetryPolicy)
    _store: Store | None = field(default=None, init=False)
    _engine: SyncEngine | None = field(default=None, init=False)
    _queue: SyncQueue | None = field(default=None, init=False)
    _access: CalendarAccess | None = field(default=None, init=False)
    _links: LinkedAccounts | None = field(default=None, init=False)
    _side_reads: ThreadPoolExecutor | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    @classmethod
    def build(
        cls, settings: Settings, store_factory: Callable[[], Store] | None = None
    ) -> Services:
        providers, problems = _build_providers(settings)
        if problems:
            raise SettingsError(*problems)
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
        tasks_verifier = (
            IdTokenVerifier(settings.certs_url, settings.tasks_invoker, certs=certs)
            if settings.verify_id_tokens
            else None
        )
        sweep_verifier = (
            IdTokenVerifier(
                settings.certs_url,
                settings.sweep_invoker,
                certs=certs,
                also=(settings.tasks_invoker,),
            )
            if settings.verify_id_tokens
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
            tasks_verifier=tasks_verifier,
            sweep_verifier=sweep_verifier,
            # Apps Script bridge (issue 15): shares the certs cache with the other verifiers.
            bridge_verifier=(
                UserIdTokenVerifier(settings.bridge_client_id, certs)
                if settings.bridge_client_id
                else None
            ),
            sealer=TokenSealer(*settings.sealing_keys()),
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
                    pool_size=self.settings.sync_pool_size,
                    check_interval_seconds=self.settings.check_interval_seconds,
                    accounts=self._linked_accounts(),
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

    @property
    def access(self) -> CalendarAccess:
        """What a task may read Calendar with (``addon.credentials.access``)."""
        with self._lock:
            if self._access is None:
                self._access = _build_access(self)
            return self._access

    @property
    def links(self) -> LinkedAccounts:
        """Users' linked vendor accounts (``addon.linking``), built on first use."""
        with self._lock:
            return self._linked_accounts()

    def _linked_accounts(self) -> LinkedAccounts:
        # Called with self._lock held.
        if self._links is None:
            self._links = LinkedAccounts(
                self.settings,
                lambda: self.store,
                self.sealer,
                self.providers,
                RequestsTransport(),
                self.user_verifier,
            )
        return self._links

    @property
    def side_reads(self) -> ThreadPoolExecutor:
        """The pool a request runs a read on while it waits for another (built on first use,
        so after gunicorn forks its workers)."""
        with self._lock:
            if self._side_reads is None:
                self._side_reads = ThreadPoolExecutor(
                    SIDE_READ_THREADS, thread_name_prefix="side-read"
                )
            return self._side_reads

    @property
    def queue(self) -> SyncQueue:
        """The Cloud Tasks queue, built on first use (the client is made for many threads)."""
        with self._lock:
            if self._queue is None:
                self._queue = SyncQueue.for_settings(self.settings)
            return self._queue


def _build_access(svc: Services) -> CalendarAccess:
    settings = svc.settings
    offline = None
    if settings.offline_consent and svc.user_verifier is not None:
        offline = OfflineConsent(settings, lambda: svc.store, svc.sealer, svc.user_verifier)
    delegation = Delegation(settings) if settings.delegation_mode != "off" else None
    return CalendarAccess(offline, delegation)


def _build_providers(settings: Settings) -> tuple[dict[str, ConferenceProvider], list[str]]:
    """Every solution's provider, and every problem found building them (all of them at once,
    like the settings themselves): bad options, and a lease too short for a provider's calls."""
    providers: dict[str, ConferenceProvider] = {}
    problems: list[str] = []
    for i, solution in enumerate(settings.solutions):
        try:
            options = _with_secret(solution, settings)
            provider = build_provider(solution.provider, options)
        except ProviderConfigError as exc:
            problems.append(f"ADDON_SOLUTIONS[{i}] ({solution.id!r}): {exc}")
            continue
        providers[solution.id] = provider
        problems.extend(_linking_problems(settings, solution, provider))
        budget = call_budget(provider)
        if settings.lease_seconds < LEASE_TO_CALL_BUDGET * budget:
            need = int(LEASE_TO_CALL_BUDGET * budget + 0.999)
            problems.append(
                f"ADDON_LEASE_SECONDS={settings.lease_seconds} is too short for solution "
                f"{solution.id!r}: one provider operation may take {budget:.1f} s "
                f"(3 attempts x timeout_seconds {provider.timeout_seconds:g} + backoff); "
                f"set ADDON_LEASE_SECONDS to at least {need} or lower timeout_seconds"
            )
    return providers, problems


def _linking_problems(
    settings: Settings, solution: Solution, provider: ConferenceProvider
) -> list[str]:
    """A provider that acts as each user's linked account needs Google Sign-In (to confirm
    who links) and, in production, https endpoints for its OAuth flow."""
    spec = provider.account_link()
    if spec is None:
        return []
    problems = []
    if not settings.offline_consent:
        problems.append(
            f"solution {solution.id!r} ({solution.provider}) links each user's account: set "
            "ADDON_OAUTH_CLIENT_ID and ADDON_OAUTH_CLIENT_SECRET (Google Sign-In confirms "
            "the user who links)"
        )
    if settings.production:
        for url in (spec.authorize_url, spec.token_url, spec.revoke_url):
            if url is not None and not url.startswith("https://"):
                problems.append(
                    f"solution {solution.id!r}: the vendor's OAuth endpoint {url} must be "
                    "https with ADDON_ENV=production"
                )
    return problems


def _with_secret(solution: Solution, settings: Settings) -> dict[str, Any]:
    """Jitsi derives room names from a secret; default it from the service's secret key.
    BigBlueButton's join links are ours: they point at the service and are derived likewise."""
    options = dict(solution.options)
    if solution.provider == "jitsi":
        options.setdefault("room_secret", settings.secret_key)
    if solution.provider == "bbb":
        options.setdefault("join_base_url", settings.base_url)
        options.setdefault("link_secret", settings.secret_key)
    return options
