"""Decide what to do about changed events, from data only (no I/O).

``plan_event(event, records, owners, context)`` returns the actions one changed event calls
for:

* the event is cancelled/deleted and owns a live meeting    -> ``DeleteMeeting``
* a field that matters to the meeting changed               -> ``UpdateMeeting``
* nothing that matters changed (RSVP, colour, our own echo) -> nothing (or ``Confirm`` once)
* one occurrence of our recurring series moved or cancelled -> ``ChangeOccurrence``
  (never a delete of the series' meeting)
* the event carries a conference owned by another event (the user copied it)
                                                            -> ``CreateForCopy``
* the event carries a meeting we already deleted (the event was restored, or the conference
  re-added while we deleted it)                             -> ``CreateForCopy`` (a new one)
* the event shows stale join data: a write-back did not land, or the meeting's join data
  changed (a join token bound to the event's time)          -> ``WriteBack``
* the user removed our conference from the event            -> ``DeleteMeeting``
* something we may not or cannot do (the syncing user cannot edit the event; its solution is
  no longer configured)                                     -> ``Skip`` with the reason

``records`` maps event id -> our conference record for this calendar (so a tombstone that
carries only ``id`` is still recognised); ``owners`` maps conference id -> the record owning
it, for conference ids found on events we hold no record of. ``PlanContext`` says which
calendar this is, which solutions are configured, and whether the syncing user may edit it.

Only the **organizer's copy** of an event may carry new conference data (Calendar answers 403
``forbiddenForNonOrganizer`` otherwise): an invitation in a subscriber's calendar is the
organizer's to handle, so nothing is planned for it, whatever conference data it claims.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from addon.conference_data import CarriedConference, carried_conference
from addon.store.records import Conference, EventSnapshot, parse_moment
from addon.sync.keys import next_generation

WRITE_ROLES = frozenset({"writer", "owner"})


@dataclass(frozen=True)
class PlanContext:
    calendar_id: str
    solution_ids: frozenset[str]
    # The syncing user's access role (events.list's ``accessRole``); None: unknown.
    access_role: str | None = "owner"

    @property
    def can_write(self) -> bool:
        return self.access_role is None or self.access_role in WRITE_ROLES

    def organizes(self, event: Mapping[str, Any]) -> bool:
        """This calendar holds the organizer's copy of the event."""
        organizer = event.get("organizer")
        if not isinstance(organizer, Mapping):
            return True  # tombstones and stubs: nothing says otherwise
        if organizer.get("self") is True:
            return True
        email = organizer.get("email")
        return isinstance(email, str) and email.lower() == self.calendar_id.lower()

    def may_write(self, event: Mapping[str, Any]) -> bool:
        return self.can_write and self.organizes(event)


@dataclass(frozen=True)
class DeleteMeeting:
    conference: Conference
    event: Mapping[str, Any]
    why: str


@dataclass(frozen=True)
class UpdateMeeting:
    conference: Conference
    event: Mapping[str, Any]
    snapshot: EventSnapshot


@dataclass(frozen=True)
class Confirm:
    """Calendar now shows our conference on the event: remember that (no provider call)."""

    conference: Conference
    snapshot: EventSnapshot
    event: Mapping[str, Any]


@dataclass(frozen=True)
class ChangeOccurrence:
    series: Conference
    event: Mapping[str, Any]
    fingerprint: str
    cancelled: bool


@dataclass(frozen=True)
class CreateForCopy:
    """A new meeting for an event that carries one it must not share: a copy of another
    event's (``source``), or one we deleted. ``previous`` is the event's own (deleted) record,
    if any: the new meeting's generation follows it."""

    event: Mapping[str, Any]
    source: Conference | None
    solution_id: str
    previous: Conference | None = None
    why: str = "copy of another event"

    @property
    def generation(self) -> int:
        return next_generation(self.previous)


@dataclass(frozen=True)
class WriteBack:
    conference: Conference
    event: Mapping[str, Any]


@dataclass(frozen=True)
class Skip:
    """Nothing is done; ``attention`` = a person should know (shown as needing attention).
    ``needs_solution``: the change waits for that solution to be configured again (it is
    replayed by itself once it is)."""

    event: Mapping[str, Any]
    reason: str
    attention: bool = False
    meeting_id: str | None = None
    needs_solution: str | None = None


Action = (
    DeleteMeeting | UpdateMeeting | Confirm | ChangeOccurrence | CreateForCopy | WriteBack | Skip
)

READ_ONLY = "the syncing user cannot edit this calendar"
NOT_ORGANIZER = "only the organizer's calendar can change this event's conference"


def unknown_solution(solution_id: str) -> str:
    return f"solution {solution_id} is no longer configured"


def _unconfigured(event: Mapping[str, Any], solution_id: str, meeting_id: str | None) -> Skip:
    return Skip(event, unknown_solution(solution_id), True, meeting_id, solution_id)


def is_cancelled(event: Mapping[str, Any]) -> bool:
    return event.get("status") == "cancelled"


def occurrence_fingerprint(event: Mapping[str, Any]) -> str:
    """What an occurrence change tells the provider; equal fingerprints = nothing new."""
    snap = EventSnapshot.from_event(event)
    raw = json.dumps([is_cancelled(event), snap.meeting_fields()[:4]], sort_keys=True, default=list)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def plan_event(
    event: Mapping[str, Any],
    records: Mapping[str, Conference],
    owners: Mapping[str, Conference],
    context: PlanContext,
) -> list[Action]:
    event_id = event.get("id")
    if not isinstance(event_id, str) or not event_id:
        return []
    series = owning_series(event, records)
    if series is not None:
        return _plan_occurrence(event, series, context)

    record = records.get(event_id)
    carried = None if is_cancelled(event) else carried_conference(event)
    if record is not None and record.live:
        actions = _plan_owned(event, record, carried, owners, context)
        if actions and record.solution_id not in context.solution_ids:
            return [_unconfigured(event, record.solution_id, record.conference_id)]
        return actions
    if carried is None:
        return []  # a deleted record's tombstone, or an event without an add-on conference
    if record is not None and carried.conference_id == record.conference_id:
        # We deleted this meeting (the event was deleted, or its conference removed) and the
        # event carries it again: restored from the trash, or re-added meanwhile.
        return _new_meeting(
            event, None, record.solution_id, record, "carries a deleted meeting", context
        )
    owner = owners.get(carried.conference_id)
    solution_id = carried.solution_id or (owner.solution_id if owner else None)
    if solution_id is None or (solution_id not in context.solution_ids and owner is None):
        return []  # another add-on's conference, as far as anything tells
    if (owner is not None and owner.event_id != event_id) or (
        owner is None and carried.owner_event_id not in (None, event_id)
    ):
        return _new_meeting(event, owner, solution_id, record, "copy of another event", context)
    return []


def owning_series(event: Mapping[str, Any], records: Mapping[str, Conference]) -> Conference | None:
    """The series record an occurrence's changes go to: it has none of its own, and its
    series is ours."""
    event_id = event.get("id")
    series_id = event.get("recurringEventId")
    if not isinstance(series_id, str) or not series_id or series_id == event_id:
        return None
    return records.get(series_id) if event_id not in records else None


def _plan_occurrence(
    event: Mapping[str, Any], series: Conference, context: PlanContext
) -> list[Action]:
    if not series.live:
        return []
    fingerprint = occurrence_fingerprint(event)
    if series.occurrences.get(str(event.get("id"))) == fingerprint:
        return []
    if series.solution_id not in context.solution_ids:
        return [_unconfigured(event, series.solution_id, series.conference_id)]
    return [ChangeOccurrence(series, event, fingerprint, is_cancelled(event))]


def _new_meeting(
    event: Mapping[str, Any],
    source: Conference | None,
    solution_id: str,
    record: Conference | None,
    why: str,
    context: PlanContext,
) -> list[Action]:
    if not context.organizes(event):
        return []  # an invitation: the organizer's calendar owns its conference
    if solution_id not in context.solution_ids:
        return [_unconfigured(event, solution_id, None)]
    if not context.can_write:
        reason = f"{why}: it shares that meeting, and {READ_ONLY}"
        return [Skip(event, reason, attention=True)]
    return [CreateForCopy(event, source, solution_id, record, why)]


def _plan_owned(
    event: Mapping[str, Any],
    record: Conference,
    carried: CarriedConference | None,
    owners: Mapping[str, Conference],
    context: PlanContext,
) -> list[Action]:
    if is_cancelled(event):
        return [DeleteMeeting(record, event, "event cancelled or deleted")]
    snapshot = EventSnapshot.from_event(event)
    if snapshot.is_older_than(record.snapshot):
        return []  # an older version than the one applied (a late pending replay)
    if carried is None or carried.conference_id != record.conference_id:
        foreign = carried is None or (
            carried.conference_id not in owners and carried.owner_event_id is None
        )
        # An unconfirmed record of onCreate may simply not be on the event yet; a copy's
        # record is made from an event that carried a conference, so losing it is removal;
        # and a version saved after the creation that does not carry it was saved without
        # it (a listing shows only the latest version: we may never see it with ours).
        removed = record.confirmed or record.origin == "copy" or _saved_since(event, record)
        if foreign and removed:
            return [DeleteMeeting(record, event, "conference removed from the event")]
        if carried is not None and not foreign:
            # The event still shows the conference it was copied from: our write-back of its
            # own meeting never landed (crash, 412 retries exhausted, refused). Do it again.
            return [write_back(record, event, context)]
    actions: list[Action] = []
    if snapshot.meeting_fields() != record.snapshot.meeting_fields():
        actions.append(UpdateMeeting(record, event, snapshot))
    elif not record.confirmed and carried is not None:
        actions.append(Confirm(record, snapshot, event))
    elif record.owes_write_back and carried is not None:
        # The meeting's join data changed and the event does not show it yet.
        actions.append(write_back(record, event, context))
    return actions


def _saved_since(event: Mapping[str, Any], record: Conference) -> bool:
    """The event was saved after the version onCreate read (or, if it read none, after the
    record was made): Calendar had our answer when it saved this version.

    If another client saved the event between our answer and Calendar applying it, this reads
    as a removal: the meeting goes, and when the event then arrives carrying it, it gets a new
    one (a restored meeting). Clock skew between us and Google only matters without a read.
    """
    saved = EventSnapshot.from_event(event)
    if record.snapshot.updated:
        return record.snapshot.is_older_than(saved)
    created, moment = record.created_at, parse_moment(saved.updated)
    return created is not None and moment is not None and moment > created


def write_back(record: Conference, event: Mapping[str, Any], context: PlanContext) -> Action:
    """``WriteBack``, or the ``Skip`` saying why the syncing user cannot make it."""
    if context.may_write(event):
        return WriteBack(record, event)
    reason = READ_ONLY if context.organizes(event) else NOT_ORGANIZER
    return Skip(
        event,
        f"the event shows outdated conference data, and {reason}",
        attention=True,
        meeting_id=record.conference_id,
    )


def plan(
    events: list[Mapping[str, Any]],
    records: Mapping[str, Conference],
    owners: Mapping[str, Conference],
    context: PlanContext,
) -> list[Action]:
    """Actions for a batch of changed events, in listing order."""
    out: list[Action] = []
    for event in events:
        out.extend(plan_event(event, records, owners, context))
    return out


def foreign_conference_ids(
    events: list[Mapping[str, Any]], records: Mapping[str, Conference]
) -> set[str]:
    """Conference ids carried by events we hold no record of (to look up their owners)."""
    ids: set[str] = set()
    for event in events:
        event_id = event.get("id")
        carried = carried_conference(event)
        if carried is None or not isinstance(event_id, str):
            continue
        record = records.get(event_id)
        if record is None or record.conference_id != carried.conference_id:
            ids.add(carried.conference_id)
    return ids
