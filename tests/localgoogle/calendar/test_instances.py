"""Recurring series through the API: instances, singleEvents, exceptions in sync."""

from __future__ import annotations

from typing import Any

import pytest
from googleapiclient.errors import HttpError

from .test_sync import list_all


def series_body(count: int = 4) -> dict[str, Any]:
    return {
        "summary": "Weekly",
        "start": {"dateTime": "2030-01-07T09:00:00+01:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2030-01-07T09:30:00+01:00", "timeZone": "Europe/Berlin"},
        "recurrence": [f"RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT={count}"],
    }


def test_instances_and_single_events(alice) -> None:
    series = alice.events().insert(calendarId="primary", body=series_body()).execute()
    assert series["recurrence"] == series_body()["recurrence"]
    instances = (
        alice.events().instances(calendarId="primary", eventId=series["id"]).execute()["items"]
    )
    assert [i["id"] for i in instances] == [
        f"{series['id']}_{day}T080000Z" for day in ("20300107", "20300114", "20300121", "20300128")
    ]
    first = instances[0]
    assert first["recurringEventId"] == series["id"] and "recurrence" not in first
    assert first["originalStartTime"] == first["start"]
    single, _ = list_all(alice, singleEvents=True)
    assert [i["id"] for i in single] == [i["id"] for i in instances]
    plain, _ = list_all(alice)
    assert [e["id"] for e in plain] == [series["id"]]
    got = alice.events().get(calendarId="primary", eventId=instances[2]["id"]).execute()
    assert got["start"] == instances[2]["start"]
    paged = (
        alice.events().instances(calendarId="primary", eventId=series["id"], maxResults=3).execute()
    )
    rest = (
        alice.events()
        .instances(
            calendarId="primary",
            eventId=series["id"],
            maxResults=3,
            pageToken=paged["nextPageToken"],
        )
        .execute()
    )
    assert [i["id"] for i in paged["items"] + rest["items"]] == [i["id"] for i in instances]


def test_instance_exceptions_show_in_sync(alice) -> None:
    series = alice.events().insert(calendarId="primary", body=series_body()).execute()
    _, token = list_all(alice)
    instances = (
        alice.events().instances(calendarId="primary", eventId=series["id"]).execute()["items"]
    )
    moved = alice.events().patch(
        calendarId="primary", eventId=instances[1]["id"],
        body={
            "start": {"dateTime": "2030-01-15T10:00:00+01:00"},
            "end": {"dateTime": "2030-01-15T11:00:00+01:00"},
        },
    ).execute()  # fmt: skip
    assert moved["id"] == instances[1]["id"] and moved["recurringEventId"] == series["id"]
    assert moved["originalStartTime"] == instances[1]["start"]
    alice.events().delete(calendarId="primary", eventId=instances[2]["id"]).execute()
    changes, token2 = list_all(alice, syncToken=token)
    by_id = {c["id"]: c for c in changes}
    assert by_id[moved["id"]]["start"]["dateTime"] == "2030-01-15T10:00:00+01:00"
    cancelled = by_id[instances[2]["id"]]
    assert set(cancelled) == {
        "kind",
        "etag",
        "id",
        "status",
        "recurringEventId",
        "originalStartTime",
    }
    assert cancelled["status"] == "cancelled" and cancelled["recurringEventId"] == series["id"]
    now = alice.events().instances(calendarId="primary", eventId=series["id"]).execute()["items"]
    assert [i["id"] for i in now] == [instances[0]["id"], moved["id"], instances[3]["id"]]
    assert now[1]["start"] == moved["start"]
    single, _ = list_all(alice, singleEvents=True)
    assert sorted(i["id"] for i in single) == sorted(i["id"] for i in now)
    alice.events().delete(calendarId="primary", eventId=series["id"]).execute()
    final, _ = list_all(alice, syncToken=token2)
    assert {c["id"] for c in final} == {series["id"], moved["id"]}
    assert all(c["status"] == "cancelled" for c in final)


def test_invalid_recurrence_and_unknown_instance(alice) -> None:
    body = series_body() | {"recurrence": ["RRULE:FREQ=SOMETIMES"]}
    with pytest.raises(HttpError) as err:
        alice.events().insert(calendarId="primary", body=body).execute()
    assert err.value.resp.status == 400
    series = alice.events().insert(calendarId="primary", body=series_body()).execute()
    with pytest.raises(HttpError) as err:
        alice.events().get(
            calendarId="primary", eventId=f"{series['id']}_20300108T080000Z"
        ).execute()
    assert err.value.resp.status == 404


def test_all_day_series(alice) -> None:
    body = {"summary": "Holiday", "start": {"date": "2030-01-01"}, "end": {"date": "2030-01-02"},
            "recurrence": ["RRULE:FREQ=DAILY;COUNT=2"]}  # fmt: skip
    series = alice.events().insert(calendarId="primary", body=body).execute()
    items = alice.events().instances(calendarId="primary", eventId=series["id"]).execute()["items"]
    assert [i["id"] for i in items] == [f"{series['id']}_20300101", f"{series['id']}_20300102"]
    assert items[1]["start"] == {"date": "2030-01-02"}
