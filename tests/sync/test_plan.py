"""The planner, without I/O: events seen + records stored -> actions."""

from __future__ import annotations

from typing import Any

from addon.conference_data import join_digest, owner_parameters
from addon.providers.base import EntryPoint, Meeting
from addon.store.records import Conference, EventSnapshot
from addon.sync.plan import (
    ChangeOccurrence,
    Confirm,
    CreateForCopy,
    DeleteMeeting,
    PlanContext,
    Skip,
    UpdateMeeting,
    WriteBack,
    occurrence_fingerprint,
    plan,
    plan_event,
)

CAL = "alice@example.com"
SOLUTIONS = PlanContext(CAL, frozenset({"web"}))
READER = PlanContext(CAL, frozenset({"web"}), access_role="reader")


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
    meeting = Meeting("m1", (EntryPoint(type="video", uri="https://x/m1"),))
    conf = Conference(
        calendar_id=CAL,
        event_id=ev["id"],
        solution_id="web",
        conference_id="m1",
        meeting=meeting,
        snapshot=EventSnapshot.from_event(ev),
        confirmed=confirmed,
        written_digest=join_digest(meeting) if confirmed else None,
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


def test_deleted_record_stays_deleted_unless_the_event_carries_its_meeting_again() -> None:
    ev = event()
    rec = record(ev, state="deleted", generation=2)
    assert plan_event(event(conference_id=None), {"ev1": rec}, {}, SOLUTIONS) == []
    assert plan_event({"id": "ev1", "status": "cancelled"}, {"ev1": rec}, {}, SOLUTIONS) == []
    # Restored from the trash (or re-added while we deleted it): a dead link must not stay.
    actions = plan_event({**ev, "summary": "again"}, {"ev1": rec}, {}, SOLUTIONS)
    assert [type(a) for a in actions] == [CreateForCopy]
    assert isinstance(actions[0], CreateForCopy) and actions[0].generation == 3


def test_a_calendar_the_user_can_only_read_gets_no_write_back() -> None:
    original = record(event())
    copy = event("ev2", conference_id="m1", owner="ev1")
    actions = plan_event(copy, {"ev1": original}, {"m1": original}, READER)
    assert [type(a) for a in actions] == [Skip]
    assert isinstance(actions[0], Skip) and actions[0].attention
    stale = original.with_(written_digest="not what the meeting says")
    actions = plan_event(event(), {"ev1": stale}, {}, READER)
    assert [type(a) for a in actions] == [Skip]
    assert [type(a) for a in plan_event(event(), {"ev1": stale}, {}, SOLUTIONS)] == [WriteBack]


def test_an_invitation_is_the_organizers_business() -> None:
    """An event in our calendar organized elsewhere, carrying conference data that claims to
    be ours (someone else's meeting, or forged): nothing is planned, whatever it says."""
    original = record(event())
    invited = event("ev9", conference_id="m1", owner="ev1",
                    organizer={"email": "mallory@outside.example"})  # fmt: skip
    assert plan_event(invited, {}, {"m1": original}, SOLUTIONS) == []
    forged = event("ev9", conference_id="zz", owner="ev1",
                   organizer={"email": "mallory@outside.example"})  # fmt: skip
    assert plan_event(forged, {}, {}, SOLUTIONS) == []
    mine = event("ev9", conference_id="m1", owner="ev1", organizer={"email": CAL})
    assert [type(a) for a in plan_event(mine, {}, {"m1": original}, SOLUTIONS)] == [CreateForCopy]


def test_a_solution_no_longer_configured_is_skipped_with_its_reason() -> None:
    rec = record(event(), solution_id="gone")
    actions = plan_event({**event(), "summary": "Renamed"}, {"ev1": rec}, {}, SOLUTIONS)
    assert [type(a) for a in actions] == [Skip]
    assert isinstance(actions[0], Skip) and "gone" in actions[0].reason
    assert plan_event(event(), {"ev1": rec}, {}, SOLUTIONS) == []  # nothing to do anyway


def test_an_older_event_version_than_the_applied_one_plans_nothing() -> None:
    newer = event(updated="2026-12-01T10:05:00.000Z", summary="v2")
    rec = record(newer)
    older = event(updated="2026-12-01T10:00:00.000Z", summary="v1")
    assert plan_event(older, {"ev1": rec}, {}, SOLUTIONS) == []


def test_an_unconfirmed_meeting_is_removed_once_a_later_version_shows_no_conference() -> None:
    """A listing shows only an event's latest version: saved after onCreate read it and not
    carrying our conference, it was saved without it; the same version is just not written yet."""
    read = event(conference_id=None, updated="2026-12-01T09:00:00.000Z")
    rec = record(read, confirmed=False)
    assert plan_event(read, {"ev1": rec}, {}, SOLUTIONS) == []
    later = {**read, "etag": '"9"', "updated": "2026-12-01T09:05:00.000Z"}
    assert [type(a) for a in plan_event(later, {"ev1": rec}, {}, SOLUTIONS)] == [DeleteMeeting]
