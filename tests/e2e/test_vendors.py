"""Zoom, Microsoft Teams and Webex (issue 16) end to end: the add-on against the fake vendors
over real HTTP, with the Calendar emulator's own triggers. Invariants are checked where the user
sees them: the vendor's meetings and the join data on the Calendar event.

Per vendor: create, move, retitle, add a guest, one occurrence changed and cancelled (Zoom:
``occurrence_id``; Teams: the documented no-op; Webex: the occurrence's own meeting id),
delete, an outage (pending, then replayed), 429 with ``Retry-After`` honoured (short: waited in
the run; long: left pending), the access token expiring mid-sync (refreshed, retried once), and
the link revoked mid-sync (parked with a reason, no refresh loop; linking again and picking
again works)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest

from localgoogle.vendors.toolkit import Fault
from localgoogle.vendors.webex import WebexState
from tests.e2e.linking_support import (
    ALICE,
    TEAMS,
    WEBEX,
    ZOOM,
    event,
    link,
    link_stack,
    pick_linked,
)
from tests.e2e.stack import Stack

pytestmark = pytest.mark.datastore

BOB = "bob@example.com"


@dataclass(frozen=True)
class Vendor:
    solution: str
    state: Callable[[Stack], Any]
    title: Callable[[dict[str, Any]], Any]
    start: Callable[[dict[str, Any]], str]
    guests: Callable[[dict[str, Any]], list[str]]
    join: Callable[[dict[str, Any]], str]
    minutes: Callable[[dict[str, Any]], int]  # the meeting's length
    api_ops: frozenset[str]
    updated: int  # the status of a successful update

    def meetings(self, stack: Stack) -> dict[str, dict[str, Any]]:
        return {str(m["id"]): m for m in self.state(stack).meetings()}

    def calls(self, stack: Stack) -> list[dict[str, Any]]:
        calls: list[dict[str, Any]] = self.state(stack).calls()
        return calls

    def writes(self, stack: Stack) -> list[dict[str, Any]]:
        return [c for c in self.calls(stack) if c["op"] in self.api_ops]

    def token_calls(self, stack: Stack) -> dict[str, int]:
        calls: dict[str, int] = self.state(stack).oauth.stats()["tokenCalls"]
        return calls


def _minutes(start: str, end: str) -> int:
    begin, finish = (datetime.fromisoformat(t.replace("Z", "+00:00")) for t in (start, end))
    return int((finish - begin).total_seconds() // 60)


class WebexView:
    """The fake Webex seen as the Zoom and Graph fakes' states are: live series (with their
    invitees and occurrences, as the API lists them), calls with ``occurrenceId`` (Webex names
    an occurrence ``<series id>_<original start>``), faults and the OAuth server."""

    EVERYTHING = {"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"}

    def __init__(self, state: WebexState) -> None:
        self._state = state
        self.oauth = _WebexOAuth(state)

    def meetings(self) -> list[dict[str, Any]]:
        meetings = self._state.meetings
        live = []
        for series in meetings.all():
            if series["deleted"]:
                continue
            host, series_id = series["hostEmail"], series["id"]
            _, invitees = meetings.invitees(host, series_id)
            query = {"meetingType": "scheduledMeeting", "meetingSeriesId": series_id}
            _, occurrences = meetings.list(host, {**query, **self.EVERYTHING})
            assert invitees is not None and occurrences is not None
            live.append(
                {**series, "invitees": invitees["items"], "occurrences": occurrences["items"]}
            )
        return live

    def calls(self) -> list[dict[str, Any]]:
        calls = self._state.faults.calls()
        for call in calls:
            target = call["target"] if call["op"] in ("get", "update", "delete") else None
            call["occurrenceId"] = (target or "").partition("_")[2] or None
        return calls

    def set_fault(self, mode: Any, count: int | None = None, retry_after: int = 1) -> None:
        fault = None if mode is None else Fault(mode, count, str(retry_after))
        self._state.faults.set_fault(fault)


@dataclass(frozen=True)
class _WebexOAuth:
    state: WebexState

    def expire_access_tokens(self) -> int:
        return self.state.tokens.expire_all()

    def revoke_account(self, email: str) -> int:
        return self.state.tokens.revoke(email.lower())

    def stats(self) -> dict[str, Any]:
        return self.state.tokens.stats()


ZOOM_VENDOR = Vendor(
    ZOOM,
    lambda s: s.zoom,
    lambda m: m["topic"],
    lambda m: m["start_time"],
    lambda m: [i["email"] for i in m["settings"]["meeting_invitees"]],
    lambda m: m["join_url"],
    lambda m: m["duration"],
    frozenset({"create", "update", "delete"}),
    204,
)
TEAMS_VENDOR = Vendor(
    TEAMS,
    lambda s: s.graph,
    lambda m: m["subject"],
    lambda m: m["startDateTime"],
    lambda m: [a["upn"] for a in m["participants"]["attendees"]],
    lambda m: m["joinWebUrl"],
    lambda m: _minutes(m["startDateTime"], m["endDateTime"]),
    frozenset({"createOrGet", "update", "delete"}),
    200,
)
WEBEX_VENDOR = Vendor(
    WEBEX,
    lambda s: WebexView(s.webex),
    lambda m: m["title"],
    lambda m: m["start"],
    lambda m: [i["email"] for i in m["invitees"]],  # guests are /meetingInvitees
    lambda m: m["webLink"],
    lambda m: _minutes(m["start"], m["end"]),
    frozenset({"create", "update", "delete", "invite", "uninvite"}),
    200,  # Webex's PUT answers the meeting
)
VENDORS = [
    pytest.param(ZOOM_VENDOR, id="zoom"),
    pytest.param(TEAMS_VENDOR, id="teams"),
    pytest.param(WEBEX_VENDOR, id="webex"),
]


@pytest.fixture
def stack(datastore) -> Iterator[Stack]:
    with link_stack(datastore.project) as s:
        s.user(ALICE)
        s.user(BOB)
        yield s


def patch(stack: Stack, event_id: str, body: dict[str, Any]) -> dict[str, Any]:
    api = stack.calendar(ALICE)
    changed: dict[str, Any] = (
        api.events().patch(calendarId=ALICE, eventId=event_id, body=body).execute()
    )
    stack.settle()
    return changed


def conference(stack: Stack, vendor: Vendor, **extra: Any) -> tuple[str, str]:
    event_id = event(stack, **extra)
    answer = pick_linked(stack, event_id, vendor.solution)
    return event_id, answer["conferenceData"]["conferenceId"]


def event_join_uris(stack: Stack, event_id: str) -> list[str]:
    got = stack.calendar(ALICE).events().get(calendarId=ALICE, eventId=event_id).execute()
    return [ep["uri"] for ep in got["conferenceData"]["entryPoints"]]


@pytest.mark.parametrize("vendor", VENDORS)
def test_create_move_retitle_add_guest_delete(stack: Stack, vendor: Vendor) -> None:
    event_id, meeting_id = conference(stack, vendor)
    meeting = vendor.meetings(stack)[meeting_id]
    assert vendor.join(meeting) in event_join_uris(stack, event_id)
    patch(stack, event_id, {
        "summary": "Planning, moved",
        "start": {"dateTime": "2030-03-04T14:00:00Z"},
        "end": {"dateTime": "2030-03-04T15:30:00Z"},
        "attendees": [{"email": BOB}],
    })  # fmt: skip
    meeting = vendor.meetings(stack)[meeting_id]
    assert vendor.title(meeting) == "Planning, moved"
    assert vendor.start(meeting).startswith("2030-03-04T14:00:00")
    assert vendor.guests(meeting) == [BOB]
    assert vendor.minutes(meeting) == 90
    # The join data on the event is still the vendor's: the update changed no link.
    assert vendor.join(meeting) in event_join_uris(stack, event_id)
    assert len(vendor.meetings(stack)) == 1
    stack.calendar(ALICE).events().delete(calendarId=ALICE, eventId=event_id).execute()
    stack.settle()
    assert meeting_id not in vendor.meetings(stack)
    ops = [c["op"] for c in vendor.writes(stack)]
    assert ops.count("update") == 1 and ops.count("delete") == 1


def test_zoom_series_maps_to_a_recurring_meeting_and_its_occurrences(stack: Stack) -> None:
    vendor = ZOOM_VENDOR
    event_id, meeting_id = conference(stack, vendor, recurrence=["RRULE:FREQ=WEEKLY;COUNT=4"])
    meeting = vendor.meetings(stack)[meeting_id]
    assert meeting["type"] == 8 and meeting["recurrence"]["type"] == 2
    assert len(meeting["occurrences"]) == 4
    api = stack.calendar(ALICE)
    instances = api.events().instances(calendarId=ALICE, eventId=event_id).execute()["items"]
    moved, cancelled = instances[1], instances[2]
    api.events().patch(calendarId=ALICE, eventId=moved["id"], body={
        "start": {"dateTime": "2030-03-11T15:00:00Z"},
        "end": {"dateTime": "2030-03-11T16:00:00Z"},
    }).execute()  # fmt: skip
    stack.settle()
    api.events().delete(calendarId=ALICE, eventId=cancelled["id"]).execute()
    stack.settle()
    occurrences = vendor.meetings(stack)[meeting_id]["occurrences"]
    assert occurrences[1]["start_time"] == "2030-03-11T15:00:00Z"
    assert occurrences[2]["status"] == "deleted"
    assert [o["status"] for o in occurrences].count("available") == 3
    by_op = [(c["op"], c["occurrenceId"] is not None) for c in vendor.calls(stack)]
    assert by_op.count(("update", True)) == 1 and by_op.count(("delete", True)) == 1
    assert meeting_id in vendor.meetings(stack)  # the series' meeting stays


def test_webex_series_is_a_recurring_meeting_whose_occurrences_change_alone(
    stack: Stack,
) -> None:
    vendor = WEBEX_VENDOR
    event_id, meeting_id = conference(stack, vendor, recurrence=["RRULE:FREQ=WEEKLY;COUNT=4"])
    meeting = vendor.meetings(stack)[meeting_id]
    assert meeting["recurrence"] == "FREQ=WEEKLY;COUNT=4"
    assert [o["start"] for o in meeting["occurrences"]] == [
        "2030-03-04T10:00:00Z", "2030-03-11T10:00:00Z", "2030-03-18T10:00:00Z",
        "2030-03-25T10:00:00Z",
    ]  # fmt: skip
    api = stack.calendar(ALICE)
    instances = api.events().instances(calendarId=ALICE, eventId=event_id).execute()["items"]
    moved, cancelled = instances[1], instances[2]
    api.events().patch(calendarId=ALICE, eventId=moved["id"], body={
        "start": {"dateTime": "2030-03-11T15:00:00Z"},
        "end": {"dateTime": "2030-03-11T16:00:00Z"},
    }).execute()  # fmt: skip
    stack.settle()
    api.events().delete(calendarId=ALICE, eventId=cancelled["id"]).execute()
    stack.settle()
    series = vendor.meetings(stack)[meeting_id]  # the series' meeting stays
    occurrences = {o["id"]: o for o in series["occurrences"]}
    assert [(o["start"], o["end"]) for o in occurrences.values()] == [
        ("2030-03-04T10:00:00Z", "2030-03-04T11:00:00Z"),
        ("2030-03-11T15:00:00Z", "2030-03-11T16:00:00Z"),  # moved
        ("2030-03-25T10:00:00Z", "2030-03-25T11:00:00Z"),  # the 18th is cancelled
    ]
    assert occurrences[f"{meeting_id}_20300311T100000Z"]["isModified"] is True
    assert (series["start"], series["recurrence"]) == (meeting["start"], meeting["recurrence"])
    by_op = [(c["op"], c["occurrenceId"]) for c in vendor.calls(stack) if c["status"] < 300]
    assert by_op.count(("update", "20300311T100000Z")) == 1
    assert by_op.count(("delete", "20300318T100000Z")) == 1
    assert ("update", None) not in by_op and ("delete", None) not in by_op  # the series: untouched
    assert stack.calendar_state(ALICE).pending_count == 0


def test_teams_series_is_one_meeting_and_occurrence_changes_are_no_ops(stack: Stack) -> None:
    vendor = TEAMS_VENDOR
    event_id, meeting_id = conference(stack, vendor, recurrence=["RRULE:FREQ=WEEKLY;COUNT=4"])
    meeting = vendor.meetings(stack)[meeting_id]
    assert meeting["startDateTime"].startswith("2030-03-04T10:00:00")  # the first occurrence
    writes = len(vendor.writes(stack))
    api = stack.calendar(ALICE)
    instances = api.events().instances(calendarId=ALICE, eventId=event_id).execute()["items"]
    api.events().patch(calendarId=ALICE, eventId=instances[1]["id"], body={
        "start": {"dateTime": "2030-03-11T15:00:00Z"},
        "end": {"dateTime": "2030-03-11T16:00:00Z"},
    }).execute()  # fmt: skip
    api.events().delete(calendarId=ALICE, eventId=instances[2]["id"]).execute()
    stack.settle()
    assert len(vendor.writes(stack)) == writes  # nothing to tell Microsoft
    assert vendor.meetings(stack)[meeting_id] == meeting
    assert stack.calendar_state(ALICE).pending_count == 0


@pytest.mark.parametrize("vendor", VENDORS)
def test_outage_keeps_the_change_pending_then_replays_it(stack: Stack, vendor: Vendor) -> None:
    event_id, meeting_id = conference(stack, vendor)
    vendor.state(stack).set_fault("down")
    patch(stack, event_id, {"summary": "During outage"})
    assert stack.calendar_state(ALICE).pending_count == 1
    assert vendor.title(vendor.meetings(stack)[meeting_id]) == "Planning"
    vendor.state(stack).set_fault(None)
    patch(stack, event_id, {"colorId": "2"})  # the next trigger replays it
    assert vendor.title(vendor.meetings(stack)[meeting_id]) == "During outage"
    assert stack.calendar_state(ALICE).pending_count == 0


@pytest.mark.parametrize("vendor", VENDORS)
def test_429_retry_after_is_waited_in_the_run(stack: Stack, vendor: Vendor) -> None:
    event_id, meeting_id = conference(stack, vendor)
    vendor.state(stack).set_fault("ratelimit", 1, 1)
    patch(stack, event_id, {"summary": "After the limit"})
    assert vendor.title(vendor.meetings(stack)[meeting_id]) == "After the limit"
    limited = [c for c in vendor.calls(stack) if c["status"] == 429]
    after = [c for c in vendor.calls(stack) if c["op"] == "update" and c["status"] < 300]
    assert len(limited) == 1 and len(after) == 1
    assert after[0]["at"] - limited[0]["at"] >= 1.0  # the vendor's Retry-After, honoured
    assert stack.calendar_state(ALICE).pending_count == 0


@pytest.mark.parametrize("vendor", VENDORS)
def test_a_long_retry_after_leaves_the_change_pending(stack: Stack, vendor: Vendor) -> None:
    event_id, meeting_id = conference(stack, vendor)
    vendor.state(stack).set_fault("ratelimit", 1, 120)
    patch(stack, event_id, {"summary": "Later"})
    assert stack.calendar_state(ALICE).pending_count == 1
    assert len([c for c in vendor.calls(stack) if c["status"] == 429]) == 1  # not hammered
    patch(stack, event_id, {"colorId": "3"})
    assert vendor.title(vendor.meetings(stack)[meeting_id]) == "Later"


@pytest.mark.parametrize("vendor", VENDORS)
def test_token_expiring_mid_sync_is_refreshed_and_retried_once(
    stack: Stack, vendor: Vendor
) -> None:
    event_id, meeting_id = conference(stack, vendor)
    assert vendor.token_calls(stack).get("refresh_token", 0) == 0
    vendor.state(stack).oauth.expire_access_tokens()
    patch(stack, event_id, {"summary": "Fresh token"})
    assert vendor.title(vendor.meetings(stack)[meeting_id]) == "Fresh token"
    assert vendor.token_calls(stack)["refresh_token"] == 1
    statuses = [c["status"] for c in vendor.calls(stack) if c["op"] == "update"]
    assert statuses == [401, vendor.updated]


@pytest.mark.parametrize("vendor", VENDORS)
def test_revocation_mid_sync_parks_the_change_and_relinking_works(
    stack: Stack, vendor: Vendor
) -> None:
    event_id, meeting_id = conference(stack, vendor)
    vendor.state(stack).oauth.revoke_account(ALICE)
    patch(stack, event_id, {"summary": "Revoked"})
    (parked,) = stack.store.list_pending(ALICE)
    assert parked.parked and parked.kind == "attention"
    assert parked.last_error is not None and "link their account" in parked.last_error
    assert vendor.token_calls(stack)["refresh_token"] == 1  # one refused refresh
    patch(stack, event_id, {"summary": "Revoked, edited again"})
    assert vendor.token_calls(stack)["refresh_token"] == 1  # no loop: the link is dropped
    assert vendor.title(vendor.meetings(stack)[meeting_id]) == "Planning"
    # The next pick asks to link again; once linked, the pick and the sync work again.
    answer = stack.pick(ALICE, event_id, ALICE, vendor.solution)
    assert answer["error"]["type"] == "AUTHENTICATION", answer
    steps = link(stack, answer["error"]["authenticationUrl"])
    assert steps.final is not None and steps.final.status_code == 200
    again = stack.pick(ALICE, event_id, ALICE, vendor.solution)
    assert again["conferenceData"]["conferenceId"] == meeting_id
    stack.settle()
    # The parked change waited for this link: the next sync of the calendar replays it.
    patch(stack, event_id, {"colorId": "4"})
    assert vendor.title(vendor.meetings(stack)[meeting_id]) == "Revoked, edited again"
    assert [p for p in stack.store.list_pending(ALICE) if p.parked] == []
    assert vendor.token_calls(stack)["refresh_token"] == 1
