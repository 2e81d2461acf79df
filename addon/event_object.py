"""The event object Google POSTs to an HTTP add-on, read defensively.

Documented: ``commonEventObject``, ``authorizationEventObject`` and ``calendar`` (SPEC.md §3).
Not documented: the exact body of an onCreateFunction or calendarNotificationTrigger call over
HTTP. Every field is therefore optional here; callers decide which are essential. This module
is the only place that knows the field names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


@dataclass(frozen=True)
class EventObject:
    calendar_id: str | None
    event_id: str | None
    recurring_event_id: str | None
    organizer_email: str | None
    attendees: tuple[str, ...]
    time_zone: str | None
    user_oauth_token: str | None
    user_id_token: str | None
    authorized_scopes: tuple[str, ...] | None
    conference_data: Mapping[str, Any] | None
    # ``commonEventObject.parameters``: what the clicked card button carried (string map).
    parameters: Mapping[str, str] = field(default_factory=dict)

    @property
    def user_email(self) -> str | None:
        """Best knowledge of who acts: the organizer, else the calendar id if it is an address.

        An assumption (the HTTP request shape is undocumented); used for domain restrictions
        and to label subscriptions, never for access control.
        """
        for candidate in (self.organizer_email, self.calendar_id):
            if candidate and "@" in candidate:
                return candidate.lower()
        return None

    @property
    def user_domain(self) -> str | None:
        email = self.user_email
        return email.rsplit("@", 1)[1] if email else None

    def event_stub(self) -> dict[str, Any]:
        """What the request tells about the event, shaped like an events resource."""
        stub: dict[str, Any] = {"id": self.event_id}
        if self.organizer_email:
            stub["organizer"] = {"email": self.organizer_email}
        if self.attendees:
            stub["attendees"] = [{"email": a} for a in self.attendees]
        if self.recurring_event_id:
            stub["recurringEventId"] = self.recurring_event_id
        return stub


def parse_event_object(body: Mapping[str, Any]) -> EventObject:
    common = _map(body.get("commonEventObject"))
    auth = _map(body.get("authorizationEventObject"))
    calendar = _map(body.get("calendar"))
    attendees_raw = calendar.get("attendees")
    attendees: list[str] = []
    if isinstance(attendees_raw, list):
        for item in attendees_raw[:1000]:
            email = _str(_map(item).get("email"))
            if email:
                attendees.append(email)
    scopes_raw = auth.get("authorizedScopes")
    scopes = (
        tuple(s for s in scopes_raw if isinstance(s, str)) if isinstance(scopes_raw, list) else None
    )
    conference = calendar.get("conferenceData")
    raw_params = _map(common.get("parameters"))
    parameters = {
        k: v for k, v in list(raw_params.items())[:50] if isinstance(k, str) and isinstance(v, str)
    }
    return EventObject(
        calendar_id=_str(calendar.get("calendarId")),
        event_id=_str(calendar.get("id")),
        recurring_event_id=_str(calendar.get("recurringEventId")),
        organizer_email=_str(_map(calendar.get("organizer")).get("email")),
        attendees=tuple(attendees),
        time_zone=_str(_map(common.get("timeZone")).get("id")),
        user_oauth_token=_str(auth.get("userOAuthToken")),
        user_id_token=_str(auth.get("userIdToken")),
        authorized_scopes=scopes,
        conference_data=conference if isinstance(conference, Mapping) else None,
        parameters=parameters,
    )
