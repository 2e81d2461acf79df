"""Random histories against the real stack (vdirsyncer-style convergence check): edits, copies,
deletions, conferences removed and re-added, solutions switched (a vendor's REST API and
Jitsi, whose join token depends on the event's time), outsiders' invitations carrying forged
conference data, write-backs refused with a permanent 403, a sync run without one of the
solutions configured, token expiries, dropped triggers and provider outages.

After the faults are lifted, the parked changes retried once (what an operator does with
``flask sync --retry-parked``) and a quiet sync, the invariants of ``tests.invariants`` hold on
the vendor's side and on the events; one more sync makes no provider call.

The user's own edits go through the emulator's model, so Calendar faults injected for the
add-on (a refused write-back) do not refuse the user too.
"""

from __future__ import annotations

import time
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

from addon.settings import Solution
from addon.sync.engine import SyncEngine
from tests.e2e.stack import RECORDED, SOLUTION, Stack, running_stack
from tests.invariants import violations

pytestmark = pytest.mark.datastore

ALICE = "alice@example.com"
MALLORY = "mallory@outside.example"
GUESTS = ["bob@example.com", "carol@example.com", "dave@example.com"]
HOURS = st.integers(min_value=8, max_value=18)
SOLUTIONS = st.sampled_from([SOLUTION, RECORDED])


def mixed_solutions(emulator_url: str) -> tuple[Solution, ...]:
    """One solution on the vendor's REST API, one on Jitsi with time-bound join tokens."""
    rest = {"base_url": emulator_url + "/_conferencing", "timeout_seconds": 2}
    jitsi = {"app_id": "acme", "app_secret": "s" * 32, "base_url": "https://meet.example.com"}
    logo = "https://x.example/logo.png"
    return (
        Solution(SOLUTION, "Web conference", logo, "rest", rest),
        Solution(RECORDED, "Recorded web conference", logo, "jitsi", jitsi),
    )


class Convergence(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self._ctx = running_stack(_PROJECT[0], mixed_solutions)
        self.stack: Stack = self._ctx.__enter__()
        self.model = self.stack.emulator_app.config["EMULATOR_STATE"]
        self.stack.user(ALICE)
        self.stack.user(MALLORY)
        self.live: list[str] = []

    def teardown(self) -> None:
        self._ctx.__exit__(None, None, None)
        _RESET[0]()

    def _current(self, event_id: str) -> dict[str, Any]:
        return dict(self.model.events_get(ALICE, ALICE, event_id))

    def _patch(self, event_id: str, body: dict[str, Any], conference: bool = False) -> None:
        self.model.events_patch(ALICE, ALICE, event_id, body, 1 if conference else 0)
        self.stack.settle()

    @initialize(hours=st.lists(HOURS, min_size=2, max_size=3), weekly=st.booleans())
    def some_conferences(self, hours: list[int], weekly: bool) -> None:
        for i, hour in enumerate(hours):
            self.create_with_conference(hour, weekly and i == 0, SOLUTION if i % 2 else RECORDED)

    @rule(hour=HOURS, weekly=st.booleans(), solution=SOLUTIONS)
    def create_with_conference(self, hour: int, weekly: bool, solution: str) -> None:
        body: dict[str, Any] = {
            "summary": f"Meeting {len(self.live)}",
            "start": {"dateTime": f"2030-02-04T{hour:02d}:00:00Z"},
            "end": {"dateTime": f"2030-02-04T{hour:02d}:30:00Z"},
        }
        if weekly:
            body["recurrence"] = ["RRULE:FREQ=WEEKLY;COUNT=4"]
        event = self.model.events_insert(ALICE, ALICE, body)
        self.stack.pick(ALICE, event["id"], ALICE, solution)
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
            guests = data.draw(st.lists(st.sampled_from(GUESTS), unique=True))
            body = {"attendees": [{"email": g} for g in guests]}
        else:
            current = self._current(event_id)
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
        source = self._current(data.draw(st.sampled_from(self.live)))
        body = {k: source[k] for k in ("summary", "start", "end", "conferenceData") if k in source}
        copy = self.model.events_insert(ALICE, ALICE, body, 1)
        self.stack.settle()
        self.live.append(copy["id"])

    @precondition(lambda self: self.live)
    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        event_id = data.draw(st.sampled_from(self.live))
        self.live.remove(event_id)
        self.model.events_delete(ALICE, ALICE, event_id)
        self.stack.settle()

    @precondition(lambda self: self.live)
    @rule(data=st.data())
    def remove_conference(self, data: st.DataObject) -> None:
        self._patch(data.draw(st.sampled_from(self.live)), {"conferenceData": None}, True)

    @precondition(lambda self: self.live)
    @rule(data=st.data(), solution=SOLUTIONS)
    def pick_again(self, data: st.DataObject, solution: str) -> None:
        """Re-add a removed conference, switch solutions, or pick the same one again."""
        event_id = data.draw(st.sampled_from(self.live))
        if self._current(event_id).get("recurringEventId"):
            return
        self.stack.pick(ALICE, event_id, ALICE, solution)
        self.stack.settle()

    @precondition(lambda self: self.live)
    @rule(data=st.data(), point_at_ours=st.booleans())
    def outsider_invitation(self, data: st.DataObject, point_at_ours: bool) -> None:
        source = self._current(data.draw(st.sampled_from(self.live)))
        forged = dict(source.get("conferenceData") or {})
        if not forged:
            return
        if not point_at_ours:
            params = {
                "ownerCalendarId": ALICE,
                "ownerEventId": source["id"],
                "solutionId": SOLUTION,
            }
            parameters = {"addOnParameters": {"parameters": params}}
            forged = {**forged, "conferenceId": "forged-1", "parameters": parameters}
        body = {
            "summary": "From outside",
            "start": {"dateTime": "2030-02-06T09:00:00Z"},
            "end": {"dateTime": "2030-02-06T10:00:00Z"},
            "attendees": [{"email": ALICE}],
            "conferenceData": forged,
        }
        self.model.events_insert(MALLORY, MALLORY, body, 1)
        self.stack.settle()

    @rule(on=st.booleans())
    def refuse_write_backs(self, on: bool) -> None:
        if on:
            rule_ = {"method": "events.patch", "status": 403, "reason": "forbidden"}
            self.stack.control("POST", "/_emulator/faults", {"rules": [rule_]})
        else:
            self.stack.control("DELETE", "/_emulator/faults")

    @rule()
    def sync_without_one_solution(self) -> None:
        svc = self.stack.services
        only = {SOLUTION: svc.solutions[SOLUTION]}
        engine = SyncEngine(
            store=svc.store,
            providers={SOLUTION: svc.providers[SOLUTION]},
            solutions=only,
            lease_seconds=svc.settings.lease_seconds,
        )
        run = engine.sync(ALICE, svc.calendar_for_token(self.stack.user(ALICE)))
        assert all(not r.error for r in run.reports), run

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

    def _sync_when_free(self, engine: SyncEngine, client: Any, **kwargs: Any) -> Any:
        """A sync of ALICE once no other run holds the calendar's lease. The sync before may
        have written conference data back onto an event, which fires a trigger: the host's
        delivery of it runs an inline sync holding the lease for a moment (seen: ~0.3 s), and
        a sync started meanwhile answers ``busy``, as it should."""
        deadline = time.monotonic() + 60
        while True:
            result = engine.sync(ALICE, client, **kwargs)
            if result.status != "busy" or time.monotonic() > deadline:
                return result
            self.stack.settle()
            time.sleep(0.2)

    def check_converged(self) -> None:
        stack = self.stack
        stack.conferencing.set_fault(None)
        stack.control("DELETE", "/_emulator/faults")
        stack.control("POST", "/_emulator/addon/notifications", {"dropRate": 0.0})
        # A rule that does not settle (an expired token, a fault switched) may leave a trigger
        # in flight; its inline sync holds the lease until it answers.
        stack.settle()
        client = stack.services.calendar_for_token(stack.user(ALICE))
        engine = stack.services.engine
        # Mid-history a copy may share its original's meeting (provider down, write-back
        # refused and parked); only the state after the faults are gone must be exact.
        retried = self._sync_when_free(engine, client, retry_parked=True)
        assert retried.status == "done", retried
        quiet = self._sync_when_free(engine, client)
        assert quiet.status == "done", quiet
        state = stack.calendar_state(ALICE)
        assert not state.last_result["error"] and state.sync_token, state
        assert state.pending_count == 0 and state.parked_count == 0, state
        problems = violations(
            lambda cal: stack.control("GET", f"/_emulator/calendars/{cal}/events")["items"],
            [ALICE],
            stack.meetings(),
            stack.conferencing.calls(),
        )
        assert problems == [], problems
        before = len(stack.provider_calls())
        engine.sync(ALICE, client)
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
            max_examples=25,
            stateful_step_count=14,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
        ),
    )
