"""Zoom and Microsoft Teams (issue 16) end to end: the add-on against the fake vendors over real
HTTP, with the Calendar emulator's own triggers. Invariants are checked where the user sees
them: the vendor's meetings and the join data on the Calendar event.

Per vendor: create, move, retitle, add a guest, one occurrence changed and cancelled (Zoom:
``occurrence_id``; Teams: the documented no-op), delete, an outage (pending, then replayed),
429 with ``Retry-After`` honoured (short: waited in the run; long: left pending), the access
token expiring mid-sync (refreshed, retried once), and the link revoked mid-sync (parked with a
reason, no refresh loop; linking again and picking again works)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.e2e.linking_support import (
    ALICE,
    TEAMS,
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
    api_ops: frozenset[str]

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


ZOOM_VENDOR = Vendor(
    ZOOM,
    lambda s: s.zoom,
    lambda m: m["topic"],
    lambda m: m["start_time"],
    lambda m: [i["email"] for i in m["settings"]["meeting_invitees"]],
    lambda m: m["join_url"],
    frozenset({"create", "update", "delete"}),
)
TEAMS_VENDOR = Vendor(
    TEAMS,
    lambda s: s.graph,
    lambda m: m["subject"],
    lambda m: m["startDateTime"],
    lambda m: [a["upn"] for a in m["participants"]["attendees"]],
    lambda m: m["joinWebUrl"],
    frozenset({"createOrGet", "update", "delete"}),
)
VENDORS = [pytest.param(ZOOM_VENDOR, id="zoom"), pytest.param(TEAMS_VENDOR, id="teams")]


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
    if vendor is ZOOM_VENDOR:
        assert meeting["duration"] == 90
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
    assert statuses == [401, 200 if vendor is TEAMS_VENDOR else 204]


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
