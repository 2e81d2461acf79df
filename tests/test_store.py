"""The store against the real Datastore emulator."""

from __future__ import annotations

import threading

import pytest

from addon.providers.base import EntryPoint, Meeting
from addon.store.datastore import Store
from addon.store.records import Conference, EventSnapshot, PendingChange

pytestmark = pytest.mark.datastore


@pytest.fixture
def store(datastore) -> Store:
    return Store.connect(project=datastore.project)


def _conference(event_id: str = "ev1", solution: str = "web") -> Conference:
    meeting = Meeting(
        meeting_id="m-" + event_id,
        entry_points=(EntryPoint(type="video", uri="https://meet.example/" + event_id),),
        data={"room": event_id},
    )
    snap = EventSnapshot.from_event(
        {"summary": "Hi", "start": {"dateTime": "2026-12-01T10:00:00Z"}, "etag": '"1"'}
    )
    return Conference(
        calendar_id="alice@example.com",
        event_id=event_id,
        solution_id=solution,
        conference_id="m-" + event_id,
        meeting=meeting,
        snapshot=snap,
    )


def test_conference_roundtrip_and_lookup(store: Store) -> None:
    conf, inserted, replaced = store.save_creation(_conference())
    assert inserted and replaced is None
    again, inserted_again, _ = store.save_creation(_conference())
    assert not inserted_again and again.conference_id == conf.conference_id
    loaded = store.get_conference("alice@example.com", "ev1")
    assert loaded is not None
    assert loaded.meeting == conf.meeting and loaded.snapshot == conf.snapshot
    assert [c.event_id for c in store.find_by_conference_id("m-ev1")] == ["ev1"]
    assert set(store.get_conferences("alice@example.com", ["ev1", "nope"])) == {"ev1"}


def test_creation_insert_refused_when_a_record_landed_meanwhile(store: Store) -> None:
    """onCreate read no record, but a duplicate stored one before its insert: the insert is
    refused and the stored record wins (one record, one meeting); a removed (deleted) record
    is replaced as before."""
    first, inserted, _ = store.save_creation(_conference(), absent=True)
    assert inserted and first.version == 1
    late, inserted_late, replaced = store.save_creation(
        _conference().with_(conference_id="m-other"), absent=True
    )
    assert not inserted_late and replaced is None and late.conference_id == "m-ev1"
    stored = store.get_conference("alice@example.com", "ev1")
    assert stored is not None and stored.conference_id == "m-ev1" and stored.version == 1
    store.put_conference(stored.with_(state="deleted"))
    new, inserted_new, replaced_new = store.save_creation(
        _conference().with_(conference_id="m-new"), absent=True
    )
    assert inserted_new and new.conference_id == "m-new"
    assert replaced_new is not None and replaced_new.conference_id == "m-ev1"


def test_lease_is_exclusive_and_dirty_means_run_again(store: Store) -> None:
    cal = "alice@example.com"
    assert store.acquire_lease(cal, "a", 60)
    assert not store.acquire_lease(cal, "b", 60)  # marks dirty
    assert store.finish_run(cal, "a", 60) is False  # dirty: run again, lease kept
    assert store.finish_run(cal, "a", 60) is True
    assert store.acquire_lease(cal, "b", 60)


def test_concurrent_lease_has_one_winner(store: Store) -> None:
    results: list[bool] = []
    lock = threading.Lock()

    def take(i: int) -> None:
        got = store.acquire_lease("cal", f"owner{i}", 60)
        with lock:
            results.append(got)

    threads = [threading.Thread(target=take, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 1
    state = store.get_calendar("cal")
    assert state is not None and state.dirty


def test_token_only_stored_by_lease_holder(store: Store) -> None:
    cal = "alice@example.com"
    assert store.acquire_lease(cal, "a", 60)
    assert store.store_sync_result(cal, "a", sync_token="t1", result={}, pending_count=0)
    assert not store.store_sync_result(cal, "intruder", sync_token="t0", result={}, pending_count=0)
    state = store.get_calendar(cal)
    assert state is not None and state.sync_token == "t1" and state.token_generation == 1


def test_due_calendars_and_pending(store: Store) -> None:
    store.subscribe("quiet@example.com", "quiet@example.com")
    store.put_pending(PendingChange("busy@example.com", "ev1", {"id": "ev1"}))
    store.update_calendar("busy@example.com", lambda s: s.with_(pending_count=1))
    assert store.due_calendars() == ["busy@example.com"]
    assert [p.event_id for p in store.list_pending("busy@example.com")] == ["ev1"]
    store.delete_pending("busy@example.com", "ev1")
    assert store.count_pending("busy@example.com") == 0
