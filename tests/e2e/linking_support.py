"""What the account-linking and vendor tests share: a stack whose solutions include Zoom, Teams
and Webex against their fake servers (mounted on the emulator at ``/_zoom``, ``/_graph`` and
``/_webex``), and the linking clicked through the real pages with ``requests``, as a browser
submits them: pick → AUTHENTICATION → our start page → Continue → Google's consent → our Google
callback → the vendor's consent → our vendor callback."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin

import requests

from addon.settings import Solution
from localgoogle.vendors.webex import DEFAULT_CLIENT_ID as WEBEX_CLIENT_ID
from localgoogle.vendors.webex import DEFAULT_CLIENT_SECRET as WEBEX_CLIENT_SECRET
from tests.e2e.stack import Stack, default_solutions, running_stack
from tests.localgoogle.oauth.support import ALLOW, ConsentForm

ZOOM = "zoom-meeting"
TEAMS = "teams-meeting"
WEBEX = "webex-meeting"
ALICE = "alice@example.com"
BOB = "bob@example.com"


def vendor_solutions(emulator_url: str) -> tuple[Solution, ...]:
    zoom = emulator_url + "/_zoom"
    graph = emulator_url + "/_graph"
    webex = emulator_url + "/_webex"
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
        # The fake's default integration (any redirect URI); the client secret goes in the
        # token request's form body, as Webex documents.
        Solution(WEBEX, "Webex Meetings", "https://x.example/webex.png", "webex", {
            "client_id": WEBEX_CLIENT_ID, "client_secret": WEBEX_CLIENT_SECRET,
            "base_url": webex + "/v1", "timeout_seconds": 2,
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
        self.typed: list[str] = []  # the fields a person types into (not hidden)
        self.buttons: list[str] = []
        self.submits: list[tuple[str, str, str]] = []  # each button's (id, name, value)
        self.reason: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "main":
            self.reason = a.get("data-reason")
        elif tag == "form":
            self.action = a.get("action", "")  # none: the form posts to the page's own URL
        elif tag == "input" and a.get("name"):
            self.fields[a["name"]] = a.get("value", "")
            if a.get("type", "text") != "hidden":
                self.typed.append(a["name"])
        elif tag == "button":
            self.buttons.append(a.get("id", ""))
            self.submits.append((a.get("id", ""), a.get("name", ""), a.get("value", "")))

    def press(self, *words: str) -> dict[str, str]:
        """What a browser adds to the form for the button whose id or value is one of
        ``words`` (nothing for a button without a name)."""
        for ident, name, value in self.submits:
            if ident in words or value in words:
                return {name: value} if name else {}
        raise AssertionError(f"no button {words} in {self.submits}")


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


# The buttons' ids or values on the fakes' consent pages (Webex's Allow says ``accept``).
_CONSENT_WORDS = {"allow": ("allow", "accept"), "deny": ("deny",)}


def consent_at_vendor(url: str, account: str, decision: str = "allow") -> str:
    """Fill the vendor's consent page as a person would: their account in the one field to
    type into, then the Allow (Webex: Accept) or Deny (Webex: Decline) button."""
    page = requests.get(url, timeout=10)
    assert page.status_code == 200, page.text
    form = read(page.text)
    assert form.action is not None
    (login,) = form.typed  # ``account`` (Zoom, Microsoft) or ``email`` (Webex)
    fields = {**form.fields, login: account, **form.press(*_CONSENT_WORDS[decision])}
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
