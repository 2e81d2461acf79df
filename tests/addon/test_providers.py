"""Providers: Jitsi (no network) and the REST client against the fake conferencing server over
real HTTP (werkzeug on a free loopback port)."""

from __future__ import annotations

import json as jsonlib
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
import requests
from werkzeug.serving import make_server

from addon.markup import conference_data_markup
from addon.providers.base import (
    Meeting,
    MeetingRequest,
    OccurrenceChange,
    ProviderAuthRequired,
    ProviderRefused,
    ProviderUnavailable,
)
from addon.providers.http import HttpResponse
from addon.providers.jitsi import JitsiProvider
from addon.providers.options import ProviderConfigError
from addon.providers.registry import UnknownProvider, build_provider, known_providers
from addon.providers.rest import RestProvider
from localgoogle.vendors.rest import ConferencingState, create_conferencing_app
from tests.addon.vendor_support import free_port

SECRET = "room-secret-0123456789"
START = {"dateTime": "2030-05-01T10:00:00+02:00", "timeZone": "Europe/Paris"}
END = {"dateTime": "2030-05-01T11:00:00+02:00", "timeZone": "Europe/Paris"}
START_TS = 1903852800  # 2030-05-01T08:00:00Z
END_TS = START_TS + 3600


def _request(**overrides: Any) -> MeetingRequest:
    fields: dict[str, Any] = {
        "calendar_id": "cal@example.com",
        "event_id": "evt1",
        "solution_id": "standard",
        "summary": "Planning",
        "start": START,
        "end": END,
        "time_zone": "Europe/Paris",
        "attendees": ("ada@example.com", "bob@example.com"),
        "organizer": "ada@example.com",
    }
    fields.update(overrides)
    return MeetingRequest(**fields)


def _jitsi(**options: Any) -> JitsiProvider:
    provider = build_provider("jitsi", {"room_secret": SECRET, **options})
    assert isinstance(provider, JitsiProvider)
    return provider


def _video(meeting: Meeting) -> str:
    return next(e.uri for e in meeting.entry_points if e.type == "video")


def _claims(meeting: Meeting, secret: str) -> dict[str, Any]:
    token = _video(meeting).split("?jwt=")[1].split("#")[0]
    claims: dict[str, Any] = jwt.decode(
        token, secret, algorithms=["HS256"], audience="jitsi", options={"verify_nbf": False}
    )
    return claims


# --- registry ---------------------------------------------------------------------------


def test_registry_knows_the_builtins_and_names_them_for_unknown() -> None:
    assert {"jitsi", "rest", "zoom", "teams"} <= set(known_providers())
    with pytest.raises(UnknownProvider) as info:
        build_provider("nosuchvendor", {})
    assert "jitsi" in str(info.value)
    assert "rest" in str(info.value)
    assert isinstance(info.value, ProviderConfigError)


@pytest.mark.parametrize(
    ("name", "options", "bad"),
    [
        ("jitsi", {}, "room_secret"),
        ("jitsi", {"room_secret": "short"}, "room_secret"),
        ("jitsi", {"room_secret": SECRET, "app_id": "a"}, "app_secret"),
        ("jitsi", {"room_secret": SECRET, "app_secret": "s"}, "app_id"),
        ("jitsi", {"room_secret": SECRET, "base_url": "meet.jit.si"}, "base_url"),
        ("jitsi", {"room_secret": SECRET, "dial_in_number": "555-0100"}, "dial_in_number"),
        ("jitsi", {"room_secret": SECRET, "dial_in_region": "usa"}, "dial_in_region"),
        ("jitsi", {"room_secret": SECRET, "recording": "maybe"}, "recording"),
        ("jitsi", {"room_secret": SECRET, "jwt_margin_seconds": -1}, "jwt_margin_seconds"),
        ("jitsi", {"room_secret": SECRET, "more_url": "ftp://x"}, "more_url"),
        ("jitsi", {"room_secret": SECRET, "recordnig": True}, "recordnig"),
        ("rest", {}, "base_url"),
        ("rest", {"base_url": "http://x.example", "timeout_seconds": "soon"}, "timeout_seconds"),
        ("rest", {"base_url": "http://x.example", "api_key": ""}, "api_key"),
    ],
)
def test_bad_options_are_named(name: str, options: dict[str, Any], bad: str) -> None:
    with pytest.raises(ProviderConfigError) as info:
        build_provider(name, options)
    assert info.value.option == bad
    assert bad in str(info.value)


# --- jitsi ------------------------------------------------------------------------------


def test_jitsi_create_is_idempotent_and_rooms_are_unguessable() -> None:
    provider = _jitsi()
    first = provider.create(_request(), idempotency_key="cal/evt1/create")
    assert provider.create(_request(), idempotency_key="cal/evt1/create") == first
    other = _jitsi().create(_request(), idempotency_key="cal/evt2/create")
    assert other.meeting_id != first.meeting_id
    assert len(first.meeting_id) == 32  # 160 bits of base32
    assert first.meeting_id.isalnum()
    assert _video(first) == f"https://meet.jit.si/{first.meeting_id}"
    # Another secret, another room: the key alone does not reveal it.
    stranger = build_provider("jitsi", {"room_secret": "x" * 20})
    assert stranger.create(_request(), idempotency_key="cal/evt1/create") != first


def test_jitsi_meeting_passes_the_markup_rules() -> None:
    provider = _jitsi(
        dial_in_number="+1 (555) 010-0123",
        dial_in_region="US",
        more_url="https://meet.jit.si/static/dialInInfo.html?room={room}",
        recording=True,
        app_id="app",
        app_secret="app-secret-0123456789",
    )
    meeting = provider.create(_request(), idempotency_key="k")
    markup = conference_data_markup(meeting, conference_solution_id="recorded")
    assert [e["type"] for e in markup["entryPoints"]] == ["VIDEO", "PHONE", "MORE"]


def test_jitsi_without_jwt_update_keeps_the_url() -> None:
    provider = _jitsi(base_url="https://jitsi.example.org/")
    meeting = provider.create(_request(), idempotency_key="k")
    assert "?jwt=" not in _video(meeting)
    assert _video(meeting).startswith("https://jitsi.example.org/")
    moved = provider.update(
        meeting, _request(start={"dateTime": "2031-01-01T10:00:00Z"}), idempotency_key="k2"
    )
    assert moved == meeting


def test_jitsi_jwt_claims_are_bound_to_the_event() -> None:
    provider = _jitsi(app_id="my-app", app_secret="app-secret-0123456789", jwt_margin_seconds=600)
    meeting = provider.create(_request(), idempotency_key="k")
    claims = _claims(meeting, "app-secret-0123456789")
    assert claims == {
        "iss": "my-app",
        "aud": "jitsi",
        "sub": "meet.jit.si",
        "room": meeting.meeting_id,
        "nbf": START_TS - 600,
        "exp": END_TS + 600,
    }
    assert meeting.data["jwt_exp"] == str(END_TS + 600)
    # Same times: same URL (nothing to write back); moved: new URL, same room.
    assert provider.update(meeting, _request(), idempotency_key="k2") == meeting
    later = {"dateTime": "2030-05-02T08:00:00Z"}
    moved = provider.update(
        meeting,
        _request(start=later, end={"dateTime": "2030-05-02T09:00:00Z"}),
        idempotency_key="k3",
    )
    assert moved.meeting_id == meeting.meeting_id
    assert _video(moved) != _video(meeting)
    assert _claims(moved, "app-secret-0123456789")["nbf"] == START_TS + 86400 - 600


def test_jitsi_room_secret_can_derive_from_app_secret() -> None:
    provider = build_provider("jitsi", {"app_id": "a", "app_secret": "app-secret-0123456789"})
    meeting = provider.create(_request(), idempotency_key="k")
    assert meeting == provider.create(_request(), idempotency_key="k")


def test_jitsi_token_windows_for_all_day_series_and_unknown_times() -> None:
    clock = [1_900_000_000.0]
    provider = JitsiProvider(
        {"room_secret": SECRET, "app_id": "a", "app_secret": "s" * 20, "jwt_margin_seconds": 0},
        clock=lambda: clock[0],
    )
    all_day = _request(start={"date": "2030-05-01"}, end={"date": "2030-05-02"}, time_zone=None)
    nbf, exp = provider.token_window(all_day)
    midnight = 1903824000  # 2030-05-01T00:00:00Z; the zone is unknown, so ±14 h
    assert (nbf, exp) == (midnight - 14 * 3600, midnight + 86400 + 14 * 3600)
    series = _request(recurrence=("RRULE:FREQ=WEEKLY;UNTIL=20300601T080000Z",))
    assert provider.token_window(series) == (START_TS, 1906531200 + 3600)  # UNTIL + one event
    endless = _request(recurrence=("RRULE:FREQ=DAILY",))
    assert provider.token_window(endless)[1] == START_TS + 366 * 86400
    unknown = _request(start=None, end=None)
    assert provider.token_window(unknown) == (1_900_000_000, 1_900_000_000 + 86400)


def test_jitsi_recorded_solution() -> None:
    plain = _jitsi().create(_request(), idempotency_key="k")
    recorded = _jitsi(recording=True).create(_request(), idempotency_key="k")
    assert recorded.meeting_id == plain.meeting_id
    assert _video(recorded).endswith("#config.fileRecordingsEnabled=true")
    assert recorded.note is not None and "recorded" in recorded.note
    assert plain.note is not None and "recorded" not in plain.note
    assert recorded.data["recording"] == "true"
    with_jwt = _jitsi(recording="true", app_id="a", app_secret="s" * 20).create(
        _request(), idempotency_key="k"
    )
    assert _claims(with_jwt, "s" * 20)["context"] == {"features": {"recording": True}}


def test_jitsi_dial_in_and_more() -> None:
    provider = _jitsi(
        dial_in_number="+15550100123",
        dial_in_region="US",
        more_url="https://meet.jit.si/static/dialInInfo.html?room={room}",
    )
    meeting = provider.create(_request(), idempotency_key="k")
    phone = next(e for e in meeting.entry_points if e.type == "phone")
    assert phone.uri == "tel:+15550100123"
    assert phone.region_code == "US"
    assert phone.pin is not None and len(phone.pin) == 10 and phone.pin.isdigit()
    assert provider.create(_request(), idempotency_key="k") == meeting  # PIN is deterministic
    more = next(e for e in meeting.entry_points if e.type == "more")
    assert more.uri.endswith(f"?room={meeting.meeting_id}")
    assert [e.type for e in _jitsi().create(_request(), idempotency_key="k").entry_points] == [
        "video"
    ]


def test_jitsi_occurrence_is_recorded_and_delete_is_a_no_op() -> None:
    provider = _jitsi()
    meeting = provider.create(_request(), idempotency_key="k")
    change = OccurrenceChange("evt1", "evt1_20300508T080000Z", {"dateTime": "x"}, cancelled=True)
    provider.update_occurrence(meeting, change, idempotency_key="occ")
    assert list(provider.occurrence_log) == [(meeting.meeting_id, change, "occ")]
    provider.delete(meeting, idempotency_key="del")
    provider.delete(meeting, idempotency_key="del")


# --- rest against the fake conferencing server --------------------------------------------


@dataclass
class FakeConferencing:
    state: ConferencingState
    url: str

    def calls(self) -> list[dict[str, Any]]:
        return self.state.calls()

    def rest(self, **options: Any) -> RestProvider:
        provider = build_provider("rest", {"base_url": self.url, **options})
        assert isinstance(provider, RestProvider)
        return provider


@pytest.fixture(scope="module")
def _server() -> Iterator[FakeConferencing]:
    state = ConferencingState()
    server = make_server("127.0.0.1", 0, create_conferencing_app(state), threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield FakeConferencing(state, f"http://127.0.0.1:{server.server_port}")
    finally:
        state.reset()  # releases any request still hanging
        server.shutdown()
        thread.join()
        server.server_close()


@pytest.fixture
def fake(_server: FakeConferencing) -> FakeConferencing:
    _server.state.reset()
    _server.state.api_key = None
    return _server


def test_rest_create_sends_the_event_and_maps_the_answer(fake: FakeConferencing) -> None:
    provider = fake.rest(api_key="k-123")
    meeting = provider.create(_request(recurrence=("RRULE:FREQ=DAILY",)), idempotency_key="c1")
    stored = fake.state.meeting(meeting.meeting_id)
    assert stored is not None
    assert stored["title"] == "Planning"
    assert stored["start"] == START
    assert stored["attendees"] == ["ada@example.com", "bob@example.com"]
    assert stored["recurrence"] == ["RRULE:FREQ=DAILY"]
    assert stored["eventId"] == "evt1"
    assert [e.type for e in meeting.entry_points] == ["video", "phone", "more"]
    assert _video(meeting) == stored["joinUrl"]
    phone = meeting.entry_points[1]
    assert (phone.uri, phone.pin) == ("tel:+15550100", stored["dialIn"]["pin"])
    conference_data_markup(meeting, conference_solution_id="standard")  # valid markup
    assert fake.calls() == [
        {
            "method": "POST",
            "op": "create",
            "meetingId": None,
            "idempotencyKey": "c1",
            "outcome": "applied",
            "status": 201,
        }
    ]


def test_rest_create_retry_is_deduplicated(fake: FakeConferencing) -> None:
    provider = fake.rest()
    first = provider.create(_request(), idempotency_key="same")
    again = provider.create(_request(summary="changed meanwhile"), idempotency_key="same")
    assert again == first
    assert [c["outcome"] for c in fake.calls()] == ["applied", "duplicate"]
    assert len(fake.state.meetings()) == 1


def test_rest_update_occurrence_delete(fake: FakeConferencing) -> None:
    provider = fake.rest()
    meeting = provider.create(_request(), idempotency_key="c")
    updated = provider.update(
        meeting, _request(summary="Retro", attendees=("ada@example.com",)), idempotency_key="u"
    )
    assert updated.meeting_id == meeting.meeting_id
    provider.update(meeting, _request(summary="Retro"), idempotency_key="u")  # repeat: no-op
    change = OccurrenceChange(
        "evt1", "evt1_x", {"dateTime": "2030-05-08T10:00:00+02:00"}, cancelled=False, start=START
    )
    provider.update_occurrence(meeting, change, idempotency_key="o")
    provider.delete(meeting, idempotency_key="d")
    provider.delete(meeting, idempotency_key="d")  # repeat: stored result
    provider.delete(meeting, idempotency_key="d2")  # 404: already gone, still success
    stored = fake.state.meeting(meeting.meeting_id)
    assert stored is not None
    assert stored["title"] == "Retro"
    assert stored["attendees"] == ["ada@example.com"]
    assert stored["updates"] == 1
    assert stored["occurrences"][0]["occurrenceEventId"] == "evt1_x"
    assert stored["deleted"] is True
    assert [(c["op"], c["outcome"], c["status"]) for c in fake.calls()] == [
        ("create", "applied", 201),
        ("update", "applied", 200),
        ("update", "duplicate", 200),
        ("occurrence", "applied", 200),
        ("delete", "applied", 204),
        ("delete", "duplicate", 204),
        ("delete", "rejected", 404),
    ]
    with pytest.raises(ProviderRefused) as info:
        provider.update(meeting, _request(), idempotency_key="u2")
    assert info.value.status == 404


def test_rest_connection_refused_is_unavailable() -> None:
    provider = build_provider("rest", {"base_url": f"http://127.0.0.1:{free_port()}"})
    with pytest.raises(ProviderUnavailable):
        provider.create(_request(), idempotency_key="k")


@pytest.mark.parametrize("mode", ["error500", "down"])
def test_rest_server_errors_are_unavailable(fake: FakeConferencing, mode: str) -> None:
    requests.post(f"{fake.url}/faults", json={"mode": mode, "count": 1}, timeout=5)
    provider = fake.rest()
    with pytest.raises(ProviderUnavailable):
        provider.create(_request(), idempotency_key="k")
    # The fault was used up; the retry with the same key applies once.
    provider.create(_request(), idempotency_key="k")
    assert [c["outcome"] for c in fake.calls()] == ["fault", "applied"]


def test_rest_hang_times_out_and_the_retry_finds_the_applied_result(
    fake: FakeConferencing,
) -> None:
    requests.post(
        f"{fake.url}/faults", json={"mode": "hang", "seconds": 0.5, "count": 1}, timeout=5
    )
    provider = fake.rest(timeout_seconds=0.1)
    started = time.monotonic()
    with pytest.raises(ProviderUnavailable):
        provider.create(_request(), idempotency_key="slow")
    assert time.monotonic() - started < 0.45
    deadline = time.monotonic() + 3
    while not fake.calls() and time.monotonic() < deadline:
        time.sleep(0.02)  # the server finishes the hung call after the client gave up
    retried = provider.create(_request(), idempotency_key="slow")
    assert [c["outcome"] for c in fake.calls()] == ["applied", "duplicate"]
    assert [m["id"] for m in fake.state.meetings()] == [retried.meeting_id]


def test_rest_auth_required_carries_the_url(fake: FakeConferencing) -> None:
    fake.state.api_key = "right"
    with pytest.raises(ProviderAuthRequired) as info:
        fake.rest(api_key="wrong").create(_request(), idempotency_key="k")
    assert info.value.authentication_url == "https://conference.example/link"
    bearer = fake.rest(api_key="right", api_key_header="Authorization")
    assert bearer.create(_request(), idempotency_key="k").meeting_id
    requests.post(f"{fake.url}/faults", json={"mode": "auth"}, timeout=5)
    with pytest.raises(ProviderAuthRequired):
        fake.rest(api_key="right").delete(Meeting("mtg-1", ()), idempotency_key="d")


def test_rest_other_4xx_is_refused(fake: FakeConferencing) -> None:
    requests.post(f"{fake.url}/faults", json={"mode": "refuse"}, timeout=5)
    with pytest.raises(ProviderRefused) as info:
        fake.rest().create(_request(), idempotency_key="k")
    assert info.value.status == 400
    assert "refused" in str(info.value)


class ScriptedTransport:
    """A fake transport answering a fixed status and body; records what it was sent."""

    def __init__(self, status: int, body: Any) -> None:
        self.answer = (status, body)
        self.sent: list[tuple[str, str, Any, dict[str, str], float]] = []

    def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        timeout: float,
        json: Any = None,
        data: Mapping[str, str] | bytes | None = None,
        params: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        self.sent.append((method, url, json, dict(headers), timeout))
        status, body = self.answer
        return HttpResponse(status, b"" if body is None else jsonlib.dumps(body).encode())


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (401, {"error": "who are you"}, ProviderRefused),
        (403, None, ProviderRefused),
        (403, {"authenticationUrl": "https://v.example/link"}, ProviderAuthRequired),
        (408, None, ProviderUnavailable),
        (429, {"error": "slow down"}, ProviderUnavailable),
        (422, {"message": "bad start"}, ProviderRefused),
        (302, None, ProviderRefused),
        (503, None, ProviderUnavailable),
        (201, {"joinUrl": "https://v.example/j"}, ProviderUnavailable),
        (201, None, ProviderUnavailable),
    ],
)
def test_rest_status_mapping(status: int, body: Any, error: type[Exception]) -> None:
    transport = ScriptedTransport(status, body)
    provider = build_provider("rest", {"base_url": "https://v.example/api"}, http=transport)
    with pytest.raises(error):
        provider.create(_request(), idempotency_key="k")


def test_rest_request_shape_through_the_seam() -> None:
    transport = ScriptedTransport(200, {"id": "a/b", "joinUrl": "https://v.example/j/1"})
    provider = build_provider(
        "rest",
        {"base_url": "https://v.example/api/", "api_key": "sekrit", "timeout_seconds": 2},
        http=transport,
    )
    meeting = provider.create(_request(), idempotency_key="key-1")
    provider.update(meeting, _request(), idempotency_key="key-2")
    method, url, body, headers, timeout = transport.sent[0]
    assert (method, url, timeout) == ("POST", "https://v.example/api/meetings", 2.0)
    assert headers["Idempotency-Key"] == "key-1"
    assert headers["X-Api-Key"] == "sekrit"
    assert body["title"] == "Planning"
    assert transport.sent[1][:2] == ("PATCH", "https://v.example/api/meetings/a%2Fb")
