"""Records <-> Datastore entity properties (the only place that knows property names).

Large JSON blobs are stored unindexed; only properties that are queried are indexed
(``conference_id``, ``due``). Properties added later are read with defaults, so entities
written by an older version of the service keep loading.
"""

from __future__ import annotations

import json
from typing import Any

from addon.conference_data import join_digest
from addon.store.records import (
    CalendarState,
    Conference,
    EventSnapshot,
    ListCursor,
    PendingChange,
    meeting_from_dict,
    meeting_to_dict,
)

CALENDAR = "Calendar"
CONFERENCE = "Conference"
PENDING = "Pending"
SYNC_RUN = "SyncRun"
# Ids a full listing cut into slices showed alive, in chunks (child of the Calendar entity).
SEEN_ALIVE = "SeenAlive"
# Present (as the calendar's child, key name "due") exactly while the calendar is due: the
# due calendars are then a kind query over these markers only, whose cost follows the due
# calendars, not the subscribed ones (on the emulator too, which scans a kind's entities).
DUE_MARKER = "DueMarker"

CALENDAR_UNINDEXED = (
    "last_result",
    "sync_token",
    "subscribed_by",
    "lease_owner",
    "attention",
    "access_role",
    "cursor",
    "sync_user_email",
    "channel_id",
    "access",
)
# Only what a query filters on is indexed (conference_id, state, confirmed, created_at): every
# indexed property costs index writes on each of the sync's record writes.
CONFERENCE_UNINDEXED = (
    "meeting",
    "snapshot",
    "occurrences",
    "written_digest",
    "solution_id",
    "origin",
    "generation",
    "version",
    "updated_at",
    "owner_id",
)
PENDING_UNINDEXED = ("event", "last_error", "action", "meeting_id", "needs_solution", "needs_link")


def key_name(key: Any) -> Any:
    """The last path element's name (or id) of a Datastore key. ``Key.flat_path`` is a stored
    tuple; ``Key.name``, ``Key.kind`` and ``Key.parent`` deep-copy the whole path on every use
    (a measurable share of a sync that reads thousands of records)."""
    return key.flat_path[-1]


def key_kind(key: Any) -> str:
    return str(key.flat_path[-2])


def parent_name(key: Any) -> Any:
    """The name of the key's parent (a record's calendar id)."""
    return key.flat_path[-3]


def calendar_to_props(s: CalendarState) -> dict[str, Any]:
    return {
        "subscribed": s.subscribed,
        "subscribed_by": s.subscribed_by,
        "sync_token": s.sync_token,
        "token_generation": s.token_generation,
        "token_stored_at": s.token_stored_at,
        "needs_full_sync": s.needs_full_sync,
        "lease_owner": s.lease_owner,
        "lease_expires": s.lease_expires,
        "dirty": s.dirty,
        "pending_count": s.pending_count,
        "parked_count": s.parked_count,
        "retry_count": s.retry_count,
        "retry_at": s.retry_at,
        "attention": s.attention,
        "access_role": s.access_role,
        "due": s.due,
        "last_sync_at": s.last_sync_at,
        "last_result": json.dumps(dict(s.last_result), default=str),
        "cursor": json.dumps(s.cursor.to_dict()) if s.cursor else None,
        # Indexed: the calendars of a user (consent given or revoked), the periodic checks due.
        "sync_user_id": s.sync_user_id,
        "sync_user_email": s.sync_user_email,
        "channel_id": s.channel_id,
        "next_check_at": s.next_check_at,
        "access": s.access,
    }


def calendar_from_entity(calendar_id: str, e: Any) -> CalendarState:
    return CalendarState(
        calendar_id=calendar_id,
        subscribed=bool(e.get("subscribed", False)),
        subscribed_by=e.get("subscribed_by"),
        sync_token=e.get("sync_token"),
        token_generation=int(e.get("token_generation", 0)),
        token_stored_at=e.get("token_stored_at"),
        needs_full_sync=bool(e.get("needs_full_sync", False)),
        lease_owner=e.get("lease_owner"),
        lease_expires=e.get("lease_expires"),
        dirty=bool(e.get("dirty", False)),
        pending_count=int(e.get("pending_count", 0)),
        parked_count=int(e.get("parked_count", 0)),
        retry_count=int(e.get("retry_count", 0)),
        retry_at=e.get("retry_at"),
        attention=e.get("attention"),
        access_role=e.get("access_role"),
        due=bool(e.get("due", False)),
        last_sync_at=e.get("last_sync_at"),
        last_result=json.loads(e.get("last_result") or "{}"),
        cursor=ListCursor.from_dict(json.loads(e["cursor"])) if e.get("cursor") else None,
        sync_user_id=e.get("sync_user_id"),
        sync_user_email=e.get("sync_user_email"),
        channel_id=e.get("channel_id"),
        next_check_at=e.get("next_check_at"),
        access=e.get("access"),
    )


def conference_to_props(c: Conference) -> dict[str, Any]:
    return {
        "conference_id": c.conference_id,
        "solution_id": c.solution_id,
        "state": c.state,
        "confirmed": c.confirmed,
        "meeting": json.dumps(meeting_to_dict(c.meeting)),
        "snapshot": json.dumps(c.snapshot.to_dict()),
        "occurrences": json.dumps(dict(c.occurrences)),
        "origin": c.origin,
        "generation": c.generation,
        "written_digest": c.written_digest,
        "version": c.version,
        "created_at": c.created_at,
        "updated_at": c.updated_at,
        "owner_id": c.owner_id,
    }


def conference_from_entity(e: Any) -> Conference:
    meeting = meeting_from_dict(json.loads(e["meeting"]))
    confirmed = bool(e.get("confirmed", False))
    written = e.get("written_digest")
    if written is None and confirmed and "version" not in e:
        # Written before join digests existed: a confirmed event carries what we stored.
        written = join_digest(meeting)
    return Conference(
        calendar_id=parent_name(e.key),
        event_id=key_name(e.key),
        solution_id=e["solution_id"],
        conference_id=e["conference_id"],
        meeting=meeting,
        snapshot=EventSnapshot.from_dict(json.loads(e["snapshot"])),
        state=e.get("state", "active"),
        confirmed=confirmed,
        occurrences=json.loads(e.get("occurrences") or "{}"),
        origin=e.get("origin", "create"),
        generation=int(e.get("generation", 0)),
        written_digest=written,
        version=int(e.get("version", 0)),
        created_at=e.get("created_at"),
        updated_at=e.get("updated_at"),
        owner_id=e.get("owner_id"),
    )


def pending_to_props(p: PendingChange) -> dict[str, Any]:
    return {
        "event": json.dumps(dict(p.event)),
        "action": p.action,
        "meeting_id": p.meeting_id,
        "kind": p.kind,
        "attempts": p.attempts,
        "last_error": p.last_error,
        "parked": p.parked,
        "needs_solution": p.needs_solution,
        "needs_link": p.needs_link,
        "first_failed_at": p.first_failed_at,
        "updated_at": p.updated_at,
    }


def pending_from_entity(calendar_id: str, e: Any) -> PendingChange:
    return PendingChange(
        calendar_id=calendar_id,
        event_id=key_name(e.key),
        event=json.loads(e["event"]),
        action=e.get("action") or "",
        meeting_id=e.get("meeting_id"),
        kind=e.get("kind") or "retry",
        attempts=int(e.get("attempts", 0)),
        last_error=e.get("last_error"),
        parked=bool(e.get("parked", False)),
        needs_solution=e.get("needs_solution"),
        needs_link=e.get("needs_link"),
        first_failed_at=e.get("first_failed_at"),
        updated_at=e.get("updated_at"),
    )
