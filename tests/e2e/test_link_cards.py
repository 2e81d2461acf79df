"""Account linking in the cards (issues 16 and 17 together): the home card lists each vendor
that acts as the user's own account with its state and button; "Link account" makes the
linking flow only when opened and leads through the same pages as Calendar's AUTHENTICATION
error; "Unlink" asks first; "New join link" on a linked vendor's event makes the new meeting
as the clicking user's account and deletes the old one as its owner's. Checked where the user
sees it: the cards, the vendor's meetings and the event's join data."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from google.apps import card_v1
from google.cloud import datastore as gcd

from addon.store.links import LINK_FLOW
from localgoogle.addon_host.keys import stable_subject
from tests.e2e.linking_support import ALICE, BOB, ZOOM, event, link, link_stack, pick_linked, read
from tests.e2e.stack import Stack

pytestmark = pytest.mark.datastore


@pytest.fixture
def stack(datastore: Any) -> Iterator[Stack]:
    with link_stack(datastore.project) as s:
        s.user(ALICE)
        s.user(BOB)
        yield s


def home(stack: Stack, user: str = ALICE) -> dict[str, Any]:
    answer = stack.control("POST", "/_emulator/addon/homepage", {"user": user})
    assert answer["addonStatus"] == 200, answer
    card: dict[str, Any] = answer["card"]
    card_v1.Card.from_json(json.dumps(card), ignore_unknown_fields=False)
    return card


def account_line(card: dict[str, Any], vendor: str) -> tuple[str, dict[str, str]]:
    """The account line of ``vendor``: its state text and its button's label and URL."""
    for section in card["sections"]:
        widgets = section["widgets"]
        for i, widget in enumerate(widgets):
            text = json.dumps(widget.get("decoratedText", {}))
            if vendor in text and i + 1 < len(widgets) and "buttonList" in widgets[i + 1]:
                (b,) = widgets[i + 1]["buttonList"]["buttons"]
                return text, {"label": b["text"], "url": b["onClick"]["openLink"]["url"]}
    raise AssertionError(f"no account line for {vendor} in {json.dumps(card)[:600]}")


def flows(project: str) -> int:
    """Linking flows stored so far (read with a client of our own, as an operator would)."""
    query = gcd.Client(project=project).query(kind=LINK_FLOW)
    query.keys_only()
    return len(list(query.fetch()))


def test_link_account_from_the_home_card_then_unlink(stack: Stack, datastore: Any) -> None:
    before = flows(datastore.project)
    text, button = account_line(home(stack), "Zoom")
    assert "Not linked" in text and button["label"] == "Link account"
    assert flows(datastore.project) == before  # building the card wrote nothing
    # Opening the button makes one flow and leads to the start page Calendar's error opens.
    opened = requests.get(button["url"], allow_redirects=False, timeout=10)
    assert opened.status_code == 303, opened.text
    start = opened.headers["Location"]
    assert start.startswith(stack.addon_url + f"/link/{ZOOM}/start?state=")
    assert flows(datastore.project) == before + 1
    steps = link(stack, start)
    assert steps.final is not None and steps.final.status_code == 200
    assert read(steps.final.text).reason == "linked"
    # The card now says linked; its Unlink opens a confirmation page, and only its form unlinks.
    text, button = account_line(home(stack), "Zoom")
    assert "Linked" in text and button["label"] == "Unlink"
    assert stack.store.get_link(ZOOM, stable_subject(ALICE)) is not None
    page = requests.get(button["url"], timeout=10)
    form = read(page.text)
    assert page.status_code == 200 and form.reason == "confirmUnlink" and form.buttons == ["unlink"]
    assert stack.store.get_link(ZOOM, stable_subject(ALICE)) is not None  # opening changed nothing
    assert form.action is not None
    done = requests.post(stack.addon_url + form.action, data=form.fields, timeout=10)
    assert done.status_code == 200 and read(done.text).reason == "unlinked", done.text
    assert stack.store.get_link(ZOOM, stable_subject(ALICE)) is None
    text, button = account_line(home(stack), "Zoom")
    assert "Not linked" in text


def test_a_card_link_is_bound_to_its_user_and_refuses_forgeries(
    stack: Stack, datastore: Any
) -> None:
    _, button = account_line(home(stack), "Zoom")
    token = parse_qs(urlsplit(button["url"]).query)["r"][0]
    before = flows(datastore.project)
    for url, reason in [
        (f"{stack.addon_url}/link/{ZOOM}/new?r={token[:-3]}xyz", "badState"),
        (f"{stack.addon_url}/link/{ZOOM}/new", "missingState"),
        (f"{stack.addon_url}/link/teams-meeting/new?r={token}", "wrongSolution"),
    ]:
        refused = requests.get(url, allow_redirects=False, timeout=10)
        assert refused.status_code == 400 and read(refused.text).reason == reason, refused.text
    assert flows(datastore.project) == before  # no flow for a refused request
    # Alice's button opened by Bob: the sign-in must be Alice's, so Bob's is refused.
    opened = requests.get(button["url"], allow_redirects=False, timeout=10)
    steps = link(stack, opened.headers["Location"], google_account=BOB, vendor_account=BOB)
    assert steps.final is not None and steps.final.status_code == 403
    assert read(steps.final.text).reason == "wrongUser"
    assert stack.store.get_link(ZOOM, stable_subject(BOB)) is None
    assert stack.store.get_link(ZOOM, stable_subject(ALICE)) is None
    # A forged unlink page is refused too.
    page = requests.get(f"{stack.addon_url}/link/{ZOOM}/unlink?token=forged", timeout=10)
    assert page.status_code == 400 and read(page.text).reason == "badState"


def test_a_dropped_link_shows_link_again_on_the_card(stack: Stack) -> None:
    event_id = event(stack)
    pick_linked(stack, event_id, ZOOM)
    stack.zoom.oauth.revoke_account(ALICE)
    stack.zoom.oauth.expire_access_tokens()
    api = stack.calendar(ALICE)
    api.events().patch(calendarId=ALICE, eventId=event_id, body={"summary": "Later"}).execute()
    stack.settle()
    text, button = account_line(home(stack), "Zoom")
    assert "Link again" in text and button["label"] == "Link again"


def test_new_join_link_on_a_linked_vendor_acts_as_the_clicking_user(stack: Stack) -> None:
    from tests.e2e.test_panel import button as card_button
    from tests.e2e.test_panel import click, join_url, open_event

    event_id = event(stack)
    old_id = pick_linked(stack, event_id, ZOOM)["conferenceData"]["conferenceId"]
    old_url = join_url(stack, event_id)
    card = open_event(stack, event_id)["card"]
    answer = click(stack, card_button(card, "New join link"), event_id)
    assert answer["addonStatus"] == 200, answer
    assert answer["notification"].startswith("New join link ready"), answer
    record = stack.store.get_conference(ALICE, event_id)
    assert record is not None and record.conference_id != old_id
    assert record.owner_id == stable_subject(ALICE)
    meetings = {str(m["id"]): m for m in stack.zoom.meetings()}
    assert old_id not in meetings and record.conference_id in meetings  # deleted at Zoom
    assert join_url(stack, event_id) == meetings[record.conference_id]["join_url"] != old_url
    # Once the link is gone, the card's button says to link first and nothing changes.
    stack.store.delete_link(ZOOM, stable_subject(ALICE))
    card = open_event(stack, event_id)["card"]
    again = click(stack, card_button(card, "New join link"), event_id)
    assert "Link your account" in again["notification"], again
    assert stack.store.get_conference(ALICE, event_id) == record
    assert len(stack.zoom.meetings()) == 1
