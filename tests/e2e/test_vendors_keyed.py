"""Vendor solutions through the whole stack: Calendar's add-on host picks a Daily or a
BigBlueButton solution on an event; moves and deletions reach the vendor's fake server; the
BigBlueButton join page (``/join/<id>``) follows the event."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from addon.settings import Solution
from localgoogle.server import serve
from localgoogle.vendors.bbb import BbbState, create_bbb_app
from localgoogle.vendors.daily import DailyState, create_daily_app
from tests.e2e.stack import Stack, running_stack

pytestmark = pytest.mark.datastore

ALICE = "alice@example.com"
LOGO = "https://x.example/logo.png"
BBB_SECRET = "bbb-e2e-secret-0123456789"


def _at(minutes: float) -> dict[str, str]:
    moment = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=minutes)
    return {"dateTime": moment.isoformat().replace("+00:00", "Z")}


@pytest.fixture
def vendors(datastore: Any) -> Iterator[tuple[Stack, DailyState, BbbState]]:
    daily, bbb = DailyState(api_key="daily-e2e"), BbbState(secret=BBB_SECRET)
    with serve(create_daily_app(daily)) as daily_url, serve(create_bbb_app(bbb)) as bbb_url:

        def solutions(_emulator_url: str) -> tuple[Solution, ...]:
            return (
                Solution("daily", "Daily", LOGO, "daily",
                         {"api_key": "daily-e2e", "base_url": daily_url + "/v1",
                          "timeout_seconds": 2}),
                Solution("bbb", "BigBlueButton", LOGO, "bbb",
                         {"base_url": bbb_url + "/bigbluebutton/api", "secret": BBB_SECRET,
                          "timeout_seconds": 2}),
            )  # fmt: skip

        with running_stack(datastore.project, solutions) as stack:
            yield stack, daily, bbb


def _conference(stack: Stack, solution: str, start: dict, end: dict, **extra: Any) -> tuple:
    api = stack.calendar(ALICE)
    body = {"summary": "Planning", "start": start, "end": end,
            "attendees": [{"email": "bob@example.com"}], **extra}  # fmt: skip
    event = api.events().insert(calendarId=ALICE, body=body).execute()
    answer = stack.pick(ALICE, event["id"], ALICE, solution=solution)
    assert answer["applied"], answer
    stack.settle()
    return event, answer["conferenceData"]


def _patch(stack: Stack, event_id: str, body: dict) -> dict:
    event = stack.calendar(ALICE).events().patch(calendarId=ALICE, eventId=event_id, body=body)
    result = event.execute()
    stack.settle()
    return dict(result)


def _delete(stack: Stack, event_id: str) -> None:
    stack.calendar(ALICE).events().delete(calendarId=ALICE, eventId=event_id).execute()
    stack.settle()


def _epoch(value: dict[str, str]) -> int:
    return int(datetime.fromisoformat(value["dateTime"].replace("Z", "+00:00")).timestamp())


def test_daily_room_follows_the_event(vendors: Any) -> None:
    stack, daily, _ = vendors
    start, end = _at(24 * 60), _at(25 * 60)
    event, data = _conference(stack, "daily", start, end)
    room = daily.room(data["conferenceId"])
    assert room is not None and room["config"] == {
        "nbf": _epoch(start) - 900,
        "exp": _epoch(end) + 900,
    }
    stored = stack.calendar(ALICE).events().get(calendarId=ALICE, eventId=event["id"]).execute()
    [video] = [e for e in stored["conferenceData"]["entryPoints"] if e["entryPointType"] == "video"]
    assert video["uri"] == room["url"]

    moved_start, moved_end = _at(48 * 60), _at(49 * 60)
    _patch(stack, event["id"], {"start": moved_start, "end": moved_end})
    room = daily.room(data["conferenceId"])
    assert room is not None and room["config"]["exp"] == _epoch(moved_end) + 900
    stored = stack.calendar(ALICE).events().get(calendarId=ALICE, eventId=event["id"]).execute()
    assert stored["conferenceData"]["entryPoints"][0]["uri"] == room["url"]  # unchanged link

    _delete(stack, event["id"])
    room = daily.room(data["conferenceId"])
    assert room is not None and room["deleted"]
    assert [c["op"] for c in daily.faults.calls()] == ["create", "update", "delete"]


def test_bbb_join_page_follows_the_event(vendors: Any) -> None:
    stack, _, bbb = vendors
    event, data = _conference(stack, "bbb", _at(24 * 60), _at(25 * 60))
    link = data["entryPoints"][0]["uri"]
    assert link == f"{stack.addon_url}/join/{data['conferenceId']}"

    early = requests.get(link, timeout=10)
    assert early.status_code == 403 and "Not open yet" in early.text
    assert bbb.snapshot()["creates"] == 0

    # Moved to start in five minutes: the link opens (15 minutes before the start).
    _patch(stack, event["id"], {"start": _at(5), "end": _at(65)})
    form = requests.get(link, timeout=10)
    assert form.status_code == 200 and "name='name'" in form.text
    answers: list[requests.Response] = []

    def visit(name: str) -> None:
        answers.append(requests.get(link, params={"name": name}, allow_redirects=False, timeout=10))

    visitors = [threading.Thread(target=visit, args=(n,)) for n in ("Ada", "Bob")]
    for t in visitors:
        t.start()
    for t in visitors:
        t.join()
    assert [a.status_code for a in answers] == [303, 303]
    for answer in answers:
        target = answer.headers["Location"]
        assert urlsplit(target).path == "/bigbluebutton/api/join"
        page = requests.get(target, timeout=10)
        assert "You joined Planning" in page.text, page.text
    assert bbb.snapshot()["creates"] == 1
    running = bbb.meeting(data["conferenceId"])
    assert running is not None and len(running["attendees"]) == 2

    _delete(stack, event["id"])
    gone = requests.get(link, params={"name": "Cy"}, allow_redirects=False, timeout=10)
    assert gone.status_code == 410
    snapshot = bbb.snapshot()
    assert snapshot["meetings"] == [] and [m["meetingID"] for m in snapshot["ended"]] == [
        data["conferenceId"]
    ]
    unknown = requests.get(f"{stack.addon_url}/join/gcal-nosuchmeeting", timeout=10)
    assert unknown.status_code == 404
