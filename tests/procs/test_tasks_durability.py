"""Every unfinished piece of work has a durable owner (Cloud Tasks), proven with real
processes: gunicorn killed with SIGKILL mid-sync, the backend down for 30 s while the vendor
is out, and no trigger after the change in either case.

The Cloud Tasks emulator delivers the tasks (at least once, retried with the queue's
backoff); nothing but tasks brings the changes to the meetings here.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from addon.settings import from_env
from addon.store.datastore import Store
from tests.procs import (
    EmulatorSide,
    Gunicorn,
    applied_twice,
    create_conferences,
    edit_events,
    meeting_mismatches,
    settle_calendar,
    updates_by_meeting,
    wait_for,
)

pytestmark = pytest.mark.datastore

ALICE = "alice@example.com"


def converged(side: EmulatorSide, store: Store) -> bool:
    state = store.get_calendar(ALICE)
    return bool(state and not state.due and state.lease_owner is None) and (
        meeting_mismatches(side, ALICE) == []
    )


def test_sigkill_mid_sync_the_task_is_redelivered_and_nothing_is_applied_twice(
    side: EmulatorSide, store: Store, start_addon: Callable[..., Gunicorn]
) -> None:
    addon = start_addon(workers=2, threads=4, lease_seconds=5)
    events = create_conferences(side, ALICE, 24)
    settle_calendar(side, addon, store, ALICE, ALICE)
    side.notifications(dropRate=0.0)  # the edits below each fire a trigger, as in Calendar
    side.conferencing.set_fault("hang", seconds=0.1)  # ~2.4 s of provider time for the sync
    edit_events(side, ALICE, events, "before the crash")
    side.silence()  # and nothing fires after them
    wait_for(lambda: len(updates_by_meeting(side)) >= 6, 30, "the sync to be well under way")
    addon.kill()  # master and every worker: no cleanup, the lease stays taken
    done_before_kill = len(updates_by_meeting(side))
    assert done_before_kill < len(events), "the sync finished before the kill"
    side.conferencing.set_fault(None)

    addon.start()  # no trigger from here on: only the queue knows there is work
    wait_for(lambda: converged(side, store), 90, "the calendar to converge from its tasks")

    assert meeting_mismatches(side, ALICE) == []
    assert applied_twice(side) == []
    assert sorted(updates_by_meeting(side).values()) == [1] * len(events)
    assert side.tasks_stats()["failures"] >= 1, "the killed delivery was not retried"


def test_backend_down_for_30s_during_a_vendor_outage_converges_without_a_trigger(
    side: EmulatorSide, store: Store, start_addon: Callable[..., Gunicorn]
) -> None:
    addon = start_addon(
        workers=2,
        threads=4,
        lease_seconds=5,
        extra_env={"ADDON_RETRY_BASE_SECONDS": "1", "ADDON_RETRY_MAX_SECONDS": "4"},
    )
    events = create_conferences(side, ALICE, 6)
    settle_calendar(side, addon, store, ALICE, ALICE)
    side.conferencing.set_fault("down")  # the vendor is out until further notice
    side.notifications(dropRate=0.0)
    edit_events(side, ALICE, events, "during the outage")
    side.silence()

    def pending() -> bool:
        state = store.get_calendar(ALICE)
        return state is not None and state.pending_count > 0

    wait_for(pending, 30, "the changes to be left pending by the outage")
    addon.stop()  # every backend process gone; retry tasks now fail to connect
    failures_before = side.tasks_stats()["failures"]
    time.sleep(30)
    assert side.tasks_stats()["failures"] > failures_before, "no delivery was tried meanwhile"
    side.conferencing.set_fault(None)  # the vendor is back while we are still down
    addon.start()

    wait_for(lambda: converged(side, store), 90, "the calendar to converge from its tasks")
    assert sorted(updates_by_meeting(side).values()) == [1] * len(events)
    assert applied_twice(side) == []


def test_another_users_rename_lands_between_the_slices_of_big_initial_syncs(
    side: EmulatorSide, store: Store, start_addon: Callable[..., Gunicorn]
) -> None:
    """Fair share: two delivery slots, three big initial syncs. Without time slices the big
    syncs hold both slots until they end; with them, each hands its slot back after a page
    and the other user's task gets one while the big ones are still under way."""
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import tasks_v2

    addon = start_addon(
        workers=1, threads=2, lease_seconds=30, extra_env={"ADDON_SLICE_PAGES": "1"}
    )
    client = tasks_v2.CloudTasksClient(
        transport="rest",
        credentials=AnonymousCredentials(),
        client_options=ClientOptions(api_endpoint=side.url),
    )
    queue_name = addon.settings_env().get("ADDON_TASKS_QUEUE") or from_env({}).tasks_queue
    limits = {"max_concurrent_dispatches": 2}
    client.update_queue(
        request={
            "queue": {"name": queue_name, "rate_limits": limits},
            "update_mask": {"paths": ["rate_limits.max_concurrent_dispatches"]},
        }
    )
    other = "other@example.com"
    event = create_conferences(side, other, 1)[0]
    settle_calendar(side, addon, store, other, other)
    meeting_id = side.conferencing.meetings()[0]["id"]
    big = [f"tenant{i}@example.com" for i in range(3)]
    for user in big:
        side.user(user)
        # Big enough that a whole initial sync outlasts the rename's debounce and dispatch.
        side.control("POST", f"/_emulator/calendars/{user}/seed", {"count": 30_000})
    side.notifications(dropRate=0.0)
    for user in big:  # the first conference on each starts its initial sync (12 pages)
        create_conferences(side, user, 1)

    def started(user: str) -> bool:
        state = store.get_calendar(user)
        return state is not None and bool(state.lease_owner or state.cursor or state.sync_token)

    def finished(user: str) -> bool:
        state = store.get_calendar(user)
        return state is not None and bool(state.sync_token) and not state.due

    wait_for(lambda: sum(map(started, big)) >= 2, 60, "two initial syncs to hold the slots")
    side.calendar(other).events().patch(
        calendarId=other, eventId=event["id"], body={"summary": "Renamed"}
    ).execute()

    def renamed() -> bool:
        return side.meetings()[meeting_id]["title"] == "Renamed"

    wait_for(renamed, 120, "the other user's rename")
    done_first = [u for u in big if finished(u)]
    # Without slices the two syncs holding the slots run to their end before the rename's
    # task gets one; with them, the rename's task takes the first slot handed back.
    assert done_first == [], f"the rename waited for whole initial syncs: {done_first}"
    wait_for(lambda: all(map(finished, big)), 300, "the initial syncs to finish")
