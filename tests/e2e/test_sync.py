"""Every event change reaches its meeting once: driven by the emulator's own triggers."""

from __future__ import annotations

from typing import Any

import pytest

from addon.conference_data import join_digest
from tests.e2e.stack import Stack

pytestmark = pytest.mark.datastore

ALICE = "alice@example.com"


def new_conference(stack: Stack, summary: str = "Planning", **extra: Any) -> tuple[dict, str]:
    api = stack.calendar(ALICE)
    body = {
        "summary": summary,
        "start": {"dateTime": "2030-01-07T10:00:00Z"},
        "end": {"dateTime": "2030-01-07T11:00:00Z"},
        "attendees": [{"email": "bob@example.com"}],
        **extra,
    }
    event = api.events().insert(calendarId=ALICE, body=body).execute()
    answer = stack.pick(ALICE, event["id"], ALICE)
    assert answer["applied"], answer
    stack.settle()
    return event, answer["conferenceData"]["conferenceId"]


def patch(stack: Stack, event_id: str, body: dict) -> dict:
    api = stack.calendar(ALICE)
    event = api.events().patch(calendarId=ALICE, eventId=event_id, body=body).execute()
    stack.settle()
    return event


def ops(stack: Stack) -> list[str]:
    return [c["op"] for c in stack.provider_calls()]


def test_record_is_confirmed_after_calendar_shows_the_conference(stack: Stack) -> None:
    event, _ = new_conference(stack)
    record = stack.store.get_conference(ALICE, event["id"])
    assert record is not None and record.confirmed
    assert ops(stack) == ["create"]  # the echo of Calendar's own write made no provider call
    # What Calendar stored from our answer is recognised as our join data: nothing is owed,
    # so no write-back (and no write-back echo) follows.
    assert record.written_digest == join_digest(record.meeting)
    runs = stack.store.recent_sync_runs(ALICE, limit=50)
    assert sum(r["write_backs"] for r in runs) == 0


@pytest.mark.parametrize(
    ("change", "field", "expected"),
    [
        (
            {
                "start": {"dateTime": "2030-01-07T12:00:00Z"},
                "end": {"dateTime": "2030-01-07T13:00:00Z"},
            },
            "start",
            {"dateTime": "2030-01-07T12:00:00Z"},
        ),
        ({"summary": "Renamed"}, "title", "Renamed"),
        (
            {"attendees": [{"email": "bob@example.com"}, {"email": "carol@example.com"}]},
            "attendees",
            ["bob@example.com", "carol@example.com"],
        ),
    ],
)
def test_meaningful_edits_update_the_meeting_once(stack: Stack, change, field, expected) -> None:
    event, meeting_id = new_conference(stack)
    patch(stack, event["id"], change)
    assert ops(stack) == ["create", "update"]
    assert stack.meetings()[meeting_id][field] == expected
    # A second quiet sync changes nothing.
    stack.services.engine.sync(ALICE, stack.services.calendar_for_token(stack.user(ALICE)))
    assert ops(stack) == ["create", "update"]


def test_rsvp_colour_and_reminders_make_no_provider_call(stack: Stack) -> None:
    event, _ = new_conference(stack)
    patch(
        stack,
        event["id"],
        {"attendees": [{"email": "bob@example.com", "responseStatus": "accepted"}]},
    )
    patch(stack, event["id"], {"colorId": "5"})
    patch(
        stack,
        event["id"],
        {"reminders": {"useDefault": False, "overrides": [{"method": "popup", "minutes": 5}]}},
    )
    assert ops(stack) == ["create"]
    state = stack.calendar_state(ALICE)
    assert state.last_result["changes"] >= 1 and not state.last_result["error"]


def test_delete_deletes_the_meeting_once(stack: Stack) -> None:
    event, meeting_id = new_conference(stack)
    stack.calendar(ALICE).events().delete(calendarId=ALICE, eventId=event["id"]).execute()
    stack.settle()
    assert stack.meetings()[meeting_id]["deleted"]
    assert ops(stack) == ["create", "delete"]
    record = stack.store.get_conference(ALICE, event["id"])
    assert record is not None and record.state == "deleted"


def test_recurring_series_occurrences_and_series(stack: Stack) -> None:
    series, meeting_id = new_conference(stack, "Weekly", recurrence=["RRULE:FREQ=WEEKLY;COUNT=6"])
    api = stack.calendar(ALICE)
    instances = api.events().instances(calendarId=ALICE, eventId=series["id"]).execute()["items"]
    assert len(instances) == 6
    moved, cancelled = instances[1], instances[2]
    api.events().patch(
        calendarId=ALICE,
        eventId=moved["id"],
        body={
            "start": {"dateTime": "2030-01-14T15:00:00Z"},
            "end": {"dateTime": "2030-01-14T16:00:00Z"},
        },
    ).execute()
    stack.settle()
    api.events().delete(calendarId=ALICE, eventId=cancelled["id"]).execute()
    stack.settle()
    meeting = stack.meetings()[meeting_id]
    assert not meeting["deleted"]
    changes = meeting["occurrences"]
    assert [c["cancelled"] for c in changes] == [False, True]
    assert ops(stack) == ["create", "occurrence", "occurrence"]

    patch(stack, series["id"], {"summary": "Weekly sync"})
    assert ops(stack)[-1] == "update" and stack.meetings()[meeting_id]["title"] == "Weekly sync"
    api.events().delete(calendarId=ALICE, eventId=series["id"]).execute()
    stack.settle()
    assert stack.meetings()[meeting_id]["deleted"]
    assert ops(stack).count("delete") == 1


def test_copied_event_gets_its_own_meeting_written_back(stack: Stack) -> None:
    original, meeting_id = new_conference(stack)
    api = stack.calendar(ALICE)
    source = api.events().get(calendarId=ALICE, eventId=original["id"]).execute()
    copy_body = {k: source[k] for k in ("summary", "start", "end", "attendees", "conferenceData")}
    copy = api.events().insert(calendarId=ALICE, body=copy_body, conferenceDataVersion=1).execute()
    assert copy["conferenceData"]["conferenceId"] == meeting_id
    stack.settle()
    copied = api.events().get(calendarId=ALICE, eventId=copy["id"]).execute()
    new_id = copied["conferenceData"]["conferenceId"]
    assert new_id != meeting_id
    assert stack.meetings()[new_id]["eventId"] == copy["id"]
    kept = api.events().get(calendarId=ALICE, eventId=original["id"]).execute()
    assert kept["conferenceData"]["conferenceId"] == meeting_id
    assert ops(stack) == ["create", "create"]


def test_expired_token_and_deletion_in_the_gap_is_reconciled(stack: Stack) -> None:
    event, meeting_id = new_conference(stack)
    keep, keep_meeting = new_conference(stack, "Keep me")
    stack.control("POST", "/_emulator/addon/notifications", {"dropRate": 1.0})
    stack.calendar(ALICE).events().delete(calendarId=ALICE, eventId=event["id"]).execute()
    stack.control("POST", f"/_emulator/calendars/{ALICE}/expire-sync-tokens")
    stack.control("POST", "/_emulator/addon/notifications", {"dropRate": 0.0})
    patch(stack, keep["id"], {"colorId": "3"})  # any change fires a trigger
    state = stack.calendar_state(ALICE)
    assert state.last_result["mode"] == "full" and state.sync_token
    assert stack.meetings()[meeting_id]["deleted"]
    assert not stack.meetings()[keep_meeting]["deleted"]


def test_provider_outage_keeps_changes_pending_until_it_is_back(stack: Stack) -> None:
    event, meeting_id = new_conference(stack)
    stack.conferencing.set_fault("down")
    patch(stack, event["id"], {"summary": "During outage"})
    state = stack.calendar_state(ALICE)
    assert state.pending_count == 1 and state.due and state.sync_token
    assert stack.meetings()[meeting_id]["title"] == "Planning"
    stack.conferencing.set_fault(None)
    patch(stack, event["id"], {"colorId": "2"})  # next trigger replays the pending change
    assert stack.meetings()[meeting_id]["title"] == "During outage"
    assert stack.calendar_state(ALICE).pending_count == 0
    assert [c["op"] for c in stack.provider_calls()].count("update") == 1


def test_calendar_429_and_503_are_backed_off_without_loss(stack: Stack) -> None:
    event, meeting_id = new_conference(stack)
    stack.control(
        "POST",
        "/_emulator/faults",
        {
            "rules": [
                {
                    "method": "calendar.events.list",
                    "status": 429,
                    "reason": "rateLimitExceeded",
                    "count": 2,
                },
                {"method": "calendar.events.list", "status": 503, "count": 1},
            ]
        },
    )
    patch(stack, event["id"], {"summary": "Through the storm"})
    rules = stack.control("GET", "/_emulator/faults")["rules"]
    assert [r["count"] for r in rules] == [0, 0], "every injected failure was hit"
    assert stack.meetings()[meeting_id]["title"] == "Through the storm"
    assert not stack.calendar_state(ALICE).last_result["error"]
