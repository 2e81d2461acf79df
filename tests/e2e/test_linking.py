"""Account linking (issue 16) end to end over real HTTP: pick → AUTHENTICATION → our pages →
Google Sign-In (the emulator) → the vendor's consent (fake Zoom) → pick again; and every way
the flow must refuse: forged, reused or expired state, another Google user, bad input — each a
4xx page with a reason, never a 500, and nothing stored."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from addon.linking import LinkedAccounts
from addon.providers.http import RequestsTransport
from addon.store.links import VendorLink
from localgoogle.addon_host.keys import stable_subject
from tests.e2e.linking_support import (
    ALICE,
    BOB,
    ZOOM,
    auth_url,
    consent_at_vendor,
    continue_to_google,
    event,
    link,
    link_stack,
    read,
    sign_in_at_google,
)
from tests.e2e.stack import Stack
from tests.e2e.test_auth_and_input import event_object, id_token, post

pytestmark = pytest.mark.datastore


@pytest.fixture
def stack(datastore) -> Iterator[Stack]:
    with link_stack(datastore.project) as s:
        stack_users(s)
        yield s


def stack_users(stack: Stack) -> None:
    stack.user(ALICE)
    stack.user(BOB)


def sub(email: str) -> str:
    return stable_subject(email)


def stored_link(stack: Stack, email: str = ALICE) -> VendorLink | None:
    return stack.store.get_link(ZOOM, sub(email))


def token_calls(stack: Stack) -> dict[str, int]:
    calls: dict[str, int] = stack.zoom.oauth.stats()["tokenCalls"]
    return calls


def test_pick_asks_to_link_then_links_and_picks_again(stack: Stack) -> None:
    event_id = event(stack)
    url = auth_url(stack, ALICE, event_id, ALICE, ZOOM)
    assert stack.zoom.calls() == []  # nothing asked of Zoom without an account
    steps = link(stack, url)
    assert steps.final is not None
    assert steps.final.status_code == 200, steps.final.text
    page = read(steps.final.text)
    assert page.reason == "linked" and page.buttons == ["unlink"]
    query = parse_qs(urlsplit(steps.vendor).query)
    assert query["code_challenge_method"] == ["S256"] and query["state"]
    held = stored_link(stack)
    assert held is not None and held.usable and held.email == ALICE
    # Sealed: no token is readable in the record.
    assert "zoom-at-" not in str(held.access_token) and "zoom-rt-" not in str(held.refresh_token)
    answer = stack.pick(ALICE, event_id, ALICE, ZOOM)
    data = answer["conferenceData"]
    (meeting,) = stack.zoom.meetings()
    assert data["conferenceId"] == str(meeting["id"])
    uris = [ep["uri"] for ep in data["entryPoints"]]
    assert meeting["join_url"] in uris and any(u.startswith("tel:") for u in uris)
    assert meeting["topic"] == "Planning"
    record = stack.store.get_conference(ALICE, event_id)
    assert record is not None and record.owner_id == sub(ALICE)


def test_a_link_completed_by_another_google_user_is_refused(stack: Stack) -> None:
    url = auth_url(stack, ALICE, event(stack), ALICE, ZOOM)
    steps = link(stack, url, google_account=BOB)
    assert steps.final is not None and steps.final.status_code == 403
    assert read(steps.final.text).reason == "wrongUser"
    assert stored_link(stack, ALICE) is None and stored_link(stack, BOB) is None
    assert steps.vendor == ""  # never sent to the vendor
    # The flow is gone: starting over from the same link is refused too.
    again = requests.post(
        stack.addon_url + f"/link/{ZOOM}/start",
        data={"state": parse_qs(urlsplit(url).query)["state"][0]},
        allow_redirects=False,
        timeout=10,
    )
    assert again.status_code == 410 and read(again.text).reason == "usedState"


def test_reused_states_are_refused_at_every_step(stack: Stack) -> None:
    url = auth_url(stack, ALICE, event(stack), ALICE, ZOOM)
    steps = link(stack, url)
    assert steps.final is not None and steps.final.status_code == 200
    version = stored_link(stack)
    assert version is not None
    state = parse_qs(urlsplit(url).query)["state"][0]
    replays = [
        requests.get(url, timeout=10),
        requests.post(url.split("?")[0], data={"state": state}, allow_redirects=False, timeout=10),
        requests.get(steps.google_callback, allow_redirects=False, timeout=10),
        requests.get(steps.vendor_callback, timeout=10),
    ]
    for replay in replays:
        assert replay.status_code == 410, replay.text
        assert read(replay.text).reason == "usedState"
    after = stored_link(stack)
    assert after is not None and after.version == version.version


def test_forged_and_expired_states_are_refused(stack: Stack) -> None:
    url = auth_url(stack, ALICE, event(stack), ALICE, ZOOM)
    state = parse_qs(urlsplit(url).query)["state"][0]
    base = url.split("?")[0]
    forged = state[:-4] + ("AAAA" if not state.endswith("AAAA") else "BBBB")
    secret = stack.services.settings.secret_key
    nonce, user, solution, stage = URLSafeTimedSerializer(secret, salt="vendor-link-state").loads(
        state
    )

    class Past(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 700

    expired = URLSafeTimedSerializer(secret, salt="vendor-link-state", signer=Past).dumps(
        [nonce, user, solution, stage]
    )
    other_key = URLSafeTimedSerializer("another-secret", salt="vendor-link-state").dumps(
        [nonce, user, solution, stage]
    )
    for bad, status, reason in [
        (forged, 400, "badState"),
        (other_key, 400, "badState"),
        (expired, 403, "stateExpired"),
    ]:
        page = requests.get(base + "?" + urlencode({"state": bad}), timeout=10)
        assert (page.status_code, read(page.text).reason) == (status, reason)
        posted = requests.post(base, data={"state": bad}, allow_redirects=False, timeout=10)
        assert (posted.status_code, read(posted.text).reason) == (status, reason)
    # The genuine state still works: the refusals consumed nothing.
    assert continue_to_google(url).startswith(stack.emulator_url)


def test_a_state_is_good_for_its_own_step_only(stack: Stack) -> None:
    url = auth_url(stack, ALICE, event(stack), ALICE, ZOOM)
    google = continue_to_google(url)
    google_state = parse_qs(urlsplit(google).query)["state"][0]
    # The Google step's state at the vendor callback, and the issued state at Google's.
    at_vendor = requests.get(
        stack.addon_url + "/link/callback?" + urlencode({"state": google_state, "code": "x"}),
        timeout=10,
    )
    assert at_vendor.status_code == 400 and read(at_vendor.text).reason == "wrongStep"
    issued = parse_qs(urlsplit(url).query)["state"][0]
    at_google = requests.get(
        stack.addon_url + "/link/google/callback?" + urlencode({"state": issued, "code": "x"}),
        allow_redirects=False,
        timeout=10,
    )
    assert at_google.status_code == 400 and read(at_google.text).reason == "wrongStep"
    # The real continuation still completes.
    back = sign_in_at_google(google, ALICE)
    vendor = requests.get(back, allow_redirects=False, timeout=10).headers["Location"]
    final = requests.get(consent_at_vendor(vendor, ALICE), timeout=10)
    assert final.status_code == 200 and stored_link(stack) is not None


@pytest.mark.parametrize(
    ("method", "path", "data", "status", "reason"),
    [
        ("GET", f"/link/{ZOOM}/start", None, 400, "missingState"),
        ("GET", f"/link/{ZOOM}/start?state=" + "x" * 3000, None, 400, "missingState"),
        ("GET", f"/link/{ZOOM}/start?state=garbage", None, 400, "badState"),
        ("POST", f"/link/{ZOOM}/start", {}, 400, "missingState"),
        ("POST", "/link/nope/start", {"state": "garbage"}, 400, "badState"),
        ("GET", "/link/google/callback", None, 400, "badCallback"),
        ("GET", "/link/google/callback?state=a", None, 400, "badCallback"),
        ("GET", "/link/google/callback?error=access_denied&state=a", None, 403, "accessDenied"),
        ("GET", "/link/callback?error=server_error", None, 400, "signInFailed"),
        ("GET", "/link/callback?state=garbage&code=c", None, 400, "badState"),
        ("POST", f"/link/{ZOOM}/unlink", {}, 400, "missingState"),
        ("POST", f"/link/{ZOOM}/unlink", {"token": "garbage"}, 400, "badState"),
    ],
)
def test_bad_input_is_a_4xx_page_with_a_reason(
    stack: Stack, method: str, path: str, data: Any, status: int, reason: str
) -> None:
    answer = requests.request(
        method, stack.addon_url + path, data=data, allow_redirects=False, timeout=10
    )
    assert (answer.status_code, read(answer.text).reason) == (status, reason), answer.text
    assert answer.headers["Content-Type"].startswith("text/html")
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert stored_link(stack) is None


def test_state_of_one_solution_is_refused_at_another(stack: Stack) -> None:
    url = auth_url(stack, ALICE, event(stack), ALICE, ZOOM)
    state = parse_qs(urlsplit(url).query)["state"][0]
    other = requests.get(
        stack.addon_url + "/link/teams-meeting/start?" + urlencode({"state": state}), timeout=10
    )
    assert other.status_code == 400 and read(other.text).reason == "wrongSolution"


def test_unlink_revokes_at_the_vendor_and_the_next_pick_asks_again(stack: Stack) -> None:
    event_id = event(stack)
    steps = link(stack, auth_url(stack, ALICE, event_id, ALICE, ZOOM))
    assert steps.final is not None
    form = read(steps.final.text)
    assert form.action == f"/link/{ZOOM}/unlink"
    gone = requests.post(stack.addon_url + form.action, data=form.fields, timeout=10)
    assert gone.status_code == 200 and read(gone.text).reason == "unlinked"
    assert stored_link(stack) is None
    assert stack.zoom.oauth.stats()["revocations"] == 1
    again = requests.post(stack.addon_url + form.action, data=form.fields, timeout=10)
    assert again.status_code == 200 and read(again.text).reason == "wasUnlinked"
    # The unlink token of one solution cannot unlink another.
    other = requests.post(
        stack.addon_url + "/link/teams-meeting/unlink", data=form.fields, timeout=10
    )
    assert other.status_code == 400
    auth_url(stack, ALICE, event_id, ALICE, ZOOM)


def test_without_a_verified_user_a_linked_solution_is_refused_not_looped(stack: Stack) -> None:
    path = f"/calendar/conference/{ZOOM}"
    body = event_object(token=stack.user(ALICE))  # no userIdToken
    answer = post(stack, path, body, id_token(stack, stack.addon_url + path))
    data = answer.json()["renderActions"]["hostAppAction"]["calendarAction"][
        "createConferenceDataActionMarkup"
    ]["createConferenceData"]
    assert data["error"]["type"] == "PERMANENT"
    assert stack.zoom.calls() == []


def test_concurrent_refreshes_spend_the_refresh_token_once(stack: Stack) -> None:
    """Two processes find the token expired at once: one refreshes (Zoom rotates the refresh
    token), the other waits for its result; the newest refresh token is the one kept."""
    steps = link(stack, auth_url(stack, ALICE, event(stack), ALICE, ZOOM))
    assert steps.final is not None and steps.final.status_code == 200
    held = stored_link(stack)
    assert held is not None
    past = held.with_(expires_at=datetime.now(UTC) - timedelta(minutes=5))
    assert stack.store.swap_link(past, held.version)[0]
    svc = stack.services
    spec = svc.providers[ZOOM].account_link()
    assert spec is not None

    def process() -> LinkedAccounts:  # each with its own in-process lock
        return LinkedAccounts(svc.settings, lambda: svc.store, svc.sealer, svc.providers,
                              RequestsTransport(), svc.user_verifier)  # fmt: skip

    barrier = threading.Barrier(2)
    tokens: list[str] = []

    def refresh() -> None:
        accounts = process()
        barrier.wait()
        tokens.append(accounts.account(ZOOM, sub(ALICE), spec).access_token)

    threads = [threading.Thread(target=refresh) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(tokens) == 2 and tokens[0] == tokens[1]
    assert token_calls(stack).get("refresh_token") == 1
    # The kept refresh token is the live one: a later refresh works.
    stack.zoom.oauth.expire_access_tokens()
    refused = svc.links.account(ZOOM, sub(ALICE), spec)
    fresh = svc.links._refresh(ZOOM, sub(ALICE), spec, refused=refused)
    assert fresh.access_token != tokens[0]
    assert token_calls(stack).get("refresh_token") == 2
    assert stack.zoom.oauth.stats()["refused"] == {}


def test_a_refusal_of_the_app_itself_keeps_every_link(stack: Stack) -> None:
    """A rotated client secret makes the vendor refuse every refresh (``invalid_client``): that
    is the operator's to fix, not each user's, so no link is dropped."""
    from tests.e2e.linking_support import pick_linked

    event_id = event(stack)
    pick_linked(stack, event_id, ZOOM)
    stack.zoom.oauth.expire_access_tokens()
    stack.zoom.oauth._clients["zoom-client-id"] = "rotated"  # the app's secret changed
    stack.calendar(ALICE).events().patch(
        calendarId=ALICE, eventId=event_id, body={"summary": "Secret rotated"}
    ).execute()
    stack.settle()
    (pending,) = stack.store.list_pending(ALICE)
    assert pending.kind == "permanent" and not pending.parked
    assert pending.last_error is not None and "invalid_client" in pending.last_error
    held = stored_link(stack)
    assert held is not None and held.usable and held.refreshing_until is None


def test_a_link_sealed_under_a_retired_key_is_dropped_once_and_asked_again(stack: Stack) -> None:
    from addon.sealing import TokenSealer
    from addon.store.links import link_context
    from tests.e2e.linking_support import pick_linked

    event_id = event(stack)
    pick_linked(stack, event_id, ZOOM)
    held = stored_link(stack)
    assert held is not None
    retired = TokenSealer("old", {"old": b"k" * 32})
    sealed = retired.seal("zoom-at-x", link_context(ZOOM, sub(ALICE)))
    assert stack.store.swap_link(held.with_(access_token=sealed), held.version)[0]
    stack.calendar(ALICE).events().patch(
        calendarId=ALICE, eventId=event_id, body={"summary": "Keys rotated"}
    ).execute()
    stack.settle()
    (parked,) = stack.store.list_pending(ALICE)
    assert parked.parked and parked.needs_link == f"{ZOOM}:{sub(ALICE)}"
    dropped = stored_link(stack)
    assert dropped is not None and not dropped.usable
    assert dropped.reason is not None and "sealing keys" in dropped.reason
    assert token_calls(stack).get("refresh_token", 0) == 0
    auth_url(stack, ALICE, event_id, ALICE, ZOOM)  # the next pick asks to link again
