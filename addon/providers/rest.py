"""Reference client for a vendor's REST conferencing API (the ``rest`` provider).

The API it speaks (``localgoogle.vendors.rest`` implements it for tests and local runs):

``POST   {base}/meetings``                  create; body: title, start, end, timeZone,
                                            attendees, organizer, recurrence, calendarId,
                                            eventId, solutionId, options → ``{id, joinUrl,
                                            dialIn?{number, pin}, moreUrl?, note?}``
``PATCH  {base}/meetings/{id}``             same body, same answer; with ``eventVersion`` (the
                                            event's ``updated``) older than the meeting's,
                                            ``409 {"code": "staleVersion", "meeting"}``: a newer
                                            version was applied, nothing changes
``POST   {base}/meetings/{id}/occurrences`` one occurrence moved or cancelled
``DELETE {base}/meetings/{id}``             404 means already gone, which is success

Every call carries ``Idempotency-Key``; the vendor applies a key once. Options: ``base_url``
(required), ``api_key`` and ``api_key_header`` (default ``X-Api-Key``; with ``Authorization``
the key is sent as ``Bearer <key>``), ``timeout_seconds`` (default 5: the add-on must answer
Google within seconds).

Failures map to the provider errors of ``addon.providers.base``: no response, timeout, 5xx,
408, 429 or a malformed success body → ``ProviderUnavailable``; 401/403 with
``authenticationUrl`` → ``ProviderAuthRequired``; any other 4xx → ``ProviderRefused``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from addon.providers.base import (
    ConferenceProvider,
    EntryPoint,
    Meeting,
    MeetingRequest,
    OccurrenceChange,
    ProviderAuthRequired,
    ProviderUnavailable,
)
from addon.providers.http import HttpTransport, default_transport
from addon.providers.options import OptionReader
from addon.providers.registry import register
from addon.providers.vendor_http import failure, send


def _meeting_body(request: MeetingRequest) -> dict[str, Any]:
    return {
        "title": request.summary,
        "start": dict(request.start) if request.start else None,
        "end": dict(request.end) if request.end else None,
        "timeZone": request.time_zone,
        "attendees": list(request.attendees),
        "organizer": request.organizer,
        "recurrence": list(request.recurrence),
        "calendarId": request.calendar_id,
        "eventId": request.event_id,
        "solutionId": request.solution_id,
        "options": dict(request.options),
        "eventVersion": request.event_version,
    }


def _error_message(body: Any) -> str:
    if isinstance(body, dict):
        for key in ("error", "message"):
            if isinstance(body.get(key), str):
                return str(body[key])
    return "no details"


def _meeting_from(body: Any) -> Meeting:
    """A Meeting from the API's answer; a malformed answer is the vendor's fault, not ours."""
    if not isinstance(body, dict):
        raise ProviderUnavailable("conferencing API answered without a meeting")
    meeting_id, join_url = body.get("id"), body.get("joinUrl")
    if not isinstance(meeting_id, str) or not meeting_id or not isinstance(join_url, str):
        raise ProviderUnavailable(f"conferencing API answered a malformed meeting: {body!r:.200}")
    entries = [EntryPoint(type="video", uri=join_url)]
    dial_in = body.get("dialIn")
    if isinstance(dial_in, dict) and isinstance(dial_in.get("number"), str):
        pin = dial_in.get("pin")
        entries.append(
            EntryPoint(
                type="phone",
                uri=f"tel:{dial_in['number']}",
                label=dial_in["number"],
                pin=str(pin) if pin is not None else None,
            )
        )
    if isinstance(body.get("moreUrl"), str):
        entries.append(EntryPoint(type="more", uri=body["moreUrl"]))
    note = body.get("note")
    return Meeting(
        meeting_id=meeting_id,
        entry_points=tuple(entries),
        note=note if isinstance(note, str) else None,
    )


@register("rest")
class RestProvider(ConferenceProvider):
    name = "rest"

    def __init__(self, options: Mapping[str, Any], *, http: HttpTransport | None = None) -> None:
        opts = OptionReader(self.name, options)
        base_url = opts.required_url("base_url", "the conferencing API's root URL")
        self.base_url = base_url.rstrip("/")
        self._api_key = opts.string("api_key")
        header = opts.string("api_key_header", "X-Api-Key")
        assert header is not None
        self.api_key_header = header
        self.timeout_seconds = opts.number("timeout_seconds", 5.0, minimum=0.01, maximum=60.0)
        opts.finish()
        self._http = http or default_transport()

    def create(self, request: MeetingRequest, *, idempotency_key: str) -> Meeting:
        body = self._call("POST", "/meetings", _meeting_body(request), idempotency_key)
        return _meeting_from(body)

    def update(self, meeting: Meeting, request: MeetingRequest, *, idempotency_key: str) -> Meeting:
        path = f"/meetings/{quote(meeting.meeting_id, safe='')}"
        body = self._call(
            "PATCH", path, _meeting_body(request), idempotency_key, stale_is_success=True
        )
        if isinstance(body, dict) and body.get("code") == "staleVersion":
            # A newer version of the event reached the vendor first (this request was late).
            current = body.get("meeting")
            return _meeting_from(current) if isinstance(current, dict) else meeting
        # An API that answers 204 leaves the join data as it was.
        return meeting if body is None else _meeting_from(body)

    def update_occurrence(
        self, meeting: Meeting, change: OccurrenceChange, *, idempotency_key: str
    ) -> None:
        path = f"/meetings/{quote(meeting.meeting_id, safe='')}/occurrences"
        payload = {
            "recurringEventId": change.recurring_event_id,
            "occurrenceEventId": change.occurrence_event_id,
            "originalStart": dict(change.original_start),
            "cancelled": change.cancelled,
            "start": dict(change.start) if change.start else None,
            "end": dict(change.end) if change.end else None,
        }
        self._call("POST", path, payload, idempotency_key)

    def delete(self, meeting: Meeting, *, idempotency_key: str) -> None:
        path = f"/meetings/{quote(meeting.meeting_id, safe='')}"
        self._call("DELETE", path, None, idempotency_key, gone_is_success=True)

    def _headers(self, idempotency_key: str) -> dict[str, str]:
        headers = {"Idempotency-Key": idempotency_key, "Accept": "application/json"}
        if self._api_key is not None:
            bearer = self.api_key_header.lower() == "authorization"
            headers[self.api_key_header] = f"Bearer {self._api_key}" if bearer else self._api_key
        return headers

    def _call(
        self,
        method: str,
        path: str,
        payload: Any,
        idempotency_key: str,
        *,
        gone_is_success: bool = False,
        stale_is_success: bool = False,
    ) -> Any:
        what = f"{method} {path}"
        response = send(
            self._http,
            method,
            self.base_url + path,
            what=what,
            json=payload,
            headers=self._headers(idempotency_key),
            timeout=self.timeout_seconds,
        )
        status, body = response.status, response.json()
        if 200 <= status < 300:
            return body
        if status == 404 and gone_is_success:
            return None
        stale = isinstance(body, dict) and body.get("code") == "staleVersion"
        if status == 409 and stale_is_success and stale:
            return body
        message = f"{what}: HTTP {status}: {_error_message(body)}"
        if status in (401, 403) and isinstance(body, dict):
            url = body.get("authenticationUrl")
            if isinstance(url, str) and url:
                raise ProviderAuthRequired(message, url)
        raise failure(response, message)
