"""The records the add-on keeps, as plain data (no Datastore types here).

Vocabulary used across the code base:

* **conference** — our record tying one Calendar event (calendar id + event id) to one
  meeting on a conferencing system. ``conference_id`` is what Calendar stores on the event.
* **snapshot** — the event fields that matter to a meeting (start, end, time zone, summary,
  attendees, recurrence) plus the etag/updated they were read at. A conference's snapshot is
  what the provider was last told; comparing it with a fresh event decides whether the
  meeting needs an update.
* **sync token** — Calendar's ``nextSyncToken``: where the next incremental listing resumes.
* **subscription** — the calendar is known to us and receives change triggers.
* **lease** — the right, held by one process for a bounded time, to sync one calendar.
* **pending change** — an event change that could not be applied yet (provider down); it is
  stored and replayed on the next sync of its calendar, so the sync token may advance safely.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from addon.providers.base import EntryPoint, Meeting

ConferenceState = Literal["active", "deleted"]
# "create": onCreateFunction made it; "copy": the sync made it for a copied event.
ConferenceOrigin = Literal["create", "copy"]


def _get(obj: Any, *path: str) -> Any:
    """Null-safe nested read: any missing or non-dict level gives None."""
    for key in path:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)
    return obj


def _time_obj(value: Any) -> dict[str, str] | None:
    if not isinstance(value, Mapping):
        return None
    out = {k: str(value[k]) for k in ("date", "dateTime", "timeZone") if value.get(k)}
    return out or None


@dataclass(frozen=True)
class EventSnapshot:
    start: Mapping[str, str] | None = None
    end: Mapping[str, str] | None = None
    time_zone: str | None = None
    summary: str | None = None
    attendees: tuple[str, ...] = ()
    recurrence: tuple[str, ...] = ()
    etag: str | None = None
    updated: str | None = None

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> EventSnapshot:
        """Read an events resource defensively: any field may be absent or malformed."""
        attendees_raw = event.get("attendees")
        attendees: list[str] = []
        if isinstance(attendees_raw, list):
            for a in attendees_raw:
                email = _get(a, "email")
                # Resources (rooms) are not people who join the meeting.
                if isinstance(email, str) and not _get(a, "resource"):
                    attendees.append(email.lower())
        recurrence_raw = event.get("recurrence")
        recurrence = (
            tuple(r for r in recurrence_raw if isinstance(r, str))
            if isinstance(recurrence_raw, list)
            else ()
        )
        summary = event.get("summary")
        start = _time_obj(event.get("start"))
        return cls(
            start=start,
            end=_time_obj(event.get("end")),
            time_zone=(start or {}).get("timeZone") or _str(_get(event, "start", "timeZone")),
            summary=summary if isinstance(summary, str) else None,
            attendees=tuple(sorted(set(attendees))),
            recurrence=recurrence,
            etag=_str(event.get("etag")),
            updated=_str(event.get("updated")),
        )

    def meeting_fields(self) -> tuple[Any, ...]:
        """What a meeting depends on; etag/updated are deliberately left out."""
        return (
            tuple(sorted((self.start or {}).items())),
            tuple(sorted((self.end or {}).items())),
            self.time_zone,
            self.summary,
            self.attendees,
            self.recurrence,
        )

    def fingerprint(self) -> str:
        """Short stable digest of ``meeting_fields`` (used in idempotency keys)."""
        raw = json.dumps(self.meeting_fields(), sort_keys=True, default=list)
        return hashlib.sha256(raw.encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": dict(self.start) if self.start else None,
            "end": dict(self.end) if self.end else None,
            "timeZone": self.time_zone,
            "summary": self.summary,
            "attendees": list(self.attendees),
            "recurrence": list(self.recurrence),
            "etag": self.etag,
            "updated": self.updated,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> EventSnapshot:
        return cls(
            start=raw.get("start"),
            end=raw.get("end"),
            time_zone=raw.get("timeZone"),
            summary=raw.get("summary"),
            attendees=tuple(raw.get("attendees") or ()),
            recurrence=tuple(raw.get("recurrence") or ()),
            etag=raw.get("etag"),
            updated=raw.get("updated"),
        )


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def meeting_to_dict(meeting: Meeting) -> dict[str, Any]:
    return {
        "meetingId": meeting.meeting_id,
        "note": meeting.note,
        "data": dict(meeting.data),
        "entryPoints": [
            {k: (list(v) if isinstance(v, tuple) else v) for k, v in ep.__dict__.items()}
            for ep in meeting.entry_points
        ],
    }


def meeting_from_dict(raw: Mapping[str, Any]) -> Meeting:
    eps = []
    for ep in raw.get("entryPoints") or ():
        values = dict(ep)
        values["features"] = tuple(values.get("features") or ())
        eps.append(EntryPoint(**values))
    return Meeting(
        meeting_id=str(raw["meetingId"]),
        entry_points=tuple(eps),
        note=raw.get("note"),
        data=dict(raw.get("data") or {}),
    )


@dataclass(frozen=True)
class Conference:
    """One event's meeting. ``confirmed`` turns true once a listing showed the event carrying
    our conference id: before that, an event without conference data is simply one Calendar
    has not updated yet (onCreateFunction answers before Calendar writes the event)."""

    calendar_id: str
    event_id: str
    solution_id: str
    conference_id: str
    meeting: Meeting
    snapshot: EventSnapshot
    state: ConferenceState = "active"
    confirmed: bool = False
    # occurrence event id -> fingerprint of the occurrence change last applied
    occurrences: Mapping[str, str] = field(default_factory=dict)
    origin: ConferenceOrigin = "create"
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def with_(self, **changes: Any) -> Conference:
        return replace(self, **changes)

    @classmethod
    def new(
        cls,
        calendar_id: str,
        event_id: str,
        solution_id: str,
        meeting: Meeting,
        event: Mapping[str, Any],
        origin: ConferenceOrigin = "create",
    ) -> Conference:
        """A fresh record for a meeting just created for ``event`` (not yet confirmed)."""
        return cls(
            calendar_id=calendar_id,
            event_id=event_id,
            solution_id=solution_id,
            conference_id=meeting.meeting_id,
            meeting=meeting,
            snapshot=EventSnapshot.from_event(event),
            origin=origin,
        )  # fmt: skip


@dataclass(frozen=True)
class CalendarState:
    """Per-calendar sync state. ``token_generation`` grows by one on every stored token so a
    late writer can be refused (the token never goes backwards)."""

    calendar_id: str
    subscribed: bool = False
    subscribed_by: str | None = None
    sync_token: str | None = None
    token_generation: int = 0
    token_stored_at: datetime | None = None
    needs_full_sync: bool = False
    lease_owner: str | None = None
    lease_expires: datetime | None = None
    dirty: bool = False
    pending_count: int = 0
    due: bool = False
    last_sync_at: datetime | None = None
    last_result: Mapping[str, Any] = field(default_factory=dict)

    def with_(self, **changes: Any) -> CalendarState:
        return replace(self, **changes)


@dataclass(frozen=True)
class PendingChange:
    """An event change not applied yet; ``event`` is the resource as last listed."""

    calendar_id: str
    event_id: str
    event: Mapping[str, Any]
    attempts: int = 0
    last_error: str | None = None
    updated_at: datetime | None = None
