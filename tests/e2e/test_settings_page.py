"""The settings page, end to end: Calendar asks for the settings URL (createSettingsUrlFunction),
the person signs in with Google as the user the URL was made for, saves their defaults, and
the next meeting created for them follows them (no dial-in on the event, recording asked of
the vendor). Expired or forged links, another Google account, a missing CSRF token and bad
values are refused, and nothing is saved."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import itsdangerous
import pytest
import requests

from addon.store.preferences import UserPreferences
from localgoogle.addon_host.keys import stable_subject
from tests.e2e.offline_support import ALICE, BOB, offline_stack
from tests.e2e.signin_support import sign_in
from tests.e2e.stack import RECORDED, Stack

pytestmark = pytest.mark.datastore


@pytest.fixture
def stack(datastore) -> Iterator[Stack]:
    with offline_stack(datastore.project) as s:
        yield s


def settings_url(stack: Stack, user: str = ALICE) -> str:
    answer = stack.control("POST", "/_emulator/addon/settings-url", {"user": user})
    assert answer["addonStatus"] == 200, answer
    url: str = answer["settingsUrl"]
    assert url.startswith(stack.addon_url + "/settings?s=")
    return url


def form_fields(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))


def reason(response: requests.Response) -> str | None:
    found = re.search(r'data-reason="([^"]*)"', response.text)
    return found.group(1) if found else None


def prefs(stack: Stack, user: str = ALICE) -> UserPreferences:
    return stack.store.get_preferences(stable_subject(user))


def test_saved_settings_shape_the_next_meeting(stack: Stack) -> None:
    session = requests.Session()
    page = sign_in(session, settings_url(stack), ALICE)
    assert page.status_code == 200 and reason(page) == "ok", page.text
    assert "Signed in as <b>alice@example.com</b>" in page.text
    fields = form_fields(page.text)
    saved = session.post(
        stack.addon_url + "/settings",
        data={**fields, "default_solution": RECORDED, "dial_in": "off", "recording": "off"},
        timeout=10,
    )
    assert saved.status_code == 200 and reason(saved) == "saved", saved.text
    assert prefs(stack) == UserPreferences(
        stable_subject(ALICE), RECORDED, False, False, prefs(stack).updated_at
    )
    # The next pick follows them: the vendor is asked not to record, the event has no phone.
    api = stack.calendar(ALICE)
    body = {
        "summary": "Review",
        "start": {"dateTime": "2030-03-02T10:00:00Z"},
        "end": {"dateTime": "2030-03-02T11:00:00Z"},
    }
    event = api.events().insert(calendarId=ALICE, body=body).execute()
    picked = stack.pick(ALICE, event["id"], ALICE, RECORDED)
    data = picked["conferenceData"]
    assert all(p["entryPointType"] != "phone" for p in data["entryPoints"])
    meeting = stack.meetings()[data["conferenceId"]]
    assert meeting["options"]["recording"] is False
    assert meeting.get("dialIn")  # the vendor has dial-in; the user's event does not show it
    # A title change updates the meeting; the dial-in stays off the event.
    api.events().patch(
        calendarId=ALICE, eventId=event["id"], body={"summary": "Review 2"}
    ).execute()
    stack.settle()
    after = api.events().get(calendarId=ALICE, eventId=event["id"]).execute()
    assert all(p["entryPointType"] != "phone" for p in after["conferenceData"]["entryPoints"])
    assert stack.meetings()[data["conferenceId"]]["title"] == "Review 2"
    # Another user's meetings keep their dial-in.
    stack.user(BOB)
    bob_event = stack.calendar(BOB).events().insert(calendarId=BOB, body=body).execute()
    bob_data = stack.pick(BOB, bob_event["id"], BOB)["conferenceData"]
    assert any(p["entryPointType"] == "phone" for p in bob_data["entryPoints"])


def test_links_users_csrf_and_input_are_checked_and_nothing_is_saved(stack: Stack) -> None:
    stack.user(BOB)
    url = settings_url(stack)
    token = parse_qs(urlsplit(url).query)["s"][0]
    alice = requests.Session()
    page = sign_in(alice, url, ALICE)
    fields = form_fields(page.text)
    # Forged and expired links.
    forged = alice.get(stack.addon_url + "/settings", params={"s": token[:-4] + "AAAA"}, timeout=10)
    assert forged.status_code == 403 and reason(forged) == "badLink"

    class Old(itsdangerous.TimestampSigner):
        def get_timestamp(self) -> int:
            return super().get_timestamp() - 3600

    secret = stack.services.settings.secret_key
    old = itsdangerous.URLSafeTimedSerializer(secret, salt="settings-page", signer=Old).dumps(
        [stable_subject(ALICE), ALICE]
    )
    expired = alice.get(stack.addon_url + "/settings", params={"s": old}, timeout=10)
    assert expired.status_code == 403 and reason(expired) == "linkExpired"
    missing = alice.get(stack.addon_url + "/settings", timeout=10)
    assert missing.status_code == 400 and reason(missing) == "missingLink"
    # Another Google account with alice's link: refused, on the page and on a save.
    bob = requests.Session()
    other = sign_in(bob, url, BOB)
    assert other.status_code == 403 and reason(other) == "wrongUser", other.text
    stolen = bob.post(stack.addon_url + "/settings", data={**fields, "dial_in": "off"}, timeout=10)
    assert stolen.status_code == 403 and reason(stolen) in ("wrongUser", "badCsrf")
    # No session at all, no CSRF token, a CSRF token of another session.
    anonymous = requests.post(
        stack.addon_url + "/settings", data={**fields, "dial_in": "off"}, timeout=10
    )
    assert anonymous.status_code == 401 and reason(anonymous) == "signInRequired"
    no_csrf = alice.post(
        stack.addon_url + "/settings", data={"s": fields["s"], "dial_in": "off"}, timeout=10
    )
    assert no_csrf.status_code == 403 and reason(no_csrf) == "badCsrf"
    second = requests.Session()
    sign_in(second, url, ALICE)  # alice again, in another browser: another session nonce
    cross = second.post(
        stack.addon_url + "/settings", data={**fields, "dial_in": "off"}, timeout=10
    )
    assert cross.status_code == 403 and reason(cross) == "badCsrf"
    # Bad values: a 400 with the reason, as a page or as JSON.
    for bad, why in (
        ({"dial_in": "maybe"}, "badDialIn"),
        ({"dial_in": "on", "recording": "loud"}, "badRecording"),
        ({"dial_in": "on", "default_solution": "zoom"}, "unknownSolution"),
    ):
        answer = alice.post(stack.addon_url + "/settings", data={**fields, **bad}, timeout=10)
        assert answer.status_code == 400 and reason(answer) == why, answer.text
        as_json = alice.post(
            stack.addon_url + "/settings",
            data={**fields, **bad},
            timeout=10,
            headers={"Accept": "application/json"},
        )
        assert as_json.status_code == 400 and as_json.json()["error"]["reason"] == why
    assert prefs(stack) == UserPreferences(stable_subject(ALICE))  # nothing was saved
    assert prefs(stack).updated_at is None


def test_the_settings_url_needs_google_and_a_user(stack: Stack) -> None:
    url = stack.addon_url + "/calendar/settings-url"
    unsigned = requests.post(url, json={"commonEventObject": {}}, timeout=10)
    assert unsigned.status_code == 401
    minted = stack.control("POST", "/_emulator/addon/id-token", {"audience": url})
    no_user = requests.post(
        url,
        json={"commonEventObject": {}},
        timeout=10,
        headers={"Authorization": "Bearer " + minted["idToken"]},
    )
    assert no_user.status_code == 401 and no_user.json()["error"]["reason"] == "unidentifiedUser"
