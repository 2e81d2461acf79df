"""The console's view models and the runner's helpers, without I/O."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

from addon.tasks import names
from localrun.console import FaultWindows
from localrun.console.event_views import event_views, instance_view
from localrun.console.status_view import queued_tasks, summarise_report
from localrun.console.text import recurrence_text, when
from localrun.console.timeline import timeline
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
    assert view.next_retry == "in 20 s (attempt 3, at 10:00:20)"
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
