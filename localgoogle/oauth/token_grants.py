"""The token endpoint's user grants (``POST /token``), following "Using OAuth 2.0 for Web
Server Applications" (exchange a code, refresh) and RFC 7636 (PKCE).

Public functions:

* ``exchange(emulator, params, basic, audiences)`` — dispatch on ``grant_type``:
  ``authorization_code``, ``refresh_token`` or the JWT-bearer grant (``assertions``);
  counts the outcome in the stats; raises ``OAuthError`` with Google's answer.
* ``authenticate_client(emulator, params, basic)`` — the client by ``client_id`` and
  ``client_secret`` in the body, or by HTTP Basic (Google accepts both).

A code is single-use from the moment it is presented, whether the exchange then succeeds
or not (Google does not say; a client must restart the flow after any failed exchange).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_plus

from localgoogle.oauth import assertions, errors, scopes
from localgoogle.oauth.emulator import ACCESS_TOKEN_SECONDS, OAuthEmulator
from localgoogle.oauth.errors import OAuthError
from localgoogle.oauth.models import AuthorizationCode, Grant, OAuthClient
from localgoogle.oauth.stats import JWT_BEARER

# RFC 7636 §4.1: 43 to 128 characters.
VERIFIER_LENGTHS = range(43, 129)


def exchange(
    emulator: OAuthEmulator,
    params: Mapping[str, str],
    basic: tuple[str, str] | None,
    audiences: frozenset[str],
) -> dict[str, Any]:
    grant_type = params.get("grant_type", "")
    try:
        if grant_type == "authorization_code":
            answer = _authorization_code(emulator, params, basic)
        elif grant_type == "refresh_token":
            answer = _refresh(emulator, params, basic)
        elif grant_type == JWT_BEARER:
            answer = assertions.exchange(emulator, params.get("assertion"), audiences)
        else:
            raise errors.unsupported_grant_type(grant_type)
    except OAuthError as error:
        emulator.stats.token_request(grant_type, error.error)
        raise
    emulator.stats.token_request(grant_type, "ok")
    return answer


def _secret_matches(given: str, expected: str) -> bool:
    # RFC 6749 §2.3.1 form-encodes the Basic credentials; most clients (requests among
    # them) do not. Either spelling is accepted.
    return any(hmac.compare_digest(s, expected) for s in {given, unquote_plus(given)})


def authenticate_client(
    emulator: OAuthEmulator, params: Mapping[str, str], basic: tuple[str, str] | None
) -> OAuthClient:
    client_id = params.get("client_id") or None
    secret = params.get("client_secret") or None
    if basic is not None:
        basic_id = unquote_plus(basic[0])
        if client_id is not None and client_id != basic_id:
            raise errors.conflicting_client_ids()
        client_id, secret = basic_id, basic[1] or None
    if client_id is None:
        raise errors.no_client_id()
    client = emulator.client(client_id)
    if client is None:
        raise errors.unknown_client()
    if secret is None:
        raise errors.no_client_secret()
    if not _secret_matches(secret, client.client_secret):
        raise errors.wrong_client_secret()
    return client


def check_verifier(code: AuthorizationCode, verifier: str | None) -> None:
    if code.code_challenge is None:
        if verifier:
            raise errors.verifier_not_needed()
        return
    if not verifier:
        raise errors.missing_code_verifier()
    if code.code_challenge_method == "S256":
        digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
        expected = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    else:
        expected = verifier
    if len(verifier) not in VERIFIER_LENGTHS or not hmac.compare_digest(
        expected, code.code_challenge
    ):
        raise errors.invalid_code_verifier()


def _answer(
    emulator: OAuthEmulator, grant: Grant, granted: frozenset[str], nonce: str | None = None
) -> dict[str, Any]:
    token = emulator.issue_access_token(grant, granted)
    answer: dict[str, Any] = {
        "access_token": token,
        "expires_in": ACCESS_TOKEN_SECONDS,
        "scope": scopes.render(granted),
        "token_type": "Bearer",
    }
    if scopes.wants_id_token(granted):
        answer["id_token"] = emulator.id_token(grant.client_id, grant.user, token, nonce)
    return answer


def _authorization_code(
    emulator: OAuthEmulator, params: Mapping[str, str], basic: tuple[str, str] | None
) -> dict[str, Any]:
    client = authenticate_client(emulator, params, basic)
    value = params.get("code") or None
    if value is None:
        raise errors.missing_parameter("code")
    code = emulator.redeem_code(value)
    if code is None or code.client_id != client.client_id:
        raise errors.bad_code()
    if params.get("redirect_uri") != code.redirect_uri:
        raise errors.redirect_uri_mismatch()
    check_verifier(code, params.get("code_verifier") or None)
    grant = emulator.new_grant(
        "consent", code.user, client.client_id, code.scopes, offline=code.with_refresh_token
    )
    answer = _answer(emulator, grant, grant.scopes, code.nonce)
    if grant.refresh_token is not None:
        answer["refresh_token"] = grant.refresh_token
    return answer


def _refresh(
    emulator: OAuthEmulator, params: Mapping[str, str], basic: tuple[str, str] | None
) -> dict[str, Any]:
    client = authenticate_client(emulator, params, basic)
    token = params.get("refresh_token") or None
    if token is None:
        raise errors.missing_parameter("refresh_token")
    grant = emulator.grant_for_refresh_token(token)
    if grant is None:
        raise errors.refresh_token_revoked()
    if grant.client_id != client.client_id:
        raise errors.refresh_token_of_other_client()
    asked = frozenset(scopes.parse(params.get("scope", "")))
    # A refresh may narrow the scopes. Asking for more than was granted (a client that
    # keeps the scopes it requested after the user unchecked some) gets what was granted of
    # them, as google-auth expects (it only logs "Not all requested scopes were granted").
    granted = grant.scopes & asked if asked else grant.scopes
    if not granted:
        raise errors.scope_not_granted()
    return _answer(emulator, grant, granted)
