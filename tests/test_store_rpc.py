"""``addon.store.rpc``: the raw-protobuf lookup and insert do exactly what ``get_multi`` and an
insert through ``Batch`` do, on the real Datastore emulator."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from google.api_core import exceptions as gexc
from google.cloud import datastore as gds

from addon.store.datastore import Store
from addon.store.rpc import RawCalls

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


def test_insert_writes_what_put_writes_and_never_overwrites(client: gds.Client) -> None:
    raw = RawCalls(client)
    entity = gds.Entity(
        client.key("Calendar", "a", "Conference", "e1"), exclude_from_indexes=("blob",)
    )
    entity.update({"state": "active", "blob": b"x" * 20, "n": 1, "tags": ["a"], "when": None})
    assert raw.insert(entity) is True
    twin = gds.Entity(
        client.key("Calendar", "a", "Conference", "e2"), exclude_from_indexes=("blob",)
    )
    twin.update(dict(entity))
    client.put(twin)
    stored, put = client.get(entity.key), client.get(twin.key)
    assert dict(stored) == dict(put) == dict(entity)
    assert stored.exclude_from_indexes == put.exclude_from_indexes == {"blob"}

    again = gds.Entity(entity.key)
    again.update({"state": "deleted"})
    assert raw.insert(again) is False  # refused: the stored record is left as it was
    assert dict(client.get(entity.key)) == dict(entity)


def test_concurrent_inserts_of_one_key_store_one(client: gds.Client) -> None:
    raw = RawCalls(client)
    key = client.key("Calendar", "a", "Conference", "race")
    results: dict[int, bool] = {}

    def insert(i: int) -> None:
        entity = gds.Entity(key)
        entity.update({"n": i})
        results[i] = raw.insert(entity)

    threads = [threading.Thread(target=insert, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    (winner,) = [i for i, ok in results.items() if ok]  # exactly one was written...
    assert client.get(key)["n"] == winner  # ...and it is the one stored
