"""Webex Meetings through a Webex integration, acting as each user (the ``webex`` provider).

Users link their Webex account (``account_link``: OAuth 2.0 code flow with PKCE at
``{base_url}/authorize`` and ``{base_url}/access_token``); the add-on calls
``with_account(VendorAccount(token))`` and the copy calls the Meetings API as that user. A
token Webex refuses (401) is ``ProviderAccountExpired``: the caller refreshes and retries once.
A provider called without an account raises ``ProviderAuthRequired`` with an empty
``authentication_url`` (the caller, which knows the link page, fills it in).

API (developer.webex.com "Meetings", "Meeting Invitees"; ``localgoogle.vendors.webex`` fakes it):

* **create** — ``POST /meetings`` ``{title, start, end, timezone, recurrence, invitees,
  sendEmail, integrationTags}``. Webex documents no idempotency key for meetings, so the key's
  digest goes into ``integrationTags`` (external keys an integration sets on a meeting) and a
  creation first lists the user's meeting series around the start (``GET /meetings
  ?meetingType=meetingSeries&integrationTag=…&from&to``), keeping only items that really carry
  the tag: a repeat returns the first attempt's meeting. Limit: two attempts running at the very
  same moment can both find nothing and make two meetings (the later sync leaves the spare one).
* **join data** — ``webLink`` (VIDEO, with the meeting number and password), each
  ``telephony.callInNumbers`` entry (PHONE, toll or toll-free, the meeting number as access code
  and the numeric video-system password as passcode), ``sipAddress`` (SIP).
* **update** (moved, retitled) — ``PUT /meetings/{id}`` with the *whole* meeting, as Webex
  requires (``title``, ``password``, ``start``, ``end``; the password is kept in
  ``Meeting.data``); **guests** — ``/meetingInvitees``: missing attendees are invited, removed
  ones uninvited (the organizer is the host, never an invitee).
* **occurrence change** — the occurrence (``meetingType=scheduledMeeting`` of the series,
  found by listing around its original start) is moved with ``PUT /meetings/{occurrence id}``
  or cancelled with ``DELETE``; a repeat finds it already at its new time (or gone) and does
  nothing. An occurrence moved twice is no longer found at its original start: the second move
  is refused (parked) rather than guessed.
* **delete** — ``DELETE /meetings/{id}``; 404 (already gone) is success.

What Webex cannot do (or we do not map): one RRULE per meeting (the first one is sent;
``EXDATE``/``RDATE`` lines are not, cancelled occurrences arrive as occurrence changes
instead), rules Webex does not support are refused by it; meetings last 10 minutes to 24 hours
(an all-day event becomes a 24-hour meeting from midnight in its zone, a longer one is cut at
24 hours); times unknown when the event was not readable yet: a one-hour placeholder starting
at the next quarter hour, fixed by the next sync; no ordering of updates (``event_version`` is
not checked); no idempotency for updates beyond PUT being a whole replacement.

Rate limits: 429 with ``Retry-After`` (delay-seconds) → ``ProviderUnavailable.retry_after``.

Options: ``client_id``, ``client_secret`` (the integration's; required), ``base_url`` (default
``https://webexapis.com/v1``), ``authorize_url``/``token_url`` (default ``{base_url}/authorize``
and ``{base_url}/access_token``), ``scopes`` (default ``meeting:schedules_read
meeting:schedules_write``), ``send_email`` (Webex's own invitations, default false: Calendar
already invites), ``timeout_seconds`` (default 5).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from addon.providers.base import (
    AccountLink,
    EntryPoint,
    Meeting,
    MeetingRequest,
    OccurrenceChange,
    ProviderAuthRequired,
    ProviderError,
    ProviderRefused,
    ProviderUnavailable,
)
from addon.providers.http import HttpTransport, default_transport
from addon.providers.options import OptionReader
from addon.providers.registry import register
from addon.providers.timing import epoch, zone_of
from addon.providers.vendor_http import BearerJsonApi, LinkedAccountProvider, oauth_client

_TITLE_MAX = 128
_DEFAULT_SCOPES = "meeting:schedules_read meeting:schedules_write"
# Listing windows around a time: wide enough for any offset confusion, narrow enough to be cheap.
_AROUND = dt.timedelta(days=1)
_MATCH_SECONDS = 60


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _utc(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _error_text(body: Any) -> str:
    if not isinstance(body, dict):
        return "no details"
    parts = [str(body["message"])] if isinstance(body.get("message"), str) else []
    for item in body.get("errors") or []:
        text = item.get("description") if isinstance(item, dict) else None
        if isinstance(text, str) and text not in parts:
            parts.append(text)
    if isinstance(body.get("trackingId"), str):
        parts.append(f"trackingId {body['trackingId']}")
    return "; ".join(parts) or "no details"


def _reason(status: int, body: Any) -> str:
    return f"HTTP {status}: {_error_text(body)}"


def _tel(number: str) -> str:
    return "tel:" + re.sub(r"[^\d+]", "", number)


@register("webex")
class WebexProvider(LinkedAccountProvider):
    name = "webex"

    def __init__(self, options: Mapping[str, Any], *, http: HttpTransport | None = None) -> None:
        opts = OptionReader(self.name, options)
        client_id, client_secret = oauth_client(opts, "the Webex integration")
        base_url = opts.url("base_url", "https://webexapis.com/v1")
        assert base_url is not None
        self.base_url = base_url.rstrip("/")
        authorize_url = opts.url("authorize_url", self.base_url + "/authorize")
        token_url = opts.url("token_url", self.base_url + "/access_token")
        assert authorize_url is not None and token_url is not None
        scopes = opts.string("scopes", _DEFAULT_SCOPES)
        assert scopes is not None
        self._link = AccountLink(
            authorize_url=authorize_url,
            token_url=token_url,
            client_id=client_id,
            client_secret=client_secret,
            scopes=tuple(scopes.split()),
        )
        self.send_email = opts.boolean("send_email")
        self.timeout_seconds = opts.number("timeout_seconds", 5.0, minimum=0.01, maximum=60.0)
        opts.finish()
        self._api = BearerJsonApi(
            "Webex",
            self.base_url,
            http or default_transport(),
            self.timeout_seconds,
            _reason,
            user_token=True,
        )

    def account_link(self) -> AccountLink:
        return self._link

    def _unlinked(self, what: str) -> ProviderError:
        # The caller, which knows the link page, fills in the authentication URL.
        return ProviderAuthRequired(f"{what}: no linked Webex account", "")

    # --- the request as Webex wants it ------------------------------------------------------

    @staticmethod
    def tag_for(idempotency_key: str) -> str:
        return "gcal-" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]

    def _times(self, request: MeetingRequest) -> tuple[str, str, str]:
        """``(start, end, timezone)`` for Webex (see the module docstring for the cases)."""
        zone = (request.start or {}).get("timeZone") or request.time_zone or "UTC"
        start_value, end_value = request.start or {}, request.end or {}
        if start_value.get("dateTime"):
            start = epoch(start_value, zone)
            end = epoch(end_value, zone) if end_value else None
            assert start is not None
            if end is None or end - start < 600:
                end = start + 3600
            end = min(end, start + 86400)
            begin = dt.datetime.fromtimestamp(start, dt.UTC)
            return _iso(begin), _iso(dt.datetime.fromtimestamp(end, dt.UTC)), zone
        if start_value.get("date"):
            day = dt.date.fromisoformat(start_value["date"])
            midnight = dt.datetime(day.year, day.month, day.day, tzinfo=zone_of(zone))
            return _iso(midnight), _iso(midnight + dt.timedelta(days=1)), zone
        now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
        begin = now + dt.timedelta(minutes=15 - now.minute % 15)
        return _iso(begin), _iso(begin + dt.timedelta(hours=1)), "UTC"

    def _body(self, request: MeetingRequest, *, password: str | None = None) -> dict[str, Any]:
        start, end, zone = self._times(request)
        body: dict[str, Any] = {
            "title": (request.summary or "").strip()[:_TITLE_MAX] or "Meeting",
            "start": start,
            "end": end,
            "timezone": zone,
            "sendEmail": self.send_email,
        }
        rules = [r for r in request.recurrence if r.upper().startswith("RRULE:")]
        if rules:
            body["recurrence"] = rules[0].split(":", 1)[1]
        if password is not None:
            body["password"] = password
        return body

    # --- the seam ----------------------------------------------------------------------------

    def create(self, request: MeetingRequest, *, idempotency_key: str) -> Meeting:
        tag = self.tag_for(idempotency_key)
        body = self._body(request)
        around = _utc(body["start"])
        assert around is not None
        found = self._call(
            "GET",
            "/meetings",
            params={
                "meetingType": "meetingSeries",
                "integrationTag": tag,
                "from": _iso(around - _AROUND),
                "to": _iso(around + _AROUND),
            },
        )
        items = found.get("items") if isinstance(found, dict) else None
        for item in items or []:
            # Keep only what really carries our tag, whatever the server did with the filter.
            if isinstance(item, dict) and tag in (item.get("integrationTags") or []):
                return self._meeting(item)
        organizer = (request.organizer or "").lower()
        body["invitees"] = [{"email": a} for a in request.attendees if a.lower() != organizer]
        body["integrationTags"] = [tag]
        return self._meeting(self._call("POST", "/meetings", json=body))

    def update(self, meeting: Meeting, request: MeetingRequest, *, idempotency_key: str) -> Meeting:
        path = f"/meetings/{quote(meeting.meeting_id, safe='')}"
        password = meeting.data.get("password")
        if not password:
            password = str(self._call("GET", path).get("password") or "")
        updated = self._meeting(
            self._call("PUT", path, json=self._body(request, password=password))
        )
        self._sync_invitees(meeting.meeting_id, request)
        return updated

    def update_occurrence(
        self, meeting: Meeting, change: OccurrenceChange, *, idempotency_key: str
    ) -> None:
        original = epoch(change.original_start)
        if original is None:
            raise ProviderRefused("the occurrence's original start is unreadable", 400)
        occurrence = self._occurrence_at(meeting.meeting_id, original)
        if occurrence is None:
            moved_to = epoch(change.start) if change.start else None
            if change.cancelled or (
                moved_to is not None and self._occurrence_at(meeting.meeting_id, moved_to)
            ):
                return  # cancelled already, or already moved: a repeat
            raise ProviderRefused(
                f"Webex has no occurrence of {meeting.meeting_id} at its original start "
                "(moved earlier?): not guessed",
                404,
            )
        path = f"/meetings/{quote(str(occurrence['id']), safe='')}"
        if change.cancelled:
            self._call("DELETE", path, gone_ok=True)
            return
        request = MeetingRequest(
            calendar_id="",
            event_id=change.occurrence_event_id,
            solution_id="",
            summary=str(occurrence.get("title") or "Meeting"),
            start=change.start,
            end=change.end,
            time_zone=str(occurrence.get("timezone") or "UTC"),
        )
        password = meeting.data.get("password") or str(occurrence.get("password") or "")
        self._call("PUT", path, json=self._body(request, password=password))

    def delete(self, meeting: Meeting, *, idempotency_key: str) -> None:
        self._call("DELETE", f"/meetings/{quote(meeting.meeting_id, safe='')}", gone_ok=True)

    # --- helpers -----------------------------------------------------------------------------

    def _occurrence_at(self, series_id: str, when: float) -> dict[str, Any] | None:
        moment = dt.datetime.fromtimestamp(when, dt.UTC)
        found = self._call(
            "GET",
            "/meetings",
            params={
                "meetingType": "scheduledMeeting",
                "meetingSeriesId": series_id,
                "from": _iso(moment - dt.timedelta(seconds=_MATCH_SECONDS)),
                "to": _iso(moment + dt.timedelta(seconds=_MATCH_SECONDS)),
            },
        )
        for item in (found.get("items") if isinstance(found, dict) else None) or []:
            start = _utc(item.get("start")) if isinstance(item, dict) else None
            if start is not None and abs(start.timestamp() - when) < _MATCH_SECONDS:
                return dict(item)
        return None

    def _sync_invitees(self, meeting_id: str, request: MeetingRequest) -> None:
        listed = self._call("GET", "/meetingInvitees", params={"meetingId": meeting_id})
        current = {
            str(i.get("email", "")).lower(): str(i.get("id"))
            for i in (listed.get("items") if isinstance(listed, dict) else None) or []
            if isinstance(i, dict)
        }
        organizer = (request.organizer or "").lower()
        wanted = {a.lower() for a in request.attendees if a.lower() != organizer}
        for email in sorted(wanted - set(current)):
            payload = {"meetingId": meeting_id, "email": email, "sendEmail": self.send_email}
            self._call("POST", "/meetingInvitees", json=payload, conflict_ok=True)
        for email in sorted(set(current) - wanted):
            self._call("DELETE", f"/meetingInvitees/{quote(current[email])}", gone_ok=True)

    def _meeting(self, body: Any) -> Meeting:
        if not isinstance(body, dict) or not isinstance(body.get("id"), str):
            raise ProviderUnavailable(f"Webex answered without a meeting: {body!r:.200}")
        web_link = body.get("webLink")
        if not isinstance(web_link, str) or not web_link.startswith("https://"):
            raise ProviderUnavailable(f"Webex answered a meeting without a webLink: {body!r:.200}")
        number = str(body.get("meetingNumber") or "") or None
        password = str(body.get("password") or "") or None
        video_password = str(body.get("phoneAndVideoSystemPassword") or "") or None
        entries = [
            EntryPoint(
                type="video", uri=web_link, label=number, meeting_code=number, password=password
            )
        ]
        telephony: dict[str, Any] = body.get("telephony") or {}
        if not isinstance(telephony, dict):
            telephony = {}
        access_code = str(telephony.get("accessCode") or number or "") or None
        for line in telephony.get("callInNumbers") or []:
            if not isinstance(line, dict) or not isinstance(line.get("callInNumber"), str):
                continue
            toll_free = line.get("tollType") == "tollFree"
            entries.append(
                EntryPoint(
                    type="phone",
                    uri=_tel(line["callInNumber"]),
                    label=line["callInNumber"],
                    access_code=access_code,
                    passcode=video_password,
                    features=("TOLL_FREE",) if toll_free else ("TOLL",),
                )
            )
        sip = body.get("sipAddress")
        if isinstance(sip, str) and "@" in sip:
            entries.append(
                EntryPoint(type="sip", uri=f"sip:{sip}", label=sip, passcode=video_password)
            )
        data = {"password": password} if password else {}
        note = f"Webex meeting {number}" if number else "Webex meeting"
        if password:
            note += f" · password {password}"
        return Meeting(body["id"], tuple(entries), note=note, data=data)

    def _call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        gone_ok: bool = False,
        conflict_ok: bool = False,
    ) -> Any:
        ok = ((404,) if gone_ok else ()) + ((409,) if conflict_ok else ())
        body = self._as_account(method, path, json=json, params=params, ok=ok).json()
        return body if isinstance(body, dict) else {}
