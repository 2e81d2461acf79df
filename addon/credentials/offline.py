"""Per-user offline consent: Google's OAuth 2.0 web-server flow, with google-auth-oauthlib.

Follows developers.google.com/identity/protocols/oauth2/web-server:

1. ``start(user_id, email)``: a ``ConsentFlow`` is stored (random id = the OAuth ``state``,
   the PKCE code verifier sealed) and the user is sent to Google's authorization URL with
   ``access_type=offline``, ``prompt=consent`` (so a refresh token is issued even to a user
   who consented before), ``include_granted_scopes`` and ``login_hint``.
2. ``finish(state, code)``: the flow is taken (single use, at most 15 minutes old), the code
   exchanged with the verifier, and the ID token of the answer verified (Google's keys,
   audience = our client id). Its ``sub`` must be the user who started the flow: a consent
   completed by another Google account is refused and its tokens revoked. Without Calendar
   access granted (granular consent lets users uncheck it) nothing is kept either.
3. ``credentials(grant)``: google-auth ``Credentials`` built from the sealed refresh token,
   refreshed now so a refused grant is found here, not halfway through a sync;
   ``invalid_grant`` (revoked in the user's Google account, or expired) drops the token and
   marks the user as needing consent: ``ConsentRequired`` — never a retry loop.
4. ``revoke(user_id)``: Google's revocation endpoint, then the grant is dropped.

Refresh tokens are never logged; they exist unsealed only in memory, inside credentials.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import google.auth.exceptions
import google.oauth2.credentials
import requests

from addon.auth import AuthError, UserIdTokenVerifier
from addon.credentials.common import CALENDAR_SCOPE, TokenServiceUnavailable, token_transport
from addon.sealing import TokenSealer, grant_context
from addon.settings import Settings
from addon.store.datastore import Store
from addon.store.grants import ConsentFlow, OfflineGrant

log = logging.getLogger(__name__)

SCOPE = "https://www.googleapis.com/auth/"
# Calendar for the sync; openid + email so the answer's ID token says who consented.
OFFLINE_SCOPES = ("openid", SCOPE + "userinfo.email", CALENDAR_SCOPE)
CALLBACK_PATH = "/offline/callback"
HTTP_TIMEOUT_SECONDS = 10.0


class ConsentError(Exception):
    """The consent could not be completed; ``reason`` is machine-readable, the message is
    for the user."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class ConsentRequired(Exception):
    """The user's stored consent does not work any more (or never existed)."""


@dataclass(frozen=True)
class Consented:
    user_id: str
    email: str
    scopes: tuple[str, ...]
    flow_id: str  # unique per consent: names the catch-up tasks it causes


def allow_local_http(settings: Settings) -> bool:
    """oauthlib refuses plain http token endpoints unless told otherwise. The local stack's
    OAuth emulator is http on a loopback address: only then, and only with ADDON_ENV=local,
    is oauthlib told to accept it. True when it was."""
    uri = urlsplit(settings.oauth_token_uri)
    loopback = uri.hostname in ("127.0.0.1", "localhost", "::1")
    if settings.production or uri.scheme != "http" or not loopback:
        return False
    os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
    return True


class OfflineConsent:
    def __init__(
        self,
        settings: Settings,
        store: Callable[[], Store],
        sealer: TokenSealer,
        verifier: UserIdTokenVerifier,
    ) -> None:
        if not settings.offline_consent:
            raise ValueError("offline consent needs ADDON_OAUTH_CLIENT_ID and _SECRET")
        self._settings = settings
        self._store = store
        self._sealer = sealer
        self._verifier = verifier
        self._cache: dict[str, google.oauth2.credentials.Credentials] = {}
        self._lock = threading.Lock()
        # Granular consent: Google may grant fewer scopes than asked; we check what was
        # granted ourselves, so oauthlib must not raise on the difference.
        os.environ.setdefault("OAUTHLIB_RELAX_TOKEN_SCOPE", "1")

    @property
    def callback_url(self) -> str:
        return self._settings.endpoint_url(CALLBACK_PATH)

    def _flow(self, state: str | None, verifier: str) -> Any:
        from google_auth_oauthlib.flow import Flow

        s = self._settings
        config = {
            "web": {
                "client_id": s.oauth_client_id,
                "client_secret": s.oauth_client_secret,
                "auth_uri": s.oauth_auth_uri,
                "token_uri": s.oauth_token_uri,
                "redirect_uris": [self.callback_url],
            }
        }
        return Flow.from_client_config(
            config,
            scopes=list(OFFLINE_SCOPES),
            redirect_uri=self.callback_url,
            state=state,
            code_verifier=verifier,
            autogenerate_code_verifier=False,
        )

    # ---- the flow -----------------------------------------------------------------------
    def start(self, user_id: str, email: str) -> str:
        """The authorization URL to send the verified user ``user_id`` to."""
        flow_id = secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(64)  # 86 characters of [A-Za-z0-9_-] (RFC 7636)
        store = self._store()
        store.put_consent_flow(
            ConsentFlow(
                flow_id=flow_id,
                user_id=user_id,
                email=email,
                code_verifier=self._sealer.seal(verifier, "consent-flow\x00" + flow_id),
                created_at=datetime.now(UTC),
            )
        )
        url, _state = self._flow(flow_id, verifier).authorization_url(
            access_type="offline",
            prompt="consent",
            include_granted_scopes="true",
            login_hint=email,
            state=flow_id,
        )
        return str(url)

    def finish(self, state: str, code: str) -> Consented:
        """Exchange ``code`` for the flow ``state`` started; store the grant. Raises
        ``ConsentError`` (nothing stored) or ``TokenServiceUnavailable``."""
        flow = self._store().take_consent_flow(state)
        if flow is None:
            raise ConsentError(
                "unknownFlow", "This sign-in link was used already or has expired; start again."
            )
        verifier = self._sealer.open(flow.code_verifier, "consent-flow\x00" + flow.flow_id)
        oauth = self._flow(state, verifier)
        try:
            oauth.fetch_token(code=code)
        except requests.RequestException as exc:
            raise TokenServiceUnavailable(type(exc).__name__) from None
        except Exception as exc:  # oauthlib's errors: the code was refused
            log.warning("code exchange refused: %s", type(exc).__name__)
            raise ConsentError(
                "codeRefused", "Google did not accept this sign-in; start again."
            ) from None
        creds = oauth.credentials
        refresh_token = creds.refresh_token
        try:
            who = self._verifier.verify(creds.id_token)
        except AuthError as exc:
            self._revoke_token(refresh_token or creds.token)
            log.warning("consent ID token refused", extra={"json_fields": {"code": exc.code}})
            raise ConsentError("badIdToken", "Google's answer could not be verified.") from None
        if who.subject != flow.user_id:
            # Someone else's Google account completed the consent: keep nothing of it.
            self._revoke_token(refresh_token or creds.token)
            raise ConsentError(
                "wrongUser",
                f"You signed in as {who.email}, but this link was made for {flow.email}. "
                "Sign in with that account to keep its calendars in sync.",
            )
        granted = oauth.oauth2session.token.get("scope")  # what the user left checked
        scopes = tuple(granted.split() if isinstance(granted, str) else granted or ())
        if CALENDAR_SCOPE not in scopes or not refresh_token:
            self._revoke_token(refresh_token or creds.token)
            raise ConsentError(
                "calendarNotGranted",
                "Calendar access was not granted, so nothing can be kept in sync. "
                "Start again and leave the Calendar permission checked.",
            )
        grant = OfflineGrant(
            user_id=flow.user_id,
            email=who.email,
            refresh_token=self._sealer.seal(refresh_token, grant_context(flow.user_id)),
            scopes=scopes,
        )
        self._store().put_grant(grant)
        with self._lock:
            self._cache.pop(flow.user_id, None)
        log.info("offline consent stored", extra={"json_fields": {"scopes": list(scopes)}})
        return Consented(flow.user_id, who.email, scopes, flow.flow_id)

    # ---- using and revoking a grant -----------------------------------------------------
    def credentials(self, user_id: str) -> google.oauth2.credentials.Credentials:
        """Fresh credentials of the user's grant. Raises ``ConsentRequired`` (no grant, or
        Google refused it: the grant is dropped, once) or ``TokenServiceUnavailable``."""
        with self._lock:
            cached = self._cache.get(user_id)
        if cached is not None and cached.valid:
            return cached
        grant = self._store().get_grant(user_id)
        if grant is None or not grant.usable or grant.refresh_token is None:
            raise ConsentRequired("no offline consent")
        s = self._settings
        creds = google.oauth2.credentials.Credentials(  # type: ignore[no-untyped-call]
            None,
            refresh_token=self._sealer.open(grant.refresh_token, grant_context(user_id)),
            token_uri=s.oauth_token_uri,
            client_id=s.oauth_client_id,
            client_secret=s.oauth_client_secret,
            scopes=[CALENDAR_SCOPE],
        )
        try:
            creds.refresh(token_transport())  # type: ignore[no-untyped-call,unused-ignore]
        except google.auth.exceptions.RefreshError as exc:
            if _is_invalid_grant(exc):
                self.drop(user_id, "Google refused the stored consent (revoked or expired)")
                raise ConsentRequired("invalid_grant") from None
            raise TokenServiceUnavailable("refresh failed") from None
        except google.auth.exceptions.TransportError:
            raise TokenServiceUnavailable("token endpoint unreachable") from None
        with self._lock:
            self._cache[user_id] = creds
        return creds

    def forget_cached(self, user_id: str) -> None:
        """A Calendar 401 with these credentials: refresh before the next use."""
        with self._lock:
            self._cache.pop(user_id, None)

    def drop(self, user_id: str, reason: str) -> None:
        with self._lock:
            self._cache.pop(user_id, None)
        self._store().drop_grant(user_id, reason)
        log.warning("offline consent dropped: %s", reason)

    def revoke(self, user_id: str) -> bool:
        """The user turns offline sync off: revoke at Google, drop the grant. True when a
        grant was held."""
        grant = self._store().get_grant(user_id)
        if grant is None or grant.refresh_token is None:
            return False
        token = self._sealer.open(grant.refresh_token, grant_context(user_id))
        self._revoke_token(token)
        self.drop(user_id, "turned off by the user")
        return True

    def _revoke_token(self, token: str | None) -> None:
        """Google's revocation endpoint (best effort: a failed revocation is logged; the
        token is dropped on our side either way)."""
        if not token:
            return
        try:
            answer = requests.post(
                self._settings.oauth_revoke_uri,
                data={"token": token},
                timeout=HTTP_TIMEOUT_SECONDS,
            )
            if answer.status_code >= 400:
                log.warning("token revocation answered %s", answer.status_code)
        except requests.RequestException as exc:
            log.warning("token revocation failed: %s", type(exc).__name__)


def _is_invalid_grant(exc: google.auth.exceptions.RefreshError) -> bool:
    """Google answers 400 ``invalid_grant`` for a revoked or expired refresh token (the
    oauth2/web-server guide, "Refresh token expiration")."""
    data = exc.args[1] if len(exc.args) > 1 else None
    if isinstance(data, dict):
        return data.get("error") == "invalid_grant"
    return "invalid_grant" in str(exc)
