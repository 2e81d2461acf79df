"""Helpers for the OAuth emulator's tests: the served emulator, a consent form driven with
``requests`` the way a browser submits it, and a signer that signs through ``signBlob``.

* ``Google`` — the emulator app on a free port, with its control APIs.
* ``ConsentForm`` — the consent page parsed from its HTML (what a browser would submit).
* ``consent(...)`` — open an authorization URL, pick an account, uncheck scopes, press
  Allow or Cancel; returns the 302 answer.
* ``SignBlobSigner`` — a ``google.auth.crypt.Signer`` posting to our ``signBlob``:
  ``google.auth.iam.Signer`` hard-codes iamcredentials.googleapis.com, so the test plays it.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import google.auth.credentials
import google.auth.crypt
import requests
from flask import Flask

from localgoogle.oauth import DEFAULT_CLIENT_ID

ALICE = "alice@example.com"
BOB = "bob@example.com"
REDIRECT_URI = "http://127.0.0.1:1/oauth2callback"
CALENDAR_EVENTS = "https://www.googleapis.com/auth/calendar.events"
CALENDAR_READONLY = "https://www.googleapis.com/auth/calendar.readonly"
USERINFO_EMAIL = "https://www.googleapis.com/auth/userinfo.email"
SCOPES = ["openid", USERINFO_EMAIL, CALENDAR_EVENTS]
SERVICE_ACCOUNT = "sync-worker@addon-project.iam.gserviceaccount.com"


@dataclass
class Google:
    base_url: str
    app: Flask

    def call(self, method: str, path: str, body: Any = None) -> requests.Response:
        return requests.request(method, self.base_url + path, json=body, timeout=10)

    def control(self, method: str, path: str, body: Any = None) -> Any:
        response = self.call(method, path, body)
        assert response.status_code == 200, response.text
        return response.json()

    def user(self, email: str) -> str:
        """Create the Calendar user; its fixed token."""
        token: str = self.control("POST", "/_emulator/users", {"email": email})["accessToken"]
        return token

    def client_config(self, redirect_uris: Iterable[str] = (REDIRECT_URI,)) -> dict[str, Any]:
        """The default client with ``redirect_uris`` registered, as a client secrets dict."""
        body = {"clientId": DEFAULT_CLIENT_ID, "redirectUris": list(redirect_uris)}
        config: dict[str, Any] = self.control("POST", "/_oauth/clients", body)["clientConfig"]
        return config

    def advance_clock(self, seconds: float) -> None:
        self.control("POST", "/_emulator/clock", {"advanceSeconds": seconds})

    def stats(self) -> Any:
        return self.control("GET", "/_oauth/stats")

    def calendar_answer(self, token: str | None) -> tuple[int, str | None]:
        """(status, machine reason) of events.list on the token's primary calendar, read
        without a client library: google-auth-httplib2 turns a 401 into a refresh attempt."""
        assert token is not None
        response = requests.get(
            self.base_url + "/calendar/v3/calendars/primary/events",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        if response.status_code == 200:
            return 200, None
        return response.status_code, response.json()["error"]["errors"][0]["reason"]


class ConsentForm(HTMLParser):
    """The consent page's form: its action and the fields a browser would send."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.hidden: dict[str, str] = {}
        self.accounts: list[str] = []
        self.selected: str | None = None
        self.scopes: list[str] = []
        self.buttons: dict[str, str] = {}  # element id -> decision value
        self.app_name = ""
        self._in_app_name = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.action = a["action"]
        elif tag == "input" and a.get("type") == "hidden":
            self.hidden[a["name"]] = a["value"]
        elif tag == "input" and a.get("type") == "radio":
            self.accounts.append(a["value"])
            if "checked" in a:
                self.selected = a["value"]
        elif tag == "input" and a.get("type") == "checkbox":
            assert "checked" in a, "every requested scope starts checked"
            self.scopes.append(a["value"])
        elif tag == "button":
            self.buttons[a["id"]] = a["value"]
        self._in_app_name = a.get("id") == "app-name"

    def handle_data(self, data: str) -> None:
        if self._in_app_name:
            self.app_name += data

    @classmethod
    def parse(cls, html: str) -> ConsentForm:
        form = cls()
        form.feed(html)
        return form

    def submit(
        self, page_url: str, *, button: str, account: str | None = None, uncheck: Iterable[str] = ()
    ) -> requests.Response:
        unchecked = set(uncheck)
        data: dict[str, Any] = {
            **self.hidden,
            "scope": [s for s in self.scopes if s not in unchecked],
            "decision": self.buttons[button],
        }
        chosen = account or self.selected
        if chosen is not None:
            data["account"] = chosen
        return requests.post(
            urljoin(page_url, self.action), data=data, allow_redirects=False, timeout=10
        )


def token_of(credentials: google.auth.credentials.Credentials) -> str:
    """The credentials' access token (google-auth types it ``Any | None``)."""
    assert isinstance(credentials.token, str)
    return credentials.token


ALLOW = "submit_approve_access"
CANCEL = "submit_deny_access"


def consent(
    url: str, *, account: str | None = ALICE, uncheck: Iterable[str] = (), button: str = ALLOW
) -> requests.Response:
    page = requests.get(url, timeout=10)
    assert page.status_code == 200, page.text
    answer = ConsentForm.parse(page.text).submit(
        page.url, button=button, account=account, uncheck=uncheck
    )
    assert answer.status_code == 302, answer.text
    return answer


def redirect_params(answer: requests.Response) -> dict[str, str]:
    location = answer.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?"), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


class SignBlobSigner(google.auth.crypt.Signer):
    """Signs by calling the emulator's IAM ``signBlob``, as ``google.auth.iam.Signer`` calls
    Google's; like it, it does not know the key id in advance."""

    def __init__(self, base_url: str, email: str) -> None:
        self.url = f"{base_url}/v1/projects/-/serviceAccounts/{email}:signBlob"

    @property
    def key_id(self) -> str | None:
        return None

    def sign(self, message: str | bytes) -> bytes:
        data = message.encode() if isinstance(message, str) else message
        payload = {"payload": base64.b64encode(data).decode()}
        response = requests.post(self.url, json=payload, timeout=10)
        assert response.status_code == 200, response.text
        return base64.b64decode(response.json()["signedBlob"])
