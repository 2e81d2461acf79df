"""Events CRUD, etags and preconditions, ids, auth and calendars through googleapiclient."""

from __future__ import annotations

import pytest
from googleapiclient.errors import HttpError

from .conftest import Emu, event_body


def reason(error: HttpError) -> str:
    return str(error.error_details[0]["reason"])


def test_crud_roundtrip(alice) -> None:
    created = alice.events().insert(calendarId="primary", body=event_body("A")).execute()
    assert created["status"] == "confirmed"
    assert created["etag"].startswith('"') and created["etag"].endswith('"')
    assert created["organizer"]["email"] == "alice@example.com"
    patched = (
        alice.events()
        .patch(calendarId="primary", eventId=created["id"], body={"summary": "B"})
        .execute()
    )
    assert patched["summary"] == "B" and patched["etag"] != created["etag"]
    assert patched["updated"] >= created["updated"]
    assert patched["sequence"] == 0
    moved = alice.events().patch(
        calendarId="alice@example.com", eventId=created["id"],
        body={
            "start": {"dateTime": "2030-01-07T10:00:00Z"},
            "end": {"dateTime": "2030-01-07T11:00:00Z"},
        },
    ).execute()  # fmt: skip
    assert moved["sequence"] == 1
    replaced = (
        alice.events()
        .update(calendarId="primary", eventId=created["id"], body=event_body("C"))
        .execute()
    )
    assert replaced["summary"] == "C" and replaced["id"] == created["id"]
    alice.events().delete(calendarId="primary", eventId=created["id"]).execute()
    gone = alice.events().get(calendarId="primary", eventId=created["id"]).execute()
    assert gone["status"] == "cancelled"
    with pytest.raises(HttpError) as err:
        alice.events().delete(calendarId="primary", eventId=created["id"]).execute()
    assert err.value.resp.status == 410


def test_client_supplied_ids(alice) -> None:
    body = event_body() | {"id": "abcdef0123456789"}
    assert alice.events().insert(calendarId="primary", body=body).execute()["id"] == body["id"]
    with pytest.raises(HttpError) as dup:
        alice.events().insert(calendarId="primary", body=body).execute()
    assert dup.value.resp.status == 409 and reason(dup.value) == "duplicate"
    for bad in ("ABCDEF", "abc", "wxyz01234"):
        with pytest.raises(HttpError) as err:
            alice.events().insert(calendarId="primary", body=event_body() | {"id": bad}).execute()
        assert err.value.resp.status == 400 and reason(err.value) == "invalid"


def test_insert_validation(alice) -> None:
    with pytest.raises(HttpError) as err:
        alice.events().insert(calendarId="primary", body={"summary": "x"}).execute()
    assert err.value.resp.status == 400 and reason(err.value) == "required"
    backwards = event_body() | {"end": {"dateTime": "2030-01-07T08:00:00Z"}}
    with pytest.raises(HttpError) as err:
        alice.events().insert(calendarId="primary", body=backwards).execute()
    assert reason(err.value) == "timeRangeEmpty"


def test_read_only_fields_are_ignored(alice) -> None:
    body = event_body() | {"etag": '"1"', "kind": "x", "creator": {"email": "e@x"}, "bogus": 1}
    created = alice.events().insert(calendarId="primary", body=body).execute()
    assert (
        created["kind"] == "calendar#event" and created["creator"]["email"] == "alice@example.com"
    )


def test_if_match_and_if_none_match(alice) -> None:
    created = alice.events().insert(calendarId="primary", body=event_body()).execute()
    stale = created["etag"]
    alice.events().patch(
        calendarId="primary", eventId=created["id"], body={"summary": "x"}
    ).execute()
    for request in (
        alice.events().patch(calendarId="primary", eventId=created["id"], body={"summary": "y"}),
        alice.events().update(calendarId="primary", eventId=created["id"], body=event_body()),
        alice.events().delete(calendarId="primary", eventId=created["id"]),
    ):
        request.headers["If-Match"] = stale
        with pytest.raises(HttpError) as err:
            request.execute()
        assert err.value.resp.status == 412
        assert err.value.error_details[0] == {
            "domain": "global", "reason": "conditionNotMet", "message": "Precondition Failed"
        }  # fmt: skip
    current = alice.events().get(calendarId="primary", eventId=created["id"]).execute()
    ok = alice.events().patch(calendarId="primary", eventId=created["id"], body={"summary": "z"})
    ok.headers["If-Match"] = current["etag"]
    fresh = ok.execute()
    get = alice.events().get(calendarId="primary", eventId=created["id"])
    get.headers["If-None-Match"] = fresh["etag"]
    with pytest.raises(HttpError) as err:
        get.execute()
    assert err.value.resp.status == 304
    get = alice.events().get(calendarId="primary", eventId=created["id"])
    get.headers["If-None-Match"] = stale
    assert get.execute()["summary"] == "z"


def test_auth_401(emu: Emu) -> None:
    for token in (None, "nope"):
        response = emu.raw("GET", "calendars/primary/events", token)
        assert response.status_code == 401
        assert response.json() == {
            "error": {
                "errors": [
                    {"domain": "global", "reason": "authError", "message": "Invalid Credentials"}
                ],
                "code": 401, "message": "Invalid Credentials",
            }
        }  # fmt: skip


def test_visibility_and_shares(emu: Emu, alice) -> None:
    bob = emu.service("bob@example.com")
    created = alice.events().insert(calendarId="primary", body=event_body()).execute()
    with pytest.raises(HttpError) as err:
        bob.events().list(calendarId="alice@example.com").execute()
    assert err.value.resp.status == 404 and reason(err.value) == "notFound"
    with pytest.raises(HttpError) as err:
        bob.events().get(calendarId="nobody@example.com", eventId=created["id"]).execute()
    assert err.value.resp.status == 404
    emu.control(
        "POST", "calendars/alice@example.com/share", {"email": "bob@example.com", "role": "reader"}
    )
    assert bob.events().get(calendarId="alice@example.com", eventId=created["id"]).execute()
    with pytest.raises(HttpError) as err:
        bob.events().patch(calendarId="alice@example.com", eventId=created["id"], body={}).execute()
    assert err.value.resp.status == 403 and reason(err.value) == "requiredAccessLevel"
    emu.control(
        "POST", "calendars/alice@example.com/share", {"email": "bob@example.com", "role": "writer"}
    )
    bob.events().patch(
        calendarId="alice@example.com", eventId=created["id"], body={"summary": "b"}
    ).execute()
    entries = {e["id"]: e for e in bob.calendarList().list().execute()["items"]}
    assert entries["alice@example.com"]["accessRole"] == "writer"
    assert entries["bob@example.com"]["primary"] is True


def test_secondary_calendars(alice) -> None:
    cal = alice.calendars().insert(body={"summary": "Team", "timeZone": "Europe/Berlin"}).execute()
    assert cal["id"].endswith("@group.calendar.google.com")
    assert alice.calendars().get(calendarId=cal["id"]).execute()["summary"] == "Team"
    assert alice.calendars().get(calendarId="primary").execute()["id"] == "alice@example.com"
    alice.events().insert(calendarId=cal["id"], body=event_body()).execute()
    ids = [c["id"] for c in alice.calendarList().list().execute()["items"]]
    assert set(ids) == {"alice@example.com", cal["id"]}


def test_unknown_event_404(alice) -> None:
    with pytest.raises(HttpError) as err:
        alice.events().get(calendarId="primary", eventId="doesnotexist").execute()
    assert err.value.resp.status == 404
