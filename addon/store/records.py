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
* **pending change** — an event change that could not be applied yet (provider down, Calendar
  overloaded); it is stored with the action it stands for and replayed on the next sync of its
  calendar, so the sync token may advance safely.
* **parked** — a pending change that kept failing for a reason retrying cannot fix (Calendar
  or the vendor refused it) or that needs a person (a copy in a calendar the subscriber cannot
  edit): it is shown as *needs attention* with its reason and no longer retried, until its
  event changes again.
* **generation** — how many meetings were created for one event before this one: it is part
  of the creation's idempotency key, so a replay after a crash reuses the key and a genuinely
  new creation (the conference was removed and picked again) never does.
* **join digest** — a short digest of a meeting's join data (entry points). The record keeps
  the digest of the join data the event is known to carry; when the meeting's own digest
  differs, the event is owed a write-back.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from addon.conference_data import join_digest
from addon.providers.base import EntryPoint, Meeting

# "retired": the event ended more than the look-back ago; no more provider work is due, and
# a 410 reconcile no longer reads it. A later change of the event revives it.
ConferenceState = Literal["active", "deleted", "retired"]
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

    def is_older_than(self, other: EventSnapshot) -> bool:
        """True when this snapshot was read from an event version older than ``other``'s.

        Calendar's ``updated`` is an RFC 3339 time of the last change; versions whose times
        are unknown or equal are not ordered (the caller compares the fields instead).
        """
        mine, theirs = parse_moment(self.updated), parse_moment(other.updated)
        return mine is not None and theirs is not None and mine < theirs

    def last_end(self) -> datetime | None:
        """When the event's last occurrence ends, if that is known (None: open-ended)."""
        end = parse_moment((self.end or {}).get("dateTime")) or _day((self.end or {}).get("date"))
        if end is None or not self.recurrence:
            return end
        start = parse_moment((self.start or {}).get("dateTime")) or _day(
            (self.start or {}).get("date")
        )
        return _series_last_end(self.recurrence, start, end)

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


def parse_moment(value: Any) -> datetime | None:
    """An RFC 3339 time as Calendar writes it (``updated``, ``dateTime``); None if it is not one.
    Times without an offset are read as UTC."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _day(value: Any) -> datetime | None:
    # An all-day event's day in an unknown zone: the latest zone on Earth is UTC+14.
    moment = parse_moment(f"{value}T00:00:00+00:00") if isinstance(value, str) else None
    return moment + timedelta(hours=14) if moment else None


_PERIOD_DAYS = {"DAILY": 1, "WEEKLY": 7, "MONTHLY": 31, "YEARLY": 366}


def _series_last_end(
    recurrence: tuple[str, ...], start: datetime | None, end: datetime
) -> datetime | None:
    """An upper bound of a series' last end from its RRULEs (UNTIL or COUNT x INTERVAL x
    FREQ); None when any rule is unbounded or unreadable. An upper bound errs on the safe
    side: the record retires later, never while an occurrence is still ahead."""
    duration = end - start if start is not None else timedelta(0)
    latest: datetime | None = None
    for line in recurrence:
        if not line.upper().startswith("RRULE"):
            continue
        parts = dict(
            item.split("=", 1) for item in line.split(":", 1)[-1].upper().split(";") if "=" in item
        )
        if "UNTIL" in parts:
            raw = parts["UNTIL"]
            text = raw if "T" in raw else raw + "T235959Z"
            try:
                until = datetime.strptime(text.rstrip("Z"), "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
            except ValueError:
                return None
            bound = until + duration + timedelta(hours=14)
        elif "COUNT" in parts and parts.get("FREQ") in _PERIOD_DAYS and start is not None:
            try:
                count, interval = int(parts["COUNT"]), int(parts.get("INTERVAL", "1"))
            except ValueError:
                return None
            bound = end + timedelta(days=_PERIOD_DAYS[parts["FREQ"]] * interval * count)
        else:
            return None
        latest = bound if latest is None else max(latest, bound)
    return latest or end


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
    # See the module docstring: the creation's generation, and the digest of the join data the
    # event is known to carry (None: not known to carry this meeting's data yet).
    generation: int = 0
    written_digest: str | None = None
    # Bumped by the store on every write; a sync's write is refused when the record changed
    # since the sync read it (a creation replaced it meanwhile).
    version: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None
    # The verified Google user (``sub``) who picked the solution: a vendor that acts as one
    # user (a linked account, ``addon.linking``) is called as this user's account. None on
    # records written before owners were kept, and when nobody was verified.
    owner_id: str | None = None

    def with_(self, **changes: Any) -> Conference:
        return replace(self, **changes)

    @property
    def live(self) -> bool:
        """The meeting exists on the vendor's side (an ended event's meeting included)."""
        return self.state != "deleted"

    @property
    def owes_write_back(self) -> bool:
        """The meeting's join data is not (known to be) on the event yet."""
        return self.confirmed and self.written_digest != join_digest(self.meeting)

    @classmethod
    def new(
        cls,
        calendar_id: str,
        event_id: str,
        solution_id: str,
        meeting: Meeting,
        event: Mapping[str, Any],
        origin: ConferenceOrigin = "create",
        generation: int = 0,
        owner_id: str | None = None,
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
            generation=generation,
            owner_id=owner_id,
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
    parked_count: int = 0
    # Work left behind (pending changes, a run stopped by a retryable Calendar error) is
    # retried at ``retry_at``; ``retry_count`` consecutive runs left work so far (backoff).
    retry_count: int = 0
    retry_at: datetime | None = None
    # Why the calendar cannot sync until a person acts (the user's token was refused, the
    # subscriber lost access), or None.
    attention: str | None = None
    # The syncing user's access role as the last listing reported it (writer, owner, reader).
    access_role: str | None = None
    due: bool = False
    last_sync_at: datetime | None = None
    last_result: Mapping[str, Any] = field(default_factory=dict)
    # A listing cut into time slices stands here between tasks (None: no listing under way).
    cursor: ListCursor | None = None
    # The verified Google user (``sub`` and email of a verified ID token, never event data)
    # whose stored credentials sync this calendar when no trigger brought a token.
    sync_user_id: str | None = None
    sync_user_email: str | None = None
    # The push channel currently watching the calendar (None: none).
    channel_id: str | None = None
    # When the calendar is next synced without any notification (the periodic reconcile).
    next_check_at: datetime | None = None
    # What the last task read Calendar with ("trigger token", "domain-wide delegation",
    # "offline consent"), for the people looking at the sync state.
    access: str | None = None

    def with_(self, **changes: Any) -> CalendarState:
        return replace(self, **changes)


ListingMode = Literal["incremental", "full"]


@dataclass(frozen=True)
class ListCursor:
    """Where a listing cut into time slices stands, stored with the calendar between tasks.

    ``base_token``: the sync token an incremental listing started from (a continuation whose
    page token expired restarts from it). ``time_min``: the window a full listing started with
    (its page tokens are only good with the same parameters). ``page_token``: the next page to
    read. ``next_sync_token``: a full listing is done and its reconcile remains, resumed after
    the event id ``reconciled_after``. ``seen_chunks``: how many ``SeenAlive`` chunks of this
    ``run_id`` hold the ids the full listing showed alive (what reconcile skips).
    """

    mode: ListingMode
    run_id: str
    base_token: str | None = None
    time_min: str | None = None
    page_token: str | None = None
    next_sync_token: str | None = None
    reconciled_after: str | None = None
    seen_chunks: int = 0
    slices: int = 0

    @property
    def reconciling(self) -> bool:
        return self.mode == "full" and self.next_sync_token is not None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ListCursor:
        mode = raw.get("mode")
        return cls(
            mode="full" if mode == "full" else "incremental",
            run_id=str(raw.get("run_id") or ""),
            base_token=_str(raw.get("base_token")),
            time_min=_str(raw.get("time_min")),
            page_token=_str(raw.get("page_token")),
            next_sync_token=_str(raw.get("next_sync_token")),
            reconciled_after=_str(raw.get("reconciled_after")),
            seen_chunks=int(raw.get("seen_chunks") or 0),
            slices=int(raw.get("slices") or 0),
        )


PendingKind = Literal["retry", "permanent", "attention"]


@dataclass(frozen=True)
class PendingChange:
    """An event change not applied yet; ``event`` is the resource as last listed.

    ``action`` names what it stands for (``UpdateMeeting``, ``WriteBack``...) and
    ``meeting_id`` its target. ``kind``: ``retry`` (the vendor or Calendar was unavailable:
    replayed until it succeeds), ``permanent`` (refused: replayed a few times, then parked),
    ``attention`` (nothing to retry: a person must act; parked at once).
    """

    calendar_id: str
    event_id: str
    event: Mapping[str, Any]
    action: str = ""
    meeting_id: str | None = None
    kind: PendingKind = "retry"
    attempts: int = 0
    last_error: str | None = None
    parked: bool = False
    # The solution the change waits for (it was not configured): replayed once it is again.
    needs_solution: str | None = None
    # The linked account the change waits for (``"<solution id>:<Google user id>"``: the
    # meeting's owner must link again): replayed once that link works again.
    needs_link: str | None = None
    first_failed_at: datetime | None = None
    updated_at: datetime | None = None
