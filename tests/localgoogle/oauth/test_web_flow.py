"""The web server flow with the unmodified google-auth-oauthlib and google-auth: consent,
PKCE, offline access, ID tokens, refresh, revocation and expiry, and the tokens on Calendar
through google-api-python-client."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import google.auth.exceptions
import google.auth.transport.requests
import pytest
import requests
from google.oauth2 import id_token
from google.oauth2.credentials import Credentials
from google_auth_oauthlib.flow import Flow
from googleapiclient.discovery import build

from localgoogle.calendar.client import calendar_service
from localgoogle.oauth import DEFAULT_CLIENT_ID

from .support import ALICE, REDIRECT_URI, SCOPES, Google, consent, redirect_params, token_of

_verify_token: Callable[..., Any] = id_token.verify_token


def _request() -> google.auth.transport.requests.Request:
    return google.auth.transport.requests.Request()


def authorized_flow(emulator: Google, **auth_args: str) -> tuple[Flow, dict[str, str]]:
    """A Flow that went through consent (as alice, everything allowed); the redirect's
    parameters. ``auth_args`` go to ``authorization_url``."""
    flow = Flow.from_client_config(
        emulator.client_config(), scopes=SCOPES, redirect_uri=REDIRECT_URI
    )
    url, state = flow.authorization_url(**auth_args)
    params = redirect_params(consent(url))
    assert params["state"] == state
    return flow, params


def offline_credentials(emulator: Google) -> Credentials:
    flow, params = authorized_flow(emulator, access_type="offline", prompt="consent")
    flow.fetch_token(code=params["code"])
    credentials: Credentials = flow.credentials
    return credentials


def test_offline_consent_with_pkce_gives_refresh_and_id_tokens(emulator: Google) -> None:
    flow, params = authorized_flow(emulator, access_type="offline", prompt="consent")
    assert flow.code_verifier and len(flow.code_verifier) >= 43  # PKCE was on
    assert set(params["scope"].split()) == set(SCOPES)
    answer = flow.fetch_token(code=params["code"])
    assert answer["token_type"] == "Bearer" and answer["expires_in"] == 3599
    credentials = flow.credentials
    assert credentials.token.startswith("ya29.")
    assert credentials.refresh_token
    assert set(credentials.granted_scopes) == set(SCOPES)
    claims = _verify_token(
        credentials.id_token,
        _request(),
        audience=DEFAULT_CLIENT_ID,
        certs_url=emulator.base_url + "/oauth2/v1/certs",
    )
    assert claims["iss"] == "https://accounts.google.com"
    assert claims["aud"] == claims["azp"] == DEFAULT_CLIENT_ID
    assert claims["email"] == ALICE and claims["email_verified"] is True
    assert claims["sub"].isdigit() and len(claims["sub"]) == 21
    # The add-on host signs alice's userIdToken with the same keys and the same sub.
    minted = emulator.control("POST", "/_emulator/addon/id-token", {"kind": "user", "email": ALICE})
    user_claims = _verify_token(
        minted["idToken"], _request(), DEFAULT_CLIENT_ID, emulator.base_url + "/oauth2/v1/certs"
    )
    assert user_claims["sub"] == claims["sub"]


def test_nonce_is_carried_into_the_id_token(emulator: Google) -> None:
    flow, params = authorized_flow(emulator, nonce="n-0S6_WzA2Mj")
    flow.fetch_token(code=params["code"])
    claims = _verify_token(
        flow.credentials.id_token,
        _request(),
        DEFAULT_CLIENT_ID,
        emulator.base_url + "/oauth2/v1/certs",
    )
    assert claims["nonce"] == "n-0S6_WzA2Mj"


def test_refresh_token_only_on_first_consent_or_prompt_consent(emulator: Google) -> None:
    first, params = authorized_flow(emulator, access_type="offline")
    assert "refresh_token" in first.fetch_token(code=params["code"])
    again, params = authorized_flow(emulator, access_type="offline")
    assert "refresh_token" not in again.fetch_token(code=params["code"])
    forced, params = authorized_flow(emulator, access_type="offline", prompt="consent")
    assert "refresh_token" in forced.fetch_token(code=params["code"])
    # google-auth-oauthlib asks for offline access unless told otherwise.
    online, params = authorized_flow(emulator, access_type="online", prompt="consent")
    assert "refresh_token" not in online.fetch_token(code=params["code"])


def test_refresh_then_revoke_with_the_revoke_endpoint(emulator: Google) -> None:
    credentials = offline_credentials(emulator)
    first = credentials.token
    credentials.refresh(_request())
    assert credentials.token != first
    calendar_service(emulator.base_url, token_of(credentials)).events().list(
        calendarId="primary"
    ).execute()

    revoked = emulator.call("POST", "/revoke?token=" + credentials.refresh_token)
    assert (revoked.status_code, revoked.json()) == (200, {})
    with pytest.raises(google.auth.exceptions.RefreshError, match="invalid_grant") as caught:
        credentials.refresh(_request())
    assert "Token has been expired or revoked." in str(caught.value)
    # Every access token of the grant died with it, on Calendar too.
    assert emulator.calendar_answer(first) == (401, "authError")
    assert emulator.calendar_answer(credentials.token) == (401, "authError")
    twice = requests.post(
        emulator.base_url + "/revoke", data={"token": credentials.refresh_token}, timeout=10
    )
    assert twice.status_code == 400
    assert twice.json() == {
        "error": "invalid_token",
        "error_description": "Token expired or revoked",
    }


def test_revoking_an_access_token_revokes_its_refresh_token(emulator: Google) -> None:
    credentials = offline_credentials(emulator)
    assert emulator.call("POST", "/revoke?token=" + token_of(credentials)).status_code == 200
    with pytest.raises(google.auth.exceptions.RefreshError, match="invalid_grant"):
        credentials.refresh(_request())


def test_user_removes_the_apps_access(emulator: Google) -> None:
    credentials = offline_credentials(emulator)
    other = offline_credentials(emulator)  # a second consent of alice to the same app
    answer = emulator.control(
        "POST", f"/_oauth/users/{ALICE}/revoke", {"clientId": DEFAULT_CLIENT_ID}
    )
    assert answer == {"revoked": 2}
    for creds in (credentials, other):
        with pytest.raises(google.auth.exceptions.RefreshError, match="invalid_grant"):
            creds.refresh(_request())
    assert emulator.calendar_answer(other.token) == (401, "authError")


def test_access_token_expires_on_the_emulator_clock(emulator: Google) -> None:
    credentials = offline_credentials(emulator)
    service = calendar_service(emulator.base_url, token_of(credentials))
    service.events().list(calendarId="primary").execute()
    emulator.advance_clock(3598)
    service.events().list(calendarId="primary").execute()
    emulator.advance_clock(2)
    assert emulator.calendar_answer(credentials.token) == (401, "authError")


def test_google_api_client_refreshes_on_401_after_expiry(emulator: Google) -> None:
    credentials = offline_credentials(emulator)
    service = build(
        "calendar", "v3", credentials=credentials, static_discovery=True, cache_discovery=False,
        client_options={"api_endpoint": emulator.base_url + "/calendar/v3/"},
    )  # fmt: skip
    service.events().insert(
        calendarId="primary",
        body={"summary": "x", "start": {"date": "2030-01-01"}, "end": {"date": "2030-01-02"}},
    ).execute()
    before = credentials.token
    emulator.advance_clock(3600)
    # The client still believes its token valid (its own clock); Calendar answers 401,
    # google-auth-httplib2 refreshes with the refresh token and retries.
    items = service.events().list(calendarId="primary").execute()["items"]
    assert [e["summary"] for e in items] == ["x"]
    assert credentials.token != before
    assert emulator.stats()["tokenRequests"]["refresh_token"] == {"ok": 1}


def test_client_secret_in_the_body_works_too(emulator: Google) -> None:
    flow, params = authorized_flow(emulator)
    flow.fetch_token(code=params["code"], include_client_id=True)
    assert flow.credentials.token.startswith("ya29.")


def test_include_granted_scopes_adds_earlier_grants(emulator: Google) -> None:
    config = emulator.client_config()
    first = Flow.from_client_config(config, scopes=SCOPES[:2], redirect_uri=REDIRECT_URI)
    url, _ = first.authorization_url()
    first.fetch_token(code=redirect_params(consent(url))["code"])
    later = Flow.from_client_config(config, scopes=[SCOPES[2]], redirect_uri=REDIRECT_URI)
    url, _ = later.authorization_url(include_granted_scopes="true")
    params = redirect_params(consent(url))
    assert set(params["scope"].split()) == set(SCOPES)
