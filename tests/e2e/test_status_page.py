"""The operators' status page, end to end: an admin signed in with Google sees the counts,
parked changes and errors; anyone else is refused (anonymous, another Google account, a
forged Identity-Aware Proxy header); IAP's genuine header lets its admin in."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
import requests

from addon.store.records import PendingChange
from tests.e2e.offline_support import ALICE, BOB, offline_stack
from tests.e2e.signin_support import sign_in
from tests.e2e.stack import Stack
from tests.e2e.test_tasks import conference_event

pytestmark = pytest.mark.datastore

IAP_AUDIENCE = "/projects/123456789/apps/local-addon"
IAP_ISSUER = "https://cloud.google.com/iap"


@pytest.fixture
def stack(datastore) -> Iterator[Stack]:
    with offline_stack(
        datastore.project, status_admins=(ALICE,), status_iap_audience=IAP_AUDIENCE
    ) as s:
        svc = s.services
        svc.settings = dataclasses.replace(
            svc.settings, status_iap_certs_url=s.emulator_url + "/oauth2/v1/certs"
        )
        s.user(ALICE)
        s.user(BOB)
        yield s


def iap_token(stack: Stack, email: str, audience: str = IAP_AUDIENCE) -> str:
    body = {"audience": audience, "email": email, "issuer": IAP_ISSUER}
    token: str = stack.control("POST", "/_emulator/addon/id-token", body)["idToken"]
    return token


def test_an_admin_sees_the_status_and_everyone_else_is_refused(stack: Stack) -> None:
    conference_event(stack)
    stack.store.put_pending(
        PendingChange(
            ALICE,
            "parked-1",
            {"id": "parked-1"},
            action="WriteBack",
            kind="attention",
            last_error="only the organizer can change it",
            parked=True,
        )
    )
    status = stack.addon_url + "/status"
    admin = requests.Session()
    page = sign_in(admin, status, ALICE)
    assert page.status_code == 200, page.text
    assert "calendars subscribed" in page.text and "only the organizer can change it" in page.text
    data = admin.get(status + ".json", timeout=10).json()
    assert data["viewer"] == ALICE
    assert data["calendars"]["subscribed"] >= 1
    assert data["parked"][0]["reason"] == "only the organizer can change it"
    assert data["queue"]["mode"] == "tasks"

    anonymous = requests.get(status + ".json", timeout=10)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["reason"] == "signInRequired"
    to_google = requests.get(status, allow_redirects=False, timeout=10)
    assert to_google.status_code == 303 and "/signin/start" in to_google.headers["Location"]
    other = requests.Session()
    refused = sign_in(other, status, BOB)
    assert refused.status_code == 403 and 'data-reason="notAnAdmin"' in refused.text
    refused_json = other.get(status + ".json", timeout=10)
    assert refused_json.status_code == 403
    assert refused_json.json()["error"]["reason"] == "notAnAdmin"
    assert "calendars" not in refused_json.json()


def test_identity_aware_proxy_headers_are_verified(stack: Stack) -> None:
    url = stack.addon_url + "/status.json"
    header = "x-goog-iap-jwt-assertion"
    good = requests.get(url, headers={header: iap_token(stack, ALICE)}, timeout=10)
    assert good.status_code == 200, good.text
    assert good.json()["viewer"] == ALICE
    not_admin = requests.get(url, headers={header: iap_token(stack, BOB)}, timeout=10)
    assert not_admin.status_code == 403
    for forged in (
        "not-a-jwt",
        iap_token(stack, ALICE)[:-6] + "AAAAAA",  # signature altered
        iap_token(stack, ALICE, audience="/projects/1/apps/another-app"),  # another audience
    ):
        answer = requests.get(url, headers={header: forged}, timeout=10)
        assert answer.status_code == 403, forged
        assert answer.json()["error"]["reason"] == "badIapAssertion"
    # The right signer and audience but not IAP's issuer: refused too.
    google = stack.control(
        "POST", "/_emulator/addon/id-token", {"audience": IAP_AUDIENCE, "email": ALICE}
    )["idToken"]
    assert requests.get(url, headers={header: google}, timeout=10).status_code == 403
    # Even a signed-in admin cannot pass with a forged header: it is never ignored.
    admin = requests.Session()
    sign_in(admin, stack.addon_url + "/status", ALICE)
    assert admin.get(url, headers={header: "forged"}, timeout=10).status_code == 403
