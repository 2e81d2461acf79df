"""Conference creation end to end: the emulator's add-on host plays Google."""

from __future__ import annotations

import pytest

from tests.e2e.stack import RECORDED, SOLUTION, Stack

pytestmark = pytest.mark.datastore

ALICE = "alice@example.com"


def insert_event(stack: Stack, summary: str = "Planning", **extra) -> dict:
    body = {
        "summary": summary,
        "start": {"dateTime": "2030-01-07T10:00:00Z"},
        "end": {"dateTime": "2030-01-07T11:00:00Z"},
        "attendees": [{"email": "bob@example.com"}],
        **extra,
    }
    return stack.calendar(ALICE).events().insert(calendarId=ALICE, body=body).execute()


def test_pick_solution_creates_meeting_subscribes_and_takes_token(stack: Stack) -> None:
    event = insert_event(stack)
    answer = stack.pick(ALICE, event["id"], ALICE)
    assert answer["applied"] and answer["subscribed"], answer
    markup = answer["addonResponse"]["renderActions"]["hostAppAction"]["calendarAction"]
    assert markup["calendarSubscriptionActionMarkup"] == {
        "operation": "CREATE",
        "calendarId": ALICE,
    }
    data = markup["createConferenceDataActionMarkup"]["createConferenceData"]
    assert data["conferenceSolutionId"] == SOLUTION
    video = [e for e in data["entryPoints"] if e["type"] == "VIDEO"]
    assert len(video) == 1 and video[0]["uri"].startswith("http")

    stored = stack.calendar(ALICE).events().get(calendarId=ALICE, eventId=event["id"]).execute()
    assert stored["conferenceData"]["conferenceId"] == data["conferenceId"]
    assert stored["conferenceData"]["conferenceSolution"]["key"]["type"] == "addOn"

    meeting = stack.meetings()[data["conferenceId"]]
    assert meeting["title"] == "Planning" and meeting["eventId"] == event["id"]
    record = stack.store.get_conference(ALICE, event["id"])
    assert record is not None and record.conference_id == data["conferenceId"]
    assert record.snapshot.summary == "Planning"
    state = stack.calendar_state(ALICE)
    assert state is not None and state.subscribed and state.sync_token


def test_repeated_pick_is_idempotent_and_not_resubscribed(stack: Stack) -> None:
    event = insert_event(stack)
    first = stack.pick(ALICE, event["id"], ALICE)
    second = stack.pick(ALICE, event["id"], ALICE)
    calendar_action = second["addonResponse"]["renderActions"]["hostAppAction"]["calendarAction"]
    assert "calendarSubscriptionActionMarkup" not in calendar_action
    assert second["conferenceData"]["conferenceId"] == first["conferenceData"]["conferenceId"]
    creates = [c for c in stack.provider_calls() if c["op"] == "create"]
    assert len(creates) == 1


def test_second_event_on_subscribed_calendar_is_not_subscribed_again(stack: Stack) -> None:
    one, two = insert_event(stack, "One"), insert_event(stack, "Two")
    assert stack.pick(ALICE, one["id"], ALICE)["subscribed"]
    answer = stack.pick(ALICE, two["id"], ALICE)
    assert answer["applied"]
    calendar_action = answer["addonResponse"]["renderActions"]["hostAppAction"]["calendarAction"]
    assert "calendarSubscriptionActionMarkup" not in calendar_action


def test_event_not_created_yet_still_gets_a_meeting(stack: Stack) -> None:
    stack.user(ALICE)
    answer = stack.pick(ALICE, "notyetcreated123", ALICE)
    assert answer["eventMissing"] and answer["addonStatus"] == 200
    assert answer["conferenceData"]["conferenceId"]
    assert stack.store.get_conference(ALICE, "notyetcreated123") is not None


def test_switching_solution_retires_the_old_meeting(stack: Stack) -> None:
    event = insert_event(stack)
    first = stack.pick(ALICE, event["id"], ALICE)
    second = stack.pick(ALICE, event["id"], ALICE, solution=RECORDED)
    old, new = first["conferenceData"]["conferenceId"], second["conferenceData"]["conferenceId"]
    assert old != new
    meetings = stack.meetings()
    assert meetings[old]["deleted"] and not meetings[new]["deleted"]
