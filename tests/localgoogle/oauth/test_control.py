"""The control API ``/_oauth/``: clients, service accounts, delegations, grants, stats and
reset (on its own and as part of ``POST /_emulator/reset``)."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from localgoogle.oauth import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

from .support import (
    ALICE,
    CALENDAR_EVENTS,
    REDIRECT_URI,
    SCOPES,
    SERVICE_ACCOUNT,
    Google,
    consent,
    redirect_params,
)


def _grant_for_alice(emulator: Google) -> dict[str, Any]:
    """Tokens through the raw protocol: consent, then a form-encoded exchange."""
    emulator.client_config()
    url = (
        f"{emulator.base_url}/o/oauth2/auth?response_type=code&client_id={DEFAULT_CLIENT_ID}"
        f"&redirect_uri={REDIRECT_URI}&scope={'%20'.join(SCOPES)}&access_type=offline"
    )
    code = redirect_params(consent(url))["code"]
    answer = requests.post(
        emulator.base_url + "/token",
        data={"grant_type": "authorization_code", "code": code,
              "redirect_uri": REDIRECT_URI},
        auth=(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),
        timeout=10,
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    tokens: dict[str, Any] = answer.json()
    return tokens


def test_default_client_exists_without_redirect_uris(emulator: Google) -> None:
    (client,) = emulator.control("GET", "/_oauth/clients")["clients"]
    assert client["clientId"] == DEFAULT_CLIENT_ID
    assert client["clientSecret"] == DEFAULT_CLIENT_SECRET
    assert client["redirectUris"] == []
    assert client["clientConfig"]["web"]["token_uri"] == emulator.base_url + "/token"


def test_register_replaces_a_clients_settings(emulator: Google) -> None:
    made = emulator.control(
        "POST", "/_oauth/clients", {"redirectUris": ["http://a/cb"], "name": "Worker"}
    )
    assert made["clientId"].endswith(".apps.googleusercontent.com")
    assert made["clientSecret"].startswith("GOCSPX-")
    again = emulator.control(
        "POST", "/_oauth/clients", {"clientId": made["clientId"], "redirectUris": ["http://b/cb"]}
    )
    assert again["clientSecret"] == made["clientSecret"] and again["name"] == "Worker"
    assert again["redirectUris"] == ["http://b/cb"]
    assert len(emulator.control("GET", "/_oauth/clients")["clients"]) == 2


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/_oauth/clients", {"redirectUris": ["ftp://x"]}, 400),
        ("/_oauth/clients", {"redirectUri": []}, 400),
        ("/_oauth/service-accounts", {"email": "not-an-email"}, 400),
        ("/_oauth/delegations", {"serviceAccount": SERVICE_ACCOUNT, "domain": "example.com",
                                 "scopes": [CALENDAR_EVENTS]}, 404),
        ("/_oauth/users/alice@example.com/revoke", {}, 400),
        ("/_oauth/no-such-thing", {}, 404),
    ],
)  # fmt: skip
def test_control_refusals(emulator: Google, path: str, body: dict[str, Any], status: int) -> None:
    answer = emulator.call("POST", path, body)
    assert answer.status_code == status
    assert answer.json()["error"]["message"]


def test_service_accounts_and_delegations_are_listed(emulator: Google) -> None:
    account = emulator.control("POST", "/_oauth/service-accounts", {"email": SERVICE_ACCOUNT})
    same = emulator.control("POST", "/_oauth/service-accounts", {"email": SERVICE_ACCOUNT})
    assert same == account
    body = {"clientId": account["clientId"], "domain": "Example.com", "scopes": [CALENDAR_EVENTS]}
    emulator.control("POST", "/_oauth/delegations", body)
    assert emulator.control("GET", "/_oauth/delegations") == {
        "delegations": [
            {
                "clientId": account["clientId"],
                "serviceAccount": SERVICE_ACCOUNT,
                "domain": "example.com",
                "scopes": [CALENDAR_EVENTS],
            }
        ]
    }
    assert emulator.control("GET", "/_oauth/service-accounts") == {"serviceAccounts": [account]}
    missing = emulator.call("GET", "/_oauth/service-accounts/ghost@x.com/key")
    assert missing.status_code == 404


def test_grants_are_listed_without_tokens(emulator: Google) -> None:
    tokens = _grant_for_alice(emulator)
    (grant,) = emulator.control("GET", f"/_oauth/grants?user={ALICE}")["grants"]
    assert grant["kind"] == "consent" and grant["offline"] is True and grant["revoked"] is None
    assert set(grant["scopes"]) == set(SCOPES)
    text = str(grant)
    assert tokens["access_token"] not in text and tokens["refresh_token"] not in text
    assert emulator.control("GET", "/_oauth/grants?user=bob@example.com") == {"grants": []}
    emulator.control("POST", f"/_oauth/users/{ALICE}/revoke", {"clientId": DEFAULT_CLIENT_ID})
    (grant,) = emulator.control("GET", "/_oauth/grants")["grants"]
    assert grant["revoked"] is not None
    assert emulator.stats()["revocations"] == {"byUser": 1}


@pytest.mark.parametrize("path", ["/_oauth/reset", "/_emulator/reset"])
def test_reset_forgets_everything_and_tokens_stop_working(emulator: Google, path: str) -> None:
    tokens = _grant_for_alice(emulator)
    emulator.control("POST", "/_oauth/service-accounts", {"email": SERVICE_ACCOUNT})
    emulator.control("POST", path)
    assert emulator.calendar_answer(tokens["access_token"]) == (401, "authError")
    (client,) = emulator.control("GET", "/_oauth/clients")["clients"]
    assert (client["clientId"], client["redirectUris"]) == (DEFAULT_CLIENT_ID, [])
    assert emulator.control("GET", "/_oauth/service-accounts") == {"serviceAccounts": []}
    assert emulator.control("GET", "/_oauth/grants") == {"grants": []}
    assert emulator.stats() == {"tokenRequests": {}, "consent": {}, "revocations": {}, "iam": {}}


def test_fixed_user_tokens_are_untouched(emulator: Google) -> None:
    fixed = emulator.user(ALICE)  # the token of POST /_emulator/users
    _grant_for_alice(emulator)
    emulator.control("POST", f"/_oauth/users/{ALICE}/revoke", {"clientId": DEFAULT_CLIENT_ID})
    emulator.advance_clock(10 * 86400)
    assert emulator.calendar_answer(fixed) == (200, None)
