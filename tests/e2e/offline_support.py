"""What the offline-sync tests share: a stack with offline consent against the emulator's
OAuth server, the consent clicked through the real pages (home card -> our page -> Google's
consent page -> our callback), the sweep called as Cloud Scheduler would, and waits that
include push deliveries."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin

import requests

from addon.store.channels import ChannelRecord
from addon.tasks.queue import SWEEP_PATH
from localgoogle.oauth import DEFAULT_CLIENT_ID
from tests.e2e.stack import Stack, running_stack
from tests.e2e.test_tasks import quick_solutions
from tests.localgoogle.oauth.support import ALLOW, ConsentForm

ALICE = "alice@example.com"
BOB = "bob@example.com"


@contextlib.contextmanager
def offline_stack(project: str, **overrides: Any) -> Iterator[Stack]:
    values: dict[str, Any] = {
        "sync_mode": "tasks",
        "lease_seconds": 5,
        "retry_base_seconds": 0.3,
        "retry_max_seconds": 1.0,
        **overrides,
    }
    with running_stack(project, quick_solutions, offline=True, **values) as stack:
        yield stack


class _Page(HTMLParser):
    """Our offline page: its form (action, hidden link, button id) and its reason."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self.button: str | None = None
        self.reason: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "main":
            self.reason = a.get("data-reason")
        elif tag == "form":
            self.action = a["action"]
        elif tag == "input" and a.get("type") == "hidden":
            self.fields[a["name"]] = a["value"]
        elif tag == "button":
            self.button = a.get("id")


def read_page(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def home_card(stack: Stack, user: str) -> dict[str, Any]:
    answer = stack.control("POST", "/_emulator/addon/homepage", {"user": user})
    assert answer["addonStatus"] == 200, answer
    card: dict[str, Any] = answer["card"]
    return card


def manage_link(card: dict[str, Any]) -> str:
    for section in card["sections"]:
        for widget in section["widgets"]:
            for button in widget.get("buttonList", {}).get("buttons", []):
                url: str = button["onClick"]["openLink"]["url"]
                return url
    raise AssertionError(f"no link on the card: {card}")


def start_consent(stack: Stack, user: str) -> str:
    """Home card -> our page -> Turn on: the URL of Google's consent page."""
    link = manage_link(home_card(stack, user))
    page = requests.get(link, timeout=10)
    assert page.status_code == 200, page.text
    form = read_page(page.text)
    assert form.button == "turn-on" and form.action == "/offline/start", page.text
    started = requests.post(
        urljoin(link, form.action), data=form.fields, allow_redirects=False, timeout=10
    )
    assert started.status_code == 303, started.text
    return started.headers["Location"]


def consent_at_google(
    url: str, account: str, *, uncheck: tuple[str, ...] = (), button: str = ALLOW
) -> str:
    """Google's consent page, answered: where Google redirects the browser."""
    page = requests.get(url, timeout=10)
    assert page.status_code == 200, page.text
    answer = ConsentForm.parse(page.text).submit(
        page.url, button=button, account=account, uncheck=uncheck
    )
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def turn_on(stack: Stack, user: str, *, account: str | None = None) -> requests.Response:
    """The whole consent, clicked through; the callback page's answer."""
    back = consent_at_google(start_consent(stack, user), account or user)
    return requests.get(back, timeout=10)


def grants_at_google(stack: Stack, user: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = stack.control(
        "GET", f"/_oauth/grants?user={user}&clientId={DEFAULT_CLIENT_ID}"
    )["grants"]
    return found


def settle_all(stack: Stack, rounds: int = 3) -> None:
    """Push deliveries, triggers and tasks, until quiet (a task's sync can cause a push)."""
    for _ in range(rounds):
        stack.control("POST", "/_emulator/push/flush", {"timeout": 10})
        stack.settle()


def sweep(stack: Stack) -> dict[str, Any]:
    """``POST /tasks/sweep`` as Cloud Scheduler calls it (an OIDC token for that URL)."""
    url = stack.addon_url + SWEEP_PATH
    invoker = stack.services.settings.sweep_invoker
    token = stack.control("POST", "/_emulator/addon/id-token", {"audience": url, "email": invoker})
    answer = requests.post(
        url, headers={"Authorization": f"Bearer {token['idToken']}"}, json={}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    report: dict[str, Any] = answer.json()
    return report


def live_channel(stack: Stack, calendar_id: str = ALICE) -> ChannelRecord:
    state = stack.calendar_state(calendar_id)
    assert state is not None and state.channel_id is not None, "no push channel"
    record = stack.store.get_channel(state.channel_id)
    assert record is not None and record.status == "live"
    return record


def push(stack: Stack, channel_id: str, token: str | None, resource_id: str | None,
         state: str = "exists") -> requests.Response:  # fmt: skip
    headers = {"X-Goog-Channel-ID": channel_id, "X-Goog-Resource-State": state}
    if token is not None:
        headers["X-Goog-Channel-Token"] = token
    if resource_id is not None:
        headers["X-Goog-Resource-ID"] = resource_id
    return requests.post(stack.addon_url + "/calendar/push", headers=headers, timeout=10)


def wait_until(predicate: Any, timeout: float = 30.0, message: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {message}")
