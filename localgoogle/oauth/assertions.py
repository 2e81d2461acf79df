"""The JWT-bearer grant (``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer``) of
"Using OAuth 2.0 for Server to Server Applications": a service account's signed assertion
for an access token, acting as itself or, with ``sub``, as a user of a Workspace domain that
delegated to it (domain-wide delegation).

Public function: ``exchange(emulator, assertion, audiences)``.

Checks, in order, each with Google's answer (``errors``): a compact RS256 JWS; ``iss`` a
known service account; the signature by that account's key (``kid`` may be absent, as from
``google.auth.iam.Signer``); ``aud`` one of ``audiences`` (this endpoint's URL, and
``https://oauth2.googleapis.com/token``, which google-auth always puts there whatever its
``token_uri``); ``iat``/``exp`` integers at most an hour apart and around the emulator clock
(which is Google's clock here: after ``POST /_emulator/clock`` a client's real-time assertion
looks stale, as it would to Google); a non-empty ``scope``; with ``sub``: an existing user
whose domain's admin delegated every requested scope to the account's client id. Scopes are
matched exactly, as the Admin console lists them (a broader scope does not cover a narrower
one). A ``sub`` equal to ``iss`` acts as the account itself (undocumented; assumed).

Not emulated: ``target_audience`` assertions for ID tokens (answer ``invalid_scope``).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from localgoogle.oauth import errors, scopes
from localgoogle.oauth.emulator import ACCESS_TOKEN_SECONDS, OAuthEmulator

GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"  # noqa: S105 - a URL
MAX_LIFETIME_SECONDS = 3600
# Google asks clients to "use a clock with skew" without saying how much it tolerates.
CLOCK_SKEW_SECONDS = 300


def _b64decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _parse(assertion: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    """(header, claims, signing input, signature); malformed → Invalid JWT Signature."""
    parts = assertion.split(".")
    if len(parts) != 3:
        raise errors.invalid_signature()
    try:
        header = json.loads(_b64decode(parts[0]))
        claims = json.loads(_b64decode(parts[1]))
        signature = _b64decode(parts[2])
    except (ValueError, binascii.Error) as error:
        raise errors.invalid_signature() from error
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise errors.invalid_signature()
    return header, claims, f"{parts[0]}.{parts[1]}".encode(), signature


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_times(claims: dict[str, Any], now: float) -> None:
    iat, exp = claims.get("iat"), claims.get("exp")
    if not _is_int(iat) or not _is_int(exp):
        raise errors.bad_assertion_times()
    assert isinstance(iat, int) and isinstance(exp, int)  # narrowed for mypy
    if not 0 < exp - iat <= MAX_LIFETIME_SECONDS:
        raise errors.bad_assertion_times()
    if iat > now + CLOCK_SKEW_SECONDS or exp < now - CLOCK_SKEW_SECONDS:
        raise errors.bad_assertion_times()


def exchange(
    emulator: OAuthEmulator, assertion: str | None, audiences: frozenset[str]
) -> dict[str, Any]:
    if not assertion:
        raise errors.missing_parameter("assertion")
    header, claims, signing_input, signature = _parse(assertion)
    if header.get("alg") != "RS256":
        raise errors.invalid_signature()
    issuer = claims.get("iss")
    if not isinstance(issuer, str) or not issuer:
        raise errors.no_issuer()
    account = emulator.service_account(issuer)
    if account is None:
        raise errors.unknown_service_account()
    kid = header.get("kid")
    if kid is not None and kid != account.key.key_id:
        raise errors.invalid_signature()
    if not account.key.verify(signing_input, signature):
        raise errors.invalid_signature()
    if claims.get("aud") not in audiences:
        raise errors.failed_audience_check()
    _check_times(claims, emulator.now().timestamp())
    raw_scope = claims.get("scope")
    requested = frozenset(scopes.parse(raw_scope if isinstance(raw_scope, str) else ""))
    if not requested or not all(scopes.is_valid(s) for s in requested):
        raise errors.invalid_scope()
    subject = claims.get("sub")
    if subject is None or subject == account.email:
        grant = emulator.new_grant("serviceAccount", account.email, account.email, requested)
    else:
        if not isinstance(subject, str) or "@" not in subject:
            raise errors.subject_not_an_email()
        if not emulator.calendar.user_exists(subject):
            raise errors.unknown_subject()
        delegated = emulator.delegated_scopes(account, subject.rpartition("@")[2])
        if delegated is None:
            raise errors.not_delegated()
        if not requested <= delegated:
            raise errors.scopes_not_delegated()
        grant = emulator.new_grant("delegation", subject, account.email, requested)
    token = emulator.issue_access_token(grant, grant.scopes)
    # Google's answer to this grant carries no scope field.
    return {"access_token": token, "expires_in": ACCESS_TOKEN_SECONDS, "token_type": "Bearer"}
