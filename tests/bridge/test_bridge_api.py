"""The bridge endpoints over HTTP, called as the script calls them, and as an attacker would:
who may call (identity tokens), what bad input gets (a JSON 4xx with a reason, nothing stored),
the bridge off (404), the acting user, and triggers delivered twice at once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from localgoogle.addon_host.keys import DEFAULT_OAUTH_CLIENT_ID
from localgoogle.apps_script import DEFAULT_BRIDGE_CLIENT_ID
from tests.e2e.stack import SOLUTION, Stack, default_solutions, running_stack

pytestmark = pytest.mark.datastore

ALICE = "alice@example.com"
BOB = "bob@example.com"
CREATE = f"/bridge/conference/{SOLUTION}"
NOTIFY = "/bridge/notification"


@pytest.fixture
def stack(datastore) -> Iterator[Stack]:
    with running_stack(
        datastore.project, sync_mode="tasks", bridge_client_id=DEFAULT_BRIDGE_CLIENT_ID
    ) as s:
        yield s


def identity(stack: Stack, email: str = ALICE, **overrides: Any) -> str:
    body = {"audience": DEFAULT_BRIDGE_CLIENT_ID, "email": email, **overrides}
    return str(stack.control("POST", "/_emulator/addon/id-token", body)["idToken"])


def post(stack: Stack, path: str, body: Any, token: str | None, raw: bytes | None = None):
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = raw if raw is not None else json.dumps(body).encode()
    return requests.post(stack.addon_url + path, data=data, headers=headers, timeout=30)


def create_body(stack: Stack, event_id: str = "evt12345", user: str = ALICE) -> dict[str, str]:
    return {"calendarId": user, "eventId": event_id, "userOAuthToken": stack.user(user)}


def nothing_stored(stack: Stack) -> None:
    assert stack.store.all_calendars() == []
    assert stack.store.list_conferences(ALICE, active_only=False) == []
    assert stack.conferencing.calls() == []
    assert stack.tasks_stats()["total"]["created"] == 0


def markup_of(answer: dict[str, Any]) -> dict[str, Any]:
    action = answer["renderActions"]["hostAppAction"]["calendarAction"]
    data: dict[str, Any] = action["createConferenceDataActionMarkup"]["createConferenceData"]
    return data


def test_the_script_gets_what_the_http_add_on_gets(stack: Stack) -> None:
    event = stack.calendar(ALICE).events().insert(
        calendarId=ALICE,
        body={"summary": "Planning", "start": {"dateTime": "2030-01-07T10:00:00Z"},
              "end": {"dateTime": "2030-01-07T11:00:00Z"}},
    ).execute()  # fmt: skip
    r = post(stack, CREATE, create_body(stack, event["id"]), identity(stack))
    assert r.status_code == 200, r.text
    action = r.json()["renderActions"]["hostAppAction"]["calendarAction"]
    assert action["calendarSubscriptionActionMarkup"] == {
        "operation": "CREATE",
        "calendarId": ALICE,
    }
    data = markup_of(r.json())
    assert data["conferenceSolutionId"] == SOLUTION
    assert stack.meetings()[data["conferenceId"]]["title"] == "Planning"
    record = stack.store.get_conference(ALICE, event["id"])
    assert record is not None and record.conference_id == data["conferenceId"]
    state = stack.calendar_state(ALICE)
    assert state is not None and state.subscribed_by == ALICE
    # The same pick again: the same meeting (the create flow's idempotency).
    again = post(stack, CREATE, create_body(stack, event["id"]), identity(stack))
    assert markup_of(again.json())["conferenceId"] == data["conferenceId"]


@pytest.mark.parametrize(
    ("case", "overrides"),
    [
        ("forged signature", {"untrusted": True}),
        ("the HTTP add-on's client as audience", {"audience": DEFAULT_OAUTH_CLIENT_ID}),
        ("an endpoint URL as audience", {"audience": "http://127.0.0.1/bridge/notification"}),
        ("another issuer", {"issuer": "https://evil.example"}),
        ("expired", {"expiresIn": -3600}),
        ("email not verified", {"emailVerified": False}),
    ],
)
def test_forged_or_misdirected_identity_tokens_are_refused(
    stack: Stack, case: str, overrides: dict[str, Any]
) -> None:
    token = identity(stack, **overrides)
    for path, body in ((CREATE, create_body(stack)), (NOTIFY, {"calendarId": ALICE,
                       "userOAuthToken": stack.user(ALICE)})):  # fmt: skip
        r = post(stack, path, body, token)
        assert r.status_code == 401, (case, path, r.text)
        assert r.json()["error"]["reason"] == "unauthenticated"
    nothing_stored(stack)


def test_missing_or_garbage_authorization_is_refused(stack: Stack) -> None:
    for token in (None, "", "not.a.jwt"):
        r = post(stack, CREATE, create_body(stack), token)
        assert r.status_code == 401 and r.json()["error"]["reason"] == "unauthenticated"
    r = requests.post(
        stack.addon_url + NOTIFY,
        json={"calendarId": ALICE, "userOAuthToken": "x"},
        headers={"Authorization": "Basic " + identity(stack)},
        timeout=10,
    )
    assert r.status_code == 401
    nothing_stored(stack)


@pytest.mark.parametrize(
    ("body", "raw", "reason"),
    [
        (None, b"", "emptyBody"),
        (None, b"{not json", "invalidJson"),
        (["calendarId"], None, "invalidJson"),
        ({"calendarId": ALICE, "eventId": "e1"}, None, "missingField"),
        ({"calendarId": ALICE, "eventId": "", "userOAuthToken": "t"}, None, "invalidField"),
        ({"calendarId": ALICE, "eventId": 7, "userOAuthToken": "t"}, None, "invalidField"),
        ({"calendarId": ALICE, "eventId": "e" * 1025, "userOAuthToken": "t"}, None, "fieldTooLong"),
        (
            {"calendarId": ALICE, "eventId": "e1", "userOAuthToken": "t", "x": 1},
            None,
            "unknownField",
        ),
        (
            {"calendarId": ALICE, "eventId": {"a": [[[]]]}, "userOAuthToken": "t"},
            None,
            "invalidField",
        ),
    ],
)
def test_bad_bodies_get_a_reason_and_store_nothing(
    stack: Stack, body: Any, raw: bytes | None, reason: str
) -> None:
    r = post(stack, CREATE, body, identity(stack), raw=raw)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["reason"] == reason
    assert r.json()["error"]["message"]
    nothing_stored(stack)


def test_bad_notification_bodies_and_unknown_solutions(stack: Stack) -> None:
    token = identity(stack)
    r = post(stack, NOTIFY, {"calendarId": ALICE}, token)
    assert r.status_code == 400 and r.json()["error"]["reason"] == "missingField"
    r = post(stack, NOTIFY, {"calendarId": ALICE, "userOAuthToken": "t", "eventId": "e"}, token)
    assert r.status_code == 400 and r.json()["error"]["reason"] == "unknownField"
    r = post(stack, "/bridge/conference/nope", create_body(stack), token)
    assert r.status_code == 404 and r.json()["error"]["reason"] == "unknownSolution"
    big = post(stack, NOTIFY, None, token, raw=b'{"calendarId": "' + b"x" * (1 << 21) + b'"}')
    assert big.status_code == 413
    nothing_stored(stack)


def test_the_bridge_is_off_without_its_client_id(datastore) -> None:
    with running_stack(datastore.project) as stack:
        token = stack.control(
            "POST", "/_emulator/addon/id-token", {"audience": DEFAULT_BRIDGE_CLIENT_ID}
        )["idToken"]
        for path in (CREATE, NOTIFY):
            r = post(stack, path, {}, token)
            assert r.status_code == 404 and r.json()["error"]["reason"] == "bridgeOff"
        assert stack.store.all_calendars() == []


def restricted(emulator_url: str):
    web, recorded = default_solutions(emulator_url)
    return (
        type(web)(web.id, web.name, web.logo_url, web.provider, web.options, ("example.com",)),
        recorded,
    )


def test_the_identity_token_decides_who_acts_the_oauth_token_only_reads_calendar(
    datastore,
) -> None:
    # Decision (README): the acting user is the identity token's; the OAuth token is only the
    # Calendar credentials. A's identity with B's OAuth token acts on B's calendar, with what
    # B's token may do, under A's domain rules; it is not refused.
    with running_stack(
        datastore.project, solutions_for=restricted, bridge_client_id=DEFAULT_BRIDGE_CLIENT_ID
    ) as stack:
        outsider = identity(stack, "mallory@elsewhere.example")
        refused = post(stack, CREATE, create_body(stack, "evt1", BOB), outsider)
        assert markup_of(refused.json())["error"] == {"type": "CONFERENCE_SOLUTION_FORBIDDEN"}
        assert stack.conferencing.calls() == []
        mixed = post(stack, CREATE, create_body(stack, "evt2", BOB), identity(stack, ALICE))
        data = markup_of(mixed.json())
        assert "error" not in data
        state = stack.calendar_state(BOB)
        assert state is not None and state.subscribed_by == ALICE
