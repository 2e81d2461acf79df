"""Time slices: a listing cut into tasks resumes where it stood, applies every change once,
and starts over correctly when Calendar refuses a continuation's page token.

The engine is driven directly with a one-page budget (what a task does), against the real
stack: Calendar emulator pages of 2,500 events, Datastore emulator, the vendor's REST fake.
"""

from __future__ import annotations

from typing import Any

import pytest
from google.cloud import datastore as gds

from addon.store.entities import SEEN_ALIVE
from addon.sync.report import SyncRun
from addon.sync.slices import SliceBudget
from tests.e2e.stack import Stack
from tests.e2e.test_sync import ALICE, new_conference

pytestmark = pytest.mark.datastore

ONE_PAGE = SliceBudget(pages=1)


def quiet_triggers(stack: Stack) -> None:
    """No trigger may sync behind the test's back: the test runs every slice itself."""
    stack.control("POST", "/_emulator/addon/notifications", {"dropRate": 1.0})


def seed(stack: Stack, count: int) -> None:
    stack.control("POST", f"/_emulator/calendars/{ALICE}/seed", {"count": count})


def retitle(stack: Stack, event_id: str, title: str) -> None:
    model = stack.emulator_app.config["EMULATOR_STATE"]
    model.events_patch(ALICE, ALICE, event_id, {"summary": title})


def run_slices(stack: Stack, limit: int = 20) -> list[SyncRun]:
    client = stack.services.calendar_for_token(stack.user(ALICE))
    runs = []
    for _ in range(limit):
        run = stack.services.engine.sync(ALICE, client, budget=ONE_PAGE)
        runs.append(run)
        if run.status != "continue":
            return runs
    raise AssertionError(f"still continuing after {limit} slices")


def seen_chunks_stored(project: str) -> int:
    client = gds.Client(project=project)
    return len(list(client.query(kind=SEEN_ALIVE).fetch()))


def updates(stack: Stack) -> dict[str, int]:
    out: dict[str, int] = {}
    for call in stack.provider_calls():
        if call["op"] == "update":
            out[call["meetingId"]] = out.get(call["meetingId"], 0) + 1
    return out


def titles(stack: Stack) -> dict[str, Any]:
    return {m["id"]: m["title"] for m in stack.meetings().values()}


def test_a_sliced_incremental_listing_applies_every_change_once(stack: Stack) -> None:
    first, meeting_1 = new_conference(stack, "First")
    second, meeting_2 = new_conference(stack, "Second")
    quiet_triggers(stack)
    retitle(stack, first["id"], "First, moved")
    seed(stack, 5200)  # with the two edits: three pages of 2,500
    retitle(stack, second["id"], "Second, moved")

    runs = run_slices(stack)

    assert [r.status for r in runs] == ["continue", "continue", "done"]
    reports = [r.reports[0] for r in runs]
    assert [(r.mode, r.slice, r.pages) for r in reports] == [
        ("incremental", 1, 1),
        ("incremental", 2, 1),
        ("incremental", 3, 1),
    ]
    assert [r.token_stored for r in reports] == [False, False, True]
    state = stack.calendar_state(ALICE)
    assert state.cursor is None and not state.due
    meetings = titles(stack)
    assert meetings[meeting_1] == "First, moved" and meetings[meeting_2] == "Second, moved"
    assert updates(stack) == {meeting_1: 1, meeting_2: 1}
    # The stored token is where the listing ended: one more sync sees nothing.
    after = run_slices(stack)[0].reports[0]
    assert (after.changes, after.pages) == (0, 1)


def test_between_slices_the_cursor_is_stored_and_the_calendar_is_due(stack: Stack) -> None:
    new_conference(stack, "Only")
    quiet_triggers(stack)
    token_before = stack.calendar_state(ALICE).sync_token
    seed(stack, 3000)
    client = stack.services.calendar_for_token(stack.user(ALICE))
    run = stack.services.engine.sync(ALICE, client, budget=ONE_PAGE)
    assert run.status == "continue"
    state = stack.calendar_state(ALICE)
    assert state.cursor is not None and state.cursor.page_token
    assert state.cursor.base_token == token_before
    assert state.sync_token == token_before, "the token moved before the listing ended"
    assert state.due and state.lease_owner is None
    assert stack.store.due_calendars() == [ALICE]


def test_a_sliced_full_sync_still_finds_deletions_made_without_a_token(stack: Stack) -> None:
    _, kept_meeting = new_conference(stack, "Kept")
    gone, gone_meeting = new_conference(stack, "Gone")
    quiet_triggers(stack)
    seed(stack, 5200)
    stack.control("POST", f"/_emulator/calendars/{ALICE}/expire-sync-tokens")
    model = stack.emulator_app.config["EMULATOR_STATE"]
    model.events_delete(ALICE, ALICE, gone["id"])

    client = stack.services.calendar_for_token(stack.user(ALICE))
    first = stack.services.engine.sync(ALICE, client, budget=ONE_PAGE)
    assert first.status == "continue"
    assert first.reports[0].token_expired
    cursor = stack.calendar_state(ALICE).cursor
    assert cursor is not None and cursor.mode == "full" and cursor.seen_chunks >= 1
    assert seen_chunks_stored(stack.services.settings.datastore_project) == cursor.seen_chunks
    runs = [first, *run_slices(stack)]

    assert runs[-1].status == "done"
    assert all(r.reports[0].mode == "full" for r in runs)
    meetings = stack.meetings()
    assert meetings[gone_meeting]["deleted"] and not meetings[kept_meeting]["deleted"]
    state = stack.calendar_state(ALICE)
    assert state.cursor is None and state.sync_token and not state.needs_full_sync
    assert seen_chunks_stored(stack.services.settings.datastore_project) == 0
    assert updates(stack) == {}


def test_a_continuation_whose_page_token_expired_lists_again(stack: Stack) -> None:
    first, meeting_1 = new_conference(stack, "First")
    second, meeting_2 = new_conference(stack, "Second")
    quiet_triggers(stack)
    retitle(stack, first["id"], "First, moved")
    seed(stack, 5200)
    retitle(stack, second["id"], "Second, moved")
    client = stack.services.calendar_for_token(stack.user(ALICE))
    assert stack.services.engine.sync(ALICE, client, budget=ONE_PAGE).status == "continue"
    # Calendar invalidates every token of the calendar, page tokens included.
    stack.control("POST", f"/_emulator/calendars/{ALICE}/expire-sync-tokens")

    runs = run_slices(stack)

    assert runs[-1].status == "done"
    assert runs[0].reports[0].mode == "full"  # the base token is gone too: a full listing
    meetings = titles(stack)
    assert meetings[meeting_1] == "First, moved" and meetings[meeting_2] == "Second, moved"
    assert updates(stack) == {meeting_1: 1, meeting_2: 1}
    state = stack.calendar_state(ALICE)
    assert state.cursor is None and state.sync_token


def test_work_left_in_a_slice_is_not_counted_as_a_retry_until_the_listing_ends(
    stack: Stack,
) -> None:
    first, meeting_1 = new_conference(stack, "First")
    quiet_triggers(stack)
    retitle(stack, first["id"], "First, moved")
    seed(stack, 5200)
    stack.conferencing.set_fault("down", count=3)  # the first slice's update fails
    client = stack.services.calendar_for_token(stack.user(ALICE))
    engine = stack.services.engine
    assert engine.sync(ALICE, client, budget=ONE_PAGE).status == "continue"
    state = stack.calendar_state(ALICE)
    # The continuation is the follow-up: no retry is scheduled or counted per slice.
    assert state.pending_count == 1 and state.retry_at is None and state.retry_count == 0
    assert state.due
    runs = run_slices(stack)
    assert runs[-1].status == "done"
    state = stack.calendar_state(ALICE)
    assert state.pending_count == 1 and state.retry_at is not None and state.retry_count == 1
    # The retry, with the vendor back, replays it.
    retry = engine.sync(ALICE, client, budget=ONE_PAGE)
    assert retry.status == "done" and retry.reports[0].replayed == 1
    assert titles(stack)[meeting_1] == "First, moved"
    assert stack.calendar_state(ALICE).pending_count == 0
