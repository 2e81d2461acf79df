"""The calendar column: events, their instances and exceptions, each with the conference it
carries, the meeting the vendor holds for it and the add-on's record of it; copies next to
their originals and invitations with their organizer (``relations``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from addon.store.records import Conference
from localrun.console.relations import (
    carried_solution,
    copy_source,
    link_copies,
    order_cards,
    organizer_of,
    own_response,
)
from localrun.console.text import event_time, recurrence_text, when

# Who holds the meeting of a conference whose solution names no fake vendor.
SERVER = "the conferencing server"


@dataclass
class MeetingView:
    id: str
    title: str | None
    when: str
    attendees: list[str]
    occurrences: list[str]
    updates: int | None  # None: the vendor cannot tell (BigBlueButton)
    deleted: bool
    status: str = ""  # the badge: "meeting live", "meeting deleted", "ended", …


@dataclass
class ConferenceView:
    conference_id: str
    solution: str
    solution_id: str | None  # the add-on's solution id, when the record or event names it
    join_url: str | None
    phone: str | None
    pin: str | None
    more_url: str | None
    meeting: MeetingView | None
    record: str | None  # the add-on's Datastore record, summarised
    shared_with: list[str] = field(default_factory=list)
    vendor: str = SERVER  # who holds the meeting: "On Zoom"
    absent: str = "unknown"  # the badge when the vendor holds no meeting for it


@dataclass
class InstanceView:
    id: str
    when: str
    status: str  # scheduled | moved | cancelled
    summary: str | None


@dataclass
class EventView:
    id: str
    summary: str
    when: str
    sort_key: str
    cancelled: bool
    recurrence: str | None
    attendees: list[str]
    conference: ConferenceView | None
    instances: list[InstanceView] = field(default_factory=list)
    exceptions: list[EventView] = field(default_factory=list)
    # The event this one is a copy of (``relations.copy_source``), its title when it is on
    # this calendar, and the events copied from this one.
    copy_of: str | None = None
    copy_of_title: str | None = None
    copies: list[str] = field(default_factory=list)
    # An invitation: someone else organizes the event (None: this calendar does), and the
    # calendar owner's answer.
    organizer: str | None = None
    response: str | None = None
    # The solutions the event can be given or switched to (``relations.offered_solutions``).
    offers: list[dict[str, str]] = field(default_factory=list)
    # The add-on's side-panel card for this event, when it was opened (``card_view``).
    panel: Any = None

    @property
    def invitation(self) -> bool:
        return self.organizer is not None


def _time(value: Any) -> Any:
    """A Calendar-shaped time from a fake vendor's ISO string (the REST fake stores those)."""
    return {"dateTime": value} if isinstance(value, str) else value


def meeting_view(meeting: Mapping[str, Any]) -> MeetingView:
    """The REST fake's meeting, or a fake vendor's normalized by ``localrun.vendors``
    (ISO times, occurrences already short strings, its own ``status``)."""
    occurrences = []
    for occ in meeting.get("occurrences") or []:
        if isinstance(occ, str):
            occurrences.append(occ)
            continue
        if not isinstance(occ, Mapping):
            continue
        kind = "cancelled" if occ.get("cancelled") or occ.get("status") == "cancelled" else "moved"
        original = occ.get("originalStart") or occ.get("originalStartTime")
        label = when(original) if isinstance(original, Mapping) else str(occ.get("eventId", ""))
        if kind == "moved" and isinstance(occ.get("start"), Mapping):
            label += f" → {when(occ['start'], occ.get('end'))}"
        occurrences.append(f"{kind}: {label}")
    deleted = bool(meeting.get("deleted"))
    updates = meeting.get("updates", 0)
    return MeetingView(
        id=str(meeting.get("id")),
        title=meeting.get("title"),
        when=when(_time(meeting.get("start")), _time(meeting.get("end"))),
        attendees=list(meeting.get("attendees") or []),
        occurrences=occurrences,
        updates=None if updates is None else int(updates),
        deleted=deleted,
        status=str(meeting.get("status") or ("meeting deleted" if deleted else "meeting live")),
    )


def record_text(record: Conference | None) -> str | None:
    if record is None:
        return None
    confirmed = "confirmed" if record.confirmed else "not yet seen in a listing"
    text = f"{record.state}, {confirmed}, meeting {record.conference_id}"
    if record.origin == "copy":
        text += " (made by the sync for a copied event)"
    return text


def conference_view(
    event: Mapping[str, Any],
    meetings: Mapping[str, Mapping[str, Any]],
    records: Mapping[str, Conference],
    vendors: Mapping[str, tuple[str, str]] | None = None,
) -> ConferenceView | None:
    """``vendors``: by the add-on's solution id, the fake vendor's name and what to say when
    it holds no meeting (``localrun.vendors``); a meeting's own ``vendor`` wins."""
    data = event.get("conferenceData")
    record = records.get(str(event.get("id")))
    if not isinstance(data, Mapping) or not data.get("conferenceId"):
        if record is None:
            return None
        # Our record without conference data on the event: Calendar has not stored it yet.
        data = {"conferenceId": record.conference_id, "conferenceSolution": {}}
    conference_id = str(data["conferenceId"])
    points = {
        str(ep.get("entryPointType")): ep
        for ep in data.get("entryPoints") or []
        if isinstance(ep, Mapping)
    }
    phone = points.get("phone", {})
    solution = data.get("conferenceSolution") or {}
    meeting = meetings.get(conference_id)
    # What the event carries first; the record alone when Calendar has not stored it yet.
    solution_id = carried_solution(event) or (record.solution_id if record else None)
    vendor, absent = (vendors or {}).get(solution_id or "", (SERVER, "unknown"))
    return ConferenceView(
        conference_id=conference_id,
        solution=str(solution.get("name") or solution.get("key", {}).get("type") or "conference"),
        solution_id=solution_id,
        join_url=points.get("video", {}).get("uri"),
        phone=phone.get("label") or phone.get("uri"),
        pin=phone.get("pin"),
        more_url=points.get("more", {}).get("uri"),
        meeting=meeting_view(meeting) if meeting is not None else None,
        record=record_text(record),
        vendor=str((meeting or {}).get("vendor") or vendor),
        absent=absent,
    )


def instance_view(instance: Mapping[str, Any]) -> InstanceView:
    if instance.get("status") == "cancelled":
        status = "cancelled"
    elif instance.get("originalStartTime") and instance.get("start") != instance.get(
        "originalStartTime"
    ):
        status = "moved"
    else:
        status = "scheduled"
    start = instance.get("start") or instance.get("originalStartTime")
    return InstanceView(
        id=str(instance.get("id")),
        when=when(start, instance.get("end") if status != "cancelled" else None),
        status=status,
        summary=instance.get("summary"),
    )


def event_views(
    events: Iterable[Mapping[str, Any]],
    meetings: Mapping[str, Mapping[str, Any]],
    records: Mapping[str, Conference],
    instances: Mapping[str, list[dict[str, Any]]],
    vendors: Mapping[str, tuple[str, str]] | None = None,
) -> list[EventView]:
    """One card per event or series (its changed occurrences nested), upcoming first,
    deleted ones last, each copy right after its original."""
    cards: dict[str, EventView] = {}
    exceptions: list[tuple[str, EventView]] = []
    for event in events:
        view = EventView(
            id=str(event.get("id")),
            summary=str(event.get("summary") or "(no title)"),
            when=when(event.get("start"), event.get("end")),
            sort_key=str(event_time(event.get("start")) or datetime.max.replace(tzinfo=UTC)),
            cancelled=event.get("status") == "cancelled",
            recurrence=recurrence_text(event.get("recurrence")),
            attendees=[
                str(a.get("email")) for a in event.get("attendees") or [] if isinstance(a, Mapping)
            ],
            conference=conference_view(event, meetings, records, vendors),
            instances=[instance_view(i) for i in instances.get(str(event.get("id")), [])],
            copy_of=copy_source(event),
            organizer=organizer_of(event),
            response=own_response(event) if organizer_of(event) else None,
        )
        parent = event.get("recurringEventId")
        if isinstance(parent, str):
            exceptions.append((parent, view))
        else:
            cards[view.id] = view
    for parent, view in exceptions:
        if parent in cards:
            cards[parent].exceptions.append(view)
    # Two live events pointing at one meeting: the copied-event failure mode, made visible.
    owners: dict[str, list[str]] = {}
    for card in cards.values():
        if card.conference and not card.cancelled:
            owners.setdefault(card.conference.conference_id, []).append(card.id)
    for card in cards.values():
        if card.conference and not card.cancelled:
            others = owners[card.conference.conference_id]
            card.conference.shared_with = [o for o in others if o != card.id]
    link_copies(cards.values())
    return order_cards(cards.values())
