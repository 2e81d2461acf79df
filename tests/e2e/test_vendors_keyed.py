"""Vendor solutions through the whole stack: Calendar's add-on host picks a Daily or a
BigBlueButton solution on an event; moves and deletions reach the vendor's fake server; the
BigBlueButton join page (``/join/<id>``) follows the event.

Issue 16's proof for the keyed vendors (Zoom, Teams and Webex: ``test_vendors.py``), checked
where the user sees it: the fake vendor's rooms or meetings, the join data on the Calendar
event, the join page. Daily: retitle and new guest (nothing to send), a weekly series with one
occurrence moved out of the room's window (widened) and one cancelled (nothing), an outage
(pending, then replayed), 429 with a short ``Retry-After`` (waited in the run) and a long one
(left pending, replayed). BigBlueButton: retitle, guest and a move into the past (what the link
does), an outage on delete (pending, the link still live; replayed: ended, 410) and a 429 on
``end`` (waited in the run)."""

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
from localgoogle.vendors.toolkit import Fault
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


# --- issue 16's proof for Daily and BigBlueButton ---------------------------------------------

Vendors = tuple[Stack, DailyState, BbbState]
DAILY_WRITES = frozenset({"create", "update", "delete"})
MARGIN = 900  # the daily solution's default ``margin_seconds``


def _utc(text: str) -> dict[str, str]:
    return {"dateTime": text}


def _daily_writes(daily: DailyState) -> list[dict[str, Any]]:
    return [c for c in daily.faults.calls() if c["op"] in DAILY_WRITES]


def _video_uri(stack: Stack, event_id: str) -> str:
    stored = stack.calendar(ALICE).events().get(calendarId=ALICE, eventId=event_id).execute()
    [uri] = [
        e["uri"] for e in stored["conferenceData"]["entryPoints"] if e["entryPointType"] == "video"
    ]
    return str(uri)


def _pending(stack: Stack) -> int:
    return int(stack.calendar_state(ALICE).pending_count)


def _daily_room(daily: DailyState, name: str) -> dict[str, Any]:
    room = daily.room(name)
    assert room is not None and not room["deleted"], room
    return room


def test_daily_retitle_and_new_guest_leave_the_room_alone(vendors: Vendors) -> None:
    """A retitle and a new guest mean nothing to a Daily room (README: "title, guests: nothing
    to send"): the room keeps its window and URL, the event keeps its link, nothing is left
    pending."""
    stack, daily, _ = vendors
    event, data = _conference(stack, "daily", _utc("2030-03-04T10:00:00Z"),
                              _utc("2030-03-04T11:00:00Z"))  # fmt: skip
    before = _daily_room(daily, data["conferenceId"])
    _patch(stack, event["id"], {
        "summary": "Planning, renamed",
        "attendees": [{"email": "bob@example.com"}, {"email": "cy@example.com"}],
    })  # fmt: skip
    after = _daily_room(daily, data["conferenceId"])
    assert {k: after[k] for k in ("config", "url", "privacy")} == {
        k: before[k] for k in ("config", "url", "privacy")
    }
    assert _video_uri(stack, event["id"]) == after["url"]
    assert _pending(stack) == 0
    assert len(daily.rooms()) == 1


def test_daily_retitle_and_new_guest_send_nothing_to_daily(vendors: Vendors) -> None:
    """No Daily call at all for a retitle and a new guest, so Daily being down then leaves
    nothing pending (there is nothing to replay)."""
    stack, daily, _ = vendors
    event, _ = _conference(stack, "daily", _utc("2030-03-04T10:00:00Z"),
                           _utc("2030-03-04T11:00:00Z"))  # fmt: skip
    daily.faults.set_fault(Fault("down"))
    _patch(stack, event["id"], {
        "summary": "Planning, renamed",
        "attendees": [{"email": "bob@example.com"}, {"email": "cy@example.com"}],
    })  # fmt: skip
    assert [c["op"] for c in daily.faults.calls()] == ["create"]
    assert _pending(stack) == 0


def test_daily_series_occurrence_moved_out_widens_and_cancelled_changes_nothing(
    vendors: Vendors,
) -> None:
    """One room spans a weekly series (``nbf`` before the first occurrence, ``exp`` after the
    last); an occurrence moved past the last one widens ``exp`` (``nbf`` stays); a cancelled
    occurrence sends nothing. The room, its URL on the occurrences and the series stay."""
    stack, daily, _ = vendors
    start, end = _utc("2030-03-04T10:00:00Z"), _utc("2030-03-04T11:00:00Z")
    event, data = _conference(stack, "daily", start, end,
                              recurrence=["RRULE:FREQ=WEEKLY;COUNT=4"])  # fmt: skip
    name = data["conferenceId"]
    last_end = _epoch(_utc("2030-03-25T11:00:00Z"))
    assert _daily_room(daily, name)["config"] == {
        "nbf": _epoch(start) - MARGIN,
        "exp": last_end + MARGIN,
    }
    api = stack.calendar(ALICE)
    instances = api.events().instances(calendarId=ALICE, eventId=event["id"]).execute()["items"]
    assert len(instances) == 4
    moved, cancelled = instances[1], instances[2]
    moved_end = _utc("2030-04-01T11:00:00Z")  # a week after the series' last occurrence
    _patch(stack, moved["id"], {"start": _utc("2030-04-01T10:00:00Z"), "end": moved_end})
    room = _daily_room(daily, name)
    assert room["config"] == {"nbf": _epoch(start) - MARGIN, "exp": _epoch(moved_end) + MARGIN}
    assert [c["op"] for c in _daily_writes(daily)] == ["create", "update"]
    assert _video_uri(stack, moved["id"]) == room["url"]

    writes = len(_daily_writes(daily))
    api.events().delete(calendarId=ALICE, eventId=cancelled["id"]).execute()
    stack.settle()
    assert len(_daily_writes(daily)) == writes  # nothing to tell Daily
    assert _daily_room(daily, name) == room
    assert _video_uri(stack, event["id"]) == room["url"]
    assert len(daily.rooms()) == 1
    assert _pending(stack) == 0


def test_daily_outage_keeps_the_move_pending_then_replays_it(vendors: Vendors) -> None:
    """Daily down (503 on every call) while the event moves: the change stays pending and the
    room keeps its old window; once Daily is back, the next edit replays the move and the room
    follows the event, with the same URL on it."""
    stack, daily, _ = vendors
    event, data = _conference(stack, "daily", _utc("2030-03-04T10:00:00Z"),
                              _utc("2030-03-04T11:00:00Z"))  # fmt: skip
    name = data["conferenceId"]
    before = _daily_room(daily, name)
    daily.faults.set_fault(Fault("down"))
    moved_start, moved_end = _utc("2030-03-05T14:00:00Z"), _utc("2030-03-05T15:30:00Z")
    _patch(stack, event["id"], {"start": moved_start, "end": moved_end})
    assert _pending(stack) == 1
    assert _daily_room(daily, name)["config"] == before["config"]
    failed = [c for c in daily.faults.calls() if c["op"] == "update"]
    assert failed and {c["status"] for c in failed} == {503}

    daily.faults.set_fault(None)
    _patch(stack, event["id"], {"colorId": "2"})  # the next trigger replays it
    room = _daily_room(daily, name)
    assert room["config"] == {
        "nbf": _epoch(moved_start) - MARGIN,
        "exp": _epoch(moved_end) + MARGIN,
    }
    assert _video_uri(stack, event["id"]) == room["url"] == before["url"]
    assert _pending(stack) == 0


def test_daily_429_with_a_short_retry_after_is_waited_in_the_run(vendors: Vendors) -> None:
    """A 429 with ``Retry-After: 1`` on the move: the add-on waits at least that long within
    the same run (the call log's timestamps show it), the room follows, nothing is pending."""
    stack, daily, _ = vendors
    event, data = _conference(stack, "daily", _utc("2030-03-04T10:00:00Z"),
                              _utc("2030-03-04T11:00:00Z"))  # fmt: skip
    daily.faults.set_fault(Fault("ratelimit", 1, "1"))
    moved_end = _utc("2030-03-06T11:00:00Z")
    _patch(stack, event["id"], {"start": _utc("2030-03-06T10:00:00Z"), "end": moved_end})
    assert _daily_room(daily, data["conferenceId"])["config"]["exp"] == _epoch(moved_end) + MARGIN
    updates = [c for c in daily.faults.calls() if c["op"] == "update"]
    assert [c["status"] for c in updates] == [429, 200]
    assert updates[1]["at"] - updates[0]["at"] >= 1.0  # Retry-After honoured
    assert _pending(stack) == 0


def test_daily_429_with_a_long_retry_after_leaves_the_move_pending(vendors: Vendors) -> None:
    """A 429 asking for two minutes: not waited inside the run and not hammered (one 429);
    the move stays pending, the room keeps its window, and a later edit replays it."""
    stack, daily, _ = vendors
    event, data = _conference(stack, "daily", _utc("2030-03-04T10:00:00Z"),
                              _utc("2030-03-04T11:00:00Z"))  # fmt: skip
    name = data["conferenceId"]
    before = _daily_room(daily, name)
    daily.faults.set_fault(Fault("ratelimit", 1, "120"))
    moved_end = _utc("2030-03-06T11:00:00Z")
    _patch(stack, event["id"], {"start": _utc("2030-03-06T10:00:00Z"), "end": moved_end})
    assert _pending(stack) == 1
    assert [c["status"] for c in daily.faults.calls()].count(429) == 1  # not hammered
    assert _daily_room(daily, name)["config"] == before["config"]

    _patch(stack, event["id"], {"colorId": "3"})
    assert _daily_room(daily, name)["config"]["exp"] == _epoch(moved_end) + MARGIN
    assert _video_uri(stack, event["id"]) == before["url"]
    assert _pending(stack) == 0


def _join(link: str, name: str) -> requests.Response:
    return requests.get(link, params={"name": name}, allow_redirects=False, timeout=10)


def test_bbb_outage_during_delete_keeps_it_pending_then_the_replay_ends_the_meeting(
    vendors: Vendors,
) -> None:
    """BBB's ``end`` failing (503) when the event is deleted: the deletion stays pending and
    the running meeting is not ended yet, but the link is dead at once (410: the pending change
    says the event was deleted), so nobody new joins a deleted event's meeting. After the
    outage, the next sync of the calendar replays the deletion: BBB's meeting is ended and the
    link still answers 410."""
    stack, _, bbb = vendors
    event, data = _conference(stack, "bbb", _at(5), _at(65))  # the link is open
    meeting_id, link = data["conferenceId"], data["entryPoints"][0]["uri"]
    joined = _join(link, "Ada")
    assert joined.status_code == 303
    assert "You joined Planning" in requests.get(joined.headers["Location"], timeout=10).text
    running = bbb.meeting(meeting_id)
    assert running is not None and running["running"]

    bbb.faults.set_fault(Fault("down"))
    _delete(stack, event["id"])
    assert _pending(stack) == 1
    ends = [c for c in bbb.faults.calls() if c["op"] == "end"]
    assert ends and {c["status"] for c in ends} == {503}  # ``end`` was really called
    assert bbb.meeting(meeting_id) is not None and bbb.snapshot()["ended"] == []
    assert requests.get(link, timeout=10).status_code == 410
    refused = _join(link, "Bob")
    assert refused.status_code == 410 and "Location" not in refused.headers
    still = bbb.meeting(meeting_id)
    assert still is not None and [a["fullName"] for a in still["attendees"]] == ["Ada"]  # no Bob

    bbb.faults.set_fault(None)
    # Another change in the calendar syncs it, and the sync replays the pending deletion.
    stack.calendar(ALICE).events().insert(calendarId=ALICE, body={
        "summary": "Unrelated", "start": _at(24 * 60), "end": _at(25 * 60),
    }).execute()  # fmt: skip
    stack.settle()
    assert _pending(stack) == 0
    snapshot = bbb.snapshot()
    assert snapshot["meetings"] == []
    assert [m["meetingID"] for m in snapshot["ended"]] == [meeting_id]
    assert [a["fullName"] for a in snapshot["ended"][0]["attendees"]] == ["Ada"]
    assert _join(link, "Cy").status_code == 410


def test_bbb_retitle_guest_and_a_move_into_the_past_change_what_the_link_does(
    vendors: Vendors,
) -> None:
    """BBB is told nothing when the event changes (its meetings exist only while running): a
    retitle shows on the join page (and names the meeting it makes), a new guest changes
    nothing (anyone with the link joins), and a move into the past closes the link ("over",
    403, from the window's close side). The link on the event never changes."""
    stack, _, bbb = vendors
    event, data = _conference(stack, "bbb", _at(5), _at(65))
    link = data["entryPoints"][0]["uri"]
    _patch(stack, event["id"], {
        "summary": "Planning, renamed",
        "attendees": [{"email": "bob@example.com"}, {"email": "cy@example.com"}],
    })  # fmt: skip
    form = requests.get(link, timeout=10)
    assert form.status_code == 200 and "Join Planning, renamed" in form.text
    assert _video_uri(stack, event["id"]) == link
    assert bbb.faults.calls() == []  # nothing sent to BBB for a retitle or a guest
    assert _pending(stack) == 0

    # Ended 40 minutes ago: past the 30 minutes the link stays open after the end.
    _patch(stack, event["id"], {"start": _at(-100), "end": _at(-40)})
    over = _join(link, "Ada")
    assert over.status_code == 403 and "This meeting is over" in over.text
    assert bbb.snapshot()["creates"] == 0 and bbb.faults.calls() == []
    assert _video_uri(stack, event["id"]) == link


def test_bbb_429_with_a_short_retry_after_on_end_is_waited_in_the_run(vendors: Vendors) -> None:
    """A proxy in front of BBB answering ``end`` with 429 and ``Retry-After: 1``: the deletion
    waits at least that long within the run, then ends the running meeting; nothing is
    pending and the link answers 410."""
    stack, _, bbb = vendors
    event, data = _conference(stack, "bbb", _at(5), _at(65))
    meeting_id, link = data["conferenceId"], data["entryPoints"][0]["uri"]
    joined = _join(link, "Ada")
    assert joined.status_code == 303
    requests.get(joined.headers["Location"], timeout=10)
    bbb.faults.set_fault(Fault("ratelimit", 1, "1"))
    _delete(stack, event["id"])
    ends = [c for c in bbb.faults.calls() if c["op"] == "end"]
    assert [c["status"] for c in ends] == [429, 200]
    assert ends[1]["at"] - ends[0]["at"] >= 1.0  # Retry-After honoured
    assert [m["meetingID"] for m in bbb.snapshot()["ended"]] == [meeting_id]
    assert _pending(stack) == 0
    assert _join(link, "Bob").status_code == 410
