"""Zoom meetings as the user's own Zoom account (a user-level OAuth app): the ``zoom`` provider.

Zoom's Meetings API (developers.zoom.us, "Meetings"), acting as the linked account (``me``):

``POST   /users/me/meetings``                  create: ``type`` 2 (scheduled) or 8 (recurring,
                                               fixed time, with ``recurrence``); answers 201
                                               with ``id``, ``join_url``, ``password``,
                                               ``settings.global_dial_in_numbers``
``PATCH  /meetings/{id}``                      topic, time, invitees, recurrence → 204
``PATCH  /meetings/{id}?occurrence_id=O``      one occurrence's time → 204
``DELETE /meetings/{id}[?occurrence_id=O]``    the meeting or one occurrence → 204; 404 (code
                                               3001) means already gone: success
``GET    /users/me/meetings?type=scheduled``   the user's meetings (idempotent create, below)

**Idempotent create.** Zoom takes no idempotency key. The meeting's ``agenda`` carries a short
reference derived from the key (``ref:<20 hex>``); before creating, the user's scheduled
meetings are listed (at most ``LOOKUP_PAGES`` pages of 300) and a meeting carrying the
reference is returned instead of a new one. Two creations racing under one key both find
nothing and both create; each then lists again and both keep the oldest meeting carrying the
reference, deleting the others, so they converge on one. Limits: two list calls more per
creation; a meeting the user deleted in Zoom, or whose agenda they edited, is not found (a new
one is made); past meetings that Zoom stopped listing are not found either — replays happen
within minutes, so this does not arise in practice; a list that lags behind a creation (not
documented either way) lets a racing duplicate survive.

**Mapping.** Time: the event's start in UTC (``…Z``) with its ``timeZone``; duration in whole
minutes; an all-day event starts at 00:00 in its zone for 24 h. Guests: ``settings.
meeting_invitees``. Recurrence (the first RRULE): DAILY → type 1, WEEKLY (BYDAY) → 2,
MONTHLY (BYMONTHDAY or one ``nXX`` BYDAY) → 3, INTERVAL → ``repeat_interval``, COUNT →
``end_times``, UNTIL → ``end_date_time``; no end → ``end_times`` = 60 (Zoom's cap; some
references say 50, not confirmed). Anything else (YEARLY, several RRULEs, BYSETPOS) → type 3,
a recurring meeting with no fixed time: one link valid at any time. EXDATE/RDATE lines are not
sent; Calendar reports cancelled occurrences as occurrence changes. An occurrence is named by
its original start in epoch milliseconds (Zoom's ``occurrence_id``: observed, not documented as
a contract). Zoom has no version precondition: a late update is not refused (the sync's lease
orders a calendar's updates).

Errors: 401 (code 124, invalid token) → ``ProviderAccountExpired``; 429 (``Retry-After`` as
seconds, an HTTP date or Zoom's ISO 8601 time; ``X-RateLimit-Type: Daily-limit`` without one
waits for 00:00 GMT, when Zoom resets daily limits) and 5xx → ``ProviderUnavailable``; other
4xx → ``ProviderRefused``. The exact 429 headers of Zoom's per-second limits could not be
confirmed (its forum shows answers without ``Retry-After``); the fake sends seconds.

Options: ``client_id``, ``client_secret`` (the Zoom app's, required), ``api_base_url``
(default ``https://api.zoom.us/v2``), ``oauth_base_url`` (default ``https://zoom.us``),
``timeout_seconds`` (default 5). Scopes are set on the Zoom app (``meeting:write``,
``meeting:read``); the authorization request sends none.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from addon.providers.base import (
    AccountLink,
    EntryPoint,
    Meeting,
    MeetingRequest,
    OccurrenceChange,
    ProviderRefused,
    ProviderUnavailable,
)
from addon.providers.http import HttpResponse, HttpTransport, default_transport
from addon.providers.options import OptionReader
from addon.providers.registry import register
from addon.providers.vendor_http import BearerJsonApi, LinkedAccountProvider, oauth_client

LOOKUP_PAGES = 3
MAX_DIAL_IN = 3
_WEEKDAYS = {"SU": 1, "MO": 2, "TU": 3, "WE": 4, "TH": 5, "FR": 6, "SA": 7}


def reference(idempotency_key: str) -> str:
    return "ref:" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:20]


def _moment(value: Mapping[str, str] | None) -> datetime | None:
    raw = (value or {}).get("dateTime")
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _when(request: MeetingRequest) -> dict[str, Any]:
    """start_time, duration, timezone from the event (nothing when it was not readable)."""
    start, end = _moment(request.start), _moment(request.end)
    zone = request.time_zone or (request.start or {}).get("timeZone") or "UTC"
    if start is not None:
        minutes = int((end - start).total_seconds() // 60) if end is not None else 60
        return {"start_time": _utc(start), "duration": max(minutes, 1), "timezone": zone}
    day = (request.start or {}).get("date")
    if day:
        end_day = (request.end or {}).get("date")
        days = 1
        if end_day:
            try:
                days = max(1, (datetime.fromisoformat(end_day) - datetime.fromisoformat(day)).days)
            except ValueError:
                days = 1
        return {"start_time": f"{day}T00:00:00", "duration": 1440 * days, "timezone": zone}
    return {}


def recurrence(lines: tuple[str, ...], start: datetime | None) -> dict[str, Any] | None:
    """Zoom's ``recurrence`` for the series' RRULE; None when Zoom cannot say it (type 3)."""
    rules = [line for line in lines if line.upper().startswith("RRULE")]
    if len(rules) != 1:
        return None
    parts = dict(
        item.split("=", 1) for item in rules[0].split(":", 1)[-1].upper().split(";") if "=" in item
    )
    if "BYSETPOS" in parts or "BYHOUR" in parts:
        return None
    try:
        interval = int(parts.get("INTERVAL", "1"))
    except ValueError:
        return None
    out: dict[str, Any] = {"repeat_interval": interval}
    freq = parts.get("FREQ")
    if freq == "DAILY":
        out["type"] = 1
    elif freq == "WEEKLY":
        days = [d[-2:] for d in parts.get("BYDAY", "").split(",") if d]
        if any(d not in _WEEKDAYS for d in days):
            return None
        if not days and start is not None:
            days = [list(_WEEKDAYS)[(start.weekday() + 1) % 7]]
        out.update(type=2, weekly_days=",".join(str(_WEEKDAYS[d]) for d in days))
    elif freq == "MONTHLY":
        out["type"] = 3
        byday, bymonthday = parts.get("BYDAY"), parts.get("BYMONTHDAY")
        if byday and "," not in byday and byday[-2:] in _WEEKDAYS:
            try:
                week = int(byday[:-2] or "1")
            except ValueError:
                return None
            out.update(monthly_week=week, monthly_week_day=_WEEKDAYS[byday[-2:]])
        elif bymonthday and bymonthday.isdigit():
            out["monthly_day"] = int(bymonthday)
        elif start is not None:
            out["monthly_day"] = start.day
        else:
            return None
    else:
        return None
    if "COUNT" in parts and parts["COUNT"].isdigit():
        out["end_times"] = min(int(parts["COUNT"]), 60)
    elif "UNTIL" in parts:
        raw = parts["UNTIL"]
        text = raw if "T" in raw else raw + "T235959Z"
        try:
            until = datetime.strptime(text.rstrip("Z"), "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
        except ValueError:
            return None
        out["end_date_time"] = _utc(until)
    else:
        out["end_times"] = 60
    return out


def _body(request: MeetingRequest) -> dict[str, Any]:
    body: dict[str, Any] = {
        "topic": (request.summary or "Meeting")[:200],
        "settings": {"meeting_invitees": [{"email": a} for a in request.attendees]},
        **_when(request),
    }
    if request.recurrence:
        rule = recurrence(request.recurrence, _moment(request.start))
        if rule is None:
            body["type"] = 3  # recurring, no fixed time
            body.pop("start_time", None)
        else:
            body.update(type=8, recurrence=rule)
    else:
        body["type"] = 2
    return body


def _retry_after(response: HttpResponse) -> float | None:
    seconds = response.retry_after(time.time())
    if seconds is not None:
        return seconds
    raw = response.headers.get("retry-after")
    try:
        # Zoom's daily limits answer an ISO 8601 time ("2020-05-31T00:00:00Z").
        when = datetime.fromisoformat((raw or "").replace("Z", "+00:00"))
    except ValueError:
        if "daily" in response.headers.get("x-ratelimit-type", "").lower():
            # A daily limit said without Retry-After (seen on Zoom's forum): it resets at
            # 00:00 GMT, so nothing is worth trying before then.
            now = datetime.now(UTC)
            midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
            return (midnight - now).total_seconds()
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - time.time())


def _reason(status: int, answer: Any) -> str:
    """Zoom's errors: ``{"code", "message"}``."""
    code = answer.get("code") if isinstance(answer, dict) else None
    detail = str(answer.get("message"))[:200] if isinstance(answer, dict) else "no details"
    return f"HTTP {status} code {code}: {detail}"


def meeting_from(body: Any) -> Meeting:
    """A Meeting from Zoom's meeting object; malformed → ``ProviderUnavailable``."""
    if not isinstance(body, dict) or not isinstance(body.get("join_url"), str):
        raise ProviderUnavailable(f"Zoom answered a malformed meeting: {body!r:.200}")
    meeting_id = body.get("id")
    if not isinstance(meeting_id, int | str) or not str(meeting_id).isdigit():
        raise ProviderUnavailable("Zoom answered a meeting without a numeric id")
    code = str(meeting_id)
    password = body.get("password") if isinstance(body.get("password"), str) else None
    entries = [
        EntryPoint(
            type="video",
            uri=body["join_url"],
            label=f"zoom.us/j/{code}",
            meeting_code=code,
            passcode=password or None,
        )
    ]
    pstn = body.get("pstn_password") if isinstance(body.get("pstn_password"), str) else password
    settings = body.get("settings") if isinstance(body.get("settings"), dict) else {}
    numbers = settings.get("global_dial_in_numbers") if settings else None
    for number in (numbers if isinstance(numbers, list) else [])[:MAX_DIAL_IN]:
        raw = number.get("number") if isinstance(number, dict) else None
        if not isinstance(raw, str) or not raw.strip():
            continue
        digits = "".join(c for c in raw if c.isdigit() or c == "+")
        entries.append(
            EntryPoint(
                type="phone",
                uri=f"tel:{digits},,{code}#",
                label=raw,
                meeting_code=code,
                passcode=pstn or None,
                region_code=number.get("country") if isinstance(number.get("country"), str)
                else None,
                features=("TOLL_FREE",) if number.get("type") == "tollfree" else ("TOLL",),
            )
        )  # fmt: skip
    occurrences = body.get("occurrences")
    data = {"type": str(body.get("type", ""))}
    if isinstance(occurrences, list):
        data["occurrences"] = str(len(occurrences))
    return Meeting(meeting_id=code, entry_points=tuple(entries), data=data)


@register("zoom")
class ZoomProvider(LinkedAccountProvider):
    name = "zoom"

    def __init__(self, options: Mapping[str, Any], *, http: HttpTransport | None = None) -> None:
        opts = OptionReader(self.name, options)
        self._client_id, self._client_secret = oauth_client(opts, "the Zoom OAuth app")
        api = opts.url("api_base_url", "https://api.zoom.us/v2")
        oauth = opts.url("oauth_base_url", "https://zoom.us")
        assert api is not None and oauth is not None
        self.api_base_url, self.oauth_base_url = api.rstrip("/"), oauth.rstrip("/")
        self.timeout_seconds = opts.number("timeout_seconds", 5.0, minimum=0.01, maximum=60.0)
        opts.finish()
        self._api = BearerJsonApi(
            "Zoom",
            self.api_base_url,
            http or default_transport(),
            self.timeout_seconds,
            _reason,
            user_token=True,
            wait=_retry_after,
        )

    def account_link(self) -> AccountLink:
        return AccountLink(
            authorize_url=self.oauth_base_url + "/oauth/authorize",
            token_url=self.oauth_base_url + "/oauth/token",
            client_id=self._client_id,
            client_secret=self._client_secret,
            scopes=(),
            revoke_url=self.oauth_base_url + "/oauth/revoke",
            client_auth="basic",
        )

    # ---- operations ---------------------------------------------------------------------
    def create(self, request: MeetingRequest, *, idempotency_key: str) -> Meeting:
        ref = reference(idempotency_key)
        found = self._find(ref)
        if found:
            return self._get(self._converge(found))
        body = {**_body(request), "agenda": f"Google Calendar event ({ref})"}
        created = meeting_from(self._call("POST", "/users/me/meetings", body).json())
        # Two creations racing under one key (a retry sent while the first was in flight) both
        # found nothing and both created: each looks again, and both keep the oldest meeting
        # carrying the reference and delete the others.
        found = self._find(ref)
        if len(found) > 1:
            keep = self._converge(found)
            if keep != created.meeting_id:
                return self._get(keep)
        return created

    def _get(self, meeting_id: str) -> Meeting:
        return meeting_from(self._call("GET", f"/meetings/{quote(meeting_id, safe='')}").json())

    def _converge(self, ids: list[str]) -> str:
        """The oldest (lowest id) of the meetings made under one key; the others deleted."""
        keep = min(ids, key=lambda i: (len(i), i))
        for other in ids:
            if other != keep:
                self._call("DELETE", f"/meetings/{quote(other, safe='')}", gone_is_success=True)
        return keep

    def _find(self, ref: str) -> list[str]:
        """Ids of the user's scheduled meetings whose agenda carries ``ref``."""
        found: list[str] = []
        token = ""
        for _ in range(LOOKUP_PAGES):
            params = {"type": "scheduled", "page_size": "300"}
            if token:
                params["next_page_token"] = token
            page = self._call("GET", "/users/me/meetings", params=params).json()
            if not isinstance(page, dict):
                break
            for item in page.get("meetings") or ():
                if isinstance(item, dict) and ref in str(item.get("agenda") or ""):
                    found.append(str(item.get("id")))
            token = str(page.get("next_page_token") or "")
            if not token:
                break
        return found

    def update(self, meeting: Meeting, request: MeetingRequest, *, idempotency_key: str) -> Meeting:
        self._call("PATCH", self._path(meeting), _body(request))
        # Zoom keeps the join URL, passcode and numbers of a meeting it updates.
        return meeting

    def update_occurrence(
        self, meeting: Meeting, change: OccurrenceChange, *, idempotency_key: str
    ) -> None:
        original = _moment(change.original_start)
        if original is None:
            raise ProviderRefused("Zoom names occurrences by their start time; none was given")
        params = {"occurrence_id": str(int(original.timestamp() * 1000))}
        if change.cancelled:
            self._call("DELETE", self._path(meeting), params=params, gone_is_success=True)
            return
        body: dict[str, Any] = {}
        start, end = _moment(change.start), _moment(change.end)
        if start is not None:
            body["start_time"] = _utc(start)
            if end is not None:
                body["duration"] = max(1, int((end - start) / timedelta(minutes=1)))
        self._call("PATCH", self._path(meeting), body, params=params)

    def delete(self, meeting: Meeting, *, idempotency_key: str) -> None:
        self._call("DELETE", self._path(meeting), gone_is_success=True)

    # ---- HTTP ---------------------------------------------------------------------------
    @staticmethod
    def _path(meeting: Meeting) -> str:
        return f"/meetings/{quote(meeting.meeting_id, safe='')}"

    def _call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: Mapping[str, str] | None = None,
        gone_is_success: bool = False,
    ) -> HttpResponse:
        ok = (404,) if gone_is_success else ()  # 404 (code 3001): already gone
        return self._as_account(method, path, json=body, params=params, ok=ok)
