"""What both halves of ``LinkedAccounts`` share: its collaborators, which solutions link
accounts, and when a token answer expires."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from addon.auth import UserIdTokenVerifier
from addon.linking import oauth
from addon.providers.base import AccountLink, ConferenceProvider
from addon.providers.http import HttpTransport
from addon.sealing import TokenSealer
from addon.settings import Settings
from addon.store.datastore import Store


class LinkingBase:
    """The collaborators: settings, the store, the sealer of stored tokens, the providers (whose
    ``account_link`` says which solutions link accounts), an HTTP transport for OAuth calls, the
    verifier of Google Sign-In's ID tokens, and a clock."""

    def __init__(
        self,
        settings: Settings,
        store: Callable[[], Store],
        sealer: TokenSealer,
        providers: Mapping[str, ConferenceProvider],
        http: HttpTransport,
        verifier: UserIdTokenVerifier | None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._settings = settings
        self._store = store
        self._sealer = sealer
        self._providers = providers
        self._http = http
        self._verifier = verifier
        self._clock = clock
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._locks_guard = threading.Lock()

    # ---- what needs a link --------------------------------------------------------------
    def spec(self, solution_id: str) -> AccountLink | None:
        provider = self._providers.get(solution_id)
        return provider.account_link() if provider is not None else None

    @property
    def signin_ready(self) -> bool:
        """Google Sign-In needs the add-on's OAuth client id and secret."""
        s = self._settings
        return bool(s.oauth_client_id and s.oauth_client_secret and self._verifier)

    def _expiry(self, tokens: oauth.Tokens) -> datetime | None:
        if tokens.expires_in is None:
            return None
        return self._clock() + timedelta(seconds=tokens.expires_in)
