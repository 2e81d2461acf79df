"""``LinkedAccounts``: the linking flow's steps (see ``addon.linking``) and the use of a link.

Linking steps, each called by one endpoint of ``addon.web.link``:

* ``start_url(user, solution_id)`` — a new flow for the verified user; our start page's URL.
* ``opened(state, solution_id)`` — the flow the start page shows (nothing consumed).
* ``begin_signin(state, solution_id)`` — step ``issued → google``: Google's sign-in URL.
* ``finish_signin(state, code)`` — step ``google → vendor``: Google's code exchanged, its ID
  token verified and its ``sub`` compared with the flow's; the vendor's authorization URL.
* ``finish_vendor(state, code)`` — the flow taken (deleted): the vendor's code exchanged with
  the PKCE verifier, the tokens stored sealed. Returns the link and the unlink form's token.
* ``unlink(token)`` — revoke at the vendor (when it has a revocation endpoint), forget the link.

Every refusal is a ``LinkError`` (reason, message for the user, HTTP status) raised before
anything is stored.

Using a link: ``call_as(provider, solution_id, owner_id, fn)`` runs ``fn`` with the provider
acting as the owner's linked account (refreshed first when expired); when the vendor refuses
the token (``ProviderAccountExpired``) it refreshes and runs ``fn`` once more. Refreshes are
serialized per link: a claim is taken on the stored link by compare-and-set, and whoever loses
waits for the winner's tokens instead of spending the same (rotating) refresh token; the new
tokens are written only over the version the refresh started from. A refused refresh
(``invalid_grant``) drops the link, once, and raises ``AccountNotLinked``; a refusal of the
app itself (``invalid_client``: a rotated client secret) keeps every link and raises
``ProviderRefused``.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TypeVar
from urllib.parse import urlencode

from addon.auth import AuthError, UserIdTokenVerifier, VerifiedCaller, VerifiedUser
from addon.linking import oauth
from addon.linking.state import (
    LinkState,
    StateError,
    read_state,
    read_unlink,
    sign_state,
    sign_unlink,
)
from addon.providers.base import (
    AccountLink,
    ConferenceProvider,
    ProviderAccountExpired,
    ProviderError,
    ProviderRefused,
    ProviderUnavailable,
    VendorAccount,
)
from addon.providers.http import HttpTransport
from addon.sealing import SealError, TokenSealer
from addon.settings import Settings
from addon.store.datastore import Store
from addon.store.links import LinkFlow, VendorLink, link_context

log = logging.getLogger(__name__)

T = TypeVar("T")

START_PATH = "/link/{solution}/start"
GOOGLE_CALLBACK_PATH = "/link/google/callback"
VENDOR_CALLBACK_PATH = "/link/callback"
# Calendar shows at most this much of an authenticationUrl (ConferenceError reference).
MAX_AUTHENTICATION_URL = 1300
# A token this close to its expiry is refreshed before use.
EXPIRY_SKEW = timedelta(seconds=60)
# How long a refresh claim holds, and how long another caller waits for its result.
REFRESH_CLAIM = timedelta(seconds=20)
REFRESH_WAIT_SECONDS = 5.0
# Token-endpoint refusals of the app itself (RFC 6749 5.2), not of the user's grant: they do not
# drop links. Any other refusal does (``invalid_grant`` by the RFC; Zoom is reported to answer
# ``invalid_request`` "Invalid Token!" for a dead refresh token, which we could not confirm).
UNOPENABLE = "the stored link cannot be opened with the current sealing keys"
APP_REFUSALS = frozenset({"invalid_client", "unauthorized_client", "unsupported_grant_type"})


class AccountNotLinked(ProviderError):
    """The user has no usable link on this vendor (never linked, unlinked, or the vendor
    refused the stored tokens): the user must link again; retrying will not help.
    ``link_key`` (``"<solution id>:<user id>"``) names the link a parked change waits for."""

    def __init__(self, message: str, link_key: str | None = None) -> None:
        super().__init__(message)
        self.link_key = link_key


class LinkError(Exception):
    """A linking step refused; nothing was stored. ``reason`` is machine-readable."""

    def __init__(self, reason: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.reason = reason
        self.status = status


_STATE_PROBLEMS = {
    "missingState": "This page needs the link Calendar showed you.",
    "badState": "This link is not valid. Pick the conference in Calendar again for a new one.",
    "stateExpired": "This link has expired. Pick the conference in Calendar again.",
    "wrongStep": "This link is not valid for this step. Pick the conference in Calendar again.",
}
_USED = "This link was used already or has expired. Pick the conference in Calendar again."


class LinkedAccounts:
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

    # ---- the flow -----------------------------------------------------------------------
    def start_url(self, user: VerifiedUser, solution_id: str) -> str:
        """Our start page for ``user`` linking ``solution_id`` (a new single-use flow)."""
        nonce = secrets.token_urlsafe(16)
        self._store().put_link_flow(
            LinkFlow(nonce, user.user_id, user.email, solution_id, "issued", self._clock())
        )
        state = sign_state(
            self._settings.secret_key, LinkState(nonce, user.user_id, solution_id, "issued")
        )
        path = START_PATH.format(solution=solution_id)
        url = self._settings.endpoint_url(path) + "?" + urlencode({"state": state})
        if len(url) > MAX_AUTHENTICATION_URL:
            # Solution ids and the base URL are short in any sane deployment; say so loudly.
            raise ValueError(f"authentication URL of {len(url)} characters (> 1300)")
        return url

    def _state(self, token: str | None, stage: str, solution_id: str | None = None) -> LinkState:
        try:
            state = read_state(self._settings.secret_key, token, stage)
        except StateError as exc:
            status = 403 if exc.reason == "stateExpired" else 400
            raise LinkError(exc.reason, _STATE_PROBLEMS[exc.reason], status) from None
        if solution_id is not None and state.solution_id != solution_id:
            raise LinkError("wrongSolution", "This link was made for another conference.")
        if self.spec(state.solution_id) is None:
            raise LinkError("notLinkable", "This conference needs no account.", 404)
        return state

    def opened(self, token: str | None, solution_id: str) -> LinkFlow:
        state = self._state(token, "issued", solution_id)
        flow = self._store().get_link_flow(state.nonce)
        if flow is None or flow.stage != "issued" or flow.user_id != state.user_id:
            raise LinkError("usedState", _USED, 410)
        return flow

    def begin_signin(self, token: str | None, solution_id: str) -> str:
        state = self._state(token, "issued", solution_id)
        if not self.signin_ready:
            raise LinkError("signInUnavailable", "Google sign-in is not set up here.", 503)
        flow = self._store().advance_link_flow(state.nonce, "issued", "google")
        if flow is None or flow.user_id != state.user_id:
            raise LinkError("usedState", _USED, 410)
        s = self._settings
        params = {
            "response_type": "code",
            "client_id": s.oauth_client_id or "",
            "redirect_uri": s.endpoint_url(GOOGLE_CALLBACK_PATH),
            "scope": "openid https://www.googleapis.com/auth/userinfo.email",
            "state": sign_state(s.secret_key, LinkState(flow.nonce, flow.user_id,
                                                        flow.solution_id, "google")),
            "login_hint": flow.email,
            "prompt": "select_account",
        }  # fmt: skip
        return s.oauth_auth_uri + "?" + urlencode(params)

    def finish_signin(self, token: str | None, code: str) -> str:
        """Google's redirect back: check who signed in; the vendor's authorization URL."""
        state = self._state(token, "google")
        spec = self.spec(state.solution_id)
        assert spec is not None  # _state checked it
        verifier, challenge = oauth.pkce_pair()
        sealed = self._sealer.seal(verifier, _verifier_context(state.nonce))
        store = self._store()
        flow = store.advance_link_flow(state.nonce, "google", "vendor", sealed)
        if flow is None or flow.user_id != state.user_id:
            raise LinkError("usedState", _USED, 410)
        try:
            who = self._signed_in(code)
        except LinkError:
            store.take_link_flow(flow.nonce, "vendor")
            raise
        if who.subject != flow.user_id:
            store.take_link_flow(flow.nonce, "vendor")
            log.warning("linking completed by another Google user: refused")
            raise LinkError(
                "wrongUser",
                f"You signed in as {who.email}, but this link was made for {flow.email}. "
                "Pick the conference in Calendar again, signed in with the same account.",
                403,
            )
        vendor_state = sign_state(
            self._settings.secret_key,
            LinkState(flow.nonce, flow.user_id, flow.solution_id, "vendor"),
        )
        return oauth.authorize_url(
            spec,
            redirect_uri=self._settings.endpoint_url(VENDOR_CALLBACK_PATH),
            state=vendor_state,
            code_challenge=challenge,
        )

    def _signed_in(self, code: str) -> VerifiedCaller:
        s = self._settings
        assert self._verifier is not None and s.oauth_client_id and s.oauth_client_secret
        try:
            tokens = oauth.google_code(
                self._http,
                token_uri=s.oauth_token_uri,
                client_id=s.oauth_client_id,
                client_secret=s.oauth_client_secret,
                code=code,
                redirect_uri=s.endpoint_url(GOOGLE_CALLBACK_PATH),
            )
        except oauth.TokenRefused:
            raise LinkError(
                "codeRefused", "Google did not accept this sign-in; start again."
            ) from None
        except oauth.TokenUnavailable:
            raise LinkError(
                "retryLater", "Google could not be reached; start again.", 503
            ) from None
        try:
            return self._verifier.verify(tokens.id_token)
        except AuthError:
            raise LinkError("badIdToken", "Google's answer could not be verified.") from None

    def finish_vendor(self, token: str | None, code: str) -> tuple[VendorLink, str]:
        state = self._state(token, "vendor")
        spec = self.spec(state.solution_id)
        assert spec is not None
        store = self._store()
        flow = store.take_link_flow(state.nonce, "vendor")
        if flow is None or flow.user_id != state.user_id or flow.code_verifier is None:
            raise LinkError("usedState", _USED, 410)
        try:
            verifier = self._sealer.open(flow.code_verifier, _verifier_context(flow.nonce))
        except SealError:  # the sealing keys changed under the flow
            raise LinkError("usedState", _USED, 410) from None
        try:
            tokens = oauth.exchange_code(
                self._http,
                spec,
                code=code,
                redirect_uri=self._settings.endpoint_url(VENDOR_CALLBACK_PATH),
                verifier=verifier,
            )
        except oauth.TokenRefused as exc:
            log.warning("vendor refused the linking code: %s", exc.error)
            raise LinkError("codeRefused", "The vendor did not accept this sign-in.") from None
        except oauth.TokenUnavailable:
            raise LinkError("retryLater", "The vendor could not be reached.", 503) from None
        link = store.put_link(self._new_link(flow, tokens))
        log.info("vendor account linked", extra={"json_fields": {"solution": flow.solution_id}})
        return link, sign_unlink(self._settings.secret_key, flow.user_id, flow.solution_id)

    def _new_link(self, flow: LinkFlow, tokens: oauth.Tokens) -> VendorLink:
        context = link_context(flow.solution_id, flow.user_id)
        return VendorLink(
            user_id=flow.user_id,
            solution_id=flow.solution_id,
            email=flow.email,
            access_token=self._sealer.seal(tokens.access_token, context),
            refresh_token=(
                self._sealer.seal(tokens.refresh_token, context) if tokens.refresh_token else None
            ),
            expires_at=self._expiry(tokens),
            vendor_user_id=tokens.vendor_user_id,
        )

    def _expiry(self, tokens: oauth.Tokens) -> datetime | None:
        if tokens.expires_in is None:
            return None
        return self._clock() + timedelta(seconds=tokens.expires_in)

    def unlink(self, token: str | None) -> tuple[str, bool]:
        """The unlink form: (solution id, whether a link was held)."""
        try:
            user_id, solution_id = read_unlink(self._settings.secret_key, token)
        except StateError as exc:
            status = 403 if exc.reason == "stateExpired" else 400
            raise LinkError(exc.reason, _STATE_PROBLEMS[exc.reason], status) from None
        spec = self.spec(solution_id)
        if spec is None:
            raise LinkError("notLinkable", "This conference needs no account.", 404)
        store = self._store()
        link = store.get_link(solution_id, user_id)
        if link is not None and link.refresh_token is not None:
            context = link_context(solution_id, user_id)
            try:
                oauth.revoke(self._http, spec, self._sealer.open(link.refresh_token, context))
            except SealError:
                log.warning("unlink: the stored token does not open (keys rotated); forgotten")
        held = store.delete_link(solution_id, user_id)
        return solution_id, held

    # ---- using a link -------------------------------------------------------------------
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


def _verifier_context(nonce: str) -> str:
    return "vendor-link-verifier\x00" + nonce


def _why(link: VendorLink | None) -> str:
    if link is None:
        return "the meeting's owner has not linked an account on the conferencing system"
    return link.reason or "the meeting's owner must link their account again"
