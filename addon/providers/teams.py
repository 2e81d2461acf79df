"""Microsoft Teams meetings through Microsoft Graph online meetings: the ``teams`` provider.

Acting as the user's linked Microsoft account (Microsoft identity platform, v2.0 endpoints,
authorization code with PKCE, scopes ``OnlineMeetings.ReadWrite offline_access``):

``POST   /me/onlineMeetings/createOrGet``   create, idempotently: ``externalId`` is derived
                                          from our idempotency key, so a replay answers the
                                          meeting made the first time (Graph's own
                                          idempotent create) → 201 created / 200 existing
``PATCH  /me/onlineMeetings/{id}``         subject, times, participants → 200 meeting
``DELETE /me/onlineMeetings/{id}``         → 204; 404 means already gone: success

**No recurrence.** An online meeting has one start and end and no recurrence; its join link
works at any time. A recurring event maps to **one meeting for the whole series**, whose
times are the series' first occurrence (the event's own start and end); a changed or cancelled
single occurrence changes nothing at Microsoft (``update_occurrence`` is a no-op), and the same
join link serves every occurrence.

Join data: ``joinWebUrl`` (video), ``audioConferencing`` (``tollNumber``/``tollFreeNumber``
with ``conferenceId`` as the access code; ``dialinUrl`` as "more" numbers), when the
organizer's tenant has audio conferencing.

Errors (Graph's ``{"error": {"code", "message"}}``): 401 (``InvalidAuthenticationToken``) →
``ProviderAccountExpired``; 429, 503, 504 (with ``Retry-After``) and other 5xx →
``ProviderUnavailable``; other 4xx → ``ProviderRefused``. Microsoft has no token-revocation
endpoint for a single app's user tokens: unlinking forgets them (they expire within hours; the
refresh token is revoked when the user removes the app's consent in their account).

Options: ``client_id``, ``client_secret`` (the app registration's, required), ``tenant``
(default ``common``), ``login_base_url`` (default ``https://login.microsoftonline.com``),
``graph_base_url`` (default ``https://graph.microsoft.com/v1.0``), ``timeout_seconds``
(default 5).
"""

from __future__ import annotations

import hashlib
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
    ProviderUnavailable,
)
from addon.providers.http import HttpResponse, HttpTransport, default_transport
from addon.providers.options import OptionReader
from addon.providers.registry import register
from addon.providers.vendor_http import BearerJsonApi, LinkedAccountProvider, oauth_client

SCOPES = ("OnlineMeetings.ReadWrite", "offline_access")


def external_id(idempotency_key: str) -> str:
    return "gcal-" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]


def _instant(value: Mapping[str, str] | None, *, end: bool = False) -> datetime | None:
    raw = (value or {}).get("dateTime")
    if raw:
        try:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    day = (value or {}).get("date")
    if day:
        try:
            return datetime.fromisoformat(day).replace(tzinfo=UTC)
        except ValueError:
            return None
    return None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


def _body(request: MeetingRequest) -> dict[str, Any]:
    body: dict[str, Any] = {
        "subject": request.summary or "Meeting",
        "participants": {"attendees": [{"upn": a, "role": "attendee"} for a in request.attendees]},
    }
    start, end = _instant(request.start), _instant(request.end, end=True)
    if start is not None:
        body["startDateTime"] = _iso(start)
        body["endDateTime"] = _iso(end if end is not None else start + timedelta(hours=1))
    return body


def _reason(status: int, answer: Any) -> str:
    """Graph's errors: ``{"error": {"code", "message"}}``."""
    error = answer.get("error") if isinstance(answer, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    detail = str(error.get("message"))[:200] if isinstance(error, dict) else "no details"
    return f"HTTP {status} {code}: {detail}"


def meeting_from(body: Any) -> Meeting:
    if not isinstance(body, dict) or not isinstance(body.get("id"), str) or not body["id"]:
        raise ProviderUnavailable(f"Graph answered a malformed onlineMeeting: {body!r:.200}")
    join = body.get("joinWebUrl")
    if not isinstance(join, str) or not join:
        raise ProviderUnavailable("Graph answered an onlineMeeting without joinWebUrl")
    entries = [EntryPoint(type="video", uri=join, label="Join Microsoft Teams meeting")]
    audio = body.get("audioConferencing")
    if isinstance(audio, dict):
        conference = audio.get("conferenceId")
        code = str(conference) if isinstance(conference, str | int) else None
        for key, feature in (("tollNumber", "TOLL"), ("tollFreeNumber", "TOLL_FREE")):
            number = audio.get(key)
            if isinstance(number, str) and number.strip():
                digits = "".join(c for c in number if c.isdigit() or c == "+")
                entries.append(
                    EntryPoint(
                        type="phone",
                        uri=f"tel:{digits},,{code}#" if code else f"tel:{digits}",
                        label=number,
                        access_code=code,
                        features=(feature,),  # type: ignore[arg-type]
                    )
                )
        more = audio.get("dialinUrl")
        if isinstance(more, str) and more.startswith("https://"):
            entries.append(EntryPoint(type="more", uri=more))
    return Meeting(meeting_id=body["id"], entry_points=tuple(entries))


@register("teams")
class TeamsProvider(LinkedAccountProvider):
    name = "teams"

    def __init__(self, options: Mapping[str, Any], *, http: HttpTransport | None = None) -> None:
        opts = OptionReader(self.name, options)
        self._client_id, self._client_secret = oauth_client(opts, "the app registration")
        tenant = opts.string("tenant", "common")
        login = opts.url("login_base_url", "https://login.microsoftonline.com")
        graph = opts.url("graph_base_url", "https://graph.microsoft.com/v1.0")
        assert tenant is not None and login is not None and graph is not None
        self.tenant = tenant
        self.login_base_url, self.graph_base_url = login.rstrip("/"), graph.rstrip("/")
        self.timeout_seconds = opts.number("timeout_seconds", 5.0, minimum=0.01, maximum=60.0)
        opts.finish()
        self._api = BearerJsonApi(
            "Graph",
            self.graph_base_url,
            http or default_transport(),
            self.timeout_seconds,
            _reason,
            user_token=True,
        )

    def account_link(self) -> AccountLink:
        base = f"{self.login_base_url}/{quote(self.tenant, safe='')}/oauth2/v2.0"
        return AccountLink(
            authorize_url=base + "/authorize",
            token_url=base + "/token",
            client_id=self._client_id,
            client_secret=self._client_secret,
            scopes=SCOPES,
            revoke_url=None,
            extra_authorize={"response_mode": "query"},
        )

    def create(self, request: MeetingRequest, *, idempotency_key: str) -> Meeting:
        body = {**_body(request), "externalId": external_id(idempotency_key)}
        return meeting_from(self._call("POST", "/me/onlineMeetings/createOrGet", body).json())

    def update(self, meeting: Meeting, request: MeetingRequest, *, idempotency_key: str) -> Meeting:
        answer = self._call("PATCH", self._path(meeting), _body(request)).json()
        return meeting_from(answer) if isinstance(answer, dict) else meeting

    def update_occurrence(
        self, meeting: Meeting, change: OccurrenceChange, *, idempotency_key: str
    ) -> None:
        """Teams online meetings have no occurrences: the series' one meeting stays as is."""

    def delete(self, meeting: Meeting, *, idempotency_key: str) -> None:
        self._call("DELETE", self._path(meeting), gone_is_success=True)

    @staticmethod
    def _path(meeting: Meeting) -> str:
        return f"/me/onlineMeetings/{quote(meeting.meeting_id, safe='')}"

    def _call(
        self, method: str, path: str, body: Any = None, *, gone_is_success: bool = False
    ) -> HttpResponse:
        ok = (404,) if gone_is_success else ()
        return self._as_account(method, path, json=body, ok=ok)
