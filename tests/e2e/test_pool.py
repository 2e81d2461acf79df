"""The sync's provider pool (issue 12): provider calls of one sync overlap, at most
``ADDON_SYNC_POOL_SIZE`` at a time, while the calls of one event or series stay in listing
order, one at a time; what the vendor ends with is what a one-by-one sync would leave.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from addon.settings import Solution
from addon.sync.report import SyncRun
from tests.e2e import overlap_provider
from tests.e2e.overlap_provider import RECORDER
from tests.e2e.stack import SOLUTION, Stack, running_stack
from tests.e2e.test_sync import ALICE, new_conference

pytestmark = pytest.mark.datastore

POOL = 4


def overlapping(emulator_url: str) -> tuple[Solution, ...]:
    options = {"base_url": emulator_url + "/_conferencing", "timeout_seconds": 2}
    return (Solution(SOLUTION, "Web conference", "https://x.example/l.png", "overlap", options),)


@pytest.fixture
def pool_stack(datastore) -> Iterator[Stack]:
    assert overlap_provider.OverlapProvider.name == "overlap"
    overlap_provider.RECORDER = RECORDER.__class__()
    with running_stack(datastore.project, overlapping, sync_pool_size=POOL) as s:
        yield s


def sync_once(stack: Stack) -> SyncRun:
    """One sync of everything changed since the last (triggers are dropped meanwhile, so
    the changes land on one listing page of one run)."""
    return stack.services.engine.sync(ALICE, stack.services.calendar_for_token(stack.user(ALICE)))


def recorder() -> overlap_provider.Recorder:
    return overlap_provider.RECORDER


def test_provider_calls_overlap_up_to_the_pool_size(pool_stack: Stack) -> None:
    stack = pool_stack
    made = [new_conference(stack, f"Meeting {i}") for i in range(12)]
    rec = recorder()
    rec.hold_first(POOL)  # the first POOL updates wait until POOL are in flight at once
    api = stack.calendar(ALICE)
    stack.control("POST", "/_emulator/addon/notifications", {"dropRate": 1.0})
    for i, (event, _) in enumerate(made):
        body = {"summary": f"Meeting {i} (moved)"}
        api.events().patch(calendarId=ALICE, eventId=event["id"], body=body).execute()
    assert sync_once(stack).status == "done"

    assert rec.max_in_flight == POOL
    assert rec.max_per_meeting == 1
    meetings = stack.meetings()
    for i, (_, meeting_id) in enumerate(made):
        assert meetings[meeting_id]["title"] == f"Meeting {i} (moved)"
    state = stack.calendar_state(ALICE)
    assert state.pending_count == 0 and state.parked_count == 0


def test_a_series_and_its_occurrences_run_in_order_one_at_a_time(pool_stack: Stack) -> None:
    stack = pool_stack
    series, series_meeting = new_conference(
        stack, "Weekly", recurrence=["RRULE:FREQ=WEEKLY;COUNT=8"]
    )
    others = [new_conference(stack, f"Other {i}") for i in range(6)]
    api = stack.calendar(ALICE)
    instances = api.events().instances(calendarId=ALICE, eventId=series["id"]).execute()["items"]
    # One listing page: the other events, and five occurrences of the series moved, interleaved.
    stack.control("POST", "/_emulator/addon/notifications", {"dropRate": 1.0})
    moved = []
    for i, instance in enumerate(instances[1:6]):
        start = f"2030-02-{4 + i:02d}T15:00:00Z"
        end = f"2030-02-{4 + i:02d}T16:00:00Z"
        body = {"start": {"dateTime": start}, "end": {"dateTime": end}}
        api.events().patch(calendarId=ALICE, eventId=instance["id"], body=body).execute()
        moved.append(instance["id"])
        event, _ = others[i]
        api.events().patch(calendarId=ALICE, eventId=event["id"], body={"summary": "x"}).execute()
    assert sync_once(stack).status == "done"

    rec = recorder()
    assert rec.max_per_meeting == 1
    series_calls = [label for meeting, label in rec.order if meeting == series_meeting]
    assert series_calls == moved, "the series' occurrence changes left listing order"
    changes = stack.meetings()[series_meeting]["occurrences"]
    assert [c["occurrenceEventId"] for c in changes] == moved
    record = stack.store.get_conference(ALICE, series["id"])
    assert record is not None and sorted(record.occurrences) == sorted(moved)


def test_a_busy_page_reads_only_records_that_can_be_ours_and_misses_no_removal(
    stack: Stack,
) -> None:
    from datetime import UTC, datetime, timedelta

    removed, removed_meeting = new_conference(stack, "Removed")
    deleted, deleted_meeting = new_conference(stack, "Deleted")
    edited, edited_meeting = new_conference(stack, "Edited")
    model = stack.emulator_app.config["EMULATOR_STATE"]
    api = stack.calendar(ALICE)
    stack.control("POST", "/_emulator/addon/notifications", {"dropRate": 1.0})
    # One page: 600 ordinary changes around a removal, a deletion and an edit.
    start = datetime(2030, 6, 1, tzinfo=UTC)
    model.seed(ALICE, 300, start, interval=timedelta(minutes=5), duration=timedelta(minutes=30))
    body = {"conferenceData": None}
    api.events().patch(
        calendarId=ALICE, eventId=removed["id"], body=body, conferenceDataVersion=1
    ).execute()
    api.events().delete(calendarId=ALICE, eventId=deleted["id"]).execute()
    api.events().patch(calendarId=ALICE, eventId=edited["id"], body={"summary": "Now"}).execute()
    model.seed(ALICE, 300, start, interval=timedelta(minutes=5), duration=timedelta(minutes=30))
    run = sync_once(stack)
    assert run.status == "done", run
    report = run.reports[0]
    assert report.changes >= 603
    assert report.live_id_reads >= 1
    assert report.lookups <= 10, "ordinary changes were looked up one by one"
    meetings = stack.meetings()
    assert meetings[removed_meeting]["deleted"] and meetings[deleted_meeting]["deleted"]
    assert meetings[edited_meeting]["title"] == "Now" and not meetings[edited_meeting]["deleted"]
