"""Regressions from the adversarial review (issue 9): each test reproduces one observed defect
on the real stack and checks the outcome where the user sees it (the vendor's meetings, the
event's join data), not only in our records."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jwt
import pytest

from addon.providers.registry import build_provider
from addon.settings import Solution
from addon.sync.engine import SyncEngine
from tests.e2e.stack import RECORDED, SOLUTION, Stack, running_stack
from tests.e2e.test_create import insert_event
from tests.e2e.test_edges import jitsi_solutions
from tests.e2e.test_sync import ALICE, new_conference, patch

pytestmark = pytest.mark.datastore

BOB = "bob@example.com"


def client(stack: Stack, user: str = ALICE) -> Any:
    return stack.services.calendar_for_token(stack.user(user))


def sync(stack: Stack, calendar_id: str = ALICE, user: str = ALICE) -> Any:
    return stack.services.engine.sync(calendar_id, client(stack, user))


def remove_conference(stack: Stack, event_id: str, calendar_id: str = ALICE) -> None:
    stack.calendar(ALICE).events().patch(
        calendarId=calendar_id,
        eventId=event_id,
        body={"conferenceData": None},
        conferenceDataVersion=1,
    ).execute()
    stack.settle()


def event_of(stack: Stack, event_id: str, calendar_id: str = ALICE) -> dict[str, Any]:
    events = stack.control("GET", f"/_emulator/calendars/{calendar_id}/events")["items"]
    return next(e for e in events if e["id"] == event_id)


def carried_id(stack: Stack, event_id: str, calendar_id: str = ALICE) -> str | None:
    data = event_of(stack, event_id, calendar_id).get("conferenceData") or {}
    return data.get("conferenceId")


def failed_calls(stack: Stack) -> list[dict[str, Any]]:
    return [c for c in stack.conferencing.calls() if c["outcome"] == "rejected"]


# ---- 1. idempotency keys name their target, creations carry a generation ---------------------
def test_readding_a_removed_conference_gets_a_new_live_meeting(stack: Stack) -> None:
    event, first = new_conference(stack)
    remove_conference(stack, event["id"])
    assert stack.meetings()[first]["deleted"], "removing the conference deletes its meeting"

    answer = stack.pick(ALICE, event["id"], ALICE)
    stack.settle()
    second = answer["conferenceData"]["conferenceId"]
    assert second != first, "the vendor replayed the earlier (deleted) meeting"
    assert not stack.meetings()[second]["deleted"]
    assert carried_id(stack, event["id"]) == second

    patch(stack, event["id"], {"summary": "After the re-add"})
    assert stack.meetings()[second]["title"] == "After the re-add"
    assert failed_calls(stack) == []


def test_switching_solutions_then_deleting_deletes_every_meeting(stack: Stack) -> None:
    event, first = new_conference(stack)
    answer = stack.pick(ALICE, event["id"], ALICE, RECORDED)
    stack.settle()
    second = answer["conferenceData"]["conferenceId"]
    assert second != first
    assert stack.meetings()[first]["deleted"], "the replaced meeting is retired"

    stack.calendar(ALICE).events().delete(calendarId=ALICE, eventId=event["id"]).execute()
    stack.settle()
    assert stack.meetings()[second]["deleted"], "the vendor refused the second delete"
    assert failed_calls(stack) == []
    record = stack.store.get_conference(ALICE, event["id"])
    assert record is not None and record.state == "deleted"
    # A later full sync has nothing left to do about it.
    stack.control("POST", f"/_emulator/calendars/{ALICE}/expire-sync-tokens")
    run = sync(stack)
    assert run.status == "done" and not run.reports[-1].error


def test_keys_differ_per_operation_target(stack: Stack) -> None:
    event, first = new_conference(stack)
    remove_conference(stack, event["id"])
    stack.pick(ALICE, event["id"], ALICE)
    stack.settle()
    keys = [c["idempotencyKey"] for c in stack.conferencing.calls()]
    assert len(keys) == len(set(keys)), keys
    creates = [c["idempotencyKey"] for c in stack.conferencing.calls() if c["op"] == "create"]
    assert len(creates) == 2 and creates[0] != creates[1]
    deletes = [c for c in stack.conferencing.calls() if c["op"] == "delete"]
    assert deletes and all(first in c["idempotencyKey"] for c in deletes)


# ---- 2. a failed write-back of new join data is retried ----------------------------------------
@pytest.fixture
def jwt_stack(datastore) -> Iterator[Stack]:
    with running_stack(datastore.project, jitsi_solutions) as s:
        yield s


def join_window(event: dict[str, Any]) -> tuple[int, int]:
    video = next(
        e for e in event["conferenceData"]["entryPoints"] if e["entryPointType"] == "video"
    )
    token = video["uri"].split("jwt=", 1)[1].split("#", 1)[0]
    claims = jwt.decode(token, options={"verify_signature": False})
    return int(claims["nbf"]), int(claims["exp"])


def test_failed_write_back_of_new_join_data_is_retried(jwt_stack: Stack) -> None:
    from datetime import datetime

    stack = jwt_stack
    event, _ = new_conference(stack)
    stack.control("POST", "/_emulator/addon/notifications", {"dropRate": 1.0})
    model = stack.emulator_app.config["EMULATOR_STATE"]
    model.events_patch(
        ALICE,
        ALICE,
        event["id"],
        {
            "start": {"dateTime": "2030-01-09T15:00:00Z"},
            "end": {"dateTime": "2030-01-09T16:00:00Z"},
        },
    )
    # Every write-back attempt of this run fails (503 beyond the client's retries).
    stack.control(
        "POST", "/_emulator/faults", {"rules": [{"method": "events.patch", "status": 503}]}
    )
    sync(stack)
    stack.control("DELETE", "/_emulator/faults")
    sync(stack)  # no new change: only what we owe the event is left

    moved = event_of(stack, event["id"])
    nbf, exp = join_window(moved)
    start = datetime.fromisoformat("2030-01-09T15:00:00+00:00").timestamp()
    end = datetime.fromisoformat("2030-01-09T16:00:00+00:00").timestamp()
    assert nbf <= start and exp >= end, "the join token is not valid at the event's new time"
    assert stack.calendar_state(ALICE).pending_count == 0


# ---- 3. one event with a permanent Calendar error does not stall the calendar -----------------
def test_copy_in_a_calendar_the_subscriber_can_only_read_does_not_stall(stack: Stack) -> None:
    team = stack.calendar(ALICE).calendars().insert(body={"summary": "Team"}).execute()["id"]
    stack.control("POST", f"/_emulator/calendars/{team}/share", {"email": BOB, "role": "writer"})
    bob = stack.calendar(BOB)
    first = bob.events().insert(calendarId=team, body=_times("First")).execute()
    second = bob.events().insert(calendarId=team, body=_times("Second")).execute()
    stack.pick(team, first["id"], BOB)
    meeting_two = stack.pick(team, second["id"], BOB)["conferenceData"]["conferenceId"]
    stack.settle()

    # Bob is downgraded to reader; the owner copies the first event (conference included).
    stack.control("POST", f"/_emulator/calendars/{team}/share", {"email": BOB, "role": "reader"})
    alice = stack.calendar(ALICE)
    source = alice.events().get(calendarId=team, eventId=first["id"]).execute()
    body = {k: source[k] for k in ("summary", "start", "end", "conferenceData")}
    alice.events().insert(calendarId=team, body=body, conferenceDataVersion=1).execute()
    stack.settle()
    alice.events().patch(
        calendarId=team, eventId=second["id"], body={"summary": "Moved on"}
    ).execute()
    stack.settle()

    assert stack.meetings()[meeting_two]["title"] == "Moved on", "the calendar stalled"
    state = stack.calendar_state(team)
    assert not state.last_result["error"] and state.sync_token
    assert [c["op"] for c in stack.provider_calls()].count("create") == 2, "no meeting for a copy"
    assert state.parked_count == 1  # the copy is shown as needing attention


def test_permanent_403_on_one_write_back_parks_it_and_the_rest_syncs(stack: Stack) -> None:
    original, _ = new_conference(stack)
    other, other_meeting = new_conference(stack, "Other")
    stack.control("POST", "/_emulator/addon/notifications", {"dropRate": 1.0})
    model = stack.emulator_app.config["EMULATOR_STATE"]
    copy = stack.copy_event(ALICE, ALICE, original["id"])
    stack.control(
        "POST",
        "/_emulator/faults",
        {"rules": [{"method": "events.patch", "status": 403, "reason": "forbidden"}]},
    )
    for round_ in range(5):
        model.events_patch(ALICE, ALICE, other["id"], {"summary": f"Round {round_}"})
        generation = stack.calendar_state(ALICE).token_generation
        run = sync(stack)
        assert not run.reports[-1].error, run
        assert stack.calendar_state(ALICE).token_generation == generation + 1
        assert stack.meetings()[other_meeting]["title"] == f"Round {round_}"

    parked = [p for p in stack.store.list_pending(ALICE) if p.parked]
    assert [p.event_id for p in parked] == [copy["id"]]
    assert "403" in (parked[0].last_error or "") and parked[0].attempts == 3
    state = stack.calendar_state(ALICE)
    assert state.parked_count == 1 and state.pending_count == 0
    # The copy's meeting was not left behind: nothing live that no event carries.
    live = {m for m, v in stack.meetings().items() if not v["deleted"]}
    carried = {
        (e.get("conferenceData") or {}).get("conferenceId")
        for e in stack.control("GET", f"/_emulator/calendars/{ALICE}/events")["items"]
        if e.get("status") != "cancelled"
    }
    assert live <= carried, f"orphaned meetings: {live - carried}"


def _times(summary: str, day: int = 7, **extra: Any) -> dict[str, Any]:
    return {
        "summary": summary,
        "start": {"dateTime": f"2030-01-{day:02d}T10:00:00Z"},
        "end": {"dateTime": f"2030-01-{day:02d}T11:00:00Z"},
        **extra,
    }


# ---- 5. the 410 reconcile renews its lease, retires ended records, runs once ------------------
def _past(summary: str, days_ago: int) -> dict[str, Any]:
    from datetime import UTC, datetime, timedelta

    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=days_ago)
    return {
        "summary": summary,
        "start": {"dateTime": start.isoformat().replace("+00:00", "Z")},
        "end": {"dateTime": (start + timedelta(hours=1)).isoformat().replace("+00:00", "Z")},
    }


def test_reconcile_retires_records_of_events_that_ended_long_ago(stack: Stack) -> None:
    api = stack.calendar(ALICE)
    for i in range(3):
        old = api.events().insert(calendarId=ALICE, body=_past(f"Old {i}", 3 + i)).execute()
        stack.pick(ALICE, old["id"], ALICE)
    live, _ = new_conference(stack, "Still ahead")
    stack.settle()
    for attempt in range(2):
        stack.control("POST", f"/_emulator/calendars/{ALICE}/expire-sync-tokens")
        stack.control("POST", "/_emulator/stats/reset")
        run = sync(stack)
        assert run.reports[-1].mode == "full" and not run.reports[-1].error
        gets = stack.control("GET", "/_emulator/stats")["requests"].get("events.get", 0)
        assert gets == 0, f"round {attempt}: {gets} events.get for events that ended long ago"
    records = stack.store.list_conferences(ALICE, active_only=False)
    assert sorted(r.state for r in records) == ["active", "retired", "retired", "retired"]
    assert next(r for r in records if r.state == "active").event_id == live["id"]


@pytest.fixture
def short_lease_stack(datastore) -> Iterator[Stack]:
    def quick(emulator_url: str) -> tuple[Solution, ...]:
        options = {"base_url": emulator_url + "/_conferencing", "timeout_seconds": 0.5}
        return (Solution(SOLUTION, "Web conference", "https://x.example/l.png", "rest", options),)

    with running_stack(datastore.project, quick, lease_seconds=5) as s:
        yield s


def test_one_full_sync_at_a_time_however_long_the_reconcile(short_lease_stack: Stack) -> None:
    import threading
    import time

    stack = short_lease_stack
    api = stack.calendar(ALICE)
    for i in range(12):
        old = api.events().insert(calendarId=ALICE, body=_past(f"Old {i}", 2)).execute()
        stack.pick(ALICE, old["id"], ALICE)
    stack.settle()
    stack.control("POST", "/_emulator/addon/notifications", {"dropRate": 1.0})
    stack.control("POST", f"/_emulator/calendars/{ALICE}/expire-sync-tokens")
    # Every Calendar call now takes 0.6 s: twelve reconcile reads outlast the 5 s lease.
    stack.control(
        "POST",
        "/_emulator/faults",
        {"rules": [{"method": "*", "rate": 0, "latencySeconds": 0.6}]},
    )
    stack.control("POST", "/_emulator/stats/reset")
    runs: list[Any] = []
    first = threading.Thread(target=lambda: runs.append(sync(stack)))
    first.start()
    time.sleep(6.0)
    second = sync(stack)
    first.join()
    stack.control("DELETE", "/_emulator/faults")
    stats = stack.control("GET", "/_emulator/stats")["requests"]
    assert stats.get("events.get", 0) <= 12, stats
    fulls = [r for run in [*runs, second] for r in run.reports if r.mode == "full"]
    assert len(fulls) == 1, [r.to_dict() for r in fulls]


# ---- 7. a solution removed from configuration ---------------------------------------------------
def test_records_of_a_removed_solution_are_skipped_and_the_rest_syncs(stack: Stack) -> None:
    event_a, meeting_a = new_conference(stack)
    event_b = insert_event(stack, "Recorded")
    meeting_b = stack.pick(ALICE, event_b["id"], ALICE, RECORDED)["conferenceData"]["conferenceId"]
    stack.settle()
    stack.control("POST", "/_emulator/addon/notifications", {"dropRate": 1.0})
    model = stack.emulator_app.config["EMULATOR_STATE"]
    model.events_patch(ALICE, ALICE, event_a["id"], {"summary": "A renamed"})
    model.events_patch(ALICE, ALICE, event_b["id"], {"summary": "B renamed"})
    only_a = {SOLUTION: stack.services.solutions[SOLUTION]}
    engine = SyncEngine(
        store=stack.store,
        providers={SOLUTION: build_provider("rest", dict(only_a[SOLUTION].options))},
        solutions=only_a,
        lease_seconds=30,
    )
    run = engine.sync(ALICE, client(stack))
    report = run.reports[-1]
    assert not report.error
    assert stack.meetings()[meeting_a]["title"] == "A renamed"
    assert stack.meetings()[meeting_b]["title"] != "B renamed"
    assert report.skipped == {f"solution {RECORDED} is no longer configured": 1}
    parked = [p for p in stack.store.list_pending(ALICE) if p.parked]
    assert [p.event_id for p in parked] == [event_b["id"]]
    assert parked[0].needs_solution == RECORDED
    # Configured again: the parked change is applied by the next sync, without any edit.
    run = sync(stack)
    assert not run.reports[-1].error and run.reports[-1].replayed == 1
    assert stack.meetings()[meeting_b]["title"] == "B renamed"
    assert stack.calendar_state(ALICE).parked_count == 0


# ---- invitations: attendees' copies and forged conference data ----------------------------------
def test_invited_subscriber_sees_the_organizers_event_and_nothing_is_called(stack: Stack) -> None:
    bob = stack.calendar(BOB)
    own = bob.events().insert(calendarId=BOB, body=_times("Bob's own")).execute()
    own_meeting = stack.pick(BOB, own["id"], BOB)["conferenceData"]["conferenceId"]
    stack.settle()
    event, alice_meeting = new_conference(stack, attendees=[{"email": BOB}])
    copy = event_of(stack, event["id"], BOB)
    assert copy["conferenceData"]["conferenceId"] == alice_meeting
    assert copy["organizer"]["email"] == ALICE and not copy["organizer"].get("self")
    # Bob may not change the conference on his copy.
    from googleapiclient.errors import HttpError

    with pytest.raises(HttpError) as refused:
        bob.events().patch(
            calendarId=BOB, eventId=event["id"], body={"conferenceData": None},
            conferenceDataVersion=1,
        ).execute()  # fmt: skip
    assert refused.value.resp.status == 403
    assert b"forbiddenForNonOrganizer" in refused.value.content
    before = len(stack.conferencing.calls())
    patch(stack, event["id"], {"summary": "Renamed by the organizer"})
    assert event_of(stack, event["id"], BOB)["summary"] == "Renamed by the organizer"
    calls = stack.conferencing.calls()[before:]
    assert [(c["op"], c["meetingId"]) for c in calls] == [("update", alice_meeting)]
    assert stack.meetings()[own_meeting]["title"] == "Bob's own"


def test_outsider_invitation_with_forged_conference_data_calls_nothing(stack: Stack) -> None:
    mallory = "mallory@outside.example"
    bob = stack.calendar(BOB)
    own = bob.events().insert(calendarId=BOB, body=_times("Bob's own")).execute()
    own_meeting = stack.pick(BOB, own["id"], BOB)["conferenceData"]["conferenceId"]
    stack.settle()
    victim, victim_meeting = new_conference(stack, "Alice's meeting")
    forged = dict(event_of(stack, victim["id"])["conferenceData"])
    stack.user(mallory)
    outsider = stack.calendar(mallory)
    before = len(stack.conferencing.calls())
    for params in (
        forged["parameters"],  # points at Alice's meeting
        {"addOnParameters": {"parameters": {"ownerCalendarId": BOB, "ownerEventId": own["id"],
                                            "solutionId": SOLUTION}}},  # claims Bob's
    ):  # fmt: skip
        body = _times("Totally legit", attendees=[{"email": BOB}])
        body["conferenceData"] = {**forged, "parameters": params}
        outsider.events().insert(calendarId=mallory, body=body, conferenceDataVersion=1).execute()
        stack.settle()
    assert stack.conferencing.calls()[before:] == [], "a forged invitation reached the vendor"
    state = stack.calendar_state(BOB)
    assert not state.last_result["error"]
    patch_bob = {"summary": "Still syncing"}
    bob.events().patch(calendarId=BOB, eventId=own["id"], body=patch_bob).execute()
    stack.settle()
    assert stack.meetings()[own_meeting]["title"] == "Still syncing"
    assert not stack.meetings()[victim_meeting]["deleted"]


# ---- no orphans: picks that never reach their event ---------------------------------------------
def test_conference_removed_before_any_sync_saw_it_deletes_the_meeting(stack: Stack) -> None:
    """The listing shows only an event's latest version: picked, then removed before a sync
    ran, the event is never seen carrying our conference. The meeting must go all the same."""
    stack.control("POST", "/_emulator/addon/notifications", {"dropRate": 1.0})
    event = insert_event(stack)
    sync(stack)  # the calendar has a token from before the pick
    meeting = stack.pick(ALICE, event["id"], ALICE)["conferenceData"]["conferenceId"]
    remove_conference(stack, event["id"])
    sync(stack)
    assert stack.meetings()[meeting]["deleted"], "an orphan: the meeting outlived its removal"


def test_a_pick_whose_event_never_appears_is_cleaned_up(stack: Stack) -> None:
    """A new event's dialog where the user picked our solution and then discarded the draft:
    the event never exists. After a grace period the meeting is deleted."""
    from datetime import UTC, datetime, timedelta

    event = insert_event(stack)
    stack.pick(ALICE, event["id"], ALICE)
    stack.settle()
    answer = stack.pick(ALICE, "draftneversaved0001", ALICE)
    assert answer["eventMissing"]
    orphan = answer["conferenceData"]["conferenceId"]
    sync(stack)
    assert not stack.meetings()[orphan]["deleted"]  # within the grace period: wait
    svc = stack.services
    later = SyncEngine(
        store=svc.store,
        providers=svc.providers,
        solutions=svc.solutions,
        lease_seconds=svc.settings.lease_seconds,
        clock=lambda: datetime.now(UTC) + timedelta(hours=2),
    )
    later.sync(ALICE, client(stack))
    assert stack.meetings()[orphan]["deleted"]
    record = stack.store.get_conference(ALICE, "draftneversaved0001")
    assert record is not None and record.state == "deleted"


def test_a_pick_during_a_copys_write_back_wins_and_leaves_no_orphan(stack: Stack) -> None:
    """The sync gave a copy its own meeting and is writing it onto the event (slowly) while the
    user picks the other solution on that very event: the user's pick must win, and the meeting
    the sync made must not survive (nor be written over the user's)."""
    import threading
    import time

    original, _ = new_conference(stack)
    stack.control("POST", "/_emulator/addon/notifications", {"dropRate": 1.0})
    copy = stack.copy_event(ALICE, ALICE, original["id"])
    slow = {"method": "events.patch", "rate": 0, "latencySeconds": 1.5}
    stack.control("POST", "/_emulator/faults", {"rules": [slow]})
    runs: list[Any] = []
    syncing = threading.Thread(target=lambda: runs.append(sync(stack)))
    syncing.start()
    time.sleep(0.7)  # the sync's write-back of the copy's new meeting is on its way
    picked = stack.pick(ALICE, copy["id"], ALICE, RECORDED)["conferenceData"]["conferenceId"]
    syncing.join(30)
    stack.control("DELETE", "/_emulator/faults")
    sync(stack)
    assert carried_id(stack, copy["id"]) == picked, "the sync wrote over the user's pick"
    assert not stack.meetings()[picked]["deleted"]
    live = {m for m, v in stack.meetings().items() if not v["deleted"]}
    carried = {carried_id(stack, e) for e in (original["id"], copy["id"])}
    assert live == carried, f"orphans: {live - carried}"
