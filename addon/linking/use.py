"""Using a link: ``call_as`` runs a provider call as the meeting owner's linked account,
refreshing its token first when expired and once after the vendor refused it; refreshes are
serialized per link (a compare-and-set claim) and a refused grant drops the link once (see
``addon.linking``)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

from addon.linking import oauth
from addon.linking.common import LinkingBase
from addon.linking.errors import AccountNotLinked
from addon.providers.base import (
    AccountLink,
    ConferenceProvider,
    ProviderAccountExpired,
    ProviderRefused,
    ProviderUnavailable,
    VendorAccount,
)
from addon.sealing import SealError
from addon.store.datastore import Store
from addon.store.links import VendorLink, link_context

log = logging.getLogger(__name__)

T = TypeVar("T")

# A token this close to its expiry is refreshed before use.
EXPIRY_SKEW = timedelta(seconds=60)
# How long a refresh claim holds, and how long another caller waits for its result.
REFRESH_CLAIM = timedelta(seconds=20)
REFRESH_WAIT_SECONDS = 5.0
# Why a link sealed under a key no longer configured is dropped.
UNOPENABLE = "the stored link cannot be opened with the current sealing keys"
# Token-endpoint refusals of the app itself (RFC 6749 5.2), not of the user's grant: they do not
# drop links. Any other refusal does (``invalid_grant`` by the RFC; Zoom is reported to answer
# ``invalid_request`` "Invalid Token!" for a dead refresh token, which we could not confirm).
APP_REFUSALS = frozenset({"invalid_client", "unauthorized_client", "unsupported_grant_type"})


class AccountUse(LinkingBase):
    def call_as(
        self,
        provider: ConferenceProvider,
        solution_id: str,
        owner_id: str | None,
        fn: Callable[[ConferenceProvider], T],
    ) -> T:
        """``fn(provider)``, acting as the owner's linked account when the provider needs one;
        a refused token is refreshed and ``fn`` run once more."""
        spec = provider.account_link()
        if spec is None:
            return fn(provider)
        if owner_id is None:
            raise AccountNotLinked("nobody verified owns this meeting, so no account can act")
        try:
            account = self.account(solution_id, owner_id, spec)
            try:
                return fn(provider.with_account(account))
            except ProviderAccountExpired:
                account = self._refresh(solution_id, owner_id, spec, refused=account)
        except AccountNotLinked as exc:
            raise AccountNotLinked(str(exc), f"{solution_id}:{owner_id}") from None
        try:
            return fn(provider.with_account(account))
        except ProviderAccountExpired:
            raise ProviderRefused("the vendor refused a freshly refreshed token", 401) from None

    def linked(self, link_key: str) -> bool:
        """Whether the link ``"<solution id>:<user id>"`` is usable now."""
        solution_id, _, user_id = link_key.partition(":")
        link = self._store().get_link(solution_id, user_id) if user_id else None
        return link is not None and link.usable

    def account(self, solution_id: str, user_id: str, spec: AccountLink) -> VendorAccount:
        """The user's account, refreshed first when its token expired; ``AccountNotLinked``."""
        link = self._store().get_link(solution_id, user_id)
        if link is None or not link.usable:
            raise AccountNotLinked(_why(link))
        if link.expires_at is not None and link.expires_at - EXPIRY_SKEW <= self._clock():
            return self._refresh(solution_id, user_id, spec, refused=None)
        return self._account(link)

    def _account(self, link: VendorLink) -> VendorAccount:
        assert link.access_token is not None
        context = link_context(link.solution_id, link.user_id)
        try:
            token = self._sealer.open(link.access_token, context)
        except SealError:
            # Sealed under a key no longer configured (ADDON_TOKEN_KEYS rotated too far): the
            # user must link again; nothing else can recover it. Dropped, so nothing retries.
            return self._account(self._drop(self._store(), link, UNOPENABLE))
        return VendorAccount(token, link.vendor_user_id)

    def _lock(self, key: tuple[str, str]) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(key, threading.Lock())

    def _refresh(
        self, solution_id: str, user_id: str, spec: AccountLink, refused: VendorAccount | None
    ) -> VendorAccount:
        with self._lock((solution_id, user_id)):  # one refresh per link in this process
            return self._refresh_claimed(solution_id, user_id, spec, refused)

    def _fresh(self, link: VendorLink, refused: VendorAccount | None) -> VendorAccount | None:
        """The link's account if it needs no refresh (another caller refreshed it)."""
        if not link.usable:
            raise AccountNotLinked(_why(link))
        account = self._account(link)
        expired = link.expires_at is not None and link.expires_at - EXPIRY_SKEW <= self._clock()
        if expired or (refused is not None and account.access_token == refused.access_token):
            return None
        return account

    def _refresh_claimed(
        self, solution_id: str, user_id: str, spec: AccountLink, refused: VendorAccount | None
    ) -> VendorAccount:
        store = self._store()
        deadline = time.monotonic() + REFRESH_WAIT_SECONDS
        while True:
            link = store.get_link(solution_id, user_id)
            if link is None:
                raise AccountNotLinked(_why(None))
            fresh = self._fresh(link, refused)
            if fresh is not None:
                return fresh
            now = self._clock()
            claimed_elsewhere = link.refreshing_until is not None and link.refreshing_until > now
            if not claimed_elsewhere:
                written, claimed = store.swap_link(
                    link.with_(refreshing_until=now + REFRESH_CLAIM), link.version
                )
                if written and claimed is not None:
                    return self._account(self._refresh_now(store, claimed, spec))
            if time.monotonic() >= deadline:
                raise ProviderUnavailable("another refresh of this account is still under way")
            time.sleep(0.1)

    def _refresh_now(self, store: Store, link: VendorLink, spec: AccountLink) -> VendorLink:
        """The claim is ours: refresh at the vendor and write over the claimed version."""
        context = link_context(link.solution_id, link.user_id)
        if link.refresh_token is None:
            return self._drop(store, link, "the vendor gave no refresh token; link again")
        try:
            refresh_token = self._sealer.open(link.refresh_token, context)
        except SealError:
            return self._drop(store, link, UNOPENABLE)
        try:
            tokens = oauth.refresh(self._http, spec, refresh_token)
        except oauth.TokenRefused as exc:
            if exc.error in APP_REFUSALS:
                # The vendor refused our app, not the user's grant (a rotated client secret):
                # every link would fail alike, and none is the user's to mend. Keep them.
                store.swap_link(link.with_(refreshing_until=None), link.version)
                raise ProviderRefused(f"the vendor refused the app's credentials ({exc.error})",
                                      exc.status) from None  # fmt: skip
            return self._drop(store, link, f"the vendor refused the stored link ({exc.error})")
        except oauth.TokenUnavailable as exc:
            store.swap_link(link.with_(refreshing_until=None), link.version)
            raise ProviderUnavailable(f"token refresh: {exc}", exc.retry_after) from None
        renewed = link.with_(
            access_token=self._sealer.seal(tokens.access_token, context),
            # Vendors that rotate refresh tokens (Zoom) answer a new one; others keep the old.
            refresh_token=(
                self._sealer.seal(tokens.refresh_token, context)
                if tokens.refresh_token
                else link.refresh_token
            ),
            expires_at=self._expiry(tokens),
            refreshing_until=None,
        )
        written, current = store.swap_link(renewed, link.version)
        if not written:
            # Unlinked or linked anew while we refreshed: theirs is newer than ours.
            if current is None or not current.usable:
                raise AccountNotLinked(_why(current))
            return current
        assert current is not None
        return current

    def _drop(self, store: Store, link: VendorLink, reason: str) -> VendorLink:
        dropped = link.with_(
            access_token=None, refresh_token=None, state="needs_link", reason=reason,
            refreshing_until=None,
        )  # fmt: skip
        written, current = store.swap_link(dropped, link.version)
        log.warning("vendor link dropped: %s", reason)
        if not written and current is not None and current.usable:
            return current  # linked again meanwhile
        raise AccountNotLinked(reason)


def _why(link: VendorLink | None) -> str:
    if link is None:
        return "the meeting's owner has not linked an account on the conferencing system"
    return link.reason or "the meeting's owner must link their account again"
