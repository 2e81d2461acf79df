"""The console's view models and the runner's helpers, without I/O."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

from addon.store.records import CalendarState
from addon.tasks import names
from localrun.console import FaultWindows
from localrun.console.board import default_guest, resolve_user
from localrun.console.event_views import event_views, instance_view
from localrun.console.relations import copy_marker, offered_solutions
from localrun.console.status_view import queued_tasks, retry_line, summarise_report
from localrun.console.text import recurrence_text, when
from localrun.console.timeline import concerning, timeline
from localrun.runner import format_line

T0 = datetime(2030, 1, 7, 10, 0, tzinfo=UTC)


def event(event_id: str, **extra) -> dict:
    return {
        "id": event_id,
        "status": "confirmed",
        "summary": event_id,
        "start": {"dateTime": "2030-01-07T10:00:00Z"},
        "end": {"dateTime": "2030-01-07T11:00:00Z"},
        **extra,
    }


def conference(conference_id: str) -> dict:
    return {
        "conferenceId": conference_id,
        "conferenceSolution": {"name": "Web conference", "key": {"type": "addOn"}},
        "entryPoints": [
            {"entryPointType": "video", "uri": f"https://c.example/{conference_id}"},
            {"entryPointType": "phone", "uri": "tel:+1555", "label": "+1555", "pin": "123"},
        ],
    }


def test_times_are_shown_in_utc_with_a_range() -> None:
    assert when(
        {"dateTime": "2030-01-07T11:00:00+01:00"}, {"dateTime": "2030-01-07T11:30:00Z"}
    ) == ("Mon 7 Jan 2030 10:00\u201311:30 UTC")
    assert when(None) == "no time"


def test_copied_event_sharing_a_meeting_is_flagged_and_deleted_events_sort_last() -> None:
    events = [
        event("gone", status="cancelled", conferenceData=conference("m1")),
        event("original", conferenceData=conference("m1")),
        event("copy", conferenceData=conference("m1")),
        event("plain"),
    ]
    meetings = {"m1": {"id": "m1", "title": "x", "deleted": False, "updates": 2}}
    cards = event_views(events, meetings, {}, {})
    assert [c.id for c in cards] == ["copy", "original", "plain", "gone"]
    by_id = {c.id: c for c in cards}
    assert by_id["copy"].conference is not None
    assert by_id["copy"].conference.shared_with == ["original"]
    assert by_id["copy"].conference.join_url == "https://c.example/m1"
    assert by_id["copy"].conference.pin == "123"
    assert by_id["gone"].conference is not None and by_id["gone"].conference.shared_with == []
    assert by_id["plain"].conference is None


def test_changed_occurrences_nest_under_their_series() -> None:
    series = event("s", recurrence=["RRULE:FREQ=WEEKLY;COUNT=6"])
    moved = event("s_20300114T100000Z", recurringEventId="s")
    cards = event_views([series, moved], {}, {}, {})
    assert [c.id for c in cards] == ["s"]
    assert cards[0].recurrence == "Weekly, 6 times"
    assert [e.id for e in cards[0].exceptions] == ["s_20300114T100000Z"]
    assert recurrence_text(["EXDATE:20300101"]) == "Recurring"


def test_instance_states() -> None:
    original = {"dateTime": "2030-01-14T10:00:00Z"}
    assert instance_view({"id": "a", "start": original, "originalStartTime": original}).status == (
        "scheduled"
    )
    moved = {
        "id": "b",
        "start": {"dateTime": "2030-01-14T11:00:00Z"},
        "originalStartTime": original,
    }
    assert instance_view(moved).status == "moved"
    assert instance_view(
        {"id": "c", "status": "cancelled", "originalStartTime": original}
    ).status == ("cancelled")


def test_timeline_merges_the_three_sources_newest_first() -> None:
    triggers = [{"at": (T0 + timedelta(seconds=1)).isoformat(), "kind": "notification",
                 "status": 200, "outcome": "ok", "calendarId": "a@x"}]  # fmt: skip
    runs = {"a@x": [{"at": T0 + timedelta(seconds=2), "mode": "incremental", "pages": 1,
                     "changes": 1, "actions": {"UpdateMeeting": 1},
                     "provider_calls": {"update": 1}, "token_stored": True}]}  # fmt: skip
    update = {"method": "PATCH", "op": "update", "meetingId": "m1", "outcome": "applied",
              "status": 200}  # fmt: skip
    failed = {"method": "POST", "op": "create", "meetingId": None, "outcome": "fault",
              "status": 503}  # fmt: skip
    provider: list[tuple[datetime | None, dict]] = [
        (T0 + timedelta(seconds=1.5), update),
        (None, failed),
    ]
    entries = timeline(triggers, runs, provider)
    assert [e.source for e in entries] == ["sync", "provider", "trigger", "provider"]
    assert entries[0].title == "incremental sync \u00b7 1 list call(s) \u00b7 1 change(s)"
    assert "provider update\u00d71" in entries[0].detail
    assert entries[1].op == "update" and entries[1].tone == "ok"
    assert entries[3].tone == "error" and entries[3].time == "\u2014"


def test_report_summary_names_errors_and_pending() -> None:
    text = summarise_report({"mode": "full", "pages": 2, "changes": 5, "pending": 1,
                             "error": "CalendarUnavailable: 429"})  # fmt: skip
    assert text.startswith("full sync") and "1 pending" in text and "429" in text
    assert summarise_report({}) == "no sync yet"


def test_fault_windows_end_by_themselves_and_can_be_closed_early() -> None:
    windows = FaultWindows()
    ended = threading.Event()
    windows.open("outage", 0.05, ended.set)
    assert "outage" in windows.active()
    assert ended.wait(2) and "outage" not in windows.active()

    closed: list[str] = []
    windows.open("rate", 30, lambda: closed.append("timer"))
    windows.close("rate", lambda: closed.append("close"))
    assert closed == ["close"] and windows.active() == {}


def test_backend_json_log_lines_are_made_readable() -> None:
    line = json.dumps({"severity": "INFO", "message": "sync finished", "logger": "addon.sync",
                       "time": "t", "pages": 1})  # fmt: skip
    assert format_line("backend", line) == "  backend | INFO    addon.sync: sync finished  pages=1"
    assert format_line("emulator", "plain text\n") == " emulator | plain text"


def test_status_shows_parked_changes_the_next_retry_and_what_it_waits_for() -> None:
    from addon.store.records import CalendarState, PendingChange
    from localrun.console.status_view import status_view

    state = CalendarState(
        "alice@example.com",
        subscribed=True,
        retry_count=2,
        retry_at=T0 + timedelta(seconds=20),
        attention="Calendar refused the user's token (401): syncing resumes with the next trigger",
    )
    parked = PendingChange(
        "alice@example.com",
        "ev123456789012345",
        {"id": "ev123456789012345"},
        action="WriteBack",
        kind="permanent",
        attempts=3,
        last_error="Calendar refused the change (403 forbidden)",
        parked=True,
    )
    view = status_view("alice@example.com", state, 0, [], [], T0, None, [parked])
    assert view.parked == [
        ("ev123456789012345", "WriteBack", "Calendar refused the change (403 forbidden)")
    ]
    assert view.next_retry == "next retry in 20 s (at 10:00:20) · attempt 3"
    assert view.attention is not None and "401" in view.attention
    summary = summarise_report({"mode": "full", "token_expired": True, "replayed": 2, "parked": 1})
    assert "410: token expired" in summary and "replayed 2" in summary and "1 parked" in summary


def test_the_queue_panel_lists_this_calendars_tasks_soonest_first() -> None:
    now = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)
    alice, bob = "alice@example.com", "bob@example.com"
    window, _ = names.debounced(alice, now.timestamp(), 2.0)
    queues = [
        {
            "tasks": [
                {"id": names.at_moment(alice, "r", 0), "scheduleTime": "2030-01-01T12:00:30Z",
                 "dispatchCount": 2, "lastAttemptStatus": 503},
                {"id": window, "scheduleTime": "2030-01-01T12:00:01.500Z", "dispatchCount": 0},
                {"id": names.debounced(bob, now.timestamp(), 2.0)[0],
                 "scheduleTime": "2030-01-01T12:00:01Z"},
                {"id": names.continuation(alice, "a" * 32, 2), "running": True,
                 "scheduleTime": "2030-01-01T11:59:59Z", "dispatchCount": 1},
            ]
        }
    ]  # fmt: skip
    rows = queued_tasks(alice, queues, now)
    assert rows == [
        ("next time slice", "running", 1, ""),
        ("sync (debounced trigger)", "in 1.5 s", 0, ""),
        ("retry of work left", "in 30.0 s", 2, "503"),
    ]


def owned(conference_id: str, event_id: str, solution_id: str = "web-conference") -> dict:
    """Conference data as the add-on writes it: its parameters name the owning event."""
    data = conference(conference_id)
    parameters = {"ownerCalendarId": "a@x", "ownerEventId": event_id, "solutionId": solution_id}
    data["parameters"] = {"addOnParameters": {"parameters": parameters}}
    return data


def test_a_copy_is_marked_linked_to_its_original_and_sorted_after_it() -> None:
    original = event("orig", summary="Design review", conferenceData=owned("m1", "orig"))
    # Made by the console's copy action, after the add-on gave it its own meeting.
    marked = event("aaa-copy", summary="Design review", conferenceData=owned("m2", "aaa-copy"),
                   extendedProperties=copy_marker("orig"))  # fmt: skip
    # Made through the API and not handled yet: it still carries the original's conference.
    carried = event("bbb-copy", summary="Design review", conferenceData=owned("m1", "orig"))
    # An occurrence carries its series' conference: that does not make it a copy.
    series = event("s", recurrence=["RRULE:FREQ=WEEKLY;COUNT=2"], conferenceData=owned("m3", "s"))
    moved = event("s_20300114T100000Z", recurringEventId="s", conferenceData=owned("m3", "s"))
    later = event("later", start={"dateTime": "2030-01-07T10:30:00Z"})
    cards = event_views([marked, carried, later, original, series, moved], {}, {}, {})
    assert [c.id for c in cards] == ["orig", "aaa-copy", "bbb-copy", "s", "later"]
    by_id = {c.id: c for c in cards}
    assert by_id["aaa-copy"].copy_of == "orig"
    assert by_id["aaa-copy"].copy_of_title == "Design review"
    assert by_id["bbb-copy"].copy_of == "orig"
    assert by_id["orig"].copies == ["aaa-copy", "bbb-copy"]
    assert by_id["orig"].copy_of is None and by_id["s"].copy_of is None
    assert by_id["s"].exceptions[0].copy_of is None


def test_a_copy_whose_original_is_elsewhere_or_deleted_keeps_its_place() -> None:
    gone = event("orig", status="cancelled")
    copy = event("copy", extendedProperties=copy_marker("orig"))
    stranger = event("other", extendedProperties=copy_marker("not-here"))
    cards = event_views([gone, copy, stranger], {}, {}, {})
    assert [c.id for c in cards] == ["copy", "other", "orig"]
    assert cards[0].copy_of_title == "orig" and cards[2].copies == ["copy"]
    assert cards[1].copy_of == "not-here" and cards[1].copy_of_title is None


def test_an_invitation_names_its_organizer_and_the_guests_answer() -> None:
    mine = event("mine", organizer={"email": "bob@x", "self": True})
    invited = event(
        "theirs",
        organizer={"email": "alice@x"},
        attendees=[{"email": "bob@x", "self": True, "responseStatus": "needsAction"}],
        conferenceData=owned("m1", "theirs"),
    )
    cards = {c.id: c for c in event_views([mine, invited], {}, {}, {})}
    assert not cards["mine"].invitation and cards["mine"].organizer is None
    assert cards["theirs"].invitation and cards["theirs"].organizer == "alice@x"
    assert cards["theirs"].response == "not answered yet"
    # Same id as the organizer's event: an invitation is not a copy.
    assert cards["theirs"].copy_of is None


def test_only_solutions_the_event_does_not_have_are_offered() -> None:
    solutions = [{"id": "web-conference", "name": "Web conference"},
                 {"id": "recorded", "name": "Recorded web conference"}]  # fmt: skip
    [card] = event_views([event("e", conferenceData=owned("m1", "e"))], {}, {}, {})
    assert card.conference is not None and card.conference.solution_id == "web-conference"
    assert offered_solutions(card.conference.solution_id, solutions) == [solutions[1]]
    assert offered_solutions(None, solutions) == solutions


def test_the_user_asked_for_is_found_by_email_in_any_case_or_by_name() -> None:
    users = ["alice@example.com", "bob@example.com"]
    assert resolve_user(None, users) == "alice@example.com"
    assert resolve_user("bob@example.com", users) == "bob@example.com"
    assert resolve_user("Bob@Example.com", users) == "bob@example.com"
    assert resolve_user("bob", users) == "bob@example.com"
    assert resolve_user("carol", users) == "carol"  # nobody: the page says so
    assert resolve_user(None, []) == ""


def test_the_guest_field_defaults_to_another_user() -> None:
    users = ["alice@example.com", "bob@example.com"]
    assert default_guest("bob@example.com", users) == "alice@example.com"
    assert default_guest("alice@example.com", users) == "bob@example.com"
    assert default_guest("alice@example.com", ["alice@example.com"]) == ""


def test_the_log_keeps_what_concerns_the_user() -> None:
    alice, bob = "alice@example.com", "bob@example.com"
    at = T0.isoformat()
    triggers = [
        {"at": at, "kind": "notification", "status": 200, "outcome": "ok", "calendarId": alice},
        {"at": at, "kind": "onCreate", "status": 200, "outcome": "ok", "calendarId": alice,
         "eventId": "invited"},
        {"at": at, "kind": "onCreate", "status": 200, "outcome": "ok", "calendarId": alice,
         "eventId": "private"},
        {"at": at, "kind": "notification", "status": 200, "outcome": "ok", "calendarId": bob},
    ]  # fmt: skip
    runs = {alice: [{"at": T0, "mode": "incremental"}], bob: [{"at": T0, "mode": "full"}]}
    meetings = {"m1": {"id": "m1", "calendarId": alice, "eventId": "invited"},
                "m2": {"id": "m2", "calendarId": alice, "eventId": "private"}}  # fmt: skip
    provider: list[tuple[datetime | None, dict]] = [
        (T0, {"method": "PATCH", "op": "update", "meetingId": "m1", "outcome": "applied"}),
        (T0, {"method": "PATCH", "op": "update", "meetingId": "m2", "outcome": "applied"}),
        (T0, {"method": "POST", "op": "create", "meetingId": None, "outcome": "fault",
              "idempotencyKey": f"create:web-conference:{alice}:invited:g0"}),
        (T0, {"method": "POST", "op": "create", "meetingId": None, "outcome": "fault",
              "idempotencyKey": "create:web:too-long-so-hashed:9f8e7d"}),
    ]  # fmt: skip
    everything = timeline(triggers, runs, provider, meetings=meetings)
    assert len(everything) == 10
    # Bob sees his calendar, the event he is invited to (same id as alice's) and its meeting.
    mine = concerning(everything, [bob], {"invited"}, {"m1"})
    assert {(e.source, e.calendar, e.event, e.meeting) for e in mine} == {
        ("trigger", alice, "invited", ""),
        ("trigger", bob, "", ""),
        ("sync", bob, "", ""),
        ("provider", alice, "invited", "m1"),
        ("provider", alice, "invited", ""),
    }
    # Alice sees everything of her calendar; a creation nobody can be told from, nobody sees.
    hers = concerning(everything, [alice], {"invited", "private"}, {"m1", "m2"})
    assert len(hers) == 7 and all(e.calendar == alice for e in hers)


def test_a_410_gets_a_line_of_its_own_and_a_replay_is_in_the_runs_title() -> None:
    runs = {"a@x": [
        {"at": T0, "mode": "full", "pages": 2, "changes": 3, "token_expired": True,
         "reconciled": 2, "replayed": 1, "token_stored": True},
        {"at": T0 - timedelta(seconds=5), "mode": "incremental", "pages": 1, "changes": 0},
    ]}  # fmt: skip
    entries = timeline([], runs, [])
    assert [(e.source, e.op) for e in entries] == [
        ("sync", "full"), ("calendar", "410"), ("sync", "incremental")]  # fmt: skip
    run, expired, quiet = entries
    assert run.title == "full sync \u00b7 2 list call(s) \u00b7 3 change(s) \u00b7 replayed 1"
    assert expired.title == "sync token expired (410) \u2192 full sync and reconcile, 2 reconciled"
    assert expired.tone == "warn" and expired.calendar == "a@x"
    assert "replayed" not in quiet.title


def test_the_retry_line_says_when_and_at_what_time() -> None:
    state = CalendarState("a@x", retry_count=0, retry_at=T0 + timedelta(seconds=5.2))
    assert retry_line(state, 1, T0) == "next retry in 6 s (at 10:00:05) · attempt 1"
    assert retry_line(state, 1, T0 + timedelta(seconds=9)) == (
        "next retry due now (at 10:00:05) · attempt 1"
    )
    idle = CalendarState("a@x")
    assert retry_line(idle, 2, T0) == "no retry scheduled: the calendar's next change replays them"
    assert retry_line(idle, 0, T0) is None and retry_line(None, 0, T0) is None
