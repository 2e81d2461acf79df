"""Google Sign-In for the add-on's own pages (the settings page, the operators' status page).

OpenID Connect's authorization-code flow with PKCE (developers.google.com/identity/openid-
connect/openid-connect), with the add-on's OAuth client (``ADDON_OAUTH_CLIENT_ID`` / ``_SECRET``,
the same web client offline consent uses) and scopes ``openid email`` only:

1. ``authorization_url(state, verifier, login_hint)``: where the browser goes; ``state`` and the
   PKCE ``verifier`` are kept by the caller (sealed in a short-lived cookie, ``addon.web.
   signin``), so nothing is stored server-side.
2. ``finish(code, verifier)``: the code is exchanged at Google's token endpoint and the ID token
   of the answer verified (Google's keys, audience = our client id, ``email_verified``). The
   result is who signed in: ``sub``, email and Workspace domain (``hd``).

Errors: ``SignInError`` (``reason`` machine-readable) and ``TokenServiceUnavailable``.
"""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import urlencode

import requests

from addon.auth import AuthError, UserIdTokenVerifier, VerifiedCaller
from addon.credentials.common import TokenServiceUnavailable
from addon.settings import Settings

SIGNIN_CALLBACK_PATH = "/signin/callback"
SIGNIN_SCOPES = "openid email"
HTTP_TIMEOUT_SECONDS = 10.0


class SignInError(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class SignIn:
    def __init__(self, settings: Settings, verifier: UserIdTokenVerifier) -> None:
        if not settings.offline_consent:
            raise ValueError("sign-in needs ADDON_OAUTH_CLIENT_ID and _SECRET")
        self._settings = settings
        self._verifier = verifier

    @property
    def callback_url(self) -> str:
        return self._settings.endpoint_url(SIGNIN_CALLBACK_PATH)

    def authorization_url(self, state: str, verifier: str, login_hint: str | None) -> str:
        query = {
            "response_type": "code",
            "client_id": self._settings.oauth_client_id or "",
            "redirect_uri": self.callback_url,
            "scope": SIGNIN_SCOPES,
            "state": state,
            "code_challenge": _challenge(verifier),
            "code_challenge_method": "S256",
            "prompt": "select_account",
        }
        if login_hint:
            query["login_hint"] = login_hint
        return self._settings.oauth_auth_uri + "?" + urlencode(query)

    def finish(self, code: str, verifier: str) -> VerifiedCaller:
        s = self._settings
        try:
            answer = requests.post(
                s.oauth_token_uri,
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "client_id": s.oauth_client_id,
                    "client_secret": s.oauth_client_secret,
                    "redirect_uri": self.callback_url,
                    "code_verifier": verifier,
                },
                timeout=HTTP_TIMEOUT_SECONDS,
            )
        except requests.RequestException as exc:
            raise TokenServiceUnavailable(type(exc).__name__) from None
        if answer.status_code >= 500:
            raise TokenServiceUnavailable(f"token endpoint answered {answer.status_code}")
        try:
            body = answer.json()
        except ValueError:
            body = {}
        token = body.get("id_token") if isinstance(body, dict) else None
        if answer.status_code != 200 or not isinstance(token, str):
            raise SignInError("codeRefused", "Google did not accept this sign-in; start again.")
        try:
            return self._verifier.verify(token)
        except AuthError as exc:
            if exc.http_status == 503:
                raise TokenServiceUnavailable("certs unavailable") from None
            raise SignInError("badIdToken", "Google's answer could not be verified.") from None
