"""How the console's cards relate: copies and their originals, invitations and their
organizer, and which conference solutions an event can still be switched to.

A copy is known from data the copy itself carries, never from a matching title or time:

* the console's "Copy" action stamps the copy with the shared extended property
  ``consoleCopyOf`` (the original's event id). Shared, not private: Google shows shared
  properties on every attendee's copy of the event, so a guest sees the relation too;
* until the add-on gives a copy a meeting of its own, the copy still carries the original's
  conference data, whose add-on parameters name the event that owns it (``ownerEventId``,
  ``addon.conference_data``): a different id than the copy's own is a copy the console did not
  make (one made through the Calendar API). An occurrence carries its series' conference, so
  occurrences are left out of that reading.

An event is an invitation when its organizer is not the calendar it appears on: Google marks
the organizer's own copy ``organizer.self`` ("whether the organizer corresponds to the
calendar on which this copy of the event appears").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from addon.conference_data import PARAM_SOLUTION, carried_conference

if TYPE_CHECKING:
    from localrun.console.event_views import EventView

COPY_OF_PROPERTY = "consoleCopyOf"


def copy_marker(original_id: str) -> dict[str, Any]:
    """The ``extendedProperties`` the console's copy action puts on a copy."""
    return {"shared": {COPY_OF_PROPERTY: original_id}}


def copy_source(event: Mapping[str, Any]) -> str | None:
    """The id of the event ``event`` is a copy of, as far as the event tells; else None."""
    own_id = str(event.get("id") or "")
    props = event.get("extendedProperties")
    shared = props.get("shared") if isinstance(props, Mapping) else None
    marked = shared.get(COPY_OF_PROPERTY) if isinstance(shared, Mapping) else None
    if isinstance(marked, str) and marked and marked != own_id:
        return marked
    if event.get("recurringEventId"):
        return None  # an occurrence carries its series' conference: not a copy of it
    carried = carried_conference(event)
    owner = carried.owner_event_id if carried else None
    return owner if owner and owner != own_id else None


def carried_solution(event: Mapping[str, Any]) -> str | None:
    """The add-on solution id the event's conference names (its add-on parameters)."""
    carried = carried_conference(event)
    return carried.parameters.get(PARAM_SOLUTION) if carried else None


def organizer_of(event: Mapping[str, Any]) -> str | None:
    """The organizer's email when the event is an invitation (someone else organizes it)."""
    organizer = event.get("organizer")
    if not isinstance(organizer, Mapping) or organizer.get("self"):
        return None
    email = organizer.get("email")
    return str(email) if isinstance(email, str) and email else None


def own_response(event: Mapping[str, Any]) -> str | None:
    """The calendar owner's answer to an invitation (``attendees[].self``), in words."""
    for attendee in event.get("attendees") or ():
        if isinstance(attendee, Mapping) and attendee.get("self"):
            status = str(attendee.get("responseStatus") or "needsAction")
            return RESPONSES.get(status, status)
    return None


RESPONSES = {
    "needsAction": "not answered yet",
    "accepted": "accepted",
    "declined": "declined",
    "tentative": "maybe",
}


def offered_solutions(
    current: str | None, solutions: Sequence[Mapping[str, str]]
) -> list[dict[str, str]]:
    """The solutions an event with the solution ``current`` (None: none) can switch to."""
    return [dict(s) for s in solutions if s.get("id") != current]


def link_copies(cards: Iterable[EventView]) -> None:
    """Fill each original's ``copies`` and each copy's ``copy_of_title`` from ``copy_of``."""
    by_id = {card.id: card for card in cards}
    for card in by_id.values():
        original = by_id.get(card.copy_of or "")
        if original is None or original is card:
            continue
        card.copy_of_title = original.summary
        original.copies.append(card.id)


def order_cards(cards: Iterable[EventView]) -> list[EventView]:
    """Upcoming first and deleted last, each copy right after its original (when both are
    live or both deleted), copies of one original in time order."""
    ordered = sorted(cards, key=lambda c: (c.cancelled, c.sort_key, c.id))
    by_id = {card.id: card for card in ordered}
    children: dict[str, list[EventView]] = {}
    roots: list[EventView] = []
    for card in ordered:
        original = by_id.get(card.copy_of or "")
        if original is not None and original is not card and original.cancelled == card.cancelled:
            children.setdefault(original.id, []).append(card)
        else:
            roots.append(card)
    out: list[EventView] = []
    placed: set[str] = set()

    def place(card: EventView) -> None:
        if card.id in placed:
            return
        placed.add(card.id)
        out.append(card)
        for child in children.get(card.id, ()):
            place(child)

    for card in [*roots, *ordered]:  # the second pass places a cycle, which ids cannot form
        place(card)
    return out
