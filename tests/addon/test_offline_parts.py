"""The parts of offline sync that need no server: channel tokens and renewal times, task
bodies for channels, notifications read from headers, signed links, the home card (validated
against Google's Card v1 messages) and the settings."""

from __future__ import annotations

import json
import random
import time
from datetime import UTC, datetime, timedelta

import pytest
from google.apps import card_v1
from google.protobuf.json_format import ParseError
from werkzeug.datastructures import Headers

from addon.auth import VerifiedUser
from addon.cards import HomeView, home_card, push_card_response, unidentified_card
from addon.channels.notifications import Notification
from addon.channels.schedule import renew_at
from addon.channels.tokens import channel_key, channel_token, token_matches
from addon.credentials.links import LinkError, make_link_token, read_link_token
from addon.sealing import TokenSealer, grant_context
from addon.settings import Settings, SettingsError, from_env
from addon.tasks.body import BadTaskBody, ChannelTaskBody, TaskBody

SECRET = "s" * 40
ALICE = VerifiedUser("104242", "alice@example.com")


def test_a_channel_token_proves_the_channel_id_under_our_key() -> None:
    key = channel_key(SECRET)
    token = channel_token(key, "chan-1")
    assert len(token) <= 256  # Calendar's limit for a channel token
    assert token_matches(key, "chan-1", token)
    assert not token_matches(key, "chan-2", token)  # moved to another channel
    assert not token_matches(channel_key("t" * 40), "chan-1", token)  # another secret
    assert not token_matches(key, "chan-1", None)
    assert not token_matches(key, "chan-1", token[:-1] + ("A" if token[-1] != "A" else "B"))


def test_renewals_of_channels_opened_together_spread_over_the_jitter_window() -> None:
    rng = random.Random(7)
    expires = datetime(2026, 12, 12, tzinfo=UTC)
    times = [renew_at(expires, renew_before=86400, jitter=43200, rng=rng) for _ in range(10_000)]
    assert all(
        expires - timedelta(seconds=86400 + 43200) <= t <= expires - timedelta(seconds=86400)
        for t in times
    )
    per_hour: dict[int, int] = {}
    for t in times:
        per_hour[int(t.timestamp() // 3600)] = per_hour.get(int(t.timestamp() // 3600), 0) + 1
    # 10,000 over 12 hours: no hour takes much more than its share (833).
    assert len(per_hour) >= 12 and max(per_hour.values()) < 1000


def test_channel_task_bodies_are_parsed_strictly() -> None:
    body = ChannelTaskBody("alice@example.com", "open", "chan-1")
    assert ChannelTaskBody.parse(body.to_json()) == body
    assert ChannelTaskBody.parse(ChannelTaskBody("c", "open").to_json()).channel is None
    for bad in (
        b"",
        b"[]",
        b'{"v": 1, "calendarId": "c", "op": "explode"}',
        b'{"v": 1, "calendarId": "c", "op": "stop"}',  # stop what?
        b'{"v": 1, "calendarId": "", "op": "open"}',
        json.dumps({"v": 1, "calendarId": "c", "op": "open", "channel": "x" * 65}).encode(),
    ):
        with pytest.raises(BadTaskBody):
            ChannelTaskBody.parse(bad)


def test_sync_task_bodies_carry_the_verified_user_and_refuse_anything_else() -> None:
    user = {"id": "104242", "email": "alice@example.com"}
    body = TaskBody("alice@example.com", "push", None, None, user)
    assert TaskBody.parse(body.to_json()) == body
    for bad_user in (
        "alice",
        {"id": "1"},
        {"id": "1", "email": "a", "admin": True},
        {"id": 1, "email": "a"},
    ):
        raw = json.dumps({"v": 1, "calendarId": "c", "kind": "check", "user": bad_user})
        with pytest.raises(BadTaskBody):
            TaskBody.parse(raw.encode())


def test_a_notification_is_read_from_its_headers_only() -> None:
    headers = Headers(
        {
            "X-Goog-Channel-ID": "chan-1",
            "X-Goog-Channel-Token": "tok",
            "X-Goog-Resource-ID": "res",
            "X-Goog-Resource-State": "exists",
            "X-Goog-Message-Number": "7",
        }
    )
    note = Notification.from_headers(headers)
    assert note == Notification("chan-1", "tok", "res", "exists", "7")
    assert Notification.from_headers(Headers()) is None
    assert Notification.from_headers(Headers({"X-Goog-Channel-ID": "x" * 65})) is None


def test_links_are_bound_to_the_user_and_refused_when_forged_or_old() -> None:
    token = make_link_token(SECRET, ALICE)
    assert read_link_token(SECRET, token) == ALICE
    with pytest.raises(LinkError) as forged:
        read_link_token("x" * 40, token)
    assert forged.value.reason == "badLink"
    with pytest.raises(LinkError) as altered:
        read_link_token(SECRET, token.replace(token[5], "A" if token[5] != "A" else "B", 1))
    assert altered.value.reason == "badLink"
    time.sleep(1.1)
    with pytest.raises(LinkError) as old:
        read_link_token(SECRET, token, max_age=0)
    assert old.value.reason == "linkExpired"
    with pytest.raises(LinkError):
        read_link_token(SECRET, None)


def test_a_grant_sealed_for_one_user_does_not_open_for_another() -> None:
    sealer = TokenSealer("a", {"a": bytes(range(32))})
    sealed = sealer.seal("1//refresh", grant_context("104242"))
    assert sealer.open(sealed, grant_context("104242")) == "1//refresh"
    with pytest.raises(ValueError):
        sealer.open(sealed, grant_context("999"))
    with pytest.raises(ValueError):
        sealer.open(sealed, "104242")  # a calendar id is never a grant's context


def validate_card(card: dict) -> None:
    """Strict: a field Card v1 does not know fails (google-apps-card's own messages)."""
    card_v1.Card.from_json(json.dumps(card), ignore_unknown_fields=False)


@pytest.mark.parametrize("offline", ["on", "off", "needs_consent", "delegated", "not_offered"])
def test_the_home_card_is_valid_card_v1_in_every_state(offline: str) -> None:
    url = "https://addon.example.com/offline?u=abc" if offline != "delegated" else None
    view = HomeView("Conference add-on", "alice@example.com", offline, 2, url)  # type: ignore[arg-type]
    card = home_card(view)
    validate_card(card)
    text = json.dumps(card)
    assert "alice@example.com" in text and "Offline sync" in text
    assert url is None or url in text
    assert ("openLink" in text) == (url is not None)
    response = push_card_response(card)
    assert response["action"]["navigations"][0]["pushCard"] == card
    validate_card(unidentified_card("Conference add-on"))
    with pytest.raises(ParseError):  # the validator itself refuses what Card v1 lacks
        validate_card({**card, "notAField": 1})


def test_offline_settings_are_checked_all_at_once() -> None:
    with pytest.raises(SettingsError) as caught:
        from_env(
            {
                "ADDON_DELEGATION": "keyless",
                "ADDON_CHANNEL_TTL_SECONDS": "3600",
                "ADDON_OAUTH_CLIENT_SECRET": "x",
                "ADDON_OAUTH_TOKEN_URI": "not a url",
            }
        )
    text = "\n".join(caught.value.problems)
    for needed in (
        "ADDON_DELEGATION_SERVICE_ACCOUNT",
        "ADDON_DELEGATION_DOMAINS",
        "ADDON_CHANNEL_TTL_SECONDS",
        "ADDON_OAUTH_CLIENT_ID",
        "ADDON_OAUTH_TOKEN_URI",
    ):
        assert needed in text
    s = from_env(
        {
            "ADDON_DELEGATED_CREDENTIALS_FILE": "/tmp/key.json",
            "ADDON_DELEGATION_DOMAINS": "Example.com, example.org",
        }
    )
    assert s.delegation_mode == "keyfile" and s.delegation_domains == ("example.com", "example.org")
    assert Settings().delegation_mode == "off" and not Settings().offline_consent


def test_production_refuses_oauth_endpoints_that_are_not_googles() -> None:
    base = {
        "ADDON_ENV": "production",
        "ADDON_BASE_URL": "https://addon.example.com",
        "ADDON_SECRET_KEY": "k" * 40,
        "ADDON_SERVICE_ACCOUNT": "service-1@gcp-sa-gsuiteaddons.iam.gserviceaccount.com",
        "ADDON_TASKS_QUEUE": "projects/p/locations/l/queues/q",
        "ADDON_TASKS_INVOKER": "inv@p.iam.gserviceaccount.com",
    }
    from_env(base)  # Google's defaults pass
    with pytest.raises(SettingsError) as caught:
        from_env({**base, "ADDON_OAUTH_TOKEN_URI": "http://127.0.0.1:8090/token"})
    assert "ADDON_OAUTH_TOKEN_URI" in str(caught.value)
