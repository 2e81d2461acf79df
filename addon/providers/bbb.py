"""BigBlueButton, self-hosted (the ``bbb`` provider).

BigBlueButton meetings exist only while they run: ``create`` makes one on the spot and it is
gone after ``end`` (or once everybody left). A link that is valid for a week cannot point at
BBB itself, so the link on the event is **ours**: ``{join_base_url}/join/<meeting id>``
(``addon.web.join``). That page looks up the conference, checks the event's *join window*,
asks for the visitor's name, then calls ``create`` (idempotent in BBB for the same
``meetingID``: a repeat answers ``duplicateWarning``) and redirects to a signed ``join`` URL.

API calls: ``GET {base_url}/{call}?{query}&checksum=H(call + query + secret)`` with H one of
SHA-1/256/384/512 (``checksum_algorithm``); answers are XML ``<response><returncode>SUCCESS|
FAILED</returncode><messageKey>…`` (docs.bigbluebutton.org, API Reference).

Mapping:

* **create** — no API call: the meeting id is HMAC-SHA256(``link_secret``, idempotency key),
  130 bits in base32 behind ``gcal-``, so a repeat gives the same id and the link cannot be
  guessed. ``Meeting.data`` keeps the title and the join window.
* **join window** — from ``open_minutes_before`` (default 15) before the event's start to
  ``close_minutes_after`` (default 30) after its end; for a series from before its first
  occurrence to after its last one (no close for a series without an end); an all-day event is
  widened by 14 h each side (its zone may be unknown). Times unknown (the event was not readable
  yet): open, until the next sync sets them.
* **update** (moved, retitled, guests) — recomputes the window and the title; the link on the
  event never changes. A meeting already running keeps its old title. Guests mean nothing to
  BBB (anyone with the link joins).
* **occurrence change** — nothing: the window spans the series, and per-occurrence windows are
  not enforced (the page cannot know which occurrences were cancelled without reading Calendar).
* **delete** — ``end`` (``notFound``: not running, which is success); the conference record
  turns ``deleted`` and the page then answers 410.

What BBB cannot do: no scheduling at all (the add-on is the schedule), no recurrence, no guest
list, no dial-in mapped (BBB's ``voiceBridge`` must be unique among running meetings; not
mapped), no rate limits of its own (a 429/503 from a proxy in front is retried). Everyone joins
as ``VIEWER`` unless ``everyone_moderator`` (we cannot tell the organizer from a guest on the
page). ``join_with`` ``role`` (default, BBB 2.4+) sends ``role=VIEWER|MODERATOR``; ``password``
sends the attendee/moderator password older servers need.

Options: ``base_url`` (the API root, e.g. ``https://bbb.example.org/bigbluebutton/api``;
required), ``secret`` (the shared secret, ``bbb-conf --secret``; required),
``checksum_algorithm`` (``sha1``|``sha256``|``sha384``|``sha512``, default ``sha256``; BBB
before 2.6 knows only sha1), ``join_base_url`` and ``link_secret`` (the add-on's public URL and
an HMAC key ≥ 16 characters; the service fills both from ``ADDON_BASE_URL`` and
``ADDON_SECRET_KEY``), ``open_minutes_before``, ``close_minutes_after``, ``everyone_moderator``,
``join_with``, ``timeout_seconds`` (default 5).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote, urlencode

# The XML comes only from the BBB server the deployment configured (not from users), and
# defusedxml is not among our dependencies: the standard parser it is.
from xml.etree import ElementTree as ET

from addon.providers.base import (
    ConferenceProvider,
    EntryPoint,
    Meeting,
    MeetingRequest,
    OccurrenceChange,
    ProviderRefused,
    ProviderUnavailable,
)
from addon.providers.http import HttpTransport, default_transport
from addon.providers.options import OptionReader
from addon.providers.registry import register
from addon.providers.timing import DATE_SLACK, event_span
from addon.providers.vendor_http import failure, send

_ALGORITHMS = {
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
    "sha384": hashlib.sha384,
    "sha512": hashlib.sha512,
}
MAX_NAME = 100

WindowState = Literal["early", "open", "over"]


@dataclass(frozen=True)
class JoinWindow:
    """When the link lets people in (epoch seconds; None: no limit on that side)."""

    opens: float | None
    closes: float | None

    def state(self, now: float) -> WindowState:
        if self.opens is not None and now < self.opens:
            return "early"
        if self.closes is not None and now > self.closes:
            return "over"
        return "open"


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


@register("bbb")
class BbbProvider(ConferenceProvider):
    name = "bbb"

    def __init__(self, options: Mapping[str, Any], *, http: HttpTransport | None = None) -> None:
        opts = OptionReader(self.name, options)
        base_url = opts.required_url("base_url", "the BBB API root (…/bigbluebutton/api)")
        self.base_url = base_url.rstrip("/")
        self._secret = opts.required_string(
            "secret", "the server's shared secret (bbb-conf --secret)"
        )
        algorithm = opts.string("checksum_algorithm", "sha256")
        if algorithm not in _ALGORITHMS:
            raise opts.error("checksum_algorithm", f"one of {', '.join(_ALGORITHMS)}")
        self._hash = _ALGORITHMS[algorithm]
        join_base = opts.required_url("join_base_url", "the add-on's public URL")
        self.join_base_url = join_base.rstrip("/")
        link_secret = opts.string("link_secret")
        if link_secret is None or len(link_secret) < 16:
            raise opts.error("link_secret", "required, 16+ characters: links must be unguessable")
        self._link_key = link_secret.encode()
        self.open_before = 60 * opts.number("open_minutes_before", 15, minimum=0, maximum=1440)
        self.close_after = 60 * opts.number("close_minutes_after", 30, minimum=0, maximum=1440)
        self.everyone_moderator = opts.boolean("everyone_moderator")
        join_with = opts.string("join_with", "role")
        if join_with not in ("role", "password"):
            raise opts.error("join_with", f"must be role or password, got {join_with!r}")
        self.join_with = join_with
        self.timeout_seconds = opts.number("timeout_seconds", 5.0, minimum=0.01, maximum=60.0)
        opts.finish()
        self._http = http or default_transport()

    # --- ids, links, windows ---------------------------------------------------------------

    def _mac(self, *parts: str) -> bytes:
        return hmac.new(self._link_key, "\0".join(parts).encode(), hashlib.sha256).digest()

    def meeting_id_for(self, idempotency_key: str) -> str:
        return (
            "gcal-"
            + base64.b32encode(self._mac("meeting", idempotency_key)[:20]).decode()[:26].lower()
        )

    def _password(self, meeting_id: str, role: str) -> str:
        return base64.b32encode(self._mac("password", role, meeting_id)[:10]).decode().lower()

    def join_link(self, meeting_id: str) -> str:
        return f"{self.join_base_url}/join/{quote(meeting_id, safe='')}"

    def window(self, meeting: Meeting) -> JoinWindow:
        return JoinWindow(_float(meeting.data.get("opens")), _float(meeting.data.get("closes")))

    def _data(self, request: MeetingRequest) -> dict[str, str]:
        data = {"name": (request.summary or "").strip()[:MAX_NAME] or "Meeting"}
        span = event_span(request)
        if span is not None:
            slack = DATE_SLACK if span.all_day else 0
            data["opens"] = str(int(span.start - self.open_before - slack))
            if span.bounded:
                data["closes"] = str(int(span.end + self.close_after + slack))
        return data

    def _meeting(self, meeting_id: str, request: MeetingRequest) -> Meeting:
        link = self.join_link(meeting_id)
        return Meeting(
            meeting_id=meeting_id,
            entry_points=(EntryPoint(type="video", uri=link, label="BigBlueButton"),),
            note="Join with BigBlueButton in your browser; the link opens shortly before the "
            "meeting starts.",
            data=self._data(request),
        )

    # --- the seam --------------------------------------------------------------------------

    def create(self, request: MeetingRequest, *, idempotency_key: str) -> Meeting:
        return self._meeting(self.meeting_id_for(idempotency_key), request)

    def update(self, meeting: Meeting, request: MeetingRequest, *, idempotency_key: str) -> Meeting:
        return self._meeting(meeting.meeting_id, request)

    def update_occurrence(
        self, meeting: Meeting, change: OccurrenceChange, *, idempotency_key: str
    ) -> None:
        """Nothing to do: the join window spans the series (see the module docstring)."""

    def delete(self, meeting: Meeting, *, idempotency_key: str) -> None:
        meeting_id = meeting.meeting_id
        params = {"meetingID": meeting_id, "password": self._password(meeting_id, "moderator")}
        self._call("end", params, ok_keys=("notFound", "invalidMeetingId"))

    # --- what the join page does -----------------------------------------------------------

    def join(self, meeting: Meeting, full_name: str) -> str:
        """Make sure the meeting runs (``create``, idempotent per ``meetingID``) and return a
        signed ``join`` URL for ``full_name``."""
        meeting_id = meeting.meeting_id
        moderator_pw = self._password(meeting_id, "moderator")
        attendee_pw = self._password(meeting_id, "attendee")
        self._call(
            "create",
            {
                "name": meeting.data.get("name") or "Meeting",
                "meetingID": meeting_id,
                "attendeePW": attendee_pw,
                "moderatorPW": moderator_pw,
                "record": "false",
            },
            # Running already under its former title (the event was retitled since): BBB
            # refuses a create whose parameters differ, and the meeting is there to join.
            ok_keys=("idNotUnique",),
        )
        role = "MODERATOR" if self.everyone_moderator else "VIEWER"
        params = {"fullName": full_name[:MAX_NAME], "meetingID": meeting_id}
        if self.join_with == "role":
            params["role"] = role
        else:
            params["password"] = moderator_pw if role == "MODERATOR" else attendee_pw
        return self.signed_url("join", params)

    # --- HTTP ------------------------------------------------------------------------------

    def signed_url(self, call: str, params: Mapping[str, str]) -> str:
        query = urlencode(list(params.items()))
        checksum = self._hash((call + query + self._secret).encode()).hexdigest()
        return f"{self.base_url}/{call}?{query}{'&' if query else ''}checksum={checksum}"

    def _call(
        self, call: str, params: Mapping[str, str], *, ok_keys: tuple[str, ...] = ()
    ) -> ET.Element:
        what = f"BigBlueButton {call}"
        url = self.signed_url(call, params)
        response = send(self._http, "GET", url, what=what, headers={}, timeout=self.timeout_seconds)
        if response.status >= 400:
            raise failure(response, f"{what}: HTTP {response.status}")
        try:
            root = ET.fromstring(response.content)  # noqa: S314 - see the import
        except ET.ParseError as exc:
            raise ProviderUnavailable(f"{what}: not an API answer: {exc}") from exc
        code, key = root.findtext("returncode"), root.findtext("messageKey") or ""
        if code == "SUCCESS" or key in ok_keys:
            return root
        message = f"{what}: {code} {key}: {root.findtext('message') or ''}".strip()
        # checksumError means our secret or algorithm is wrong: the deployment must fix it.
        raise ProviderRefused(message, response.status)
