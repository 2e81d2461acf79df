"""Partial responses (``fields``), as Google's performance guide describes them."""

from __future__ import annotations

import pytest
from googleapiclient.errors import HttpError

from localgoogle.calendar import exceptions as exc
from localgoogle.calendar.partial import parse_fields, select

from .conftest import event_body


def test_the_selection_grammar() -> None:
    body = {
        "kind": "calendar#events",
        "nextPageToken": "p",
        "items": [
            {"id": "a", "summary": "A", "start": {"dateTime": "x", "timeZone": "UTC"}},
            {"id": "b", "status": "cancelled"},
        ],
    }
    assert select(body, parse_fields("nextPageToken,items(id,start/timeZone)")) == {
        "nextPageToken": "p",
        "items": [{"id": "a", "start": {"timeZone": "UTC"}}, {"id": "b"}],
    }
    assert select(body, parse_fields("items/status")) == {"items": [{}, {"status": "cancelled"}]}
    assert select(body, parse_fields("items(start,start/timeZone)"))["items"][0] == {
        "start": {"dateTime": "x", "timeZone": "UTC"}
    }  # the whole field wins over a part of it
    assert select(body, parse_fields("*")) == body


@pytest.mark.parametrize("bad", ["items(", "items()", "a,,b", "a/", ",a", "items(id))", ""])
def test_a_malformed_selection_is_refused(bad: str) -> None:
    with pytest.raises(exc.ApiError) as raised:
        parse_fields(bad)
    assert raised.value.code == 400


def test_events_list_answers_only_the_selected_fields(alice) -> None:
    alice.events().insert(calendarId="primary", body=event_body("A")).execute()
    page = (
        alice.events().list(calendarId="primary", fields="items(id,summary),accessRole").execute()
    )
    assert set(page) == {"items", "accessRole"}
    assert [set(i) for i in page["items"]] == [{"id", "summary"}]
    with pytest.raises(HttpError) as raised:
        alice.events().list(calendarId="primary", fields="items(id").execute()
    assert raised.value.resp.status == 400
