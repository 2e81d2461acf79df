"""Every card the add-on builds is valid Card v1 (strict: unknown fields fail), in every state
an event or a user can be in, and every button points at our endpoints with a signed value."""

from __future__ import annotations

import json

import pytest
from google.apps import card_v1

from addon.auth import VerifiedUser
from addon.cards import (
    AccountAction,
    ActionLink,
    CalendarHealth,
    EventView,
    HomeView,
    MeetingView,
    PendingView,
    SyncView,
    event_card,
    home_card,
    no_conference_card,
    notification_response,
    push_card_response,
    settings_url_response,
    update_card_response,
)
from addon.credentials.links import LinkError
from addon.credentials.signed import (
    make_action_token,
    make_settings_token,
    read_action_token,
    read_settings_token,
)

SECRET = "s" * 32
ALICE = VerifiedUser("104242", "alice@example.com")
BASE = "https://addon.example.com"


def validate(card: dict) -> None:
    card_v1.Card.from_json(json.dumps(card), ignore_unknown_fields=False)


def buttons_of(card: dict) -> list[dict]:
    return [
        b
        for section in card["sections"]
        for w in section["widgets"]
        for b in w.get("buttonList", {}).get("buttons", [])
    ]


MEETING = MeetingView(
    "Web conference",
    "m-1",
    "https://meet.example/m-1",
    (("+1 555 0100", "123456"),),
    "sip:m-1@meet.example",
    "abc-def",
)
LINKS = (
    ActionLink("Sync now", BASE + "/calendar/action/sync", {"a": "signed"}),
    ActionLink("New join link", BASE + "/calendar/action/new-link", {"a": "signed2"}),
)
STATES = {
    "active": dict(state="active", on_event=MEETING, at_vendor=None, pending=()),
    "pending": dict(
        state="active",
        on_event=MEETING,
        at_vendor=None,
        pending=(
            PendingView("Update the meeting", "vendor unavailable (503)", False, "2 min ago"),
        ),
    ),
    "parked": dict(
        state="active",
        on_event=MEETING,
        at_vendor=MEETING,
        pending=(
            PendingView(
                "Put the join details on the event",
                "only the organizer's calendar can change this event's conference",
                True,
                None,
            ),
        ),
    ),
    "deleted": dict(state="deleted", on_event=None, at_vendor=None, pending=()),
    "no meeting yet": dict(state="active", on_event=None, at_vendor=None, pending=()),
}


@pytest.mark.parametrize("name", sorted(STATES))
@pytest.mark.parametrize("linked", [False, True])
def test_the_event_card_is_valid_card_v1_in_every_state(name: str, linked: bool) -> None:
    accounts = (
        (AccountAction("Zoom", "Not linked", ActionLink("Link", open_url=BASE + "/link")),)
        if linked
        else ()
    )
    view = EventView(
        addon_name="Conference add-on",
        user_email="alice@example.com",
        summary="Planning <b>Q3</b>",
        sync=SyncView(
            "3 min ago", "done, 2 change(s) read", "the user's token was refused", "5 min ago"
        ),
        sync_now=LINKS[0],
        new_link=LINKS[1] if name == "active" else None,
        accounts=accounts,
        settings_url=BASE + "/settings?s=x",
        **STATES[name],  # type: ignore[arg-type]
    )
    card = event_card(view)
    validate(card)
    text = json.dumps(card)
    assert "Planning &lt;b&gt;Q3&lt;/b&gt;" in text  # the title is text, not markup
    assert ("Vendor accounts" in text) == linked  # the linking hook renders only when wired
    if name in ("active", "pending", "parked"):
        assert "https://meet.example/m-1" in text and "PIN 123456" in text
    if name == "parked":
        assert "Needs attention" in text and "organizer" in text
    if name == "pending":
        assert "Waiting to retry" in text and "vendor unavailable" in text
    if name == "deleted":
        assert "Meeting deleted" in text
    actions = [b["onClick"]["action"] for b in buttons_of(card) if "action" in b["onClick"]]
    assert all(a["function"].startswith(BASE + "/calendar/action/") for a in actions)
    assert all(a["parameters"][0]["key"] == "a" for a in actions)
    for response in (push_card_response(card), update_card_response(card, "Sync queued")):
        nav = (response.get("action") or response["renderActions"]["action"])["navigations"][0]
        validate(nav.get("pushCard") or nav["updateCard"])


def test_no_conference_card_and_home_card_with_health_are_valid() -> None:
    validate(no_conference_card("Conference add-on", "Lunch"))
    validate(no_conference_card("Conference add-on", None, (AccountAction("Webex", "Linked"),)))
    health = (
        CalendarHealth("alice@example.com", "2 min ago: done", parked=1),
        CalendarHealth("team@example.com", None, due=True, pending=3),
        CalendarHealth("old@example.com", "3 days ago: done", waiting="consent revoked"),
    )
    card = home_card(
        HomeView(
            "Conference add-on",
            "alice@example.com",
            "on",
            3,
            BASE + "/offline?u=x",
            health,
            (AccountAction("Zoom", "Link expired"),),
            BASE + "/settings?s=y",
        )
    )
    validate(card)
    text = json.dumps(card)
    for words in (
        "1 change(s) need attention",
        "Catching up (3 change(s) waiting)",
        "Waits for you",
        "Your settings",
        "Offline sync",
    ):
        assert words in text


def test_action_envelopes_have_the_documented_shapes() -> None:
    assert notification_response("Done") == {
        "renderActions": {"action": {"notification": {"text": "Done"}}}
    }
    markup = settings_url_response(BASE + "/settings?s=1")["renderActions"]["hostAppAction"]
    assert markup["calendarAction"]["createConferenceSettingUrlActionMarkup"] == {
        "settingsUrl": BASE + "/settings?s=1"
    }


def test_signed_action_values_are_bound_and_expire() -> None:
    token = make_action_token(SECRET, ALICE, "cal", "ev", "sync", "m-1")
    claim = read_action_token(SECRET, token)
    assert (claim.user_id, claim.calendar_id, claim.event_id, claim.action) == (
        "104242",
        "cal",
        "ev",
        "sync",
    )
    with pytest.raises(LinkError) as forged:
        read_action_token(SECRET, token[:-2] + "xx")
    assert forged.value.reason == "badLink"
    with pytest.raises(LinkError) as other_key:
        read_action_token("t" * 32, token)
    assert other_key.value.reason == "badLink"
    with pytest.raises(LinkError) as expired:
        read_action_token(SECRET, token, max_age=-1)
    assert expired.value.reason == "linkExpired"
    # A settings link is no action value, and the other way round (their own salts).
    settings = make_settings_token(SECRET, ALICE)
    assert read_settings_token(SECRET, settings) == ALICE
    with pytest.raises(LinkError):
        read_action_token(SECRET, settings)
    with pytest.raises(LinkError):
        read_settings_token(SECRET, token)
