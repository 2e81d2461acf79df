"""The bridge end to end: the real script (bridge/Code.js) in the Apps Script stand-in (Node),
the real backend over HTTP, the Calendar emulator, Cloud Tasks, the fake vendor and the real
Datastore emulator. Outcomes are checked where the user sees them: the vendor's meetings and
the events' conference data (tests/invariants.py)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from localgoogle.apps_script import DEFAULT_BRIDGE_CLIENT_ID
from tests.bridge.stack import BridgeStack, running_bridge
from tests.e2e.stack import SOLUTION
from tests.invariants import violations

pytestmark = pytest.mark.datastore

ALICE = "alice@example.com"


def insert(b: BridgeStack, calendar_id: str = ALICE, summary: str = "Planning") -> dict[str, Any]:
    body = {
        "summary": summary,
        "start": {"dateTime": "2030-01-07T10:00:00Z"},
        "end": {"dateTime": "2030-01-07T11:00:00Z"},
        "attendees": [{"email": "bob@example.com"}],
    }
    event: dict[str, Any] = (
        b.stack.calendar(ALICE).events().insert(calendarId=calendar_id, body=body).execute()
    )
    return event


def stored(b: BridgeStack, calendar_id: str, event_id: str) -> dict[str, Any]:
    event: dict[str, Any] = (
        b.stack.calendar(ALICE).events().get(calendarId=calendar_id, eventId=event_id).execute()
    )
    return event


def no_violations(b: BridgeStack, *calendars: str) -> None:
    def events_of(calendar_id: str) -> list[dict[str, Any]]:
        items = b.stack.control("GET", f"/_emulator/calendars/{calendar_id}/events")["items"]
        return list(items)

    problems = violations(events_of, calendars, b.stack.meetings(), b.stack.conferencing.calls())
    assert problems == []


def test_pick_edit_second_calendar_and_delete_through_the_bridge(bridge: BridgeStack) -> None:
    b = bridge
    event = insert(b)
    answer = b.script.pick(ALICE, event["id"], SOLUTION, ALICE)
    assert answer["execution"]["status"] == "completed", answer
    assert answer["applied"] and answer["conferenceError"] is None
    data = stored(b, ALICE, event["id"])["conferenceData"]
    assert data["conferenceSolution"]["key"]["type"] == "addOn"
    assert data["conferenceSolution"]["name"] == "Web conference"
    meeting = b.stack.meetings()[data["conferenceId"]]
    assert meeting["title"] == "Planning" and not meeting["deleted"]
    # One trigger for the calendar, and the backend took the calendar's sync token.
    assert [(t["sourceId"], t["handler"]) for t in b.script.triggers(ALICE)] == [
        (ALICE, "onCalendarEventUpdated")
    ]
    b.settle()
    state = b.stack.calendar_state(ALICE)
    assert state is not None and state.sync_token

    # An edit fires the bridge's trigger; the backend enqueues the sync; the meeting follows.
    runs_before = len(b.trigger_runs())
    created_before = b.stack.tasks_stats()["total"]["created"]
    b.stack.calendar(ALICE).events().patch(
        calendarId=ALICE, eventId=event["id"], body={"summary": "Planning (moved room)"}
    ).execute()
    b.settle()
    assert len(b.trigger_runs()) > runs_before
    assert all(r["status"] == "completed" for r in b.trigger_runs())
    assert b.stack.tasks_stats()["total"]["created"] > created_before
    assert b.stack.meetings()[data["conferenceId"]]["title"] == "Planning (moved room)"
    no_violations(b, ALICE)

    # A second calendar gets a trigger of its own; its meeting follows its edits too.
    team = b.stack.calendar(ALICE).calendars().insert(body={"summary": "Team"}).execute()["id"]
    other = insert(b, team, "Team sync")
    assert b.script.pick(team, other["id"], SOLUTION, ALICE)["applied"]
    assert sorted(t["sourceId"] for t in b.script.triggers(ALICE)) == sorted([ALICE, team])
    b.settle()
    b.stack.calendar(ALICE).events().patch(
        calendarId=team, eventId=other["id"], body={"summary": "Team sync, later"}
    ).execute()
    b.settle()
    team_meeting = stored(b, team, other["id"])["conferenceData"]["conferenceId"]
    assert b.stack.meetings()[team_meeting]["title"] == "Team sync, later"
    assert b.stack.calendar_state(team) is not None

    # Deleting the event deletes the meeting.
    b.stack.calendar(ALICE).events().delete(calendarId=ALICE, eventId=event["id"]).execute()
    b.settle()
    assert b.stack.meetings()[data["conferenceId"]]["deleted"]
    no_violations(b, ALICE, team)


def test_a_script_with_another_client_id_is_refused(datastore) -> None:
    # The stand-in's script has its own OAuth client: its identity tokens are for that
    # audience, which the backend does not trust. The user sees an error; nothing is made.
    with running_bridge(
        datastore.project, client_id="111111111111-other.apps.googleusercontent.com"
    ) as b:
        event = insert(b)
        answer = b.script.pick(ALICE, event["id"], SOLUTION, ALICE)
        assert answer["conferenceError"] == {"type": "PERMANENT"}
        assert not answer["applied"]
        assert b.stack.meetings() == {}
        assert b.stack.store.all_calendars() == []
        assert b.script.triggers() == []


def test_the_21st_calendar_of_a_user_is_refused_before_a_meeting_is_made(datastore) -> None:
    with running_bridge(datastore.project, sync_mode="inline") as b:
        calendars = [
            b.stack.calendar(ALICE).calendars().insert(body={"summary": f"C{i}"}).execute()["id"]
            for i in range(21)
        ]
        for calendar_id in calendars[:20]:
            event = insert(b, calendar_id)
            assert b.script.pick(calendar_id, event["id"], SOLUTION, ALICE)["applied"]
        assert len(b.script.triggers(ALICE)) == 20
        meetings = len(b.stack.meetings())
        last = insert(b, calendars[20])
        answer = b.script.pick(calendars[20], last["id"], SOLUTION, ALICE)
        assert answer["conferenceError"] == {"type": "PERMANENT"}
        assert "conferenceData" not in stored(b, calendars[20], last["id"])
        assert len(b.stack.meetings()) == meetings
        assert b.stack.calendar_state(calendars[20]) is None
        assert len(b.script.triggers(ALICE)) == 20


def test_two_trigger_deliveries_at_once_make_one_sync_that_applies_the_change_once(
    bridge: BridgeStack,
) -> None:
    b = bridge
    event = insert(b)
    assert b.script.pick(ALICE, event["id"], SOLUTION, ALICE)["applied"]
    b.settle()
    conference_id = stored(b, ALICE, event["id"])["conferenceData"]["conferenceId"]
    # The edit's own trigger runs through the stand-in; two more deliveries of the same
    # notification arrive at once, as the script would send them.
    b.stack.calendar(ALICE).events().patch(
        calendarId=ALICE, eventId=event["id"], body={"summary": "Renamed"}
    ).execute()
    token = b.stack.control(
        "POST", "/_emulator/addon/id-token", {"audience": DEFAULT_BRIDGE_CLIENT_ID, "email": ALICE}
    )["idToken"]
    body = {"calendarId": ALICE, "userOAuthToken": b.stack.user(ALICE)}

    def deliver(_: int) -> requests.Response:
        return requests.post(
            b.stack.addon_url + "/bridge/notification",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(deliver, range(2)))
    assert [a.status_code for a in answers] == [200, 200]
    assert {a.json()["status"] for a in answers} <= {"queued", "coalesced"}
    b.settle()
    updates = [c for c in b.stack.provider_calls() if c["op"] == "update"]
    assert len(updates) == 1
    assert b.stack.meetings()[conference_id]["title"] == "Renamed"
    no_violations(b, ALICE)
