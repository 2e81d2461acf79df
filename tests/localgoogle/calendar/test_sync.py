"""events.list paging, sync tokens, 410s, refused parameters and deletion shapes."""

from __future__ import annotations

from typing import Any

import pytest
from googleapiclient.errors import HttpError

from .conftest import Emu, event_body

FULL_SYNC_BODY = {
    "error": {
        "errors": [
            {
                "domain": "global",
                "reason": "fullSyncRequired",
                "message": "Sync token is no longer valid, a full sync is required.",
            }
        ],
        "code": 410,
        "message": "Sync token is no longer valid, a full sync is required.",
    }
}


def list_all(service: Any, **params: Any) -> tuple[list[dict[str, Any]], str]:
    items: list[dict[str, Any]] = []
    page_token = None
    while True:
        page = service.events().list(calendarId="primary", pageToken=page_token, **params).execute()
        items += page["items"]
        assert ("nextPageToken" in page) != ("nextSyncToken" in page)
        if "nextSyncToken" in page:
            return items, page["nextSyncToken"]
        page_token = page["nextPageToken"]


def seed(emu: Emu, count: int) -> None:
    emu.control(
        "POST",
        "calendars/alice@example.com/seed",
        {"count": count, "start": "2030-01-01T00:00:00Z"},
    )


def test_paging_and_incremental(emu: Emu, alice) -> None:
    seed(emu, 25)
    items, token = list_all(alice, maxResults=10)
    assert len(items) == 25 and len({e["id"] for e in items}) == 25
    empty, token2 = list_all(alice, syncToken=token)
    assert empty == []
    created = alice.events().insert(calendarId="primary", body=event_body("new")).execute()
    alice.events().patch(
        calendarId="primary", eventId=items[0]["id"], body={"summary": "p"}
    ).execute()
    alice.events().delete(calendarId="primary", eventId=items[1]["id"]).execute()
    changed, token3 = list_all(alice, syncToken=token2, maxResults=1)
    by_id = {e["id"]: e for e in changed}
    assert set(by_id) == {created["id"], items[0]["id"], items[1]["id"]}
    assert by_id[items[0]["id"]]["summary"] == "p"
    tomb = by_id[items[1]["id"]]
    assert set(tomb) == {"kind", "etag", "id", "status"} and tomb["status"] == "cancelled"
    assert list_all(alice, syncToken=token3)[0] == []


def test_deleted_only_with_show_deleted(emu: Emu, alice) -> None:
    seed(emu, 3)
    items, _ = list_all(alice)
    alice.events().delete(calendarId="primary", eventId=items[0]["id"]).execute()
    assert len(list_all(alice)[0]) == 2
    with_deleted, _ = list_all(alice, showDeleted=True)
    assert {e["id"]: e["status"] for e in with_deleted}[items[0]["id"]] == "cancelled"


def test_changes_while_paging_are_neither_skipped_nor_duplicated(emu: Emu, alice) -> None:
    seed(emu, 30)
    seen: dict[str, dict[str, Any]] = {}
    page = alice.events().list(calendarId="primary", maxResults=10).execute()
    first_ids = [e["id"] for e in page["items"]]
    for e in page["items"]:
        seen[e["id"]] = e
    # Concurrent edits: one already listed, one not yet listed, one new, one deletion.
    all_ids = [e["id"] for e in emu.state.admin_events("alice@example.com")]
    alice.events().patch(
        calendarId="primary", eventId=first_ids[0], body={"summary": "edited"}
    ).execute()
    alice.events().patch(
        calendarId="primary", eventId=all_ids[25], body={"summary": "later"}
    ).execute()
    alice.events().delete(calendarId="primary", eventId=all_ids[20]).execute()
    new = alice.events().insert(calendarId="primary", body=event_body("new")).execute()
    while "nextPageToken" in page:
        page = (
            alice.events()
            .list(calendarId="primary", maxResults=10, pageToken=page["nextPageToken"])
            .execute()
        )
        for e in page["items"]:
            assert e["id"] not in seen, "duplicate within a listing"
            seen[e["id"]] = e
    changes, _ = list_all(alice, syncToken=page["nextSyncToken"])
    changed = {e["id"]: e for e in changes}
    assert set(changed) == {first_ids[0], all_ids[25], all_ids[20], new["id"]}
    state = dict(seen)
    for eid, e in changed.items():
        if e.get("status") == "cancelled":
            state.pop(eid, None)
        else:
            state[eid] = e
    assert len(state) == 30
    assert state[all_ids[25]]["summary"] == "later" and state[first_ids[0]]["summary"] == "edited"


def test_changes_during_incremental_paging(emu: Emu, alice) -> None:
    seed(emu, 5)
    _, token = list_all(alice)
    ids = [e["id"] for e in emu.state.admin_events("alice@example.com")]
    for eid in ids:
        alice.events().patch(calendarId="primary", eventId=eid, body={"summary": "v2"}).execute()
    page = alice.events().list(calendarId="primary", syncToken=token, maxResults=2).execute()
    got = [e["id"] for e in page["items"]]
    alice.events().patch(calendarId="primary", eventId=ids[4], body={"summary": "v3"}).execute()
    alice.events().patch(calendarId="primary", eventId=ids[0], body={"summary": "v3"}).execute()
    while "nextPageToken" in page:
        page = (
            alice.events()
            .list(
                calendarId="primary", syncToken=token, maxResults=2, pageToken=page["nextPageToken"]
            )
            .execute()
        )
        got += [e["id"] for e in page["items"]]
    assert len(got) == len(set(got))
    assert set(got) | {ids[4]} == set(ids)
    again, _ = list_all(alice, syncToken=page["nextSyncToken"])
    assert {e["id"]: e["summary"] for e in again} == {ids[0]: "v3", ids[4]: "v3"}


@pytest.mark.parametrize("token", ["garbage", "AAAA", "eyJ4IjoxfQ"])
def test_forged_tokens_410(emu: Emu, alice, token: str) -> None:
    with pytest.raises(HttpError) as err:
        alice.events().list(calendarId="primary", syncToken=token).execute()
    assert err.value.resp.status == 410
    import json

    assert json.loads(err.value.content) == FULL_SYNC_BODY


def test_tampered_and_expired_tokens_410(emu: Emu, alice) -> None:
    seed(emu, 3)
    _, token = list_all(alice)
    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    with pytest.raises(HttpError) as err:
        alice.events().list(calendarId="primary", syncToken=tampered).execute()
    assert err.value.resp.status == 410
    page = alice.events().list(calendarId="primary", maxResults=1).execute()
    emu.control("POST", "calendars/alice@example.com/expire-sync-tokens")
    for params in ({"syncToken": token}, {"pageToken": page["nextPageToken"]}):
        with pytest.raises(HttpError) as err:
            alice.events().list(calendarId="primary", maxResults=1, **params).execute()
        assert (
            err.value.resp.status == 410
            and err.value.error_details[0]["reason"] == "fullSyncRequired"
        )
    cal = alice.calendars().insert(body={"summary": "other"}).execute()
    with pytest.raises(HttpError) as err:
        alice.events().list(calendarId=cal["id"], syncToken=token).execute()
    assert err.value.resp.status == 410


@pytest.mark.parametrize(
    "params",
    [
        {"iCalUID": "x"}, {"orderBy": "updated"}, {"privateExtendedProperty": "a=b"}, {"q": "x"},
        {"sharedExtendedProperty": "a=b"}, {"timeMin": "2030-01-01T00:00:00Z"},
        {"timeMax": "2030-01-01T00:00:00Z"}, {"updatedMin": "2030-01-01T00:00:00Z"},
        {"showDeleted": False},
    ],
)  # fmt: skip
def test_params_refused_with_sync_token(emu: Emu, alice, params: dict[str, Any]) -> None:
    _, token = list_all(alice)
    with pytest.raises(HttpError) as err:
        alice.events().list(calendarId="primary", syncToken=token, **params).execute()
    assert err.value.resp.status == 400
    assert alice.events().list(calendarId="primary", syncToken=token, showDeleted=True).execute()


def test_max_results_bounds_and_order(alice) -> None:
    for bad in (2501, 0):
        with pytest.raises(HttpError) as err:
            alice.events().list(calendarId="primary", maxResults=bad).execute()
        assert err.value.resp.status == 400
    assert alice.events().list(calendarId="primary", maxResults=2500).execute()["items"] == []
    with pytest.raises(HttpError) as err:
        alice.events().list(calendarId="primary", orderBy="startTime").execute()
    assert err.value.resp.status == 400


def test_filters_and_orders(emu: Emu, alice) -> None:
    late = (
        alice.events()
        .insert(calendarId="primary", body=event_body("zeta standup", "2030-03-01T09:00:00Z"))
        .execute()
    )
    early = (
        alice.events()
        .insert(calendarId="primary", body=event_body("alpha review", "2030-01-01T09:00:00Z"))
        .execute()
    )
    by_start, _ = list_all(alice, singleEvents=True, orderBy="startTime", maxResults=1)
    assert [e["id"] for e in by_start] == [early["id"], late["id"]]
    by_updated, _ = list_all(alice, orderBy="updated")
    assert [e["id"] for e in by_updated] == [late["id"], early["id"]]
    window, _ = list_all(alice, timeMin="2030-02-01T00:00:00Z")
    assert [e["id"] for e in window] == [late["id"]]
    window, _ = list_all(alice, timeMax="2030-02-01T00:00:00+00:00")
    assert [e["id"] for e in window] == [early["id"]]
    found, _ = list_all(alice, q="STANDUP")
    assert [e["id"] for e in found] == [late["id"]]


def test_incremental_cost_is_independent_of_calendar_size(emu: Emu, alice) -> None:
    seed(emu, 20_000)
    cal = emu.state.calendars["alice@example.com"]
    _, token = list_all(alice, maxResults=2500)
    alice.events().insert(calendarId="primary", body=event_body()).execute()
    import time

    started = time.perf_counter()
    changes, _ = list_all(alice, syncToken=token)
    assert len(changes) == 1 and len(cal.order) == 20_001
    assert time.perf_counter() - started < 0.5


def test_concurrent_clients(emu: Emu) -> None:
    import threading

    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            service = emu.service("alice@example.com")  # httplib2: one Http per thread
            for i in range(10):
                created = (
                    service.events()
                    .insert(calendarId="primary", body=event_body(f"{n}-{i}"))
                    .execute()
                )
                service.events().patch(
                    calendarId="primary", eventId=created["id"], body={"summary": "x"}
                ).execute()
                service.events().list(calendarId="primary", maxResults=5).execute()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    items, _ = list_all(emu.service("alice@example.com"), maxResults=7)
    assert len(items) == 40 and len({e["id"] for e in items}) == 40
