"""calendarNotificationTrigger calls: after changes, in the background, with fault injection."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Mapping
from typing import Any

import google.auth.transport.requests
import pytest
from google.oauth2 import id_token

from localgoogle.addon_host.keys import DEFAULT_SYSTEM_SERVICE_ACCOUNT

from .support import CALENDAR, USER, Emulator, FakeAddon, FakeCalendars

_verify_token: Callable[..., Mapping[str, Any]] = id_token.verify_token
_transport: Callable[[], Any] = google.auth.transport.requests.Request

OTHER_CALENDAR = "team@group.calendar.example.com"


@pytest.fixture
def subscribed(installed: Emulator) -> Emulator:
    response = installed.post("/_emulator/addon/subscribe", {"calendarId": CALENDAR, "user": USER})
    assert response.status_code == 200
    return installed


def _notify(emulator: Emulator, **settings: Any) -> None:
    response = emulator.post("/_emulator/addon/notifications", settings)
    assert response.status_code == 200, response.text


def test_changes_fire_triggers_for_subscribed_calendars_only(
    subscribed: Emulator, addon: FakeAddon, calendars: FakeCalendars
) -> None:
    deployment = subscribed.host.deployment
    assert deployment is not None
    calendars.put_event(OTHER_CALENDAR, "e0")
    calendars.put_event(CALENDAR, "e1")
    assert subscribed.host.flush(5)
    (call,) = addon.calls_to("/trigger")
    assert call.body == {
        "commonEventObject": {"hostApp": "CALENDAR"},
        "authorizationEventObject": {
            "userOAuthToken": calendars.host_user_token(USER),
            "systemIdToken": call.body["authorizationEventObject"]["systemIdToken"],
            "userIdToken": call.body["authorizationEventObject"]["userIdToken"],
            "authorizedScopes": list(deployment.oauth_scopes),
        },
        "calendar": {"calendarId": CALENDAR},
    }
    token = call.headers["Authorization"].removeprefix("Bearer ")
    claims = _verify_token(
        token,
        _transport(),
        audience=f"{addon.base_url}/trigger",
        certs_url=subscribed.url("/oauth2/v1/certs"),
    )
    assert claims["email"] == DEFAULT_SYSTEM_SERVICE_ACCOUNT
    (logged,) = [c for c in subscribed.host.calls() if c["kind"] == "notification"]
    assert logged["calendarId"] == CALENDAR and logged["status"] == 200


def test_subscription_from_pick_conference_fires_on_later_changes(
    installed: Emulator, addon: FakeAddon, calendars: FakeCalendars
) -> None:
    calendars.put_event(CALENDAR, "e1")
    assert installed.host.flush(5)
    assert addon.calls_to("/trigger") == []
    installed.pick("e1")
    calendars.put_event(CALENDAR, "e2")
    assert installed.host.flush(5)
    # Storing the conference data is itself a change: the add-on sees its own write echoed.
    assert len(addon.calls_to("/trigger")) == 2


def test_calls_happen_off_the_changing_thread(
    subscribed: Emulator, addon: FakeAddon, calendars: FakeCalendars
) -> None:
    addon.trigger_gate.clear()  # the add-on hangs until released
    started = time.monotonic()
    calendars.put_event(CALENDAR, "e1")
    calendars.put_event(CALENDAR, "e2")
    assert time.monotonic() - started < 0.5
    assert not subscribed.host.flush(0.1)
    addon.trigger_gate.set()
    assert subscribed.host.flush(5)
    assert len(addon.calls_to("/trigger")) == 2


def test_retry_on_5xx(subscribed: Emulator, addon: FakeAddon, calendars: FakeCalendars) -> None:
    _notify(subscribed, retryBackoffSeconds=0.01, maxAttempts=3)
    addon.trigger_statuses.extend([503, 500])
    calendars.put_event(CALENDAR, "e1")
    assert subscribed.host.flush(5)
    attempts = [(c["attempt"], c["status"]) for c in subscribed.host.calls()]
    assert attempts == [(1, 503), (2, 500), (3, 200)]


def test_no_retry_on_4xx_and_bounded_retries(
    subscribed: Emulator, addon: FakeAddon, calendars: FakeCalendars
) -> None:
    _notify(subscribed, retryBackoffSeconds=0.01, maxAttempts=2)
    addon.trigger_statuses.extend([403, 500, 500, 500])
    calendars.put_event(CALENDAR, "e1")
    calendars.put_event(CALENDAR, "e2")
    assert subscribed.host.flush(5)
    statuses = [(c["eventId"], c["status"]) for c in subscribed.host.calls()]
    assert statuses == [("e1", 403), ("e2", 500), ("e2", 500)]


def test_unreachable_addon_is_logged(
    subscribed: Emulator, addon: FakeAddon, calendars: FakeCalendars
) -> None:
    # A port that was free a moment ago and that nobody listens on: connections are refused.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    deployment = addon.deployment()
    deployment["addOns"]["calendar"]["calendarNotificationTrigger"]["runFunction"] = (
        f"http://127.0.0.1:{closed_port}/trigger"
    )
    subscribed.host.install(deployment)
    _notify(subscribed, retryBackoffSeconds=0.01, maxAttempts=2)
    calendars.put_event(CALENDAR, "e1")
    assert subscribed.host.flush(10)
    outcomes = [(c["outcome"], c["status"]) for c in subscribed.host.calls()]
    assert outcomes == [("unreachable", None), ("unreachable", None)]


def test_drop_and_duplicate(
    subscribed: Emulator, addon: FakeAddon, calendars: FakeCalendars
) -> None:
    _notify(subscribed, dropRate=1.0)
    calendars.put_event(CALENDAR, "e1")
    assert subscribed.host.flush(5)
    assert addon.calls_to("/trigger") == []
    assert [c["outcome"] for c in subscribed.host.calls()] == ["dropped"]

    _notify(subscribed, dropRate=0.0, duplicateRate=1.0)
    calendars.put_event(CALENDAR, "e2")
    assert subscribed.host.flush(5)
    assert len(addon.calls_to("/trigger")) == 2


def test_seeded_drops_are_repeatable(
    subscribed: Emulator, addon: FakeAddon, calendars: FakeCalendars
) -> None:
    def run() -> list[str]:
        subscribed.post("/_emulator/addon/reset", {})
        subscribed.host.install(addon.deployment())
        subscribed.host.subscribe(CALENDAR, USER)
        _notify(subscribed, dropRate=0.5, seed=7)
        for index in range(12):
            calendars.put_event(CALENDAR, f"e{index}")
        assert subscribed.host.flush(5)
        return [c["eventId"] for c in subscribed.host.calls() if c["outcome"] == "dropped"]

    first = run()
    assert 0 < len(first) < 12
    assert run() == first


def test_delay(subscribed: Emulator, addon: FakeAddon, calendars: FakeCalendars) -> None:
    _notify(subscribed, delaySeconds=0.3)
    calendars.put_event(CALENDAR, "e1")
    time.sleep(0.1)
    assert addon.calls_to("/trigger") == []
    assert subscribed.get("/_emulator/addon").json()["pendingTriggerCalls"] == 1
    flushed = subscribed.post("/_emulator/addon/flush", {"timeout": 5}).json()
    assert flushed == {"idle": True}
    assert len(addon.calls_to("/trigger")) == 1


def test_unsubscribe(subscribed: Emulator, addon: FakeAddon, calendars: FakeCalendars) -> None:
    response = subscribed.post("/_emulator/addon/unsubscribe", {"calendarId": CALENDAR})
    assert response.json() == {"removed": 1}
    calendars.put_event(CALENDAR, "e1")
    assert subscribed.host.flush(5)
    assert addon.calls_to("/trigger") == []


def test_reset_forgets_everything(
    subscribed: Emulator, addon: FakeAddon, calendars: FakeCalendars
) -> None:
    _notify(subscribed, delaySeconds=5)
    calendars.put_event(CALENDAR, "e1")
    assert subscribed.post("/_emulator/addon/reset", {}).status_code == 200
    assert subscribed.host.flush(1)  # the delayed call was discarded, not awaited
    assert subscribed.get("/_emulator/addon/subscriptions").json() == {"subscriptions": []}
    assert subscribed.get("/_emulator/addon/calls").json() == {"calls": []}
    assert subscribed.get("/_emulator/addon/notifications").json()["delaySeconds"] == 0
    assert subscribed.get("/_emulator/addon/deployment").status_code == 409
    assert addon.calls_to("/trigger") == []


def test_deletions_fire_triggers_unless_turned_off(
    subscribed: Emulator, addon: FakeAddon, calendars: FakeCalendars
) -> None:
    assert subscribed.get("/_emulator/addon/notifications").json()["notifyDeletions"] is True
    calendars.put_event(CALENDAR, "e1", status="cancelled")
    assert subscribed.host.flush(5)
    assert len(addon.calls_to("/trigger")) == 1

    _notify(subscribed, notifyDeletions=False)
    assert subscribed.get("/_emulator/addon/notifications").json()["notifyDeletions"] is False
    calendars.put_event(CALENDAR, "e2", status="cancelled")
    calendars.put_event(CALENDAR, "e3", status="confirmed")
    assert subscribed.host.flush(5)
    assert len(addon.calls_to("/trigger")) == 2  # e3's update only
    assert [c["eventId"] for c in subscribed.host.calls()] == ["e1", "e3"]

    subscribed.post("/_emulator/addon/reset", {})
    assert subscribed.get("/_emulator/addon/notifications").json()["notifyDeletions"] is True


@pytest.mark.parametrize(
    "body",
    [
        {"dropRate": 2}, {"delaySeconds": -1}, {"seed": "x"}, {"maxAttempts": 0}, {"typo": 1},
        {"notifyDeletions": "no"}, {"notifyDeletions": 0},
    ],
)  # fmt: skip
def test_notification_settings_validation(installed: Emulator, body: dict[str, Any]) -> None:
    response = installed.post("/_emulator/addon/notifications", body)
    assert response.status_code == 400
