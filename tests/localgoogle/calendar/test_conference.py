"""conferenceData: stored only with conferenceDataVersion=1, entry point rules enforced."""

from __future__ import annotations

from typing import Any

import pytest
from googleapiclient.errors import HttpError

from .conftest import event_body


def conference(*points: dict[str, Any]) -> dict[str, Any]:
    return {
        "conferenceId": "conf-1",
        "conferenceSolution": {
            "key": {"type": "addOn"},
            "name": "Our Meet",
            "iconUri": "https://x/i.png",
        },
        "entryPoints": list(points),
        "parameters": {"addOnParameters": {"parameters": {"meetingId": "42", "region": "eu"}}},
        "notes": "<b>hi</b>",
    }


VIDEO = {
    "entryPointType": "video",
    "uri": "https://meet.example.com/42",
    "label": "meet.example.com/42",
}
PHONE = {"entryPointType": "phone", "uri": "tel:+1-555-0100", "pin": "1234", "regionCode": "US"}
SIP = {"entryPointType": "sip", "uri": "sip:42@example.com"}
MORE = {"entryPointType": "more", "uri": "https://example.com/more"}


def test_needs_conference_data_version(alice) -> None:
    body = event_body() | {"conferenceData": conference(VIDEO)}
    ignored = alice.events().insert(calendarId="primary", body=body).execute()
    assert "conferenceData" not in ignored
    stored = (
        alice.events().insert(calendarId="primary", body=body, conferenceDataVersion=1).execute()
    )
    assert stored["conferenceData"] == conference(VIDEO)
    patched = (
        alice.events()
        .patch(
            calendarId="primary",
            eventId=ignored["id"],
            body={"conferenceData": conference(VIDEO, PHONE, PHONE)},
        )
        .execute()
    )
    assert "conferenceData" not in patched
    patched = alice.events().patch(
        calendarId="primary", eventId=ignored["id"], conferenceDataVersion=1,
        body={"conferenceData": conference(VIDEO, PHONE, PHONE, SIP, MORE)},
    ).execute()  # fmt: skip
    assert len(patched["conferenceData"]["entryPoints"]) == 5
    # Without the version an update keeps the stored conference; with it, omission removes.
    kept = (
        alice.events()
        .update(calendarId="primary", eventId=ignored["id"], body=event_body())
        .execute()
    )
    assert "conferenceData" in kept
    removed = (
        alice.events()
        .update(
            calendarId="primary", eventId=ignored["id"], body=event_body(), conferenceDataVersion=1
        )
        .execute()
    )
    assert "conferenceData" not in removed


@pytest.mark.parametrize(
    "points",
    [
        [VIDEO, VIDEO], [SIP, SIP, VIDEO], [MORE], [VIDEO, MORE, MORE],
        [{"entryPointType": "fax", "uri": "https://x"}],
        [{"entryPointType": "video", "uri": "tel:123"}],
        [{"entryPointType": "phone", "uri": "https://x"}],
        [{"entryPointType": "sip", "uri": "https://x"}],
        [{"entryPointType": "video", "uri": "https://x/" + "a" * 1300}],
        [{"entryPointType": "video", "uri": "https://x", "label": "l" * 513}],
        [{"entryPointType": "phone", "uri": "tel:1", "pin": "1" * 129}],
        [{"entryPointType": "video", "uri": "https://x", "passcode": "1" * 129}],
    ],
)  # fmt: skip
def test_entry_point_rules(alice, points: list[dict[str, Any]]) -> None:
    body = event_body() | {"conferenceData": conference(*points)}
    with pytest.raises(HttpError) as err:
        alice.events().insert(calendarId="primary", body=body, conferenceDataVersion=1).execute()
    assert err.value.resp.status == 400 and err.value.error_details[0]["reason"] == "invalid"


def test_conference_write_is_a_change(emu, alice) -> None:
    created = alice.events().insert(calendarId="primary", body=event_body()).execute()
    token = alice.events().list(calendarId="primary").execute()["nextSyncToken"]
    seen: list[tuple[str, str]] = []
    emu.state.add_change_listener(lambda c, e: seen.append((c, e)))
    updated = emu.state.host_set_conference_data(
        "alice@example.com", created["id"], conference(VIDEO)
    )
    assert updated["etag"] != created["etag"]
    assert seen == [("alice@example.com", created["id"])]
    changes = alice.events().list(calendarId="primary", syncToken=token).execute()["items"]
    assert changes[0]["conferenceData"]["conferenceId"] == "conf-1"
    assert emu.state.host_get_event("alice@example.com", created["id"])["etag"] == updated["etag"]
    assert emu.state.host_get_event("alice@example.com", "nope") is None
    assert emu.state.host_calendar_owner("alice@example.com") == "alice@example.com"
    assert emu.state.host_calendar_owner("x@y") is None
    with pytest.raises(KeyError):
        emu.state.host_set_conference_data("alice@example.com", "missing", conference(VIDEO))
    emu.state._listeners.clear()
