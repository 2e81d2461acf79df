"""The planner, without I/O: events seen + records stored -> actions."""

from __future__ import annotations

from typing import Any

from addon.conference_data import owner_parameters
from addon.providers.base import EntryPoint, Meeting
from addon.store.records import Conference, EventSnapshot
from addon.sync.plan import (
    ChangeOccurrence,
    Confirm,
    CreateForCopy,
    DeleteMeeting,
    UpdateMeeting,
    WriteBack,
    occurrence_fingerprint,
    plan,
    plan_event,
)

CAL = "alice@example.com"
SOLUTIONS = frozenset({"web"})


def event(
    event_id: str = "ev1", conference_id: str | None = "m1", owner: str | None = None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": event_id,
        "status": "confirmed",
        "etag": '"1"',
        "summary": "Standup",
        "start": {"dateTime": "2026-12-01T10:00:00Z"},
        "end": {"dateTime": "2026-12-01T10:30:00Z"},
        "attendees": [{"email": "bob@example.com"}],
    }
    if conference_id:
        body["conferenceData"] = {
            "conferenceId": conference_id,
            "conferenceSolution": {"key": {"type": "addOn"}, "name": "Web"},
            "parameters": {
                "addOnParameters": {"parameters": owner_parameters(CAL, owner or event_id, "web")}
            },
        }
    body.update(extra)
    return body


def record(ev: dict[str, Any], confirmed: bool = True, **changes: Any) -> Conference:
    conf = Conference(
        calendar_id=CAL,
        event_id=ev["id"],
        solution_id="web",
        conference_id="m1",
        meeting=Meeting("m1", (EntryPoint(type="video", uri="https://x/m1"),)),
        snapshot=EventSnapshot.from_event(ev),
        confirmed=confirmed,
    )
    return conf.with_(**changes)


def test_ordinary_events_and_tombstones_without_records_are_ignored() -> None:
    assert (
        plan([{"id": "x", "status": "cancelled"}, {"id": "y"}, {}, {"id": 5}], {}, {}, SOLUTIONS)
        == []
    )
    # Malformed conference data never raises.
    weird = {"id": "z", "conferenceData": {"conferenceSolution": "nope", "parameters": [1]}}
    assert plan([weird], {}, {}, SOLUTIONS) == []


def test_tombstone_with_only_id_deletes_the_meeting() -> None:
    ev = event()
    actions = plan_event({"id": "ev1", "status": "cancelled"}, {"ev1": record(ev)}, {}, SOLUTIONS)
    assert [type(a) for a in actions] == [DeleteMeeting]


def test_meeting_fields_trigger_update_and_others_do_not() -> None:
    ev = event()
    rec = record(ev)
    for change in (
        {"start": {"dateTime": "2026-12-01T11:00:00Z"}},
        {"summary": "Retro"},
        {"attendees": [{"email": "bob@example.com"}, {"email": "carol@example.com"}]},
        {"recurrence": ["RRULE:FREQ=WEEKLY"]},
    ):
        actions = plan_event({**ev, **change, "etag": '"2"'}, {"ev1": rec}, {}, SOLUTIONS)
        assert [type(a) for a in actions] == [UpdateMeeting], change
    rsvp = {
        **ev,
        "etag": '"3"',
        "attendees": [{"email": "bob@example.com", "responseStatus": "accepted"}],
    }
    colour = {**ev, "etag": '"4"', "colorId": "5", "reminders": {"useDefault": False}}
    assert plan([rsvp, colour], {"ev1": rec}, {}, SOLUTIONS) == []


def test_first_sight_of_our_conference_confirms_once() -> None:
    ev = event()
    rec = record(ev, confirmed=False)
    assert [type(a) for a in plan_event(ev, {"ev1": rec}, {}, SOLUTIONS)] == [Confirm]
    # Before Calendar wrote the conference onto the event: nothing to do, not a removal.
    bare = event(conference_id=None)
    assert plan_event(bare, {"ev1": rec}, {}, SOLUTIONS) == []


def test_removed_conference_deletes_confirmed_meeting() -> None:
    ev = event()
    actions = plan_event(event(conference_id=None), {"ev1": record(ev)}, {}, SOLUTIONS)
    assert [type(a) for a in actions] == [DeleteMeeting]


def test_copied_event_gets_its_own_meeting() -> None:
    original = event()
    copy = event("ev2", conference_id="m1", owner="ev1")
    rec = record(original)
    actions = plan_event(copy, {"ev1": rec}, {"m1": rec}, SOLUTIONS)
    assert len(actions) == 1 and isinstance(actions[0], CreateForCopy)
    assert actions[0].source == rec
    # Even without finding the owner record, the parameters reveal a copy.
    assert [type(a) for a in plan_event(copy, {}, {}, SOLUTIONS)] == [CreateForCopy]
    # Another add-on's solution is none of our business.
    foreign = event("ev3", conference_id="zz", owner="other")
    foreign["conferenceData"]["parameters"]["addOnParameters"]["parameters"]["solutionId"] = "x"
    assert plan_event(foreign, {}, {}, SOLUTIONS) == []


def test_copy_whose_write_back_did_not_land_is_written_again() -> None:
    original = record(event())
    copy_event = event("ev2", conference_id="m1", owner="ev1")
    copy_record = original.with_(event_id="ev2", conference_id="m2", confirmed=False)
    actions = plan_event(copy_event, {"ev2": copy_record}, {"m1": original}, SOLUTIONS)
    assert [type(a) for a in actions] == [WriteBack]


def test_copy_whose_conference_was_removed_before_write_back_loses_its_meeting() -> None:
    copy_record = record(event("ev2"), confirmed=False, origin="copy", conference_id="m2")
    actions = plan_event(event("ev2", conference_id=None), {"ev2": copy_record}, {}, SOLUTIONS)
    assert [type(a) for a in actions] == [DeleteMeeting]


def test_occurrences_change_the_series_meeting_never_delete_it() -> None:
    series_ev = event("s1", recurrence=["RRULE:FREQ=WEEKLY;COUNT=5"])
    series = record(series_ev)
    moved = event(
        "s1_20261208T100000Z",
        conference_id="m1",
        owner="s1",
        recurringEventId="s1",
        originalStartTime={"dateTime": "2026-12-08T10:00:00Z"},
        start={"dateTime": "2026-12-08T12:00:00Z"},
    )
    cancelled = {
        "id": "s1_20261215T100000Z",
        "status": "cancelled",
        "recurringEventId": "s1",
        "originalStartTime": {"dateTime": "2026-12-15T10:00:00Z"},
    }
    actions = plan([moved, cancelled], {"s1": series}, {}, SOLUTIONS)
    assert [type(a) for a in actions] == [ChangeOccurrence, ChangeOccurrence]
    assert [a.cancelled for a in actions if isinstance(a, ChangeOccurrence)] == [False, True]
    # Already applied: the same occurrence state plans nothing.
    done = series.with_(occurrences={moved["id"]: occurrence_fingerprint(moved)})
    assert plan_event(moved, {"s1": done}, {}, SOLUTIONS) == []
    # The series itself deleted: its meeting goes.
    assert [
        type(a)
        for a in plan_event({"id": "s1", "status": "cancelled"}, {"s1": series}, {}, SOLUTIONS)
    ] == [DeleteMeeting]


def test_deleted_record_is_final() -> None:
    ev = event()
    rec = record(ev, state="deleted")
    assert plan_event({**ev, "summary": "again"}, {"ev1": rec}, {}, SOLUTIONS) == []
    assert plan_event({"id": "ev1", "status": "cancelled"}, {"ev1": rec}, {}, SOLUTIONS) == []
