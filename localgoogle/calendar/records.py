"""The Calendar emulator's stored data: calendars and event records (plain data, no logic)."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

ROLES = ("reader", "writer", "owner")
# Fields an API client may write; read-only and server-managed ones are dropped silently
# like Google does.
WRITABLE_FIELDS = frozenset(
    {
        "anyoneCanAddSelf", "attachments", "attendees", "attendeesOmitted", "birthdayProperties",
        "colorId", "description", "end", "endTimeUnspecified", "eventType",
        "extendedProperties", "focusTimeProperties", "gadget", "guestsCanInviteOthers",
        "guestsCanModify", "guestsCanSeeOtherGuests", "location", "outOfOfficeProperties",
        "recurrence", "reminders", "source", "start", "status", "summary", "transparency",
        "visibility", "workingLocationProperties",
    }
)  # fmt: skip
TIME_FIELDS = ("start", "end", "recurrence")
# (calendar id, event id) of committed changes, for listeners and push notifications.
Changes = list[tuple[str, str]]
# How far ahead a recurring series is expanded when a listing gives no timeMax.
HORIZON = timedelta(days=730)


def new_event_id() -> str:
    return base64.b32hexencode(uuid.uuid4().bytes).decode().lower().rstrip("=")


@dataclass
class EventRecord:
    resource: dict[str, Any]  # replaced on every write, never mutated: safe to hand out
    seq: int
    ordinal: int
    start_utc: datetime
    end_utc: datetime


@dataclass
class CalendarData:
    id: str
    owner: str
    summary: str
    time_zone: str
    description: str = ""
    acl: dict[str, str] = field(default_factory=dict)
    events: dict[str, EventRecord] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)  # event ids by ordinal (creation order)
    seq: int = 0
    epoch: int = 0
    log_seqs: list[int] = field(default_factory=list)
    log_ids: list[str] = field(default_factory=list)
    updated: str = ""
    etag: str = ""
    # Invitations the calendar's user deleted: the organizer's changes no longer reach them.
    left: set[str] = field(default_factory=set)
