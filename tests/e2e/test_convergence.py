"""Random histories of edits, copies, deletions, token expiries, dropped triggers and provider
outages; after a final quiet sync every meeting matches what its event says, and one more
sync makes no provider call (vdirsyncer-style convergence check, against the real stack)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.e2e.stack import Stack, running_stack

pytestmark = pytest.mark.datastore

ALICE = "alice@example.com"
GUESTS = ["bob@example.com", "carol@example.com", "dave@example.com"]
HOURS = st.integers(min_value=8, max_value=18)


def expected_meetings(stack: Stack) -> dict[str, dict[str, Any]]:
    """conference id -> what the live event owning it says (exceptions excluded)."""
    events = stack.control("GET", f"/_emulator/calendars/{ALICE}/events")["items"]
    out: dict[str, dict[str, Any]] = {}
    for e in events:
        if e.get("status") == "cancelled" or e.get("recurringEventId"):
            continue
        conf = (e.get("conferenceData") or {}).get("conferenceId")
        if conf:
            assert conf not in out, f"two events share meeting {conf}"
            out[conf] = {
                "title": e.get("summary"),
                "start": e["start"],
                "attendees": sorted(a["email"] for a in e.get("attendees") or []),
                "eventId": e["id"],
            }
    return out


class Convergence(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self._ctx = running_stack(_PROJECT[0])
        self.stack: Stack = self._ctx.__enter__()
        self.api = self.stack.calendar(ALICE)
        self.live: list[str] = []

    def teardown(self) -> None:
        self._ctx.__exit__(None, None, None)
        _RESET[0]()

    def _patch(self, event_id: str, body: dict[str, Any]) -> None:
        self.api.events().patch(calendarId=ALICE, eventId=event_id, body=body).execute()
        self.stack.settle()

    @initialize(hours=st.lists(HOURS, min_size=2, max_size=3), weekly=st.booleans())
    def some_conferences(self, hours: list[int], weekly: bool) -> None:
        for i, hour in enumerate(hours):
            self.create_with_conference(hour, weekly and i == 0)

    @rule(hour=HOURS, weekly=st.booleans())
    def create_with_conference(self, hour: int, weekly: bool) -> None:
        body: dict[str, Any] = {
            "summary": f"Meeting {len(self.live)}",
            "start": {"dateTime": f"2030-02-04T{hour:02d}:00:00Z"},
            "end": {"dateTime": f"2030-02-04T{hour:02d}:30:00Z"},
        }
        if weekly:
            body["recurrence"] = ["RRULE:FREQ=WEEKLY;COUNT=4"]
        event = self.api.events().insert(calendarId=ALICE, body=body).execute()
        self.stack.pick(ALICE, event["id"], ALICE)
        self.stack.settle()
        self.live.append(event["id"])

    @precondition(lambda self: self.live)
    @rule(data=st.data(), hour=HOURS, title=st.sampled_from(["A", "B", "C"]))
    def edit(self, data: st.DataObject, hour: int, title: str) -> None:
        event_id = data.draw(st.sampled_from(self.live))
        kind = data.draw(st.sampled_from(["move", "retitle", "guest", "rsvp"]))
        body: dict[str, Any]
        if kind == "move":
            body = {
                "start": {"dateTime": f"2030-02-05T{hour:02d}:00:00Z"},
                "end": {"dateTime": f"2030-02-05T{hour:02d}:45:00Z"},
            }
        elif kind == "retitle":
            body = {"summary": title}
        elif kind == "guest":
            body = {
                "attendees": [
                    {"email": g} for g in data.draw(st.lists(st.sampled_from(GUESTS), unique=True))
                ]
            }
        else:
            current = self.api.events().get(calendarId=ALICE, eventId=event_id).execute()
            body = {
                "attendees": [
                    {**a, "responseStatus": "accepted"} for a in current.get("attendees") or []
                ],
                "colorId": "4",
            }
        self._patch(event_id, body)

    @precondition(lambda self: self.live)
    @rule(data=st.data())
    def copy(self, data: st.DataObject) -> None:
        source = (
            self.api.events()
            .get(calendarId=ALICE, eventId=data.draw(st.sampled_from(self.live)))
            .execute()
        )
        body = {k: source[k] for k in ("summary", "start", "end", "conferenceData") if k in source}
        copy = (
            self.api.events().insert(calendarId=ALICE, body=body, conferenceDataVersion=1).execute()
        )
        self.stack.settle()
        self.live.append(copy["id"])

    @precondition(lambda self: self.live)
    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        event_id = data.draw(st.sampled_from(self.live))
        self.live.remove(event_id)
        self.api.events().delete(calendarId=ALICE, eventId=event_id).execute()
        self.stack.settle()

    @rule()
    def expire_token(self) -> None:
        self.stack.control("POST", f"/_emulator/calendars/{ALICE}/expire-sync-tokens")

    @rule(drop=st.booleans())
    def notifications(self, drop: bool) -> None:
        self.stack.control(
            "POST", "/_emulator/addon/notifications", {"dropRate": 1.0 if drop else 0.0}
        )

    @rule(calls=st.integers(min_value=1, max_value=4))
    def provider_outage(self, calls: int) -> None:
        self.stack.conferencing.set_fault("down", count=calls)

    def check_converged(self) -> None:
        stack = self.stack
        stack.conferencing.set_fault(None)
        stack.control("POST", "/_emulator/addon/notifications", {"dropRate": 0.0})
        client = stack.services.calendar_for_token(stack.user(ALICE))
        # Mid-history a copy may share its original's meeting (provider down, change pending);
        # only the state after the quiet sync must be exact.
        quiet = stack.services.engine.sync(ALICE, client)
        assert quiet.status == "done", quiet
        expected = expected_meetings(stack)
        meetings = stack.meetings()
        for conference_id, want in expected.items():
            got = meetings.get(conference_id)
            assert got is not None and not got["deleted"], conference_id
            assert got["eventId"] == want["eventId"]
            assert got["title"] == want["title"]
            assert got["start"] == want["start"]
            assert sorted(got["attendees"]) == want["attendees"]
        for conference_id, meeting in meetings.items():
            if conference_id not in expected:
                assert meeting["deleted"], f"orphaned meeting {conference_id}"
        before = len(stack.provider_calls())
        stack.services.engine.sync(ALICE, client)
        assert len(stack.provider_calls()) == before, "a second sync called the provider"


_PROJECT: list[str] = []
_RESET: list[Any] = []


class CheckedConvergence(Convergence):
    def teardown(self) -> None:
        try:
            self.check_converged()  # while the stack is still up
        finally:
            super().teardown()


def test_meetings_converge_to_events(datastore) -> None:
    # Hypothesis builds a fresh machine per example; it reaches the emulator through these.
    _PROJECT[:] = [datastore.project]
    _RESET[:] = [datastore.reset]
    run_state_machine_as_test(
        CheckedConvergence,
        settings=settings(
            max_examples=20,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
        ),
    )
