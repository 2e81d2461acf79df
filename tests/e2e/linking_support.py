"""What the account-linking and vendor tests share: a stack whose solutions include Zoom and
Teams against their fake servers (mounted on the emulator at ``/_zoom`` and ``/_graph``), and
the linking clicked through the real pages with ``requests``, as a browser submits them:
pick → AUTHENTICATION → our start page → Continue → Google's consent → our Google callback →
the vendor's consent → our vendor callback."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin

import requests

from addon.settings import Solution
from tests.e2e.stack import Stack, default_solutions, running_stack
from tests.localgoogle.oauth.support import ALLOW, ConsentForm

ZOOM = "zoom-meeting"
TEAMS = "teams-meeting"
ALICE = "alice@example.com"
BOB = "bob@example.com"


def vendor_solutions(emulator_url: str) -> tuple[Solution, ...]:
    zoom = emulator_url + "/_zoom"
    graph = emulator_url + "/_graph"
    return (
        *default_solutions(emulator_url),
        Solution(ZOOM, "Zoom", "https://x.example/zoom.png", "zoom", {
            "client_id": "zoom-client-id", "client_secret": "zoom-client-secret",
            "api_base_url": zoom + "/v2", "oauth_base_url": zoom, "timeout_seconds": 2,
        }),
        Solution(TEAMS, "Microsoft Teams", "https://x.example/teams.png", "teams", {
            "client_id": "graph-client-id", "client_secret": "graph-client-secret",
            "tenant": "organizations", "login_base_url": graph,
            "graph_base_url": graph + "/v1.0", "timeout_seconds": 2,
        }),
    )  # fmt: skip


@contextlib.contextmanager
def link_stack(project: str, **overrides: Any) -> Iterator[Stack]:
    with running_stack(project, vendor_solutions, offline=True, **overrides) as stack:
        yield stack


class Page(HTMLParser):
    """One of our pages or a vendor's consent page: its form, fields and reason."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self.buttons: list[str] = []
        self.reason: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "main":
            self.reason = a.get("data-reason")
        elif tag == "form":
            self.action = a["action"]
        elif tag == "input" and a.get("name"):
            self.fields[a["name"]] = a.get("value", "")
        elif tag == "button":
            self.buttons.append(a.get("id", ""))


def read(html: str) -> Page:
    page = Page()
    page.feed(html)
    return page


def create_data(answer: dict[str, Any]) -> dict[str, Any]:
    """The pick's answer as Calendar saw it: ``error`` or ``conferenceData``."""
    return answer


def auth_url(stack: Stack, calendar_id: str, event_id: str, user: str, solution: str) -> str:
    answer = stack.pick(calendar_id, event_id, user, solution)
    error = answer.get("error") or {}
    assert error.get("type") == "AUTHENTICATION", answer
    url: str = error["authenticationUrl"]
    assert len(url) <= 1300 and url.startswith(stack.addon_url + f"/link/{solution}/start?")
    return url


@dataclass
class Linking:
    """Each step's URL, so tests can replay or tamper with one."""

    start: str
    google: str = ""
    google_callback: str = ""
    vendor: str = ""
    vendor_callback: str = ""
    final: requests.Response | None = None


def continue_to_google(url: str) -> str:
    page = requests.get(url, timeout=10)
    assert page.status_code == 200, page.text
    form = read(page.text)
    assert form.reason == "start" and form.buttons == ["continue"], page.text
    assert form.action is not None
    started = requests.post(
        urljoin(url, form.action), data=form.fields, allow_redirects=False, timeout=10
    )
    assert started.status_code == 303, started.text
    return started.headers["Location"]


def sign_in_at_google(url: str, account: str) -> str:
    page = requests.get(url, timeout=10)
    assert page.status_code == 200, page.text
    answer = ConsentForm.parse(page.text).submit(page.url, button=ALLOW, account=account)
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def consent_at_vendor(url: str, account: str, decision: str = "allow") -> str:
    page = requests.get(url, timeout=10)
    assert page.status_code == 200, page.text
    form = read(page.text)
    assert form.action is not None
    fields = {**form.fields, "account": account, "decision": decision}
    answer = requests.post(
        urljoin(page.url, form.action), data=fields, allow_redirects=False, timeout=10
    )
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def link(
    stack: Stack,
    url: str,
    *,
    google_account: str = ALICE,
    vendor_account: str = ALICE,
) -> Linking:
    """The whole linking, clicked through; ``final`` is our last page's answer."""
    steps = Linking(url)
    steps.google = continue_to_google(url)
    steps.google_callback = sign_in_at_google(steps.google, google_account)
    back = requests.get(steps.google_callback, allow_redirects=False, timeout=10)
    if back.status_code != 303:
        steps.final = back
        return steps
    steps.vendor = back.headers["Location"]
    steps.vendor_callback = consent_at_vendor(steps.vendor, vendor_account)
    steps.final = requests.get(steps.vendor_callback, timeout=10)
    return steps


def event(stack: Stack, user: str = ALICE, summary: str = "Planning", **extra: Any) -> str:
    body = {
        "summary": summary,
        "start": {"dateTime": "2030-03-04T10:00:00Z"},
        "end": {"dateTime": "2030-03-04T11:00:00Z"},
        **extra,
    }
    created = stack.calendar(user).events().insert(calendarId=user, body=body).execute()
    return str(created["id"])


def pick_linked(stack: Stack, event_id: str, solution: str, user: str = ALICE) -> dict[str, Any]:
    """Pick, link when asked, pick again: the conference data Calendar got."""
    answer = stack.pick(user, event_id, user, solution)
    if (answer.get("error") or {}).get("type") == "AUTHENTICATION":
        steps = link(stack, answer["error"]["authenticationUrl"], google_account=user,
                     vendor_account=user)  # fmt: skip
        assert steps.final is not None and steps.final.status_code == 200, steps.final
        answer = stack.pick(user, event_id, user, solution)
    assert answer.get("conferenceData"), answer
    stack.settle()
    return answer


def vendor_get(stack: Stack, prefix: str, path: str) -> Any:
    return stack.control("GET", f"/{prefix}/_control/{path}")
