"""The ``zoom`` and ``teams`` providers against their fake servers over real HTTP (no Datastore,
no add-on): request and response shapes, error mapping, idempotent creation, the series
mappings; and the fakes' own refusals of bad input."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from addon.providers.base import (
    Meeting,
    MeetingRequest,
    OccurrenceChange,
    ProviderAccountExpired,
    ProviderRefused,
    ProviderUnavailable,
    VendorAccount,
)
from addon.providers.http import HttpResponse, RequestsTransport
from addon.providers.options import ProviderConfigError
from addon.providers.registry import build_provider
from addon.providers.teams import TeamsProvider
from addon.providers.zoom import ZoomProvider, _retry_after, recurrence
from localgoogle.vendors.graph import GraphState, create_graph_app
from localgoogle.vendors.oauth import VendorOAuth
from localgoogle.vendors.zoom import ZoomState, create_zoom_app
from tests.addon.vendor_support import served

ALICE = "alice@example.com"


def request(**extra: Any) -> MeetingRequest:
    values: dict[str, Any] = {
        "calendar_id": ALICE,
        "event_id": "ev1",
        "solution_id": "s",
        "summary": "Planning",
        "start": {"dateTime": "2030-03-04T10:00:00+01:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2030-03-04T11:30:00+01:00", "timeZone": "Europe/Berlin"},
        "time_zone": "Europe/Berlin",
        "attendees": ("bob@example.com",),
        **extra,
    }
    return MeetingRequest(**values)


def access_token(oauth: VendorOAuth, client_id: str, secret: str, account: str = ALICE) -> str:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    form = {
        "response_type": "code", "client_id": client_id, "decision": "allow",
        "redirect_uri": "https://addon.example/link/callback", "state": "s", "account": account,
        "code_challenge": challenge.rstrip(b"=").decode(), "code_challenge_method": "S256",
    }  # fmt: skip
    url, problem = oauth.decide(form)
    assert url is not None, problem
    code = parse_qs(urlsplit(url).query)["code"][0]
    answer = oauth.token(
        {"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
         "redirect_uri": form["redirect_uri"], "client_id": client_id, "client_secret": secret},
        None,
    )  # fmt: skip
    assert answer.status == 200, answer.body
    token: str = answer.body["access_token"]
    return token


@pytest.fixture
def zoom() -> Iterator[tuple[ZoomState, str]]:
    yield from served(ZoomState(), create_zoom_app)


@pytest.fixture
def graph() -> Iterator[tuple[GraphState, str]]:
    yield from served(GraphState(), create_graph_app)


def zoom_provider(zoom: tuple[ZoomState, str]) -> ZoomProvider:
    state, url = zoom
    provider = ZoomProvider({
        "client_id": "zoom-client-id", "client_secret": "zoom-client-secret",
        "api_base_url": url + "/v2", "oauth_base_url": url, "timeout_seconds": 2,
    })  # fmt: skip
    token = access_token(state.oauth, "zoom-client-id", "zoom-client-secret")
    return provider.with_account(VendorAccount(token))


def teams_provider(graph: tuple[GraphState, str]) -> TeamsProvider:
    state, url = graph
    provider = TeamsProvider({
        "client_id": "graph-client-id", "client_secret": "graph-client-secret",
        "login_base_url": url, "graph_base_url": url + "/v1.0", "timeout_seconds": 2,
    })  # fmt: skip
    token = access_token(state.oauth, "graph-client-id", "graph-client-secret")
    return provider.with_account(VendorAccount(token))


# ---- Zoom -----------------------------------------------------------------------------------


def test_zoom_create_maps_the_event_and_answers_join_data(zoom) -> None:
    provider = zoom_provider(zoom)
    meeting = provider.create(request(), idempotency_key="k1")
    (stored,) = zoom[0].meetings()
    assert stored["topic"] == "Planning" and stored["type"] == 2
    assert stored["start_time"] == "2030-03-04T09:00:00Z" and stored["duration"] == 90
    assert stored["timezone"] == "Europe/Berlin"
    assert stored["settings"]["meeting_invitees"] == [{"email": "bob@example.com"}]
    video, *phones = meeting.entry_points
    assert video.uri == stored["join_url"] and video.passcode == stored["password"]
    assert video.meeting_code == str(stored["id"])
    assert phones and all(p.uri.startswith("tel:+") and p.features == ("TOLL",) for p in phones)


def test_zoom_create_is_idempotent_through_the_agenda_reference(zoom) -> None:
    provider = zoom_provider(zoom)
    first = provider.create(request(), idempotency_key="k1")
    again = provider.create(request(summary="Changed"), idempotency_key="k1")
    other = provider.create(request(), idempotency_key="k2")
    assert first == again and other.meeting_id != first.meeting_id
    assert len(zoom[0].meetings()) == 2


class RacingTransport(RequestsTransport):
    """Another creation under the same key lands at Zoom just before ours (a retry sent while
    the first attempt was in flight): the fake transport plays it once."""

    def __init__(self) -> None:
        super().__init__()
        self.raced = False

    def send(self, method: str, url: str, **kwargs: Any) -> HttpResponse:
        if method == "POST" and url.endswith("/users/me/meetings") and not self.raced:
            self.raced = True
            super().send(method, url, **kwargs)
        return super().send(method, url, **kwargs)


def test_zoom_racing_creations_under_one_key_converge_on_one_meeting(zoom) -> None:
    state, url = zoom
    racing = RacingTransport()
    provider = ZoomProvider(
        {"client_id": "zoom-client-id", "client_secret": "zoom-client-secret",
         "api_base_url": url + "/v2", "oauth_base_url": url},
        http=racing,
    ).with_account(VendorAccount(access_token(state.oauth, "zoom-client-id",
                                              "zoom-client-secret")))  # fmt: skip
    meeting = provider.create(request(), idempotency_key="k1")
    assert racing.raced
    (left,) = state.meetings()
    assert str(left["id"]) == meeting.meeting_id == "81000000001"  # the oldest stays
    assert provider.create(request(), idempotency_key="k1") == meeting


def test_zoom_series_occurrences_and_delete(zoom) -> None:
    provider = zoom_provider(zoom)
    series = request(
        start={"dateTime": "2030-03-04T10:00:00Z"},
        end={"dateTime": "2030-03-04T11:00:00Z"},
        recurrence=("RRULE:FREQ=WEEKLY;BYDAY=MO,WE;COUNT=4",),
    )
    meeting = provider.create(series, idempotency_key="k1")
    (stored,) = zoom[0].meetings()
    assert stored["type"] == 8
    assert stored["recurrence"] == {"type": 2, "repeat_interval": 1, "weekly_days": "2,4",
                                    "end_times": 4}  # fmt: skip
    starts = [o["start_time"] for o in stored["occurrences"]]
    assert starts == ["2030-03-04T10:00:00Z", "2030-03-06T10:00:00Z",
                      "2030-03-11T10:00:00Z", "2030-03-13T10:00:00Z"]  # fmt: skip

    def change(original: str, cancelled: bool, start: str | None = None) -> OccurrenceChange:
        end = None
        if start:
            end = (datetime.fromisoformat(start) + timedelta(hours=2)).isoformat()
        return OccurrenceChange(
            "ev1", "ev1_x", {"dateTime": original}, cancelled,
            {"dateTime": start} if start else None, {"dateTime": end} if end else None,
        )  # fmt: skip

    provider.update_occurrence(
        meeting, change("2030-03-06T10:00:00Z", False, "2030-03-06T15:00:00+00:00"),
        idempotency_key="o1",
    )  # fmt: skip
    provider.update_occurrence(meeting, change("2030-03-11T10:00:00Z", True), idempotency_key="o2")
    # Cancelling an unknown (or already gone) occurrence succeeds; moving one is refused.
    provider.update_occurrence(meeting, change("2031-01-01T10:00:00Z", True), idempotency_key="o3")
    with pytest.raises(ProviderRefused):
        provider.update_occurrence(
            meeting, change("2031-01-01T10:00:00Z", False, "2031-01-01T11:00:00+00:00"),
            idempotency_key="o4",
        )  # fmt: skip
    occurrences = zoom[0].meeting(meeting.meeting_id)["occurrences"]
    assert occurrences[1]["start_time"] == "2030-03-06T15:00:00Z"
    assert occurrences[1]["duration"] == 120
    assert occurrences[2]["status"] == "deleted"
    provider.delete(meeting, idempotency_key="d1")
    provider.delete(meeting, idempotency_key="d1")  # gone is success
    assert zoom[0].meetings() == []


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (("RRULE:FREQ=DAILY;INTERVAL=2;COUNT=5",),
         {"type": 1, "repeat_interval": 2, "end_times": 5}),
        (("RRULE:FREQ=MONTHLY;BYDAY=2TU;UNTIL=20301231",),
         {"type": 3, "repeat_interval": 1, "monthly_week": 2, "monthly_week_day": 3,
          "end_date_time": "2030-12-31T23:59:59Z"}),
        (("RRULE:FREQ=MONTHLY;BYMONTHDAY=15",),
         {"type": 3, "repeat_interval": 1, "monthly_day": 15, "end_times": 60}),
        (("RRULE:FREQ=YEARLY",), None),
        (("RRULE:FREQ=WEEKLY;BYSETPOS=1;BYDAY=MO",), None),
        (("RRULE:FREQ=DAILY", "RRULE:FREQ=WEEKLY"), None),
    ],
)  # fmt: skip
def test_zoom_recurrence_mapping(lines: tuple[str, ...], expected: Any) -> None:
    assert recurrence(lines, datetime(2030, 3, 4, 10, tzinfo=UTC)) == expected


def test_zoom_unmappable_series_is_a_meeting_without_fixed_time(zoom) -> None:
    provider = zoom_provider(zoom)
    provider.create(request(recurrence=("RRULE:FREQ=YEARLY",)), idempotency_key="k")
    (stored,) = zoom[0].meetings()
    assert stored["type"] == 3 and "occurrences" not in stored


def test_zoom_errors_map_to_provider_errors(zoom) -> None:
    state, _ = zoom
    provider = zoom_provider(zoom)
    meeting = provider.create(request(), idempotency_key="k")
    state.set_fault("ratelimit", 1, 7)
    with pytest.raises(ProviderUnavailable) as limited:
        provider.update(meeting, request(), idempotency_key="u")
    assert limited.value.retry_after == 7.0
    state.set_fault("down", 1)
    with pytest.raises(ProviderUnavailable):
        provider.delete(meeting, idempotency_key="d")
    with pytest.raises(ProviderRefused) as missing:
        provider.update(Meeting("999", ()), request(), idempotency_key="u2")
    assert missing.value.status == 404 and "code 3001" in str(missing.value)
    state.oauth.expire_access_tokens()
    with pytest.raises(ProviderAccountExpired):
        provider.update(meeting, request(), idempotency_key="u3")
    unlinked = ZoomProvider({"client_id": "c", "client_secret": "s"})
    with pytest.raises(ProviderAccountExpired):
        unlinked.create(request(), idempotency_key="k")


def test_zoom_retry_after_reads_seconds_http_dates_and_iso_times() -> None:
    later = datetime.now(UTC) + timedelta(seconds=100)
    for value in ("100", format_datetime(later, usegmt=True),
                  later.strftime("%Y-%m-%dT%H:%M:%SZ")):  # fmt: skip
        seconds = _retry_after(HttpResponse(429, b"", {"retry-after": value}))
        assert seconds is not None and 95 <= seconds <= 100
    assert _retry_after(HttpResponse(429, b"", {"retry-after": "soon"})) is None
    daily = _retry_after(HttpResponse(429, b"", {"x-ratelimit-type": "Daily-limit"}))
    assert daily is not None and 0 < daily <= 86400


def test_zoom_account_link_uses_basic_auth_and_revocation() -> None:
    spec = ZoomProvider({"client_id": "c", "client_secret": "s"}).account_link()
    assert spec.authorize_url == "https://zoom.us/oauth/authorize"
    assert spec.token_url == "https://zoom.us/oauth/token"
    assert spec.revoke_url == "https://zoom.us/oauth/revoke"
    assert spec.client_auth == "basic"


# ---- Teams ----------------------------------------------------------------------------------


def test_teams_create_or_get_is_idempotent_and_answers_join_data(graph) -> None:
    provider = teams_provider(graph)
    meeting = provider.create(request(), idempotency_key="k1")
    again = provider.create(request(summary="Changed"), idempotency_key="k1")
    assert again.meeting_id == meeting.meeting_id and len(graph[0].meetings()) == 1
    (stored,) = graph[0].meetings()
    assert stored["subject"] == "Planning"
    assert stored["startDateTime"].startswith("2030-03-04T09:00:00")
    assert stored["participants"]["attendees"] == [{"upn": "bob@example.com",
                                                    "role": "attendee"}]  # fmt: skip
    kinds = [(e.type, e.features) for e in meeting.entry_points]
    assert kinds == [("video", ()), ("phone", ("TOLL",)), ("phone", ("TOLL_FREE",)), ("more", ())]
    assert meeting.entry_points[1].access_code == stored["audioConferencing"]["conferenceId"]


def test_teams_update_occurrence_is_a_no_op_and_delete_is_idempotent(graph) -> None:
    provider = teams_provider(graph)
    meeting = provider.create(request(recurrence=("RRULE:FREQ=DAILY;COUNT=3",)),
                              idempotency_key="k")  # fmt: skip
    calls = len(graph[0].calls())
    change = OccurrenceChange("ev1", "ev1_x", {"dateTime": "2030-03-05T09:00:00Z"}, True)
    provider.update_occurrence(meeting, change, idempotency_key="o")
    assert len(graph[0].calls()) == calls
    updated = provider.update(meeting, request(summary="Moved"), idempotency_key="u")
    assert updated.meeting_id == meeting.meeting_id
    provider.delete(meeting, idempotency_key="d")
    provider.delete(meeting, idempotency_key="d")
    assert graph[0].meetings() == []


def test_teams_errors_map_to_provider_errors(graph) -> None:
    state, _ = graph
    provider = teams_provider(graph)
    meeting = provider.create(request(), idempotency_key="k")
    state.set_fault("ratelimit", 1, 3)
    with pytest.raises(ProviderUnavailable) as limited:
        provider.update(meeting, request(), idempotency_key="u")
    assert limited.value.retry_after == 3.0
    with pytest.raises(ProviderRefused) as bad:
        provider.update(meeting, request(start={"dateTime": "2030-03-04T10:00:00Z"},
                                         end={"dateTime": "2030-03-04T09:00:00Z"}),
                        idempotency_key="u2")  # fmt: skip
    assert bad.value.status == 400
    state.oauth.expire_access_tokens()
    with pytest.raises(ProviderAccountExpired) as expired:
        provider.update(meeting, request(), idempotency_key="u3")
    assert "InvalidAuthenticationToken" in str(expired.value)


def test_teams_account_link_is_the_v2_endpoints_of_the_tenant() -> None:
    spec = TeamsProvider({"client_id": "c", "client_secret": "s", "tenant": "contoso.com"})
    link = spec.account_link()
    base = "https://login.microsoftonline.com/contoso.com/oauth2/v2.0"
    assert (link.authorize_url, link.token_url) == (base + "/authorize", base + "/token")
    assert link.scopes == ("OnlineMeetings.ReadWrite", "offline_access")
    assert link.revoke_url is None and link.extra_authorize == {"response_mode": "query"}


@pytest.mark.parametrize(
    ("name", "options", "bad"),
    [
        ("zoom", {}, "client_id"),
        ("zoom", {"client_id": "c"}, "client_secret"),
        ("zoom", {"client_id": "c", "client_secret": "s", "api_base_url": "ftp://x"},
         "api_base_url"),
        ("zoom", {"client_id": "c", "client_secret": "s", "scopes": "x"}, "scopes"),
        ("teams", {"client_id": "c"}, "client_secret"),
        ("teams", {"client_id": "c", "client_secret": "s", "graph_base_url": "x"},
         "graph_base_url"),
        ("teams", {"client_id": "c", "client_secret": "s", "timeout_seconds": 0},
         "timeout_seconds"),
    ],
)  # fmt: skip
def test_bad_options_name_the_option(name: str, options: dict, bad: str) -> None:
    with pytest.raises(ProviderConfigError) as info:
        build_provider(name, options)
    assert info.value.option == bad


# ---- the fakes refuse bad input with a 4xx and a reason ----------------------------------------


def test_fakes_answer_bad_input_with_4xx(zoom, graph) -> None:
    for url, api in ((zoom[1], "/v2/users/me/meetings"),
                     (graph[1], "/v1.0/me/onlineMeetings/createOrGet")):  # fmt: skip
        r = requests.post(url + api, data="not json", timeout=5,
                          headers={"Authorization": "Bearer x"})  # fmt: skip
        assert r.status_code == 400 and r.json()
        r = requests.post(url + "/_control/faults", json={"mode": "explode"}, timeout=5)
        assert r.status_code == 400 and "mode" in r.json()["error"]
        r = requests.post(url + "/_control/revoke", json={}, timeout=5)
        assert r.status_code == 400
    r = requests.get(zoom[1] + "/oauth/authorize?response_type=token", timeout=5)
    assert r.status_code == 400 and r.json()["reason"] == "response_type must be code"
    r = requests.post(zoom[1] + "/oauth/token", data={"grant_type": "refresh_token"}, timeout=5)
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    r = requests.post(graph[1] + "/common/oauth2/v2.0/token",
                      data={"grant_type": "refresh_token", "client_id": "graph-client-id",
                            "client_secret": "graph-client-secret", "refresh_token": "nope"},
                      timeout=5)  # fmt: skip
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert r.json()["error_codes"] == [70000]
    r = requests.get(zoom[1] + "/v2/meetings/1", headers={"Authorization": "Bearer x"}, timeout=5)
    assert r.status_code == 401 and r.json() == {"code": 124, "message": "Invalid access token."}
