"""Service accounts with the unmodified google-auth: the exported key file and a signer
that signs through IAM ``signBlob``, domain-wide delegation as a Workspace admin grants it,
and Google's answers when it is missing."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import google.auth.crypt
import google.auth.exceptions
import google.auth.jwt
import google.auth.transport.requests
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from google.oauth2 import service_account

from localgoogle.calendar.client import calendar_service

from .support import (
    ALICE,
    CALENDAR_EVENTS,
    CALENDAR_READONLY,
    SERVICE_ACCOUNT,
    Google,
    SignBlobSigner,
    token_of,
)

NOT_DELEGATED = "unauthorized_client: Unauthorized client or scope in request."
SCOPES_NOT_DELEGATED = (
    "unauthorized_client: Client is unauthorized to retrieve access tokens using this method, "
    "or client not authorized for any of the scopes requested."
)


def _request() -> google.auth.transport.requests.Request:
    return google.auth.transport.requests.Request()


@pytest.fixture
def key_file(emulator: Google) -> dict[str, Any]:
    emulator.control("POST", "/_oauth/service-accounts", {"email": SERVICE_ACCOUNT})
    key: dict[str, Any] = emulator.control("GET", f"/_oauth/service-accounts/{SERVICE_ACCOUNT}/key")
    return key


def _delegate(emulator: Google, scopes: list[str], domain: str = "example.com") -> None:
    body = {"serviceAccount": SERVICE_ACCOUNT, "domain": domain, "scopes": scopes}
    emulator.control("POST", "/_oauth/delegations", body)


def _as_alice(key_file: dict[str, Any], scopes: list[str]) -> service_account.Credentials:
    credentials = service_account.Credentials.from_service_account_info(key_file, scopes=scopes)
    return credentials.with_subject(ALICE)


def test_key_file_shape(emulator: Google, key_file: dict[str, Any]) -> None:
    assert key_file["type"] == "service_account"
    assert key_file["client_email"] == SERVICE_ACCOUNT
    assert key_file["project_id"] == "addon-project"
    assert key_file["token_uri"] == emulator.base_url + "/token"
    assert key_file["private_key"].startswith("-----BEGIN PRIVATE KEY-----")
    assert len(key_file["private_key_id"]) == 40
    assert key_file["client_id"].isdigit() and len(key_file["client_id"]) == 21


def test_delegated_token_reads_the_users_calendar(
    emulator: Google, key_file: dict[str, Any]
) -> None:
    _delegate(emulator, [CALENDAR_EVENTS])
    credentials = _as_alice(key_file, [CALENDAR_EVENTS])
    credentials.refresh(_request())
    assert token_of(credentials).startswith("ya29.")
    service = calendar_service(emulator.base_url, token_of(credentials))
    created = service.events().insert(
        calendarId="primary",
        body={"summary": "from the worker", "start": {"date": "2030-01-01"},
              "end": {"date": "2030-01-02"}},
    ).execute()  # fmt: skip
    assert created["creator"]["email"] == ALICE
    (grant,) = emulator.control("GET", "/_oauth/grants")["grants"]
    assert (grant["kind"], grant["user"], grant["clientId"]) == (
        "delegation",
        ALICE,
        SERVICE_ACCOUNT,
    )
    assert emulator.stats()["tokenRequests"]["jwt-bearer"] == {"ok": 1}


def test_no_delegation_is_unauthorized_client(emulator: Google, key_file: dict[str, Any]) -> None:
    with pytest.raises(google.auth.exceptions.RefreshError) as caught:
        _as_alice(key_file, [CALENDAR_EVENTS]).refresh(_request())
    assert caught.value.args[0] == NOT_DELEGATED
    _delegate(emulator, [CALENDAR_EVENTS], domain="other.example")
    with pytest.raises(google.auth.exceptions.RefreshError) as caught:
        _as_alice(key_file, [CALENDAR_EVENTS]).refresh(_request())
    assert caught.value.args[0] == NOT_DELEGATED
    assert emulator.stats()["tokenRequests"]["jwt-bearer"] == {"unauthorized_client": 2}


def test_scope_not_delegated_is_unauthorized_client(
    emulator: Google, key_file: dict[str, Any]
) -> None:
    _delegate(emulator, [CALENDAR_READONLY])
    with pytest.raises(google.auth.exceptions.RefreshError) as caught:
        _as_alice(key_file, [CALENDAR_EVENTS]).refresh(_request())
    assert caught.value.args[0] == SCOPES_NOT_DELEGATED
    # One delegated scope and one not: still refused, every scope must be delegated.
    with pytest.raises(google.auth.exceptions.RefreshError):
        _as_alice(key_file, [CALENDAR_READONLY, CALENDAR_EVENTS]).refresh(_request())
    credentials = _as_alice(key_file, [CALENDAR_READONLY])
    credentials.refresh(_request())
    assert emulator.calendar_answer(credentials.token) == (200, None)


def test_withdrawn_delegation_refuses_new_tokens(
    emulator: Google, key_file: dict[str, Any]
) -> None:
    _delegate(emulator, [CALENDAR_EVENTS])
    before = _as_alice(key_file, [CALENDAR_EVENTS])
    before.refresh(_request())
    body = {"clientId": key_file["client_id"], "domain": "example.com"}
    assert emulator.control("POST", "/_oauth/delegations/withdraw", body) == {"removed": True}
    with pytest.raises(google.auth.exceptions.RefreshError, match="unauthorized_client"):
        _as_alice(key_file, [CALENDAR_EVENTS]).refresh(_request())
    # Tokens issued before live on until they expire.
    assert emulator.calendar_answer(before.token) == (200, None)


def test_unknown_subject(emulator: Google, key_file: dict[str, Any]) -> None:
    _delegate(emulator, [CALENDAR_EVENTS])
    credentials = service_account.Credentials.from_service_account_info(
        key_file, scopes=[CALENDAR_EVENTS], subject="nobody@example.com"
    )
    with pytest.raises(google.auth.exceptions.RefreshError, match="invalid_grant"):
        credentials.refresh(_request())


def test_the_service_account_acting_as_itself(emulator: Google, key_file: dict[str, Any]) -> None:
    credentials = service_account.Credentials.from_service_account_info(
        key_file, scopes=[CALENDAR_EVENTS]
    )
    credentials.refresh(_request())
    (grant,) = emulator.control("GET", "/_oauth/grants")["grants"]
    assert (grant["kind"], grant["user"]) == ("serviceAccount", SERVICE_ACCOUNT)
    # It has no calendar of its own here (Google gives it one): its primary is not found.
    assert emulator.calendar_answer(credentials.token) == (404, "notFound")


def test_signer_through_sign_blob(emulator: Google, key_file: dict[str, Any]) -> None:
    def as_alice() -> service_account.Credentials:
        return service_account.Credentials(
            SignBlobSigner(emulator.base_url, SERVICE_ACCOUNT),
            SERVICE_ACCOUNT,
            key_file["token_uri"],
            scopes=[CALENDAR_EVENTS],
            subject=ALICE,
        )

    with pytest.raises(google.auth.exceptions.RefreshError) as caught:
        as_alice().refresh(_request())
    assert caught.value.args[0] == NOT_DELEGATED
    _delegate(emulator, [CALENDAR_EVENTS])
    credentials = as_alice()
    credentials.refresh(_request())
    assert emulator.calendar_answer(credentials.token) == (200, None)
    assert emulator.stats()["iam"] == {"signBlob": 2}


def test_this_endpoints_own_url_is_an_accepted_audience(
    emulator: Google, key_file: dict[str, Any]
) -> None:
    iat = int(time.time())
    claims = {
        "iss": SERVICE_ACCOUNT, "aud": emulator.base_url + "/token", "scope": CALENDAR_EVENTS,
        "iat": iat, "exp": iat + 3600,
    }  # fmt: skip
    answer = requests.post(
        emulator.base_url + "/token",
        data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
              "assertion": _assertion(key_file, **claims)},
        timeout=10,
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert set(answer.json()) == {"access_token", "expires_in", "token_type"}


def test_sign_blob_uses_the_key_files_key(emulator: Google, key_file: dict[str, Any]) -> None:
    answer = emulator.control(
        "POST",
        f"/v1/projects/-/serviceAccounts/{SERVICE_ACCOUNT}:signBlob",
        {"payload": base64.b64encode(b"some bytes").decode()},
    )
    assert answer["keyId"] == key_file["private_key_id"]
    local = google.auth.crypt.RSASigner.from_service_account_info(key_file)
    assert base64.b64decode(answer["signedBlob"]) == local.sign(b"some bytes")


def test_sign_jwt(emulator: Google, key_file: dict[str, Any]) -> None:
    now = int(time.time())
    claims = {
        "iss": SERVICE_ACCOUNT, "aud": "https://example.com", "sub": SERVICE_ACCOUNT,
        "iat": now, "exp": now + 600,
    }  # fmt: skip
    answer = emulator.control(
        "POST",
        f"/v1/projects/-/serviceAccounts/{key_file['client_id']}:signJwt",
        {"payload": json.dumps(claims)},
    )
    private = serialization.load_pem_private_key(key_file["private_key"].encode(), None)
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    decoded = google.auth.jwt.decode(
        answer["signedJwt"], certs={answer["keyId"]: public}, audience="https://example.com"
    )
    assert decoded == claims
    header = json.loads(base64.urlsafe_b64decode(answer["signedJwt"].split(".")[0] + "=="))
    assert header == {"alg": "RS256", "kid": answer["keyId"], "typ": "JWT"}
    stale = {"exp": 1}
    refused = emulator.call(
        "POST",
        f"/v1/projects/-/serviceAccounts/{SERVICE_ACCOUNT}:signJwt",
        {"payload": json.dumps(stale)},
    )
    assert refused.status_code == 400 and refused.json()["error"]["status"] == "INVALID_ARGUMENT"


def test_iam_unknown_service_account(emulator: Google) -> None:
    ghost = "ghost@addon-project.iam.gserviceaccount.com"
    answer = emulator.call(
        "POST", f"/v1/projects/-/serviceAccounts/{ghost}:signBlob", {"payload": "AAAA"}
    )
    assert answer.status_code == 404
    assert answer.json() == {
        "error": {
            "code": 404,
            "message": f"Not found; Gaia id not found for email {ghost}",
            "status": "NOT_FOUND",
            "errors": [
                {
                    "message": f"Not found; Gaia id not found for email {ghost}",
                    "domain": "global",
                    "reason": "notFound",
                }
            ],
        }
    }
    assert emulator.stats()["iam"] == {"signBlob": 1, "notFound": 1}


def test_assertion_signed_by_another_key(emulator: Google, key_file: dict[str, Any]) -> None:
    other = emulator.control(
        "POST", "/_oauth/service-accounts", {"email": "other@addon-project.iam.gserviceaccount.com"}
    )
    other_key = emulator.control("GET", f"/_oauth/service-accounts/{other['email']}/key")
    forged = {**other_key, "client_email": SERVICE_ACCOUNT, "private_key_id": None}
    credentials = service_account.Credentials.from_service_account_info(
        forged, scopes=[CALENDAR_EVENTS]
    )
    with pytest.raises(google.auth.exceptions.RefreshError) as caught:
        credentials.refresh(_request())
    assert caught.value.args[0] == "invalid_grant: Invalid JWT Signature."


def _assertion(key_file: dict[str, Any], **claims: Any) -> str:
    signer = google.auth.crypt.RSASigner.from_service_account_info(key_file)
    return google.auth.jwt.encode(signer, claims).decode()


BAD_TIMES = (
    "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. "
    "Check your iat and exp values in the JWT claim."
)


@pytest.mark.parametrize(
    ("claims", "error", "description"),
    [
        ({"aud": "https://example.com/token"}, "invalid_grant",
         "Invalid JWT: Failed audience check."),
        ({"exp_after": 7200}, "invalid_grant", BAD_TIMES),
        ({"iat_shift": -7200}, "invalid_grant", BAD_TIMES),
        ({"scope": ""}, "invalid_scope", "Invalid OAuth scope or ID token audience provided."),
        ({"iss": "ghost@x.iam.gserviceaccount.com"}, "invalid_grant",
         "Invalid grant: account not found"),
    ],
)  # fmt: skip
def test_assertion_refusals(
    emulator: Google, key_file: dict[str, Any], claims: dict[str, Any], error: str,
    description: str,
) -> None:  # fmt: skip
    iat = int(time.time()) + claims.pop("iat_shift", 0)
    body = {
        "iss": SERVICE_ACCOUNT, "aud": "https://oauth2.googleapis.com/token",
        "scope": CALENDAR_EVENTS, "iat": iat, "exp": iat + claims.pop("exp_after", 3600),
        **claims,
    }  # fmt: skip
    answer = requests.post(
        emulator.base_url + "/token",
        data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
              "assertion": _assertion(key_file, **body)},
        timeout=10,
    )  # fmt: skip
    assert answer.status_code == 400
    assert answer.json() == {"error": error, "error_description": description}
