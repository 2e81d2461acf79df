"""Decide what to do about changed events, from data only (no I/O).

``plan_event(event, records, owners)`` returns the actions one changed event calls for:

* the event is cancelled/deleted and owns a live meeting    -> ``DeleteMeeting``
* a field that matters to the meeting changed               -> ``UpdateMeeting``
* nothing that matters changed (RSVP, colour, our own echo) -> nothing (or ``Confirm`` once)
* one occurrence of our recurring series moved or cancelled -> ``ChangeOccurrence``
  (never a delete of the series' meeting)
* the event carries a conference owned by another event (the user copied it)
                                                            -> ``CreateForCopy``
* our record exists but the event shows another of our conferences (a write-back did not land)
                                                            -> ``WriteBack``
* the user removed our conference from the event            -> ``DeleteMeeting``

``records`` maps event id -> our conference record for this calendar (so a tombstone that
carries only ``id`` is still recognised); ``owners`` maps conference id -> the record owning
it, for conference ids found on events we hold no record of.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from addon.conference_data import carried_conference
from addon.store.records import Conference, EventSnapshot


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


@dataclass(frozen=True)
class ChangeOccurrence:
    series: Conference
    event: Mapping[str, Any]
    fingerprint: str
    cancelled: bool


@dataclass(frozen=True)
class CreateForCopy:
    event: Mapping[str, Any]
    source: Conference | None
    solution_id: str


@dataclass(frozen=True)
class WriteBack:
    conference: Conference
    event: Mapping[str, Any]


Action = DeleteMeeting | UpdateMeeting | Confirm | ChangeOccurrence | CreateForCopy | WriteBack


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
    solution_ids: frozenset[str],
) -> list[Action]:
    event_id = event.get("id")
    if not isinstance(event_id, str) or not event_id:
        return []
    series_id = event.get("recurringEventId")
    if isinstance(series_id, str) and series_id and series_id != event_id:
        series = records.get(series_id)
        if series is not None and event_id not in records:
            if series.state != "active":
                return []
            fingerprint = occurrence_fingerprint(event)
            if series.occurrences.get(event_id) == fingerprint:
                return []
            return [ChangeOccurrence(series, event, fingerprint, is_cancelled(event))]

    record = records.get(event_id)
    carried = None if is_cancelled(event) else carried_conference(event)
    if record is not None and record.state == "active":
        return _plan_owned(event, record, carried, owners)
    if record is not None or carried is None:
        # A deleted record's event, or an event that carries no add-on conference.
        return []
    owner = owners.get(carried.conference_id)
    solution_id = carried.solution_id or (owner.solution_id if owner else None)
    if solution_id not in solution_ids:
        return []  # another add-on's conference, or a solution we no longer offer
    copied = (owner is not None and owner.event_id != event_id) or (
        owner is None and carried.owner_event_id not in (None, event_id)
    )
    if copied:
        return [CreateForCopy(event, owner, str(solution_id))]
    return []


def _plan_owned(
    event: Mapping[str, Any],
    record: Conference,
    carried: Any,
    owners: Mapping[str, Conference],
) -> list[Action]:
    if is_cancelled(event):
        return [DeleteMeeting(record, event, "event cancelled or deleted")]
    snapshot = EventSnapshot.from_event(event)
    if carried is None or carried.conference_id != record.conference_id:
        foreign = carried is None or (
            carried.conference_id not in owners and carried.owner_event_id is None
        )
        # An unconfirmed record of onCreate may simply not be on the event yet; a copy's
        # record is made from an event that carried a conference, so losing it is removal.
        if foreign and (record.confirmed or record.origin == "copy"):
            return [DeleteMeeting(record, event, "conference removed from the event")]
        if carried is not None and not foreign:
            # The event still shows the conference it was copied from: our write-back of its
            # own meeting never landed (crash, 412 retries exhausted). Do it again.
            return [WriteBack(record, event)]
    actions: list[Action] = []
    if snapshot.meeting_fields() != record.snapshot.meeting_fields():
        actions.append(UpdateMeeting(record, event, snapshot))
    elif not record.confirmed and carried is not None:
        actions.append(Confirm(record, snapshot))
    return actions


def plan(
    events: list[Mapping[str, Any]],
    records: Mapping[str, Conference],
    owners: Mapping[str, Conference],
    solution_ids: frozenset[str],
) -> list[Action]:
    """Actions for a batch of changed events, in listing order."""
    out: list[Action] = []
    for event in events:
        out.extend(plan_event(event, records, owners, solution_ids))
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
