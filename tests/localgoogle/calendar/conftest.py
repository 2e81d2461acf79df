"""Fixtures: one emulator served on a free port for the session, reset before each test.

Every API response the suite produces is recorded by the app's response hook and checked
against the discovery document after each test (``discovery_schema.validate_response``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import google.oauth2.credentials
import pytest
import requests
from googleapiclient.discovery import build

from localgoogle.app import create_emulator_app
from localgoogle.calendar.models import CalendarState
from localgoogle.server import serve

from .discovery_schema import validate_response

Recorded = list[tuple[str, int, dict[str, Any] | None]]


class Emu:
    def __init__(self, base_url: str, state: CalendarState, recorded: Recorded) -> None:
        self.base_url = base_url
        self.api_url = f"{base_url}/calendar/v3/"
        self.state = state
        self.recorded = recorded

    def control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = requests.request(
            method, f"{self.base_url}/_emulator/{path}", json=body, timeout=30
        )
        assert response.status_code == 200, response.text
        return response.json()

    def token(self, email: str) -> str:
        token: str = self.control("POST", "users", {"email": email})["accessToken"]
        return token

    def service(self, email: str) -> Any:
        return self.service_for_token(self.token(email))

    def service_for_token(self, token: str) -> Any:
        credentials = google.oauth2.credentials.Credentials(token)
        return build(
            "calendar", "v3", static_discovery=True, credentials=credentials,
            client_options={"api_endpoint": self.api_url}, cache_discovery=False,
        )  # fmt: skip

    def raw(
        self, method: str, path: str, token: str | None = None, **kwargs: Any
    ) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return requests.request(method, self.api_url + path, headers=headers, timeout=30, **kwargs)


@pytest.fixture(scope="session")
def _served() -> Iterator[tuple[str, CalendarState, Recorded]]:
    state = CalendarState()
    recorded: Recorded = []
    app = create_emulator_app(state)
    app.config["EMULATOR_RESPONSE_HOOK"] = lambda m, s, b: recorded.append((m, s, b))
    with serve(app) as base_url:
        yield base_url, state, recorded
    state.push.close()
    host = app.extensions.get("addon_host")
    if host is not None:
        host.close()


@pytest.fixture
def emu(_served: tuple[str, CalendarState, Recorded]) -> Iterator[Emu]:
    base_url, state, recorded = _served
    state.reset()
    recorded.clear()
    yield Emu(base_url, state, recorded)
    state.push.flush(5)
    problems = []
    for method, status, body in list(recorded):
        try:
            validate_response(method, body, status)
        except AssertionError as error:
            problems.append(str(error))
    assert not problems, "responses not matching the discovery document:\n" + "\n".join(problems)


@pytest.fixture
def alice(emu: Emu) -> Any:
    return emu.service("alice@example.com")


def event_body(
    summary: str = "Meeting", start: str = "2030-01-07T09:00:00Z", minutes: int = 30
) -> dict[str, Any]:
    from datetime import datetime, timedelta

    begin = datetime.fromisoformat(start)
    end = begin + timedelta(minutes=minutes)
    return {
        "summary": summary,
        "start": {"dateTime": begin.isoformat()},
        "end": {"dateTime": end.isoformat()},
    }
