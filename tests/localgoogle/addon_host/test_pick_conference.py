"""Picking a conference solution: the onCreateFunction call and how its answer is applied."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import google.auth.transport.requests
from flask import Response, jsonify
from google.oauth2 import id_token

from localgoogle.addon_host.keys import DEFAULT_OAUTH_CLIENT_ID, DEFAULT_SYSTEM_SERVICE_ACCOUNT

from .support import CALENDAR, SOLUTION_ID, USER, Emulator, FakeAddon, FakeCalendars

_verify_token: Callable[..., Mapping[str, Any]] = id_token.verify_token
_transport: Callable[[], Any] = google.auth.transport.requests.Request

ON_CREATE = f"/oncreate/{SOLUTION_ID}"


def _answer(markup: dict[str, Any] | None = None, **action: Any) -> dict[str, Any]:
    calendar_action: dict[str, Any] = dict(action)
    if markup is not None:
        calendar_action["createConferenceDataActionMarkup"] = {"createConferenceData": markup}
    return {"renderActions": {"hostAppAction": {"calendarAction": calendar_action}}}


def _respond(addon: FakeAddon, body: Any, status: int = 200) -> None:
    def on_create(_request: dict[str, Any]) -> tuple[Response, int]:
        return jsonify(body), status

    addon.on_create = on_create


def test_happy_path_applies_conference_and_subscribes(
    installed: Emulator, addon: FakeAddon, calendars: FakeCalendars
) -> None:
    calendars.put_event(
        CALENDAR,
        "ev1",
        summary="Standup",
        start={"dateTime": "2030-01-07T09:00:00+01:00", "timeZone": "Europe/Berlin"},
        organizer={"email": USER},
        attendees=[{"email": "bob@example.com"}],
        recurringEventId="series1",
    )
    response = installed.pick("ev1")
    assert response.status_code == 200, response.text
    result = response.json()
    expected = {
        "conferenceId": "conf-123",
        "conferenceSolution": {
            "key": {"type": "addOn"},
            "name": "Our Meeting",
            "iconUri": "https://example.com/solution.png",
        },
        "entryPoints": [
            {"entryPointType": "video", "uri": "https://meet.example/conf-123"},
            {
                "entryPointType": "phone",
                "uri": "tel:+1-555-0100",
                "pin": "4321",
                "regionCode": "US",
                "entryPointFeatures": ["toll"],
            },
        ],
        "parameters": {"addOnParameters": {"parameters": {"meetingId": "m-1"}}},
        "notes": "<b>Join</b>",
    }
    assert result["addonStatus"] == 200
    assert result["applied"] is True and result["subscribed"] is True
    assert result["conferenceData"] == expected
    assert calendars.events[(CALENDAR, "ev1")]["conferenceData"] == expected
    assert result["addonResponse"]["renderActions"]["hostAppAction"]

    (call,) = addon.calls_to(ON_CREATE)
    body = call.body
    assert body["commonEventObject"] == {
        "hostApp": "CALENDAR",
        "platform": "WEB",
        "userLocale": "en",
        "timeZone": {"id": "Europe/Berlin", "offset": 3_600_000},
    }
    assert body["calendar"] == {
        "calendarId": CALENDAR,
        "id": "ev1",
        "recurringEventId": "series1",
        "organizer": {"email": USER},
        "attendees": [{"email": "bob@example.com"}],
        "capabilities": {
            "canSeeAttendees": True,
            "canAddAttendees": True,
            "canSeeConferenceData": True,
            "canSetConferenceData": True,
            "canAddAttachments": True,
        },
    }
    auth = body["authorizationEventObject"]
    assert auth["userOAuthToken"] == calendars.host_user_token(USER)
    assert "https://www.googleapis.com/auth/calendar.events" in auth["authorizedScopes"]

    # The Authorization header is the system ID token for exactly the URL that was called.
    scheme, token = call.headers["Authorization"].split(" ")
    assert scheme == "Bearer" and token == auth["systemIdToken"]
    certs_url = installed.url("/oauth2/v1/certs")
    claims = _verify_token(
        token, _transport(), audience=addon.base_url + ON_CREATE, certs_url=certs_url
    )
    assert claims["email"] == DEFAULT_SYSTEM_SERVICE_ACCOUNT
    user_claims = _verify_token(
        auth["userIdToken"], _transport(), audience=DEFAULT_OAUTH_CLIENT_ID, certs_url=certs_url
    )
    assert user_claims["email"] == USER

    subscriptions = installed.get("/_emulator/addon/subscriptions").json()["subscriptions"]
    assert [(s["calendarId"], s["user"]) for s in subscriptions] == [(CALENDAR, USER)]
    log = installed.get("/_emulator/addon/calls").json()["calls"]
    on_create_calls = [c for c in log if c["kind"] == "onCreate"]
    assert on_create_calls[0]["status"] == 200
    assert on_create_calls[0]["calendarId"] == CALENDAR
    assert on_create_calls[0]["applied"] is True


def test_missing_event_still_calls_the_addon(installed: Emulator, addon: FakeAddon) -> None:
    result = installed.pick("not-saved-yet").json()
    (call,) = addon.calls_to(ON_CREATE)
    assert call.body["calendar"]["id"] == "not-saved-yet"
    assert call.body["calendar"]["organizer"] == {"email": USER}  # from the calendar owner
    assert call.body["commonEventObject"]["timeZone"] == {"id": "UTC", "offset": 0}
    assert result["applied"] is False and result["eventMissing"] is True
    assert result["conferenceData"]["conferenceId"] == "conf-123"


def test_error_markup_is_recorded_not_applied(
    installed: Emulator, addon: FakeAddon, calendars: FakeCalendars
) -> None:
    calendars.put_event(CALENDAR, "ev1")
    error = {"type": "AUTHENTICATION", "authenticationUrl": "https://vendor.example/link"}
    _respond(addon, _answer({"conferenceSolutionId": SOLUTION_ID, "error": error}))
    result = installed.pick("ev1").json()
    assert result["applied"] is False and result["conferenceData"] is None
    assert result["error"] == error
    assert "conferenceData" not in calendars.events[(CALENDAR, "ev1")]
    assert installed.host.calls()[-1]["conferenceError"] == error


def test_scope_request_is_recorded(installed: Emulator, addon: FakeAddon) -> None:
    scopes = ["https://www.googleapis.com/auth/calendar.events"]
    _respond(addon, {"requesting_google_scopes": {"scopes": scopes}})
    result = installed.pick().json()
    assert result["requestedScopes"] == scopes and result["applied"] is False
    assert installed.host.calls()[-1]["requestedScopes"] == scopes


def test_addon_failure_is_502(installed: Emulator, addon: FakeAddon) -> None:
    _respond(addon, {"oops": True}, status=500)
    response = installed.pick()
    assert response.status_code == 502
    assert response.json()["addonStatus"] == 500
    assert "HTTP 500" in response.json()["error"]["message"]


def test_non_json_answer_is_502(installed: Emulator, addon: FakeAddon) -> None:
    addon.on_create = lambda _body: ("<html>login</html>", 200)
    response = installed.pick()
    assert response.status_code == 502
    assert "not JSON" in response.json()["error"]["message"]


def test_invalid_markup_is_502_and_changes_nothing(
    installed: Emulator, addon: FakeAddon, calendars: FakeCalendars
) -> None:
    calendars.put_event(CALENDAR, "ev1")
    markup = {
        "conferenceId": "c1",
        "conferenceSolutionId": SOLUTION_ID,
        "entryPoints": [{"type": "MORE", "uri": "https://vendor.example/more"}],
    }
    _respond(
        addon,
        _answer(
            markup, calendarSubscriptionActionMarkup={"operation": "CREATE", "calendarId": "x"}
        ),
    )
    response = installed.pick("ev1")
    assert response.status_code == 502
    assert response.json()["problems"] == ["a MORE entry point alone is not a valid conference"]
    assert installed.host.subscriptions() == []
    assert "conferenceData" not in calendars.events[(CALENDAR, "ev1")]


def test_markup_limits(installed: Emulator, addon: FakeAddon) -> None:
    markup = {
        "conferenceId": "c1",
        "conferenceSolutionId": "someoneElse",
        "entryPoints": [
            {"type": "VIDEO", "uri": "tel:123"},
            {"type": "VIDEO", "uri": "https://a.example", "regionCode": "US"},
        ],
        "parameters": [{"key": "k" * 51, "value": "v"}],
    }
    _respond(addon, _answer(markup))
    problems = installed.pick().json()["problems"]
    assert problems == [
        "conferenceSolutionId 'someoneElse' is not the picked solution 'ourMeeting'",
        "entryPoints[0].uri must use http/https for VIDEO",
        "entryPoints[1].regionCode is only allowed on PHONE",
        "at most one VIDEO entry point is allowed",
        "parameters[0].key is longer than 50 characters",
    ]


def test_unknown_solution_and_no_deployment(emulator: Emulator, addon: FakeAddon) -> None:
    assert emulator.pick().status_code == 409
    emulator.host.install(addon.deployment())
    response = emulator.pick(solutionId="nope")
    assert response.status_code == 404
    assert response.json()["error"]["reason"] == "unknownConferenceSolution"
    assert addon.received == []


def test_authorization_header_options(emulator: Emulator, addon: FakeAddon) -> None:
    emulator.host.install(addon.deployment(authorizationHeader="NONE"))
    emulator.pick()
    emulator.host.install(addon.deployment(authorizationHeader="USER_ID_TOKEN"))
    emulator.pick()
    without, with_user = addon.calls_to(ON_CREATE)
    assert "Authorization" not in without.headers
    token = with_user.headers["Authorization"].removeprefix("Bearer ")
    assert token == with_user.body["authorizationEventObject"]["userIdToken"]


def test_pick_request_validation(installed: Emulator) -> None:
    response = installed.post(
        f"/_emulator/calendars/{CALENDAR}/events/ev1/pick-conference", {"user": USER}
    )
    assert response.status_code == 400
    assert "solutionId" in response.json()["error"]["message"]
