"""The BigBlueButton provider against the fake BBB server over real HTTP (the join page end to
end is in ``tests/e2e/test_vendors.py``)."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from addon.providers.base import Meeting, OccurrenceChange, ProviderRefused, ProviderUnavailable
from addon.providers.bbb import BbbProvider
from addon.providers.options import ProviderConfigError
from addon.providers.registry import build_provider
from localgoogle.vendors.bbb import BbbState, create_bbb_app
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

SECRET = "bbb-test-secret-0123456789"
LINK_SECRET = "link-secret-0123456789"


@pytest.fixture(scope="module")
def _bbb() -> Iterator[tuple[BbbState, str]]:
    yield from served(BbbState(secret=SECRET), create_bbb_app)


@pytest.fixture
def bbb(_bbb: tuple[BbbState, str]) -> tuple[BbbState, str]:
    return fresh(_bbb)


def _provider(url: str, **options: Any) -> BbbProvider:
    values = {
        "base_url": url + "/bigbluebutton/api",
        "secret": SECRET,
        "join_base_url": "https://addon.example",
        "link_secret": LINK_SECRET,
        **options,
    }
    return built(BbbProvider, "bbb", values)


def test_create_is_local_idempotent_and_links_to_our_join_page(bbb: Any) -> None:
    state, url = bbb
    provider = _provider(url)
    request = meeting_request()
    meeting = provider.create(request, idempotency_key="cal/evt1/create/0")
    assert provider.create(request, idempotency_key="cal/evt1/create/0") == meeting
    assert provider.create(request, idempotency_key="other").meeting_id != meeting.meeting_id
    assert meeting.meeting_id.startswith("gcal-") and len(meeting.meeting_id) == 31
    [video] = meeting.entry_points
    assert video.uri == f"https://addon.example/join/{meeting.meeting_id}"
    assert meeting.data == {
        "name": "Planning",
        "opens": str(epoch_of(request.start) - 15 * 60),  # type: ignore[arg-type]
        "closes": str(epoch_of(request.end) + 30 * 60),  # type: ignore[arg-type]
    }
    assert state.faults.calls() == []  # BBB meetings exist only while running


def test_move_retitle_guests_change_the_window_not_the_link(bbb: Any) -> None:
    _, url = bbb
    provider = _provider(url, open_minutes_before=5, close_minutes_after=0)
    meeting = provider.create(meeting_request(), idempotency_key="k")
    start, end = when(72), when(73)
    moved = provider.update(
        meeting,
        meeting_request(start=start, end=end, summary="Renamed", attendees=("cy@example.com",)),
        idempotency_key="u",
    )
    assert moved.entry_points == meeting.entry_points
    assert moved.data == {
        "name": "Renamed",
        "opens": str(epoch_of(start) - 300),
        "closes": str(epoch_of(end)),
    }
    window = provider.window(moved)
    assert window.state(epoch_of(start) - 301) == "early"
    assert window.state(epoch_of(start)) == "open"
    assert window.state(epoch_of(end) + 1) == "over"


def test_series_window_spans_the_series_and_occurrences_change_nothing(bbb: Any) -> None:
    state, url = bbb
    provider = _provider(url, open_minutes_before=0, close_minutes_after=0)
    request = meeting_request(recurrence=("RRULE:FREQ=DAILY;COUNT=3",))
    meeting = provider.create(request, idempotency_key="s")
    assert meeting.data["closes"] == str(epoch_of(request.end) + 2 * 86400)  # type: ignore[arg-type]
    open_ended = provider.update(
        meeting, meeting_request(recurrence=("RRULE:FREQ=DAILY",)), idempotency_key="u"
    )
    assert "closes" not in open_ended.data
    moved = OccurrenceChange("evt1", "evt1_1", when(48), False, when(50), when(51))
    provider.update_occurrence(meeting, moved, idempotency_key="o1")
    cancelled = OccurrenceChange("evt1", "evt1_2", when(72), True)
    provider.update_occurrence(meeting, cancelled, idempotency_key="o2")
    assert state.faults.calls() == []


def test_unknown_times_leave_the_link_open() -> None:
    provider = _provider("http://bbb.invalid")
    meeting = provider.create(meeting_request(start=None, end=None), idempotency_key="k")
    assert provider.window(meeting).state(time.time()) == "open"


def test_join_creates_once_and_signs_a_join_url_the_server_accepts(bbb: Any) -> None:
    state, url = bbb
    provider = _provider(url)
    meeting = provider.create(meeting_request(), idempotency_key="k")
    urls: list[str] = []

    def visit(name: str) -> None:
        urls.append(provider.join(meeting, name))

    visitors = [threading.Thread(target=visit, args=(n,)) for n in ("Ada", "Bob")]
    for t in visitors:
        t.start()
    for t in visitors:
        t.join()
    assert state.snapshot()["creates"] == 1
    assert sorted(c["outcome"] for c in state.faults.calls("create")) == ["applied", "duplicate"]
    for join_url in urls:
        query = parse_qs(urlsplit(join_url).query)
        assert query["role"] == ["VIEWER"] and query["meetingID"] == [meeting.meeting_id]
        page = requests.get(join_url, timeout=5)
        assert page.status_code == 200 and "You joined Planning" in page.text
    running = state.meeting(meeting.meeting_id)
    assert running is not None and running["running"]
    assert sorted(a["fullName"] for a in running["attendees"]) == ["Ada", "Bob"]


def test_a_meeting_retitled_while_running_can_still_be_joined(bbb: Any) -> None:
    state, url = bbb
    provider = _provider(url)
    meeting = provider.create(meeting_request(), idempotency_key="k")
    requests.get(provider.join(meeting, "Ada"), timeout=5)
    renamed = provider.update(meeting, meeting_request(summary="Renamed"), idempotency_key="u")
    page = requests.get(provider.join(renamed, "Bob"), timeout=5)
    assert "You joined Planning" in page.text  # the running meeting keeps its title
    assert [c["outcome"] for c in state.faults.calls("create")] == ["applied", "rejected"]


def test_password_joins_and_sha1(bbb: Any) -> None:
    state, url = bbb
    provider = _provider(url, join_with="password", everyone_moderator=True,
                         checksum_algorithm="sha1")  # fmt: skip
    meeting = provider.create(meeting_request(), idempotency_key="k")
    join_url = provider.join(meeting, "Ada")
    assert len(parse_qs(urlsplit(join_url).query)["checksum"][0]) == 40
    assert "moderator" in requests.get(join_url, timeout=5).text
    running = state.meeting(meeting.meeting_id)
    assert running is not None and running["attendees"][0]["role"] == "MODERATOR"


def test_a_forged_checksum_is_refused_by_the_server(bbb: Any) -> None:
    state, url = bbb
    provider = _provider(url)
    meeting = provider.create(meeting_request(), idempotency_key="k")
    join_url = provider.join(meeting, "Ada")
    forged = join_url.replace("fullName=Ada", "fullName=Eve")
    assert "<messageKey>checksumError</messageKey>" in requests.get(forged, timeout=5).text
    query = "meetingID=x&name=x"
    wrong = hashlib.sha256(f"create{query}not-the-secret".encode()).hexdigest()
    answer = requests.get(f"{url}/bigbluebutton/api/create?{query}&checksum={wrong}", timeout=5)
    assert "<returncode>FAILED</returncode>" in answer.text and "checksumError" in answer.text
    with pytest.raises(ProviderRefused, match="checksumError"):
        _provider(url, secret="wrong-secret").join(meeting, "Ada")
    assert state.snapshot()["creates"] == 1


def test_delete_ends_the_running_meeting_and_a_gone_one_is_fine(bbb: Any) -> None:
    state, url = bbb
    provider = _provider(url)
    meeting = provider.create(meeting_request(), idempotency_key="k")
    requests.get(provider.join(meeting, "Ada"), timeout=5)
    provider.delete(meeting, idempotency_key="d1")
    snapshot = state.snapshot()
    assert snapshot["meetings"] == [] and [m["meetingID"] for m in snapshot["ended"]] == [
        meeting.meeting_id
    ]
    provider.delete(meeting, idempotency_key="d2")  # notFound: not running, which is success
    assert [c["outcome"] for c in state.faults.calls("end")] == ["applied", "rejected"]


@pytest.mark.parametrize("mode", ["down", "error500"])
def test_outage_is_unavailable(bbb: Any, mode: str) -> None:
    _, url = bbb
    provider = _provider(url)
    meeting = provider.create(meeting_request(), idempotency_key="k")
    fault(url, mode, count=2)
    with pytest.raises(ProviderUnavailable):
        provider.delete(meeting, idempotency_key="d")
    with pytest.raises(ProviderUnavailable):
        provider.join(meeting, "Ada")
    provider.delete(meeting, idempotency_key="d")


def test_unreachable_is_unavailable() -> None:
    provider = _provider(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(ProviderUnavailable):
        provider.delete(Meeting("gcal-x", ()), idempotency_key="d")


@pytest.mark.parametrize(("retry_after", "expected"), [("12", 12.0), ("date", 40.0)])
def test_a_429_from_a_proxy_carries_retry_after(
    bbb: Any, retry_after: str, expected: float
) -> None:
    _, url = bbb
    value = http_date(40) if retry_after == "date" else retry_after
    fault(url, "ratelimit", count=1, retryAfter=value)
    with pytest.raises(ProviderUnavailable) as info:
        _provider(url).delete(Meeting("gcal-x", ()), idempotency_key="d")
    assert info.value.retry_after == pytest.approx(expected, abs=2)


@pytest.mark.parametrize(
    ("options", "bad"),
    [
        ({"base_url": None}, "base_url"),
        ({"base_url": "bbb.example.org/bigbluebutton/api"}, "base_url"),
        ({"secret": None}, "secret"),
        ({"checksum_algorithm": "md5"}, "checksum_algorithm"),
        ({"join_base_url": None}, "join_base_url"),
        ({"join_base_url": "addon.example"}, "join_base_url"),
        ({"link_secret": "short"}, "link_secret"),
        ({"open_minutes_before": -1}, "open_minutes_before"),
        ({"join_with": "token"}, "join_with"),
        ({"welcome": "hi"}, "welcome"),
    ],
)
def test_bad_options_are_named(options: dict[str, Any], bad: str) -> None:
    values: dict[str, Any] = {
        "base_url": "https://bbb.example.org/bigbluebutton/api",
        "secret": SECRET,
        "join_base_url": "https://addon.example",
        "link_secret": LINK_SECRET,
    }
    values.update(options)
    with pytest.raises(ProviderConfigError) as info:
        build_provider("bbb", {k: v for k, v in values.items() if v is not None})
    assert info.value.option == bad
