from __future__ import annotations

from .conftest import Emu, event_body


def test_insert_get_list(emu: Emu, alice) -> None:
    created = alice.events().insert(calendarId="primary", body=event_body()).execute()
    got = alice.events().get(calendarId="primary", eventId=created["id"]).execute()
    assert got == created
    page = alice.events().list(calendarId="primary").execute()
    assert [e["id"] for e in page["items"]] == [created["id"]]
    assert "nextSyncToken" in page and "nextPageToken" not in page
