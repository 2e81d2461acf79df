"""The Daily provider against the fake Daily API over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from addon.providers.base import Meeting, OccurrenceChange, ProviderRefused, ProviderUnavailable
from addon.providers.daily import DailyProvider
from addon.providers.options import ProviderConfigError
from addon.providers.registry import build_provider
from localgoogle.vendors.daily import DailyState, create_daily_app
from tests.addon.vendor_support import (
    built,
    epoch_of,
    fault,
    free_port,
    fresh,
    http_date,
    meeting_request,
    served,
    when,
)

KEY = "daily-test-key"


@pytest.fixture(scope="module")
def _daily() -> Iterator[tuple[DailyState, str]]:
    yield from served(DailyState(api_key=KEY), create_daily_app)


@pytest.fixture
def daily(_daily: tuple[DailyState, str]) -> tuple[DailyState, str]:
    return fresh(_daily)


def _provider(url: str, **options: Any) -> DailyProvider:
    return built(DailyProvider, "daily", {"api_key": KEY, "base_url": url + "/v1", **options})


def _room(state: DailyState, meeting: Meeting) -> dict[str, Any]:
    room = state.room(meeting.meeting_id)
    assert room is not None
    return room


def test_create_makes_a_room_whose_window_follows_the_event(daily: Any) -> None:
    state, url = daily
    request = meeting_request()
    meeting = _provider(url).create(request, idempotency_key="cal/evt1/create/0")
    room = _room(state, meeting)
    assert meeting.meeting_id == room["name"]
    assert len(room["name"]) == 24
    assert room["privacy"] == "public"
    assert room["config"] == {
        "nbf": epoch_of(request.start) - 900,  # type: ignore[arg-type]
        "exp": epoch_of(request.end) + 900,  # type: ignore[arg-type]
    }
    [video] = meeting.entry_points
    assert video.type == "video"
    assert video.uri == room["url"] == f"https://fake-acme.daily.co/{room['name']}"


def test_create_again_with_the_same_key_returns_the_same_room(daily: Any) -> None:
    state, url = daily
    provider = _provider(url)
    first = provider.create(meeting_request(), idempotency_key="k1")
    again = provider.create(meeting_request(), idempotency_key="k1")
    other = provider.create(meeting_request(), idempotency_key="k2")
    assert again == first
    assert other.meeting_id != first.meeting_id
    assert len(state.rooms()) == 2
    ops = [(c["op"], c["status"]) for c in state.faults.calls()]
    assert ops == [("create", 200), ("create", 400), ("get", 200), ("create", 200)]


def test_move_retitle_and_guests(daily: Any) -> None:
    state, url = daily
    provider = _provider(url, margin_seconds=60)
    meeting = provider.create(meeting_request(), idempotency_key="k")
    moved_start, moved_end = when(48), when(49.5)
    moved = provider.update(
        meeting,
        meeting_request(start=moved_start, end=moved_end, summary="Renamed",
                        attendees=("ada@example.com", "bob@example.com", "cy@example.com")),
        idempotency_key="u1",
    )  # fmt: skip
    room = _room(state, meeting)
    assert room["config"] == {"nbf": epoch_of(moved_start) - 60, "exp": epoch_of(moved_end) + 60}
    # Title and guests mean nothing to a Daily room; the join link never changes.
    assert moved.entry_points == meeting.entry_points
    config = room["config"]
    assert moved.data == {"nbf": str(config["nbf"]), "exp": str(config["exp"]), "privacy": "public"}
    # A retitle or a new guest alone: the room already has this window, nothing is sent.
    calls = len(state.faults.calls())
    same = provider.update(
        moved,
        meeting_request(start=moved_start, end=moved_end, summary="Renamed again",
                        attendees=("dee@example.com",)),
        idempotency_key="u2",
    )  # fmt: skip
    assert same == moved and len(state.faults.calls()) == calls


def test_series_spans_the_room_and_an_open_series_has_no_exp(daily: Any) -> None:
    state, url = daily
    provider = _provider(url, margin_seconds=0)
    request = meeting_request(recurrence=("RRULE:FREQ=WEEKLY;COUNT=3",))
    meeting = provider.create(request, idempotency_key="s")
    start, end = epoch_of(request.start), epoch_of(request.end)  # type: ignore[arg-type]
    assert _room(state, meeting)["config"] == {"nbf": start, "exp": end + 14 * 86400}
    open_series = meeting_request(recurrence=("RRULE:FREQ=WEEKLY",))
    provider.update(meeting, open_series, idempotency_key="u")
    assert _room(state, meeting)["config"] == {"nbf": start}


def test_occurrence_moved_outside_widens_and_cancelled_changes_nothing(daily: Any) -> None:
    state, url = daily
    provider = _provider(url, margin_seconds=0)
    request = meeting_request(recurrence=("RRULE:FREQ=DAILY;COUNT=2",))
    meeting = provider.create(request, idempotency_key="s")
    before = _room(state, meeting)["config"]
    inside = OccurrenceChange("evt1", "evt1_x", when(48), False, when(48.5), when(49))
    provider.update_occurrence(meeting, inside, idempotency_key="o1")
    cancelled = OccurrenceChange("evt1", "evt1_y", when(24), True)
    provider.update_occurrence(meeting, cancelled, idempotency_key="o2")
    assert _room(state, meeting)["config"] == before
    assert [c["op"] for c in state.faults.calls()] == ["create"]
    later_end = when(80)
    outside = OccurrenceChange("evt1", "evt1_x", when(48), False, when(79), later_end)
    provider.update_occurrence(meeting, outside, idempotency_key="o3")
    assert _room(state, meeting)["config"] == {"nbf": before["nbf"], "exp": epoch_of(later_end)}


def test_delete_and_delete_of_a_gone_room(daily: Any) -> None:
    state, url = daily
    provider = _provider(url)
    meeting = provider.create(meeting_request(), idempotency_key="k")
    provider.delete(meeting, idempotency_key="d1")
    assert _room(state, meeting)["deleted"] is True
    provider.delete(meeting, idempotency_key="d2")  # 404: already gone, which is success
    assert [c["status"] for c in state.faults.calls("delete")] == [200, 404]


@pytest.mark.parametrize("mode", ["down", "error500"])
def test_outage_is_unavailable(daily: Any, mode: str) -> None:
    _, url = daily
    fault(url, mode, count=1)
    with pytest.raises(ProviderUnavailable):
        _provider(url).create(meeting_request(), idempotency_key="k")
    assert _provider(url).create(meeting_request(), idempotency_key="k").meeting_id


def test_unreachable_is_unavailable() -> None:
    provider = _provider(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(ProviderUnavailable):
        provider.delete(Meeting("room", ()), idempotency_key="d")


@pytest.mark.parametrize(("retry_after", "expected"), [(7, 7.0), ("date", 30.0)])
def test_rate_limit_carries_retry_after(daily: Any, retry_after: Any, expected: float) -> None:
    _, url = daily
    value = http_date(30) if retry_after == "date" else retry_after
    fault(url, "ratelimit", count=1, retryAfter=value)
    with pytest.raises(ProviderUnavailable) as info:
        _provider(url).create(meeting_request(), idempotency_key="k")
    assert info.value.retry_after == pytest.approx(expected, abs=2)
    assert "rate-limit-error" in str(info.value)


def test_a_wrong_api_key_is_refused(daily: Any) -> None:
    _, url = daily
    with pytest.raises(ProviderRefused) as info:
        _provider(url, api_key="wrong").create(meeting_request(), idempotency_key="k")
    assert info.value.status == 401
    assert "authentication-error" in str(info.value)


@pytest.mark.parametrize(
    ("options", "bad"),
    [
        ({}, "api_key"),
        ({"api_key": "k", "base_url": "api.daily.co"}, "base_url"),
        ({"api_key": "k", "room_secret": "short"}, "room_secret"),
        ({"api_key": "k", "privacy": "org"}, "privacy"),
        ({"api_key": "k", "margin_seconds": -5}, "margin_seconds"),
        ({"api_key": "k", "marginseconds": 5}, "marginseconds"),
    ],
)
def test_bad_options_are_named(options: dict[str, Any], bad: str) -> None:
    with pytest.raises(ProviderConfigError) as info:
        build_provider("daily", options)
    assert info.value.option == bad
