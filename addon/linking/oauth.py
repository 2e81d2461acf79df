"""OAuth 2.0 calls of account linking, over the providers' ``HttpTransport``: the vendor's
token endpoint (authorization code with PKCE, refresh), its revocation endpoint, and Google
Sign-In's code exchange.

Errors: ``TokenRefused`` (the endpoint answered 400/401: ``error`` is its RFC 6749 5.2 code,
``invalid_grant`` for a revoked or used refresh token), ``TokenUnavailable`` (no answer, 5xx,
429, or an answer without a token: worth trying later).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from addon.providers.base import AccountLink
from addon.providers.http import HttpTransport, TransportError

# A refresh runs inside a provider call (the sync's lease and onCreate's answer wait for it).
TIMEOUT_SECONDS = 5.0


class TokenRefused(Exception):
    def __init__(self, error: str, status: int) -> None:
        super().__init__(f"token endpoint refused: HTTP {status} {error}")
        self.error = error
        self.status = status


class TokenUnavailable(Exception):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str | None
    expires_in: float | None
    id_token: str | None = None
    vendor_user_id: str | None = None


def pkce_pair() -> tuple[str, str]:
    """(code verifier, its S256 challenge) as RFC 7636 4.1-4.2."""
    verifier = secrets.token_urlsafe(64)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorize_url(link: AccountLink, *, redirect_uri: str, state: str, code_challenge: str) -> str:
    params = {
        "response_type": "code",
        "client_id": link.client_id,
        "redirect_uri": redirect_uri,
        "state": state,
        "code_challenge": code_challenge,
        "code_challenge_method": "S256",
        **dict(link.extra_authorize),
    }
    if link.scopes:
        params["scope"] = " ".join(link.scopes)
    separator = "&" if "?" in link.authorize_url else "?"
    return link.authorize_url + separator + urlencode(params)


def _client_auth(link: AccountLink, form: dict[str, str]) -> dict[str, str]:
    """The client's credentials: HTTP Basic, or in the form (RFC 6749 2.3.1)."""
    headers = {"Accept": "application/json"}
    if link.client_auth == "basic" and link.client_secret is not None:
        pair = f"{link.client_id}:{link.client_secret}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
    else:
        form["client_id"] = link.client_id
        if link.client_secret is not None:
            form["client_secret"] = link.client_secret
    return headers


def exchange_code(
    http: HttpTransport, link: AccountLink, *, code: str, redirect_uri: str, verifier: str
) -> Tokens:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
    }
    return _token_call(http, link.token_url, form, _client_auth(link, form))


def refresh(http: HttpTransport, link: AccountLink, refresh_token: str) -> Tokens:
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    if link.scopes:
        form["scope"] = " ".join(link.scopes)
    return _token_call(http, link.token_url, form, _client_auth(link, form))


def revoke(http: HttpTransport, link: AccountLink, token: str) -> bool:
    """Best effort (RFC 7009): True when the vendor confirmed the revocation."""
    if link.revoke_url is None:
        return False
    form = {"token": token}
    headers = _client_auth(link, form)
    try:
        answer = http.send(
            "POST", link.revoke_url, headers=headers, data=form, timeout=TIMEOUT_SECONDS
        )
    except TransportError:
        return False
    return 200 <= answer.status < 300


def google_code(
    http: HttpTransport,
    *,
    token_uri: str,
    client_id: str,
    client_secret: str,
    code: str,
    redirect_uri: str,
) -> Tokens:
    """Google Sign-In: the code exchanged for tokens, of which the caller keeps the ID token."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": client_id,
        "client_secret": client_secret,
    }
    return _token_call(http, token_uri, form, {"Accept": "application/json"})


def _token_call(
    http: HttpTransport, url: str, form: Mapping[str, str], headers: Mapping[str, str]
) -> Tokens:
    try:
        answer = http.send("POST", url, headers=headers, data=dict(form), timeout=TIMEOUT_SECONDS)
    except TransportError as exc:
        raise TokenUnavailable(f"token endpoint unreachable: {type(exc).__name__}") from None
    body: Any = answer.json()
    if answer.status in (400, 401):
        error = body.get("error") if isinstance(body, dict) else None
        raise TokenRefused(error if isinstance(error, str) else "unknown", answer.status)
    if answer.status >= 300:
        raise TokenUnavailable(
            f"token endpoint answered HTTP {answer.status}", answer.retry_after(time.time())
        )
    token = body.get("access_token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        raise TokenUnavailable("token endpoint answered without an access token")
    expires = body.get("expires_in")
    refresh_token, id_token = body.get("refresh_token"), body.get("id_token")
    user = body.get("user_id") or body.get("uid")  # not every vendor names the user here
    return Tokens(
        access_token=token,
        refresh_token=refresh_token if isinstance(refresh_token, str) and refresh_token else None,
        expires_in=float(expires)
        if isinstance(expires, int | float | str) and str(expires).replace(".", "", 1).isdigit()
        else None,
        id_token=id_token if isinstance(id_token, str) else None,
        vendor_user_id=str(user) if isinstance(user, str | int) else None,
    )
