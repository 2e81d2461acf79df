"""What goes wrong in the web server flow answers as Google answers: the authorization page
refuses bad clients and redirect URIs itself, Cancel and unchecked scopes reach the app, and
the token endpoint refuses bad codes, verifiers and client credentials."""

from __future__ import annotations

from typing import Any

import google.auth.transport.requests
import pytest
import requests
from google_auth_oauthlib.flow import Flow
from oauthlib.oauth2.rfc6749.errors import OAuth2Error

from localgoogle.oauth import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

from .support import (
    ALICE,
    CALENDAR_EVENTS,
    CANCEL,
    REDIRECT_URI,
    SCOPES,
    ConsentForm,
    Google,
    consent,
    redirect_params,
)


def _flow(emulator: Google, **kwargs: Any) -> Flow:
    return Flow.from_client_config(
        emulator.client_config(), scopes=SCOPES, redirect_uri=REDIRECT_URI, **kwargs
    )


def _code(emulator: Google, flow: Flow) -> str:
    url, _ = flow.authorization_url()
    return redirect_params(consent(url))["code"]


def _token(emulator: Google, **form: str) -> requests.Response:
    return requests.post(emulator.base_url + "/token", data=form, timeout=10)


def test_wrong_pkce_verifier(emulator: Google) -> None:
    flow = _flow(emulator)
    code = _code(emulator, flow)
    flow.code_verifier = "x" * 64  # not the one the challenge was made from
    with pytest.raises(OAuth2Error) as caught:
        flow.fetch_token(code=code)
    assert (caught.value.error, caught.value.description) == (
        "invalid_grant",
        "Invalid code verifier.",
    )


def test_missing_pkce_verifier(emulator: Google) -> None:
    flow = _flow(emulator)
    code = _code(emulator, flow)
    answer = _token(
        emulator, grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI,
        client_id=DEFAULT_CLIENT_ID, client_secret=DEFAULT_CLIENT_SECRET,
    )  # fmt: skip
    assert answer.status_code == 400
    assert answer.json() == {
        "error": "invalid_grant",
        "error_description": "Missing code verifier.",
    }


def test_plain_challenge_and_no_challenge(emulator: Google) -> None:
    plain = _flow(emulator, code_verifier="v" * 50)
    url, _ = plain.authorization_url(code_challenge="v" * 50, code_challenge_method="plain")
    plain.fetch_token(code=redirect_params(consent(url))["code"])
    assert plain.credentials.token

    without = _flow(emulator, autogenerate_code_verifier=False)
    url, _ = without.authorization_url()
    assert "code_challenge" not in url
    code = redirect_params(consent(url))["code"]
    form = {
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
        "client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET,
        "code_verifier": "v" * 50,
    }  # fmt: skip
    answer = _token(emulator, **form)
    assert answer.json()["error_description"] == "code_verifier or verifier is not needed"


def test_code_is_single_use(emulator: Google) -> None:
    flow = _flow(emulator)
    code = _code(emulator, flow)
    flow.fetch_token(code=code)
    with pytest.raises(OAuth2Error) as caught:
        flow.fetch_token(code=code)
    assert (caught.value.error, caught.value.description) == ("invalid_grant", "Bad Request")


def test_code_expires_after_ten_minutes(emulator: Google) -> None:
    flow = _flow(emulator)
    code = _code(emulator, flow)
    emulator.advance_clock(601)
    with pytest.raises(OAuth2Error) as caught:
        flow.fetch_token(code=code)
    assert caught.value.error == "invalid_grant"
    assert emulator.stats()["tokenRequests"]["authorization_code"] == {"invalid_grant": 1}


def test_code_is_bound_to_its_redirect_uri(emulator: Google) -> None:
    flow = _flow(emulator)
    code = _code(emulator, flow)
    flow.redirect_uri = "http://127.0.0.1:2/elsewhere"
    with pytest.raises(OAuth2Error) as caught:
        flow.fetch_token(code=code)
    assert caught.value.error == "redirect_uri_mismatch"


def test_wrong_client_secret(emulator: Google) -> None:
    config = emulator.client_config()
    config["web"]["client_secret"] = "GOCSPX-not-the-secret"
    flow = Flow.from_client_config(config, scopes=SCOPES, redirect_uri=REDIRECT_URI)
    code = _code(emulator, flow)
    with pytest.raises(OAuth2Error) as caught:
        flow.fetch_token(code=code)
    assert (caught.value.error, caught.value.status_code) == ("invalid_client", 401)


@pytest.mark.parametrize(
    ("form", "status", "error", "description"),
    [
        ({"grant_type": "password"}, 400, "unsupported_grant_type", "Invalid grant_type: password"),
        ({}, 400, "unsupported_grant_type", "Invalid grant_type: "),
        ({"grant_type": "authorization_code", "code": "4/0Ax"}, 400, "invalid_request",
         "Could not determine client ID from request."),
        ({"grant_type": "authorization_code", "client_id": "nobody"}, 401, "invalid_client",
         "The OAuth client was not found."),
        ({"grant_type": "authorization_code", "client_id": DEFAULT_CLIENT_ID}, 400,
         "invalid_request", "client_secret is missing."),
        ({"grant_type": "refresh_token", "client_id": DEFAULT_CLIENT_ID,
          "client_secret": DEFAULT_CLIENT_SECRET, "refresh_token": "1//0gUnknown"}, 400,
         "invalid_grant", "Token has been expired or revoked."),
    ],
)  # fmt: skip
def test_token_endpoint_refusals(
    emulator: Google, form: dict[str, str], status: int, error: str, description: str
) -> None:
    answer = _token(emulator, **form)
    assert answer.status_code == status
    assert answer.json() == {"error": error, "error_description": description}
    assert answer.headers["Cache-Control"].startswith("no-cache, no-store")


def test_refresh_token_of_another_client(emulator: Google) -> None:
    flow = _flow(emulator)
    flow.fetch_token(code=_code(emulator, flow))
    other = emulator.control("POST", "/_oauth/clients", {"redirectUris": [REDIRECT_URI]})
    answer = _token(
        emulator, grant_type="refresh_token", refresh_token=flow.credentials.refresh_token,
        client_id=other["clientId"], client_secret=other["clientSecret"],
    )  # fmt: skip
    assert (answer.status_code, answer.json()["error"]) == (401, "unauthorized_client")


def test_unregistered_redirect_uri_gets_an_error_page_not_a_redirect(emulator: Google) -> None:
    emulator.client_config()
    flow = Flow.from_client_config(
        emulator.client_config(), scopes=SCOPES, redirect_uri="https://evil.example/cb"
    )
    url, _ = flow.authorization_url()
    page = requests.get(url, allow_redirects=False, timeout=10)
    assert page.status_code == 400
    assert "Location" not in page.headers
    assert "Error 400: redirect_uri_mismatch" in page.text


def test_unknown_client_and_missing_scope_get_error_pages(emulator: Google) -> None:
    base = emulator.base_url + "/o/oauth2/v2/auth?response_type=code&redirect_uri=" + REDIRECT_URI
    unknown = requests.get(base + "&scope=openid&client_id=nobody", timeout=10)
    assert unknown.status_code == 400 and "Error 401: invalid_client" in unknown.text
    emulator.client_config()
    no_scope = requests.get(base + "&client_id=" + DEFAULT_CLIENT_ID, timeout=10)
    assert no_scope.status_code == 400
    assert "Missing required parameter: scope" in no_scope.text
    assert emulator.stats()["consent"] == {"refused": 2}


def test_cancel_redirects_with_access_denied(emulator: Google) -> None:
    url, state = _flow(emulator).authorization_url()
    params = redirect_params(consent(url, button=CANCEL))
    assert params == {"error": "access_denied", "state": state}
    assert emulator.control("GET", "/_oauth/grants")["grants"] == []


def test_unchecked_scope_is_not_granted(emulator: Google, monkeypatch: pytest.MonkeyPatch) -> None:
    # Granular consent returns fewer scopes than asked; oauthlib raises "Scope has changed"
    # unless told to accept that (its documented switch), as against Google.
    monkeypatch.setenv("OAUTHLIB_RELAX_TOKEN_SCOPE", "1")
    flow = _flow(emulator)
    url, _ = flow.authorization_url(access_type="offline")
    params = redirect_params(consent(url, uncheck=[CALENDAR_EVENTS]))
    assert CALENDAR_EVENTS not in params["scope"].split()
    flow.fetch_token(code=params["code"])
    credentials = flow.credentials
    assert CALENDAR_EVENTS not in credentials.granted_scopes
    (grant,) = emulator.control("GET", "/_oauth/grants")["grants"]
    assert grant["user"] == ALICE and CALENDAR_EVENTS not in grant["scopes"]
    # Calendar refuses the method the missing scope would have allowed, as Google does.
    assert emulator.calendar_answer(credentials.token) == (403, "insufficientPermissions")
    # A refresh that still asks for every requested scope gets the granted ones.
    credentials.refresh(google.auth.transport.requests.Request())
    assert CALENDAR_EVENTS not in credentials.granted_scopes


def test_login_hint_preselects_the_account(emulator: Google) -> None:
    url, _ = _flow(emulator).authorization_url(login_hint="bob@example.com")
    form = ConsentForm.parse(requests.get(url, timeout=10).text)
    assert form.accounts == [ALICE, "bob@example.com"]
    assert form.selected == "bob@example.com"
    assert form.app_name
    assert form.scopes == SCOPES


def test_consent_form_answers_once(emulator: Google) -> None:
    url, _ = _flow(emulator).authorization_url()
    page = requests.get(url, timeout=10)
    form = ConsentForm.parse(page.text)
    first = form.submit(page.url, button="submit_approve_access")
    assert first.status_code == 302
    again = form.submit(page.url, button="submit_approve_access")
    assert again.status_code == 400 and "expired or was already answered" in again.text


def test_code_is_bound_to_its_client(emulator: Google) -> None:
    flow = _flow(emulator)
    code = _code(emulator, flow)
    other = emulator.control("POST", "/_oauth/clients", {"redirectUris": [REDIRECT_URI]})
    answer = _token(
        emulator, grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI,
        client_id=other["clientId"], client_secret=other["clientSecret"],
        code_verifier=flow.code_verifier,
    )  # fmt: skip
    assert answer.json() == {"error": "invalid_grant", "error_description": "Bad Request"}


def test_refresh_may_narrow_the_scopes(emulator: Google) -> None:
    flow = _flow(emulator)
    flow.fetch_token(code=_code(emulator, flow))
    form = {
        "grant_type": "refresh_token", "refresh_token": flow.credentials.refresh_token,
        "client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET,
    }  # fmt: skip
    narrow = _token(emulator, **form, scope="openid").json()
    assert narrow["scope"] == "openid" and "id_token" in narrow
    assert emulator.calendar_answer(narrow["access_token"]) == (403, "insufficientPermissions")
    events = _token(emulator, **form, scope=CALENDAR_EVENTS).json()
    assert events["scope"] == CALENDAR_EVENTS and "id_token" not in events
    assert emulator.calendar_answer(events["access_token"]) == (200, None)
    unknown = _token(emulator, **form, scope="https://www.googleapis.com/auth/drive")
    assert (unknown.status_code, unknown.json()["error"]) == (400, "invalid_scope")
