"""``notifyDeletions: false`` on the real Calendar state: an event deleted through the
Calendar API (google-api-python-client) fires no calendarNotificationTrigger, and neither
does the organizer's deletion reaching a guest's copy; updates still do."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from localgoogle.app import create_emulator_app
from localgoogle.calendar.client import calendar_service
from localgoogle.server import serve

from .support import FakeAddon

ALICE = "alice@example.com"
BOB = "bob@example.com"
EVENT = {
    "summary": "Standup",
    "start": {"dateTime": "2030-01-07T09:00:00Z"},
    "end": {"dateTime": "2030-01-07T09:15:00Z"},
}


@pytest.fixture
def emulator_url(addon: FakeAddon) -> Iterator[str]:
    app = create_emulator_app()
    try:
        with serve(app) as base_url:
            yield base_url
    finally:
        app.extensions["cloud_tasks"].close()
        app.extensions["addon_host"].close()


def _post(base_url: str, path: str, body: object) -> dict[str, object]:
    response = requests.post(base_url + path, json=body, timeout=10)
    assert response.status_code == 200, response.text
    answer: dict[str, object] = response.json()
    return answer


def _triggered(base_url: str) -> list[tuple[str, str]]:
    assert _post(base_url, "/_emulator/addon/flush", {"timeout": 5}) == {"idle": True}
    calls = requests.get(base_url + "/_emulator/addon/calls", timeout=10).json()["calls"]
    return [(c["calendarId"], c["eventId"]) for c in calls if c["kind"] == "notification"]


def test_deleted_event_fires_no_trigger(emulator_url: str, addon: FakeAddon) -> None:
    token = str(_post(emulator_url, "/_emulator/users", {"email": ALICE})["accessToken"])
    _post(emulator_url, "/_emulator/users", {"email": BOB})
    _post(emulator_url, "/_emulator/addon/deployment", addon.deployment())
    for user in (ALICE, BOB):
        _post(emulator_url, "/_emulator/addon/subscribe", {"calendarId": user, "user": user})
    _post(emulator_url, "/_emulator/addon/notifications", {"notifyDeletions": False})
    events = calendar_service(emulator_url, token).events()
    created = events.insert(
        calendarId="primary", body={**EVENT, "attendees": [{"email": BOB}]}
    ).execute()
    events.patch(calendarId="primary", eventId=created["id"], body={"summary": "Moved"}).execute()
    assert _triggered(emulator_url) == [(ALICE, created["id"]), (BOB, created["id"])] * 2
    before = len(addon.calls_to("/trigger"))

    events.delete(calendarId="primary", eventId=created["id"]).execute()
    assert _triggered(emulator_url) == [(ALICE, created["id"]), (BOB, created["id"])] * 2
    assert len(addon.calls_to("/trigger")) == before
