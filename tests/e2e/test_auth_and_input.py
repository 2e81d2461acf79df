"""Who may call, and what bad input gets: always a JSON 4xx with a reason, nothing stored."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from tests.e2e.stack import SOLUTION, Stack

pytestmark = pytest.mark.datastore

ALICE = "alice@example.com"


def event_object(calendar_id: str = ALICE, event_id: str = "evt12345", token: str = "x") -> dict:
    return {
        "commonEventObject": {"hostApp": "CALENDAR", "platform": "WEB"},
        "authorizationEventObject": {"userOAuthToken": token},
        "calendar": {"calendarId": calendar_id, "id": event_id},
    }


def id_token(stack: Stack, audience: str, **overrides) -> str:
    body = {"audience": audience, **overrides}
    return stack.control("POST", "/_emulator/addon/id-token", body)["idToken"]


def post(stack: Stack, path: str, body, token: str | None, raw: bytes | None = None, **headers):
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = raw if raw is not None else json.dumps(body).encode()
    return requests.post(
        stack.addon_url + path,
        data=data,
        headers={"Content-Type": "application/json", **headers},
        timeout=30,
    )


def assert_nothing_stored(stack: Stack) -> None:
    assert stack.store.all_calendars() == []
    assert stack.store.list_conferences(ALICE, active_only=False) == []
    assert stack.conferencing.calls() == []


CREATE = f"/calendar/conference/{SOLUTION}"
NOTIFY = "/calendar/notification"


@pytest.mark.parametrize(
    ("case", "overrides"),
    [
        ("wrong audience", {"audience": "https://elsewhere.example/calendar/notification"}),
        ("wrong email", {"email": "someone@example.com"}),
        ("wrong issuer", {"issuer": "https://evil.example"}),
        ("expired", {"expiresIn": -3600}),
        ("bad signature", {"untrusted": True}),
    ],
)
def test_forged_callers_are_refused(stack: Stack, case: str, overrides: dict) -> None:
    claims = {"audience": stack.addon_url + CREATE, **overrides}
    token = stack.control("POST", "/_emulator/addon/id-token", claims)["idToken"]
    r = post(stack, CREATE, event_object(), token)
    assert r.status_code == 401, case
    assert r.json()["error"]["reason"] == "unauthenticated"
    assert_nothing_stored(stack)


def test_missing_or_garbage_header_is_refused(stack: Stack) -> None:
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer not.a.jwt"}):
        r = requests.post(
            stack.addon_url + CREATE, json=event_object(), headers=headers, timeout=10
        )
        assert r.status_code == 401 and r.json()["error"]["reason"] == "unauthenticated"
    assert_nothing_stored(stack)


def test_token_for_one_endpoint_is_refused_at_another(stack: Stack) -> None:
    token = id_token(stack, stack.addon_url + NOTIFY)
    r = post(stack, CREATE, event_object(), token)
    assert r.status_code == 401
    assert_nothing_stored(stack)


@pytest.mark.parametrize(
    ("raw", "status", "reason"),
    [
        (b"", 400, "emptyBody"),
        (b"{not json", 400, "invalidJson"),
        (b"[1, 2]", 400, "invalidJson"),
        (b'"text"', 400, "invalidJson"),
        (b"[" * 100000 + b"]" * 100000, 400, "invalidJson"),
        (
            json.dumps(
                {"a": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}
            ).encode(),
            400,
            "tooDeep",
        ),
        (b'{"x": "' + b"a" * (1024 * 1024 + 10) + b'"}', 413, "requestTooLarge"),
    ],
)
def test_malformed_bodies_get_json_4xx(stack: Stack, raw: bytes, status: int, reason: str) -> None:
    for path in (CREATE, NOTIFY):
        r = post(stack, path, None, id_token(stack, stack.addon_url + path), raw=raw)
        assert r.status_code == status, (path, r.text[:200])
        assert r.json()["error"]["reason"] == reason
    assert_nothing_stored(stack)


def test_missing_essentials_give_permanent_error_markup(stack: Stack) -> None:
    for body in (
        {},
        {"calendar": "nope"},
        {"calendar": {"calendarId": ALICE}},
        {"calendar": {"id": 5}},
    ):
        r = post(stack, CREATE, body, id_token(stack, stack.addon_url + CREATE))
        assert r.status_code == 200
        data = r.json()["renderActions"]["hostAppAction"]["calendarAction"][
            "createConferenceDataActionMarkup"
        ]["createConferenceData"]
        assert data["error"]["type"] == "PERMANENT"
    assert_nothing_stored(stack)


def test_notification_without_calendar_id_is_400(stack: Stack) -> None:
    bodies: list[dict[str, Any]] = [{}, {"calendar": {}}, {"calendar": {"calendarId": 7}}]
    for body in bodies:
        r = post(stack, NOTIFY, body, id_token(stack, stack.addon_url + NOTIFY))
        assert r.status_code == 400 and r.json()["error"]["reason"] == "missingCalendarId"
    assert_nothing_stored(stack)


def test_unknown_solution_and_wrong_method(stack: Stack) -> None:
    path = "/calendar/conference/nope"
    r = post(stack, path, event_object(), id_token(stack, stack.addon_url + path))
    assert r.status_code == 404 and r.json()["error"]["reason"] == "unknownSolution"
    r = requests.get(stack.addon_url + CREATE, timeout=10)
    assert r.status_code == 405 and r.json()["error"]["reason"] == "methodNotAllowed"
    assert_nothing_stored(stack)


def test_missing_scopes_ask_for_them(stack: Stack) -> None:
    body = event_object()
    body["authorizationEventObject"]["authorizedScopes"] = [
        "https://www.googleapis.com/auth/calendar.addons.execute"
    ]
    r = post(stack, CREATE, body, id_token(stack, stack.addon_url + CREATE))
    scopes = r.json()["requesting_google_scopes"]["scopes"]
    assert "https://www.googleapis.com/auth/calendar.events" in scopes
    assert_nothing_stored(stack)


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("down", "TEMPORARY"),
        ("error500", "TEMPORARY"),
        ("refuse", "PERMANENT"),
        ("auth", "AUTHENTICATION"),
    ],
)
def test_provider_failures_map_to_error_types(stack: Stack, mode: Any, expected: str) -> None:
    stack.conferencing.set_fault(mode)
    token = stack.user(ALICE)
    r = post(stack, CREATE, event_object(token=token), id_token(stack, stack.addon_url + CREATE))
    data = r.json()["renderActions"]["hostAppAction"]["calendarAction"][
        "createConferenceDataActionMarkup"
    ]["createConferenceData"]
    assert data["error"]["type"] == expected
    if expected == "AUTHENTICATION":
        assert data["error"]["authenticationUrl"].startswith("http")
    assert stack.store.list_conferences(ALICE, active_only=False) == []


def test_refusals_do_not_tell_the_caller_why(stack: Stack) -> None:
    """The verification code helps an attacker probe (unknown kid vs bad signature): logs only."""
    bodies = set()
    for overrides in ({"untrusted": True}, {"expiresIn": -3600}, {"issuer": "https://x.example"}):
        token = id_token(stack, stack.addon_url + CREATE, **overrides)
        r = post(stack, CREATE, event_object(), token)
        assert r.status_code == 401
        bodies.add(r.text)
    r = post(stack, CREATE, event_object(), "not-a-jwt")
    bodies.add(r.text)
    assert len(bodies) == 1, bodies
    for code in ("bad_signature", "unknown_kid", "expired", "wrong_issuer", "malformed"):
        assert code not in next(iter(bodies))
