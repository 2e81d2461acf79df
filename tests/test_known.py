"""Which record keys a sync reads (``addon.sync.known``), against the real Datastore emulator:
only ids that can be ours, and never fewer than a plan needs."""

from __future__ import annotations

from typing import Any

import pytest

from addon.store.datastore import Store
from addon.sync.known import DIRECT_LOOKUPS, KnownRecords
from tests.test_store import _conference

pytestmark = pytest.mark.datastore

CAL = "alice@example.com"


@pytest.fixture
def store(datastore) -> Store:
    return Store.connect(project=datastore.project)


def plain(event_id: str, **extra: object) -> dict[str, object]:
    return {"id": event_id, "summary": "Lunch", **extra}


def carrying(event_id: str) -> dict[str, object]:
    data = {"conferenceId": "m-x", "conferenceSolution": {"key": {"type": "addOn"}}}
    return plain(event_id, conferenceData=data)


def test_a_small_batch_is_looked_up_directly_without_reading_the_set(store: Store) -> None:
    known = KnownRecords(store, CAL)
    batch = [plain("a"), carrying("b"), plain("c", recurringEventId="s")]
    assert known.lookup_ids(batch) == ["b", "a", "c", "s"]
    assert known.reads == 0


def test_a_big_batch_reads_only_carrying_events_and_live_records(store: Store) -> None:
    store.put_conference(_conference("removed"))  # live: its conference was removed
    store.put_conference(_conference("series"))  # live: a series whose occurrence changed
    store.put_conference(_conference("gone").with_(state="deleted"))
    known = KnownRecords(store, CAL)
    fillers = [plain(f"f{i:04d}") for i in range(DIRECT_LOOKUPS + 1)]
    batch: list[dict[str, Any]] = [
        *fillers,
        plain("removed"),
        plain("gone"),  # a deleted record and no conference: nothing to plan
        {"id": "occ", "status": "cancelled", "recurringEventId": "series"},
        carrying("copy"),  # carries a conference: always read (copies, re-adds)
        {"id": "cancelled-carrying", "status": "cancelled", "conferenceData": {}},
    ]
    assert known.lookup_ids(batch) == ["copy", "removed", "series"]
    assert known.reads == 1


def test_the_set_is_read_once_per_run(store: Store) -> None:
    known = KnownRecords(store, CAL)
    fillers = [plain(f"f{i:04d}") for i in range(DIRECT_LOOKUPS + 1)]
    assert known.lookup_ids([*fillers, plain("late")]) == []
    store.put_conference(_conference("late"))  # onCreate, during the run: not seen by it
    assert known.lookup_ids([*fillers, plain("late")]) == []
    assert known.reads == 1
    assert KnownRecords(store, CAL).lookup_ids([*fillers, plain("late")]) == ["late"]


def test_records_the_run_wrote_live_are_known_without_a_read(store: Store) -> None:
    known = KnownRecords(store, CAL)
    fillers = [plain(f"f{i:04d}") for i in range(DIRECT_LOOKUPS + 1)]
    known.lookup_ids(fillers)
    known.flushed([_conference("made"), _conference("dead").with_(state="deleted")])
    assert known.lookup_ids([*fillers, plain("made"), plain("dead")]) == ["made"]
