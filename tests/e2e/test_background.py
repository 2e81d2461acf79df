"""Background mode: triggers answer at once, and a burst for one calendar is coalesced."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import requests

from addon.settings import Solution
from tests.e2e.stack import Stack, default_solutions, running_stack, wait_for
from tests.e2e.test_sync import ALICE

pytestmark = pytest.mark.datastore


@pytest.fixture
def bg_stack(datastore) -> Iterator[Stack]:
    with running_stack(datastore.project, sync_mode="background") as s:
        yield s


def quiet(stack: Stack) -> bool:
    state = stack.calendar_state(ALICE)
    return bool(state and state.lease_owner is None and not state.dirty and state.sync_token)


def test_burst_of_triggers_costs_at_most_two_listings(bg_stack: Stack) -> None:
    stack = bg_stack
    api = stack.calendar(ALICE)
    event, meeting_id = conference_event(stack)
    stack.control("POST", "/_emulator/addon/notifications", {"dropRate": 1.0})
    api.events().patch(calendarId=ALICE, eventId=event["id"], body={"summary": "Burst 2"}).execute()
    stack.control("POST", "/_emulator/stats/reset")
    # "A burst" = triggers that arrive while the first run lists: make listing slow enough
    # that the whole burst lands during it, whatever the machine's load.
    stack.control(
        "POST",
        "/_emulator/faults",
        {"rules": [{"method": "events.list", "rate": 0, "latencySeconds": 2.0}]},
    )

    url = stack.addon_url + "/calendar/notification"
    token = stack.control("POST", "/_emulator/addon/id-token", {"audience": url})["idToken"]
    body = {
        "authorizationEventObject": {"userOAuthToken": stack.user(ALICE)},
        "calendar": {"calendarId": ALICE},
    }
    statuses: list[int] = []

    def fire() -> None:
        for _ in range(3):
            r = requests.post(
                url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=10
            )
            statuses.append(r.status_code)

    threads = [threading.Thread(target=fire) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 24
    wait_for(lambda: stack.meetings()[meeting_id]["title"] == "Burst 2", message="update applied")
    wait_for(lambda: quiet(stack), message="quiet calendar")
    lists = stack.control("GET", "/_emulator/stats")["requests"].get("events.list", 0)
    assert 1 <= lists <= 2
    updates = [c for c in stack.provider_calls() if c["op"] == "update"]
    assert len(updates) == 1


def quick_solutions(emulator_url: str) -> tuple[Solution, ...]:
    """Both solutions with a short provider timeout: a 5 s lease must outlast a call's budget."""
    return tuple(
        Solution(s.id, s.name, s.logo_url, s.provider, {**s.options, "timeout_seconds": 0.5})
        for s in default_solutions(emulator_url)
    )


@pytest.fixture
def short_lease_stack(datastore) -> Iterator[Stack]:
    with running_stack(
        datastore.project,
        quick_solutions,
        sync_mode="background",
        lease_seconds=5,
        retry_base_seconds=0.5,
    ) as s:
        yield s


def conference_event(stack: Stack) -> tuple[dict, str]:
    api = stack.calendar(ALICE)
    event = (
        api.events()
        .insert(
            calendarId=ALICE,
            body={
                "summary": "Follow-up",
                "start": {"dateTime": "2030-03-02T10:00:00Z"},
                "end": {"dateTime": "2030-03-02T11:00:00Z"},
            },
        )
        .execute()
    )
    meeting_id = stack.pick(ALICE, event["id"], ALICE)["conferenceData"]["conferenceId"]
    stack.settle()
    wait_for(lambda: quiet(stack), message="initial sync")
    return event, meeting_id


def test_pending_changes_are_retried_without_a_new_trigger(short_lease_stack: Stack) -> None:
    stack = short_lease_stack
    event, meeting_id = conference_event(stack)
    stack.conferencing.set_fault("down", count=3)  # the run's three attempts fail, then it's back
    stack.calendar(ALICE).events().patch(
        calendarId=ALICE, eventId=event["id"], body={"summary": "After the outage"}
    ).execute()
    stack.settle()  # the one trigger for this change has been delivered
    stack.control("POST", "/_emulator/addon/notifications", {"dropRate": 1.0})  # and no more
    wait_for(
        lambda: stack.meetings()[meeting_id]["title"] == "After the outage",
        timeout=30,
        message="the pending change applied by the follow-up",
    )
    wait_for(lambda: stack.calendar_state(ALICE).pending_count == 0, message="nothing pending")


def test_lease_of_a_dead_holder_is_taken_over_without_a_new_trigger(
    short_lease_stack: Stack,
) -> None:
    stack = short_lease_stack
    event, meeting_id = conference_event(stack)
    assert stack.store.acquire_lease(ALICE, "worker-that-died", 5)
    stack.calendar(ALICE).events().patch(
        calendarId=ALICE, eventId=event["id"], body={"summary": "Taken over"}
    ).execute()
    stack.settle()  # the trigger found the lease taken: the calendar is marked dirty
    stack.control("POST", "/_emulator/addon/notifications", {"dropRate": 1.0})
    assert stack.meetings()[meeting_id]["title"] != "Taken over"
    wait_for(
        lambda: stack.meetings()[meeting_id]["title"] == "Taken over",
        timeout=30,
        message="the follow-up after the dead holder's lease expired",
    )


def test_change_during_a_calendar_429_syncs_without_another_trigger(
    short_lease_stack: Stack,
) -> None:
    stack = short_lease_stack
    event, meeting_id = conference_event(stack)
    stack.control(
        "POST",
        "/_emulator/faults",
        {"rules": [{"method": "events.list", "status": 429, "reason": "rateLimitExceeded"}]},
    )
    lifted = threading.Timer(4.0, lambda: stack.control("DELETE", "/_emulator/faults"))
    lifted.start()
    try:
        stack.calendar(ALICE).events().patch(
            calendarId=ALICE, eventId=event["id"], body={"summary": "During the 429s"}
        ).execute()
        stack.settle()  # the one trigger ran into the 429s and gave up
        stack.control("POST", "/_emulator/addon/notifications", {"dropRate": 1.0})
        wait_for(
            lambda: stack.meetings()[meeting_id]["title"] == "During the 429s",
            timeout=45,
            message="the change applied by a retry of its own",
        )
    finally:
        lifted.cancel()

    def recovered() -> bool:
        state = stack.calendar_state(ALICE)
        return not state.due and state.retry_at is None and not state.last_result["error"]

    # The vendor is called before the run stores its outcome: wait for that too.
    wait_for(recovered, timeout=10, message="the calendar clean again")
    runs = stack.store.recent_sync_runs(ALICE, limit=50)
    assert any("429" in (r.get("error") or "") for r in runs), "the 429s were really hit"
