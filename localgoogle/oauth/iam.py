"""IAM Service Account Credentials: ``projects.serviceAccounts.signBlob`` and ``signJwt``
(``iamcredentials.googleapis.com/v1``), as ``google.auth.iam.Signer`` calls the first.

Public functions:

* ``sign_blob(emulator, name, body)`` — ``{"payload": base64}`` → ``{"keyId",
  "signedBlob"}``, RSASSA-PKCS1-v1_5 with SHA-256 by the account's key (the key its key file
  carries, see ``keys``).
* ``sign_jwt(emulator, name, body)`` — ``{"payload": "<JSON claims>"}`` → ``{"keyId",
  "signedJwt"}``, an RS256 JWT whose header names the key; an ``exp`` claim must be an
  integer, not in the past and at most 12 hours ahead (the reference's rule).

``name`` is the account's email or unique id (``projects/-/serviceAccounts/{name}``). An
unknown account answers 404 ``NOT_FOUND`` "Gaia id not found for email", as IAM does.
Callers are not authenticated (Google requires ``iam.serviceAccounts.signBlob`` on the
account); every call is counted in the stats. ``delegates`` is ignored.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import timedelta
from typing import Any

from localgoogle.oauth import errors
from localgoogle.oauth.emulator import OAuthEmulator
from localgoogle.oauth.models import ServiceAccount

MAX_JWT_LIFETIME = timedelta(hours=12)


def _account(emulator: OAuthEmulator, name: str, method: str) -> ServiceAccount:
    emulator.stats.iam(method)
    account = emulator.service_account(name)
    if account is None:
        emulator.stats.iam("notFound")
        raise errors.service_account_not_found(name)
    return account


def _payload(body: dict[str, Any]) -> str:
    payload = body.get("payload")
    if not isinstance(payload, str) or not payload:
        raise errors.iam_invalid_argument("Invalid value at 'payload': a string is required.")
    return payload


def sign_blob(emulator: OAuthEmulator, name: str, body: dict[str, Any]) -> dict[str, str]:
    account = _account(emulator, name, "signBlob")
    try:
        data = base64.b64decode(_payload(body), validate=True)
    except (binascii.Error, ValueError) as error:
        raise errors.iam_invalid_argument(
            "Invalid value at 'payload' (TYPE_BYTES), Base64 decoding failed."
        ) from error
    signature = account.key.sign(data)
    return {"keyId": account.key.key_id, "signedBlob": base64.b64encode(signature).decode()}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def sign_jwt(emulator: OAuthEmulator, name: str, body: dict[str, Any]) -> dict[str, str]:
    account = _account(emulator, name, "signJwt")
    payload = _payload(body)
    try:
        claims = json.loads(payload)
    except ValueError as error:
        raise errors.iam_invalid_argument("Invalid JWT payload: not JSON.") from error
    if not isinstance(claims, dict):
        raise errors.iam_invalid_argument("Invalid JWT payload: not a JSON object.")
    if "exp" in claims:
        exp = claims["exp"]
        now = emulator.now().timestamp()
        if not isinstance(exp, int) or isinstance(exp, bool):
            raise errors.iam_invalid_argument("Invalid JWT payload: exp must be an integer.")
        if not now <= exp <= now + MAX_JWT_LIFETIME.total_seconds():
            raise errors.iam_invalid_argument(
                "Invalid JWT payload: exp must not be in the past or more than 12 hours ahead."
            )
    header = {"alg": "RS256", "kid": account.key.key_id, "typ": "JWT"}
    head = _b64url(json.dumps(header, separators=(",", ":")).encode())
    signing_input = f"{head}.{_b64url(payload.encode())}"
    signature = _b64url(account.key.sign(signing_input.encode()))
    return {"keyId": account.key.key_id, "signedJwt": f"{signing_input}.{signature}"}
