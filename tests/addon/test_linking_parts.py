"""Account linking's pure parts (issue 16): the signed states and unlink tokens, PKCE, the
authorization URL, and the 1,300-character bound of the authenticationUrl."""

from __future__ import annotations

import base64
import hashlib
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from addon.auth import VerifiedUser
from addon.linking.accounts import LinkedAccounts
from addon.linking.oauth import authorize_url, pkce_pair
from addon.linking.state import (
    LinkState,
    StateError,
    read_state,
    read_unlink,
    sign_state,
    sign_unlink,
)
from addon.providers.base import AccountLink
from addon.providers.http import RequestsTransport
from addon.sealing import TokenSealer
from addon.settings import Settings

SECRET = "s" * 40
STATE = LinkState("nonce", "104242", "zoom-meeting", "issued")


def test_a_state_reads_back_for_its_step_only() -> None:
    token = sign_state(SECRET, STATE)
    assert read_state(SECRET, token, "issued") == STATE
    with pytest.raises(StateError) as step:
        read_state(SECRET, token, "vendor")
    assert step.value.reason == "wrongStep"


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (None, "missingState"),
        ("", "missingState"),
        ("x" * 2000, "badState"),
        ("not.a.state", "badState"),
        (sign_state("another secret of forty characters......", STATE), "badState"),
        (sign_unlink(SECRET, "104242", "zoom-meeting"), "badState"),  # another salt
    ],
)
def test_forged_states_are_refused_with_a_reason(token: Any, reason: str) -> None:
    with pytest.raises(StateError) as info:
        read_state(SECRET, token, "issued")
    assert info.value.reason == reason


def test_an_old_state_is_expired() -> None:
    token = sign_state(SECRET, STATE)
    with pytest.raises(StateError) as info:
        read_state(SECRET, token, "issued", max_age=-1)
    assert info.value.reason == "stateExpired"


def test_the_unlink_token_names_the_user_and_the_solution() -> None:
    token = sign_unlink(SECRET, "104242", "zoom-meeting")
    assert read_unlink(SECRET, token) == ("104242", "zoom-meeting")
    with pytest.raises(StateError):
        read_unlink(SECRET, sign_state(SECRET, STATE))


def test_pkce_is_s256_and_the_authorization_url_carries_it() -> None:
    verifier, challenge = pkce_pair()
    assert 43 <= len(verifier) <= 128
    digest = hashlib.sha256(verifier.encode()).digest()
    assert challenge == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    link = AccountLink(
        "https://login.example/authorize?tenant=x", "https://login.example/token", "cid",
        "secret", ("a", "b"), extra_authorize={"response_mode": "query"},
    )  # fmt: skip
    url = authorize_url(link, redirect_uri="https://addon.example/link/callback", state="S",
                        code_challenge=challenge)  # fmt: skip
    query = parse_qs(urlsplit(url).query)
    assert query["tenant"] == ["x"] and query["scope"] == ["a b"]
    assert query["code_challenge"] == [challenge] and query["code_challenge_method"] == ["S256"]
    assert query["response_mode"] == ["query"] and query["state"] == ["S"]


class _Flows:
    def put_link_flow(self, flow: Any) -> None:
        self.flow = flow


def _accounts(base_url: str) -> tuple[LinkedAccounts, _Flows]:
    settings = Settings(base_url=base_url, secret_key=SECRET)
    flows = _Flows()
    accounts = LinkedAccounts(
        settings, lambda: flows, TokenSealer(*settings.sealing_keys()), {},  # type: ignore[arg-type,return-value]
        RequestsTransport(), None,
    )  # fmt: skip
    return accounts, flows


def test_the_authentication_url_is_ours_and_at_most_1300_characters() -> None:
    accounts, flows = _accounts("https://addon.example.com")
    user = VerifiedUser("104242" * 4, "alice@example.com")
    url = accounts.start_url(user, "zoom-meeting")
    assert url.startswith("https://addon.example.com/link/zoom-meeting/start?state=")
    assert len(url) <= 1300
    state = parse_qs(urlsplit(url).query)["state"][0]
    assert read_state(SECRET, state, "issued").nonce == flows.flow.nonce
    long_base, _ = _accounts("https://addon.example.com/" + "p" * 1250)
    with pytest.raises(ValueError, match="1300"):
        long_base.start_url(user, "zoom-meeting")
