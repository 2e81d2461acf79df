"""``addon.store.rpc``: the raw-protobuf lookup and insert do exactly what ``get_multi`` and an
insert through ``Batch`` do, on the real Datastore emulator."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from google.api_core import exceptions as gexc
from google.cloud import datastore as gds
from google.cloud.datastore import helpers
from google.cloud.datastore.query import PropertyFilter

from addon.providers.base import EntryPoint, Meeting
from addon.store.datastore import Store
from addon.store.errors import LeaseLost
from addon.store.records import Conference, EventSnapshot, PendingChange
from addon.store.rpc import RawCalls, RawEntity, key_pb, raw_entity, raw_value

pytestmark = pytest.mark.datastore


@pytest.fixture
def client(datastore: Any) -> gds.Client:
    return gds.Client(project=datastore.project)


def _put(client: gds.Client, *path: Any, **props: Any) -> gds.Entity:
    entity = gds.Entity(client.key(*path), exclude_from_indexes=("blob",))
    entity.update(props)
    client.put(entity)
    return entity


def _as_dicts(entities: list[gds.Entity]) -> dict[tuple[Any, ...], dict[str, Any]]:
    return {e.key.flat_path: dict(e) for e in entities}


def test_the_fast_path_is_taken_with_the_shipped_library(client: gds.Client) -> None:
    # If a library update hides the GAPIC client, lookups fall back to get_multi: correct,
    # but the speed is gone. This makes that visible.
    assert RawCalls(client).fast


def test_answers_as_get_multi_does(client: gds.Client) -> None:
    _put(client, "Calendar", "a", "Conference", "e1", state="active", blob=b"x" * 50, n=1)
    _put(client, "Calendar", "a", n=2, when=None, tags=["x", "y"], nested={"k": 1.5})
    _put(client, "Other", 7, flag=True)
    keys = [
        client.key("Calendar", "a", "Conference", "e1"),
        client.key("Calendar", "a", "Conference", "missing"),
        client.key("Calendar", "a"),
        client.key("Other", 7),
    ]
    fast = RawCalls(client).lookup(keys)
    slow = client.get_multi(keys)
    assert _as_dicts(fast) == _as_dicts(slow)
    assert len(fast) == 3
    by_path = {e.key.flat_path: e for e in fast}
    assert by_path[("Calendar", "a", "Conference", "e1")].exclude_from_indexes == {"blob"}
    assert by_path[("Calendar", "a")]["tags"] == ["x", "y"]
    assert RawCalls(client).lookup([]) == []


def test_a_lookup_of_many_keys_returns_every_found_entity(client: gds.Client) -> None:
    # Datastore may defer part of a big lookup (the emulator answers 1,200 keys at once, so
    # the loop over deferred keys runs once here): every found entity is returned.
    names = [f"e{i}" for i in range(1200)]
    stored = [gds.Entity(client.key("Calendar", "big", "Conference", n)) for n in names[:1100]]
    for i in range(0, len(stored), 500):  # a commit takes at most 500 entities
        client.put_multi(stored[i : i + 500])
    found = RawCalls(client).lookup([client.key("Calendar", "big", "Conference", n) for n in names])
    assert sorted(e.key.name for e in found) == sorted(names[:1100])


def test_inside_a_transaction_it_reads_in_the_transaction(client: gds.Client) -> None:
    _put(client, "Calendar", "t", n=1)
    raw = RawCalls(client)
    key = client.key("Calendar", "t")
    with client.transaction():
        (entity,) = raw.lookup([key])  # the library's read, in the transaction
        entity["n"] = 2
        client.put(entity)
    assert client.get(key)["n"] == 2


def test_other_projects_keys_are_refused(client: gds.Client) -> None:
    with pytest.raises(ValueError):
        RawCalls(client).lookup([gds.Key("Calendar", "a", project="someone-else")])


def test_grpc_errors_become_the_librarys_exceptions(client: gds.Client) -> None:
    # A key with no path is refused by Datastore: the error is the one get_multi raises.
    bad = gds.Key("Calendar", project=client.project)  # partial: no id or name
    with pytest.raises(gexc.GoogleAPICallError) as slow:
        client.get_multi([bad])
    with pytest.raises(gexc.GoogleAPICallError) as fast:
        RawCalls(client).lookup([bad])
    assert type(fast.value) is type(slow.value)


def test_the_store_reads_through_it(datastore: Any) -> None:
    store = Store.connect(project=datastore.project)
    assert store.creation_view("nobody@example.com", "ev").conference is None
    assert store.get_calendars(["nobody@example.com"]) == []


@pytest.mark.parametrize("raw_calls", [True, False], ids=["raw", "library"])
def test_insert_writes_what_put_writes_and_never_overwrites(
    client: gds.Client, raw_calls: bool
) -> None:
    raw = RawCalls(client, enabled=raw_calls)
    key = client.key("Calendar", "a", "Conference", "e1")
    props = {"state": "active", "blob": b"x" * 20, "n": 1, "tags": ["a"], "when": None}
    assert raw.insert(key, props, ("blob",)) is True
    twin = gds.Entity(
        client.key("Calendar", "a", "Conference", "e2"), exclude_from_indexes=("blob",)
    )
    twin.update(props)
    client.put(twin)
    stored, put = client.get(key), client.get(twin.key)
    assert dict(stored) == dict(put) == props
    assert stored.exclude_from_indexes == put.exclude_from_indexes == {"blob"}

    # Refused: the stored record is left as it was.
    assert raw.insert(key, {"state": "deleted"}, ()) is False
    assert dict(client.get(key)) == props


def test_concurrent_inserts_of_one_key_store_one(client: gds.Client) -> None:
    raw = RawCalls(client)
    key = client.key("Calendar", "a", "Conference", "race")
    results: dict[int, bool] = {}

    def insert(i: int) -> None:
        results[i] = raw.insert(key, {"n": i}, ())

    threads = [threading.Thread(target=insert, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    (winner,) = [i for i, ok in results.items() if ok]  # exactly one was written...
    assert client.get(key)["n"] == winner  # ...and it is the one stored


# ---- entities made and read without the library's objects ----------------------------------
def _deterministic(message: Any) -> bytes:
    return message.SerializeToString(deterministic=True)


PROPS: list[dict[str, Any]] = [
    {
        "conference_id": "m-1",
        "state": "active",
        "confirmed": True,
        "meeting": '{"id": "m-1", "uri": "https://x/ü"}',
        "generation": 0,
        "version": 12,
        "ratio": 0.25,
        "blob": b"\x00\xff",
        "owner_id": None,
        "created_at": datetime(2026, 12, 5, 10, 0, 0, 123456, tzinfo=UTC),
        "updated_at": datetime(1969, 7, 20, 20, 17, 40, 1, tzinfo=timezone(timedelta(hours=-5))),
    },
    {"empty": "", "zero": 0, "false": False, "negative": -(2**40)},
    {"tags": ["a", "b"], "n": 1},  # a list: left to the library
    {"naive": datetime(2026, 1, 1, 12, 0)},  # a naive datetime: left to the library
]


@pytest.mark.parametrize("props", PROPS)
def test_raw_entity_is_the_librarys_entity_byte_for_byte(
    client: gds.Client, props: dict[str, Any]
) -> None:
    key = client.key("Calendar", "a", "Conference", "e1")
    exclude = ("meeting", "blob", "tags")
    raw = raw_entity(key_pb(key), props, exclude)
    assert _deterministic(raw) == _deterministic(
        helpers.entity_to_protobuf(_entity(client, key, props, exclude))._pb
    )


def test_raw_entity_reads_back_as_the_library_reads_it(client: gds.Client) -> None:
    key = client.key("Calendar", "a", "Conference", "e1")
    props = PROPS[0]
    client.put(_entity(client, key, props, ("meeting", "blob")))
    (light,) = RawCalls(client).lookup_light([key])
    (library,) = client.get_multi([key])
    assert isinstance(light, RawEntity)
    assert dict(light) == dict(library)
    assert light.key.flat_path == library.key.flat_path
    assert raw_value(raw_entity(key_pb(key), props, ()), "missing", "default") == "default"


def _entity(
    client: gds.Client, key: Any, props: dict[str, Any], exclude: tuple[str, ...]
) -> gds.Entity:
    entity = gds.Entity(key, exclude_from_indexes=exclude)
    entity.update(props)
    return entity


def test_keys_where_finds_what_the_librarys_query_finds(client: gds.Client) -> None:
    parent = client.key("Calendar", "q")
    states = ["active", "retired", "deleted"]
    entities = [
        _entity(
            client, client.key("Calendar", "q", "Conference", f"e{i}"), {"state": states[i % 3]}, ()
        )
        for i in range(1500)
    ]
    entities.append(
        _entity(client, client.key("Calendar", "other", "Conference", "x"), {"state": "active"}, ())
    )
    for i in range(0, len(entities), 500):
        client.put_multi(entities[i : i + 500])
    raw = RawCalls(client).keys_where("Conference", parent, {"state": "active"})
    assert raw is not None
    query = client.query(kind="Conference", ancestor=parent)
    query.add_filter(filter=PropertyFilter("state", "=", "active"))
    query.keys_only()
    expected = {e.key.flat_path[-1] for e in query.fetch()}
    assert len(expected) == 500
    assert {k.path[-1].name for k in raw} == expected
    assert RawCalls(client, enabled=False).keys_where("Conference", parent, {}) is None


# ---- a sync's fenced commit, raw and through the library --------------------------------------
def _record(event_id: str, version: int = 0, summary: str = "Hi") -> Conference:
    meeting = Meeting(
        meeting_id="m-" + event_id,
        entry_points=(EntryPoint(type="video", uri="https://meet.example/" + event_id),),
    )
    snap = EventSnapshot.from_event(
        {
            "summary": summary,
            "start": {"dateTime": "2026-12-01T10:00:00Z"},
            "etag": '"1"',
            "updated": "2026-12-01T09:00:00.000Z",
        }
    )
    return Conference(
        calendar_id="cal@example.com", event_id=event_id, solution_id="web",
        conference_id="m-" + event_id, meeting=meeting, snapshot=snap, version=version,
    )  # fmt: skip


@pytest.mark.parametrize("raw", [True, False], ids=["raw", "library"])
def test_commit_batch_fences_and_compares_on_both_paths(datastore: Any, raw: bool) -> None:
    store = Store(gds.Client(project=datastore.project), raw_calls=raw)
    assert store._raw.fast is raw
    cal = "cal@example.com"
    assert store.acquire_lease(cal, "me", 60)
    first = store.commit_batch(cal, "me", [_record("e1"), _record("e2")])
    assert [c.version for c in first.stored] == [1, 1]
    # e1 as read (version 1) is written again; e2 read at version 0 lost to the write above.
    pending = PendingChange(calendar_id=cal, event_id="e3", event={"id": "e3"}, action="update")
    second = store.commit_batch(
        cal, "me", [_record("e1", 1, "Renamed"), _record("e2", 0)], pending_puts=[pending]
    )
    assert [c.event_id for c in second.stored] == ["e1"] and second.superseded == ["e2"]
    stored = store.get_conferences(cal, ["e1", "e2"])
    assert stored["e1"].version == 2 and stored["e1"].snapshot.summary == "Renamed"
    assert stored["e2"].version == 1
    assert [p.event_id for p in store.list_pending(cal)] == ["e3"]
    third = store.commit_batch(cal, "me", [], pending_deletes=["e3"])
    assert third.stored == [] and store.list_pending(cal) == []
    # Another owner: nothing of the chunk is written.
    with pytest.raises(LeaseLost):
        store.commit_batch(cal, "someone-else", [_record("e1", 2, "Lost")], pending_puts=[pending])
    assert store.get_conferences(cal, ["e1"])["e1"].version == 2
    assert store.list_pending(cal) == []


def test_leaving_a_transaction_without_its_commit_rolls_it_back(client: gds.Client) -> None:
    # On Datastore a read-write transaction holds what it read until it ends: the fence's
    # refusal (any exception) must end it at once. Ended, it can no longer commit.
    key = client.key("Calendar", "r")
    with pytest.raises(LeaseLost), RawCalls(client).transaction() as txn:
        txn.lookup([key_pb(key)])
        txn.upsert(raw_entity(key_pb(key), {"n": 1}, ()))
        raise LeaseLost("r")
    with pytest.raises(gexc.GoogleAPICallError):
        txn.commit()
    assert client.get(key) is None


def test_a_refused_commit_leaves_the_calendar_writable(datastore: Any) -> None:
    store = Store(gds.Client(project=datastore.project), transaction_budget=0.5)
    cal = "cal@example.com"
    assert store.acquire_lease(cal, "me", 60)
    for _ in range(5):
        with pytest.raises(LeaseLost):
            store.commit_batch(cal, "intruder", [_record("e1")])
    assert store.commit_batch(cal, "me", [_record("e1")]).stored  # no Contention raised
