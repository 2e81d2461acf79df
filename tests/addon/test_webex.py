"""The Webex provider against the fake Webex over real HTTP: a token obtained through the fake's
OAuth endpoints (consent page, code with PKCE, refresh), then the Meetings API as that user."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from addon.markup import conference_data_markup
from addon.providers.base import (
    Meeting,
    OccurrenceChange,
    ProviderAccountExpired,
    ProviderAuthRequired,
    ProviderRefused,
    ProviderUnavailable,
    VendorAccount,
)
from addon.providers.options import ProviderConfigError
from addon.providers.registry import build_provider
from addon.providers.webex import WebexProvider
from localgoogle.vendors.webex import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    WebexState,
    create_webex_app,
)
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

REDIRECT = "https://addon.example/link/webex/callback"
ADA = "ada@example.com"


@pytest.fixture(scope="module")
def _webex() -> Iterator[tuple[WebexState, str]]:
    yield from served(WebexState(), create_webex_app)


@pytest.fixture
def webex(_webex: tuple[WebexState, str]) -> tuple[WebexState, str]:
    return fresh(_webex)


def _provider(url: str, **options: Any) -> WebexProvider:
    values = {"client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET,
              "base_url": url + "/v1", **options}  # fmt: skip
    return built(WebexProvider, "webex", values)


def _link(url: str, email: str = ADA) -> dict[str, Any]:
    """The linking flow's vendor side, as a browser and the add-on would drive it."""
    link = _provider(url).account_link()
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    params = {
        "client_id": link.client_id,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": " ".join(link.scopes),
        "state": "st-1",
        "code_challenge": challenge.rstrip(b"=").decode(),
        "code_challenge_method": "S256",
    }
    page = requests.get(link.authorize_url, params=params, timeout=5)
    assert page.status_code == 200 and "Accept" in page.text
    answer = requests.post(
        link.authorize_url,
        data={**params, "email": email, "decision": "accept"},
        allow_redirects=False,
        timeout=5,
    )
    assert answer.status_code == 302
    back = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert back["state"] == ["st-1"]
    form = {"grant_type": "authorization_code", "code": back["code"][0],
            "redirect_uri": REDIRECT, "code_verifier": verifier,
            "client_id": link.client_id, "client_secret": link.client_secret}  # fmt: skip
    tokens = requests.post(link.token_url, data=form, timeout=5)
    assert tokens.status_code == 200, tokens.text
    body: dict[str, Any] = tokens.json()
    return body


def _as(url: str, token: str) -> WebexProvider:
    return _provider(url).with_account(VendorAccount(token))


def test_account_link_and_the_oauth_flow(webex: Any) -> None:
    _, url = webex
    link = _provider(url).account_link()
    assert link.authorize_url == url + "/v1/authorize"
    assert link.token_url == url + "/v1/access_token"
    assert link.scopes == ("meeting:schedules_read", "meeting:schedules_write")
    tokens = _link(url)
    assert tokens["expires_in"] == 14 * 86400 and tokens["refresh_token_expires_in"] == 90 * 86400
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
               "client_id": link.client_id, "client_secret": link.client_secret}  # fmt: skip
    renewed = requests.post(link.token_url, data=refresh, timeout=5).json()
    assert renewed["access_token"] != tokens["access_token"]
    assert renewed["refresh_token"] == tokens["refresh_token"]  # Webex keeps the refresh token


def test_oauth_refuses_a_wrong_verifier_a_reused_code_and_a_revoked_refresh(webex: Any) -> None:
    _, url = webex
    link = _provider(url).account_link()
    challenge = base64.urlsafe_b64encode(hashlib.sha256(b"right").digest()).rstrip(b"=").decode()
    params = {"client_id": link.client_id, "response_type": "code", "redirect_uri": REDIRECT,
              "state": "s", "code_challenge": challenge,
              "code_challenge_method": "S256"}  # fmt: skip
    answer = requests.post(link.authorize_url, data={**params, "email": ADA, "decision": "accept"},
                           allow_redirects=False, timeout=5)  # fmt: skip
    code = parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
            "code_verifier": "wrong", "client_id": link.client_id,
            "client_secret": link.client_secret}  # fmt: skip
    refused = requests.post(link.token_url, data=form, timeout=5)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    again = requests.post(link.token_url, data={**form, "code_verifier": "right"}, timeout=5)
    assert again.json()["error"] == "invalid_grant"  # the code was used up by the first try
    plain = requests.get(link.authorize_url, params={**params, "code_challenge_method": "plain"},
                         timeout=5)  # fmt: skip
    assert plain.status_code == 400
    tokens = _link(url)
    requests.post(f"{url}/_control/revoke", json={"email": ADA}, timeout=5)
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
               "client_id": link.client_id, "client_secret": link.client_secret}  # fmt: skip
    revoked = requests.post(link.token_url, data=refresh, timeout=5)
    assert revoked.status_code == 400 and revoked.json()["error"] == "invalid_grant"


def test_create_maps_join_data_and_is_idempotent(webex: Any) -> None:
    state, url = webex
    provider = _as(url, _link(url)["access_token"])
    request = meeting_request(recurrence=("RRULE:FREQ=WEEKLY;COUNT=4", "EXDATE:20300101T000000Z"))
    meeting = provider.create(request, idempotency_key="cal/evt1/create/0")
    again = provider.create(request, idempotency_key="cal/evt1/create/0")
    assert again == meeting
    [stored] = state.meetings.all()
    assert stored["id"] == meeting.meeting_id and stored["hostEmail"] == ADA
    assert stored["recurrence"] == "FREQ=WEEKLY;COUNT=4"
    assert stored["start"] == f"{request.start['dateTime'][:19]}Z"  # type: ignore[index]
    assert [c["op"] for c in state.faults.calls()] == ["list", "create", "list"]
    invitees = requests.get(
        f"{url}/v1/meetingInvitees", params={"meetingId": meeting.meeting_id},
        headers={"Authorization": "Bearer " + _control_token(url)}, timeout=5,
    ).json()["items"]  # fmt: skip
    assert [i["email"] for i in invitees] == ["bob@example.com"]  # the organizer hosts
    kinds = [e.type for e in meeting.entry_points]
    assert kinds == ["video", "phone", "phone", "sip"]
    video, toll, free, sip = meeting.entry_points
    assert video.uri == stored["webLink"] and video.meeting_code == stored["meetingNumber"]
    assert video.password == stored["password"] == meeting.data["password"]
    assert toll.uri == "tel:+14155550100" and toll.features == ("TOLL",)
    assert free.features == ("TOLL_FREE",) and free.access_code == stored["meetingNumber"]
    assert sip.uri == f"sip:{stored['sipAddress']}"
    conference_data_markup(meeting, conference_solution_id="webex")  # valid Calendar markup


def _control_token(url: str) -> str:
    return str(
        requests.post(f"{url}/_control/tokens", json={"email": ADA}, timeout=5).json()[
            "access_token"
        ]
    )


def test_move_retitle_and_guests(webex: Any) -> None:
    state, url = webex
    provider = _as(url, _control_token(url))
    meeting = provider.create(meeting_request(), idempotency_key="k")
    start, end = when(50), when(51)
    updated = provider.update(
        meeting,
        meeting_request(start=start, end=end, summary="Renamed",
                        attendees=("ada@example.com", "cy@example.com")),
        idempotency_key="u",
    )  # fmt: skip
    stored = state.meetings.get(meeting.meeting_id)
    assert stored is not None and stored["title"] == "Renamed" and stored["updates"] == 1
    assert epoch_of({"dateTime": stored["start"].replace("Z", "+00:00")}) == epoch_of(start)
    assert updated.entry_points == meeting.entry_points
    ops = [(c["op"], c["status"]) for c in state.faults.calls()][2:]
    assert ops == [("update", 200), ("invitees", 200), ("invite", 200), ("uninvite", 204)]
    provider.update(meeting, meeting_request(start=start, end=end, summary="Renamed",
                    attendees=("cy@example.com",)), idempotency_key="u")  # fmt: skip
    assert [c["op"] for c in state.faults.calls()][-2:] == ["update", "invitees"]


def test_occurrence_move_and_cancel(webex: Any) -> None:
    _, url = webex
    provider = _as(url, _control_token(url))
    first = when(24)
    meeting = provider.create(
        meeting_request(recurrence=("RRULE:FREQ=DAILY;COUNT=3",)), idempotency_key="s"
    )
    second_start = when(48)
    moved = OccurrenceChange("evt1", "evt1_2", second_start, False, when(49), when(50))
    provider.update_occurrence(meeting, moved, idempotency_key="o1")
    provider.update_occurrence(meeting, moved, idempotency_key="o1")  # a repeat: already there
    third = OccurrenceChange("evt1", "evt1_3", when(72), True)
    provider.update_occurrence(meeting, third, idempotency_key="o2")
    provider.update_occurrence(meeting, third, idempotency_key="o2")  # cancelled already
    token = _control_token(url)
    listed = requests.get(
        f"{url}/v1/meetings",
        params={"meetingType": "scheduledMeeting", "meetingSeriesId": meeting.meeting_id,
                "from": first["dateTime"], "to": when(100)["dateTime"]},
        headers={"Authorization": f"Bearer {token}"}, timeout=5,
    ).json()["items"]  # fmt: skip
    starts = [epoch_of({"dateTime": i["start"].replace("Z", "+00:00")}) for i in listed]
    assert starts == [epoch_of(first), epoch_of(when(49))]
    assert [i["isModified"] for i in listed] == [False, True]
    again = OccurrenceChange("evt1", "evt1_2", second_start, False, when(53), when(54))
    with pytest.raises(ProviderRefused):
        provider.update_occurrence(meeting, again, idempotency_key="o3")  # moved twice


def test_delete_and_delete_of_a_gone_meeting(webex: Any) -> None:
    state, url = webex
    provider = _as(url, _control_token(url))
    meeting = provider.create(meeting_request(), idempotency_key="k")
    provider.delete(meeting, idempotency_key="d")
    provider.delete(meeting, idempotency_key="d")
    stored = state.meetings.get(meeting.meeting_id)
    assert stored is not None and stored["deleted"]
    assert [c["status"] for c in state.faults.calls("delete")] == [204, 404]


def test_an_expired_token_is_account_expired_and_a_refreshed_one_works(webex: Any) -> None:
    _, url = webex
    tokens = _link(url)
    provider = _as(url, tokens["access_token"])
    meeting = provider.create(meeting_request(), idempotency_key="k")
    requests.post(f"{url}/_control/expire", json={"email": ADA}, timeout=5)
    with pytest.raises(ProviderAccountExpired, match="401"):
        provider.delete(meeting, idempotency_key="d")
    link = provider.account_link()
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
               "client_id": link.client_id, "client_secret": link.client_secret}  # fmt: skip
    renewed = requests.post(link.token_url, data=refresh, timeout=5).json()
    _as(url, renewed["access_token"]).delete(meeting, idempotency_key="d")


def test_without_an_account_auth_is_required(webex: Any) -> None:
    _, url = webex
    with pytest.raises(ProviderAuthRequired):
        _provider(url).create(meeting_request(), idempotency_key="k")


@pytest.mark.parametrize("mode", ["down", "error500"])
def test_outage_is_unavailable(webex: Any, mode: str) -> None:
    _, url = webex
    provider = _as(url, _control_token(url))
    fault(url, mode, count=1)
    with pytest.raises(ProviderUnavailable):
        provider.create(meeting_request(), idempotency_key="k")
    assert provider.create(meeting_request(), idempotency_key="k").meeting_id


def test_unreachable_is_unavailable() -> None:
    provider = _provider(f"http://127.0.0.1:{free_port()}").with_account(VendorAccount("t"))
    with pytest.raises(ProviderUnavailable):
        provider.delete(Meeting("m", ()), idempotency_key="d")


@pytest.mark.parametrize(("retry_after", "expected"), [(30, 30.0), ("date", 90.0)])
def test_rate_limit_carries_retry_after(webex: Any, retry_after: Any, expected: float) -> None:
    _, url = webex
    provider = _as(url, _control_token(url))
    fault(
        url,
        "ratelimit",
        count=1,
        retryAfter=http_date(90) if retry_after == "date" else retry_after,
    )
    with pytest.raises(ProviderUnavailable) as info:
        provider.create(meeting_request(), idempotency_key="k")
    assert info.value.retry_after == pytest.approx(expected, abs=2)
    assert "trackingId" in str(info.value)


@pytest.mark.parametrize(
    ("options", "bad"),
    [
        ({"client_id": None}, "client_id"),
        ({"client_secret": None}, "client_secret"),
        ({"base_url": "webexapis.com/v1"}, "base_url"),
        ({"token_url": "ftp://x"}, "token_url"),
        ({"send_email": "maybe"}, "send_email"),
        ({"site": "x"}, "site"),
    ],
)
def test_bad_options_are_named(options: dict[str, Any], bad: str) -> None:
    values: dict[str, Any] = {"client_id": "c", "client_secret": "s"}
    values.update(options)
    with pytest.raises(ProviderConfigError) as info:
        build_provider("webex", {k: v for k, v in values.items() if v is not None})
    assert info.value.option == bad
