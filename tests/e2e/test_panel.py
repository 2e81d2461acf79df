"""The side panel, end to end: Calendar (the add-on host emulator) opens an event with the
add-on, the card shows its meeting and sync state, and its buttons work as Google would call
them: "Sync now" queues a sync, "New join link" gives the event a new meeting (the old one
deleted at the vendor, the new one on the event). Forged, expired, foreign or unsigned
button calls change nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from google.apps import card_v1

from addon.auth import VerifiedUser
from addon.credentials.signed import make_action_token
from localgoogle.addon_host.keys import stable_subject
from tests.e2e.offline_support import ALICE, BOB, offline_stack
from tests.e2e.stack import Stack, wait_for
from tests.e2e.test_tasks import conference_event

pytestmark = pytest.mark.datastore


@pytest.fixture
def stack(datastore) -> Iterator[Stack]:
    with offline_stack(datastore.project) as s:
        yield s


def open_event(stack: Stack, event_id: str, user: str = ALICE) -> dict[str, Any]:
    answer = stack.control(
        "POST", f"/_emulator/calendars/{ALICE}/events/{event_id}/open", {"user": user}
    )
    assert answer["addonStatus"] == 200, answer
    card_v1.Card.from_json(json.dumps(answer["card"]), ignore_unknown_fields=False)
    return answer


def button(card: dict[str, Any], label: str) -> dict[str, Any]:
    for section in card["sections"]:
        for widget in section["widgets"]:
            for b in widget.get("buttonList", {}).get("buttons", []):
                if b["text"] == label:
                    action: dict[str, Any] = b["onClick"]["action"]
                    return action
    raise AssertionError(f"no {label!r} button on {json.dumps(card)[:400]}")


def click(stack: Stack, action: dict[str, Any], event_id: str, user: str = ALICE) -> dict[str, Any]:
    params = {p["key"]: p["value"] for p in action.get("parameters", [])}
    answer: dict[str, Any] = stack.control(
        "POST",
        "/_emulator/addon/action",
        {
            "user": user,
            "function": action["function"],
            "parameters": params,
            "calendarId": ALICE,
            "eventId": event_id,
        },
    )
    return answer


def join_url(stack: Stack, event_id: str) -> str:
    event = stack.calendar(ALICE).events().get(calendarId=ALICE, eventId=event_id).execute()
    video = [p for p in event["conferenceData"]["entryPoints"] if p["entryPointType"] == "video"]
    return str(video[0]["uri"])


def test_the_card_shows_the_meeting_and_sync_now_queues_a_sync(stack: Stack) -> None:
    event, meeting_id = conference_event(stack)
    card = open_event(stack, event["id"])["card"]
    text = json.dumps(card)
    assert meeting_id in text and join_url(stack, event["id"]) in text
    assert "Meeting live" in text and "Last sync" in text
    before = stack.tasks_stats()
    answer = click(stack, button(card, "Sync now"), event["id"])
    assert answer["addonStatus"] == 200, answer
    assert answer["notification"].startswith(("Sync queued", "A sync of this calendar"))
    card_v1.Card.from_json(json.dumps(answer["card"]), ignore_unknown_fields=False)
    stack.settle()
    assert stack.tasks_stats() != before  # a task was created and delivered


def test_new_join_link_replaces_the_meeting_on_the_event_and_at_the_vendor(stack: Stack) -> None:
    event, old_id = conference_event(stack)
    old_url = join_url(stack, event["id"])
    card = open_event(stack, event["id"])["card"]
    action = button(card, "New join link")
    answer = click(stack, action, event["id"])
    assert answer["addonStatus"] == 200, answer
    assert answer["notification"].startswith("New join link ready"), answer
    new_url = join_url(stack, event["id"])
    assert new_url != old_url
    record = stack.store.get_conference(ALICE, event["id"])
    assert record is not None and record.conference_id != old_id and record.live
    assert not record.owes_write_back
    meetings = stack.meetings()
    assert meetings[old_id]["deleted"] is True
    assert meetings[record.conference_id]["deleted"] is False
    assert new_url in json.dumps(answer["card"])
    # The same button again (a replay, a double click): refused as stale, nothing changes.
    again = click(stack, action, event["id"])
    assert again["addonStatus"] == 200 and "out of date" in again["notification"]
    stack.settle()
    assert join_url(stack, event["id"]) == new_url
    assert len([m for m in stack.meetings().values() if not m["deleted"]]) == 1
    # The sync that follows sees our own write and leaves it alone.
    after = stack.store.get_conference(ALICE, event["id"])
    assert after is not None and after.conference_id == record.conference_id


def _call(stack: Stack, path: str, body: dict[str, Any], *, token: str | None = "system"):
    url = stack.addon_url + path
    headers = {}
    if token == "system":
        minted = stack.control("POST", "/_emulator/addon/id-token", {"audience": url})
        headers["Authorization"] = "Bearer " + minted["idToken"]
    return requests.post(url, json=body, headers=headers, timeout=10)


def _event_object(stack: Stack, user: str, event_id: str, a: str | None) -> dict[str, Any]:
    user_token = stack.control("POST", "/_emulator/addon/id-token", {"kind": "user", "email": user})
    common: dict[str, Any] = {"hostApp": "CALENDAR"}
    if a is not None:
        common["parameters"] = {"a": a}
    return {
        "commonEventObject": common,
        "authorizationEventObject": {
            "userOAuthToken": stack.user(user),
            "userIdToken": user_token["idToken"],
        },
        "calendar": {"calendarId": ALICE, "id": event_id},
    }


def test_forged_expired_foreign_and_unsigned_actions_change_nothing(stack: Stack) -> None:
    event, meeting_id = conference_event(stack)
    secret = stack.services.settings.secret_key
    alice = VerifiedUser(stable_subject(ALICE), ALICE)
    good = make_action_token(secret, alice, ALICE, event["id"], "new-link", meeting_id)
    path = "/calendar/action/new-link"
    cases = {
        "no Google token": (_event_object(stack, ALICE, event["id"], good), None, 401),
        "no parameter": (_event_object(stack, ALICE, event["id"], None), "system", 400),
        "forged": (_event_object(stack, ALICE, event["id"], good[:-3] + "abc"), "system", 403),
        "other key": (
            _event_object(
                stack,
                ALICE,
                event["id"],
                make_action_token("x" * 40, alice, ALICE, event["id"], "new-link", meeting_id),
            ),
            "system",
            403,
        ),
        "another user": (_event_object(stack, BOB, event["id"], good), "system", 403),
        "another action": (
            _event_object(
                stack,
                ALICE,
                event["id"],
                make_action_token(secret, alice, ALICE, event["id"], "sync", meeting_id),
            ),
            "system",
            403,
        ),
        "another event": (_event_object(stack, ALICE, "other-event", good), "system", 403),
    }
    for name, (body, token, status) in cases.items():
        answer = _call(stack, path, body, token=token)
        assert answer.status_code == status, (name, answer.text)
        assert answer.json()["error"]["reason"], name
    for bad in (b"", b"[1]", b"{not json"):
        url = stack.addon_url + path
        minted = stack.control("POST", "/_emulator/addon/id-token", {"audience": url})
        r = requests.post(
            url,
            data=bad,
            timeout=10,
            headers={
                "Authorization": "Bearer " + minted["idToken"],
                "Content-Type": "application/json",
            },
        )
        assert r.status_code == 400, r.text
    # An expired value: signed an hour ago.
    import itsdangerous

    class Old(itsdangerous.TimestampSigner):
        def get_timestamp(self) -> int:
            return super().get_timestamp() - 7200

    serializer = itsdangerous.URLSafeTimedSerializer(secret, salt="card-action", signer=Old)
    old = serializer.dumps([alice.user_id, ALICE, event["id"], "new-link", meeting_id])
    answer = _call(stack, path, _event_object(stack, ALICE, event["id"], old))
    assert answer.status_code == 403 and answer.json()["error"]["reason"] == "actionExpired"
    # Nothing changed: the same meeting, live, on the event.
    record = stack.store.get_conference(ALICE, event["id"])
    assert record is not None and record.conference_id == meeting_id
    assert stack.meetings()[meeting_id]["deleted"] is False
    # The genuine value still works once.
    answer = _call(stack, path, _event_object(stack, ALICE, event["id"], good))
    assert answer.status_code == 200, answer.text
    wait_for(lambda: stack.meetings()[meeting_id]["deleted"], message="old meeting deleted")


def test_new_join_link_rereads_on_412_and_a_concurrent_record_write_wins(stack: Stack) -> None:
    event, old_id = conference_event(stack)
    old_url = join_url(stack, event["id"])
    card = open_event(stack, event["id"])["card"]
    # Someone else saved the event between our read and our write: Calendar answers 412 once.
    stack.control(
        "POST",
        "/_emulator/faults",
        {
            "rules": [
                {"method": "events.patch", "status": 412, "reason": "conditionNotMet", "count": 1}
            ]
        },
    )
    answer = click(stack, button(card, "New join link"), event["id"])
    stack.control("DELETE", "/_emulator/faults")
    assert answer["notification"].startswith("New join link ready"), answer
    assert join_url(stack, event["id"]) != old_url
    assert stack.meetings()[old_id]["deleted"] is True
    # The swap is compare-and-set: a record written since it was read (a sync) wins.
    record = stack.store.get_conference(ALICE, event["id"])
    assert record is not None
    stack.store.put_conference(record)  # what a sync's commit does to the version
    assert stack.store.swap_meeting(record, record.with_(conference_id="other")) is None
    kept = stack.store.get_conference(ALICE, event["id"])
    assert kept is not None and kept.conference_id == record.conference_id


def test_a_reader_of_the_calendar_sees_the_card_but_cannot_replace_the_meeting(
    stack: Stack,
) -> None:
    event, meeting_id = conference_event(stack)
    stack.user(BOB)
    stack.control("POST", f"/_emulator/calendars/{ALICE}/share", {"email": BOB, "role": "reader"})
    card = open_event(stack, event["id"], user=BOB)["card"]
    assert meeting_id in json.dumps(card)
    answer = click(stack, button(card, "New join link"), event["id"], user=BOB)
    assert answer["addonStatus"] == 200
    assert answer["notification"].startswith("Only someone who can edit"), answer
    tasks = stack.tasks_stats()
    answer = click(stack, button(card, "Sync now"), event["id"], user=BOB)
    assert answer["notification"].startswith("Only someone who can edit this calendar")
    assert stack.tasks_stats() == tasks  # nothing was queued
    record = stack.store.get_conference(ALICE, event["id"])
    assert record is not None and record.conference_id == meeting_id
    assert len(stack.meetings()) == 1 and stack.meetings()[meeting_id]["deleted"] is False
    # A stranger (no access to alice's calendar) gets no store view at all.
    stack.user("carol@example.com")
    stranger = open_event(stack, event["id"], user="carol@example.com")["card"]
    assert "Sync now" not in json.dumps(stranger)


def test_event_open_input_and_the_home_cards_calendar_health(stack: Stack) -> None:
    event, _ = conference_event(stack)
    path = "/calendar/event-open"
    assert (
        _call(stack, path, _event_object(stack, ALICE, event["id"], None), token=None).status_code
        == 401
    )
    no_event = _call(stack, path, {"commonEventObject": {"hostApp": "CALENDAR"}})
    assert no_event.status_code == 400 and no_event.json()["error"]["reason"] == "missingEvent"
    body = {"calendar": {"calendarId": ALICE, "id": event["id"]}}
    anonymous = _call(stack, path, body)  # no userIdToken: nothing personal
    assert anonymous.status_code == 200
    assert "Sync now" not in anonymous.text
    home = stack.control("POST", "/_emulator/addon/homepage", {"user": ALICE})["card"]
    card_v1.Card.from_json(json.dumps(home), ignore_unknown_fields=False)
    text = json.dumps(home)
    assert "Your calendars" in text and ALICE in text and "In sync" in text
    assert "Your settings" in text


def test_the_host_calls_card_actions_only_at_the_add_ons_own_endpoints(stack: Stack) -> None:
    body = {"user": ALICE, "function": "http://127.0.0.1:1/steal", "parameters": {}}
    r = requests.post(stack.emulator_url + "/_emulator/addon/action", json=body, timeout=10)
    assert r.status_code == 400 and "not an endpoint of the installed add-on" in r.text
