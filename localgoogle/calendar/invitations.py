"""Invitations: an event whose guests are emulator users appears in their calendars too.

Google keeps one copy of an event per attendee calendar, under the same event id: the
organizer's copy is the event; each attendee's copy mirrors it with its own etag, ``updated``,
reminders, colour and transparency, and ``organizer.self`` is true only on the organizer's
copy ("whether the organizer corresponds to the calendar on which this copy of the event
appears"). Only the organizer changes what the copies share: an attendee who changes the
conference data, time, title or guests of their copy gets 403 ``forbiddenForNonOrganizer``
("The operation can only be performed by the event organizer"). An attendee may change their
own response, reminders, colour and transparency, and may delete their copy: it leaves their
calendar, their response becomes ``declined`` and later changes no longer reach them.

Assumptions where Google documents nothing precise: copies are made only for emulator users
that exist when the organizer's event is written (a user created later is not invited
retroactively), and an attendee's response reaches the organizer's copy at once. Every
copy's change is a change of its own calendar: sync tokens, push channels and the add-on
host's triggers (one per subscription of that calendar) see it like any other change.

Functions here run with the state's lock held and return the ``(calendar id, event id)``
changes they committed, for the caller to announce after releasing the lock.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from localgoogle.calendar import exceptions as exc

if TYPE_CHECKING:
    from localgoogle.calendar.models import CalendarState
    from localgoogle.calendar.records import CalendarData

PRIVATE_FIELDS = frozenset({"colorId", "reminders", "transparency"})
# Managed per copy by the server, or per-attendee: not "shared" for the organizer check.
_PER_COPY = frozenset({"etag", "updated", "htmlLink", "sequence", "creator", "organizer"})
Changes = list[tuple[str, str]]


def organizes(cal: CalendarData, resource: dict[str, Any]) -> bool:
    """``cal`` holds the organizer's copy (events without an organizer count as such)."""
    organizer = resource.get("organizer")
    if not isinstance(organizer, dict) or not organizer.get("email"):
        return True
    return str(organizer["email"]).lower() == cal.id.lower()


def _guests(resource: dict[str, Any] | None) -> set[str]:
    if not resource or resource.get("status") == "cancelled":
        return set()
    return {
        str(a["email"]).lower()
        for a in resource.get("attendees") or []
        if isinstance(a, dict) and isinstance(a.get("email"), str)
    }


def _copy_for(
    resource: dict[str, Any], email: str, existing: dict[str, Any] | None
) -> dict[str, Any]:
    out = {
        k: copy.deepcopy(v)
        for k, v in resource.items()
        if k not in PRIVATE_FIELDS and k not in ("etag", "updated")
    }
    out["organizer"] = {k: v for k, v in (resource.get("organizer") or {}).items() if k != "self"}
    creator = {k: v for k, v in (resource.get("creator") or {}).items() if k != "self"}
    if str(creator.get("email", "")).lower() == email:
        creator["self"] = True
    out["creator"] = creator
    out["attendees"] = [
        {
            **{k: v for k, v in a.items() if k != "self"},
            **({"self": True} if a.get("email") == email else {}),
        }
        for a in resource.get("attendees") or []
        if isinstance(a, dict)
    ]
    private = existing or {"reminders": {"useDefault": True}}
    for key in PRIVATE_FIELDS:
        if key in private:
            out[key] = copy.deepcopy(private[key])
    out["etag"] = ""
    return out


def fan_out(
    state: CalendarState, cal: CalendarData, event_id: str, old: dict[str, Any] | None
) -> Changes:
    """The organizer's copy of ``event_id`` in ``cal`` changed (``old`` before): bring every
    attendee's copy in line, cancelling the copies of guests who were removed."""
    record = cal.events.get(event_id)
    if record is None or not organizes(cal, record.resource):
        return []
    resource = record.resource
    now, before = _guests(resource), _guests(old)
    changes: Changes = []
    for email in sorted(now | before):
        if email == cal.id.lower():
            continue
        theirs = state.calendars.get(email)
        if theirs is None or theirs.owner.lower() != email or event_id in theirs.left:
            continue  # not an emulator user's primary calendar, or they left the event
        existing = theirs.events.get(event_id)
        if email in now:
            new = _copy_for(resource, email, existing.resource if existing else None)
        elif existing is not None and existing.resource.get("status") != "cancelled":
            new = {**existing.resource, "status": "cancelled"}
        else:
            continue
        state._commit(theirs, new)
        changes.append((theirs.id, event_id))
    return changes


def _shared(resource: dict[str, Any], email: str) -> dict[str, Any]:
    """What all copies share, as the attendee ``email`` sees it (their response left out)."""
    out = {k: v for k, v in resource.items() if k not in PRIVATE_FIELDS and k not in _PER_COPY}
    out["attendees"] = [
        {k: v for k, v in a.items() if k not in ("self", "responseStatus")}
        if str(a.get("email", "")).lower() == email
        else {k: v for k, v in a.items() if k != "self"}
        for a in resource.get("attendees") or []
        if isinstance(a, dict)
    ]
    return out


def check_attendee_write(cal: CalendarData, old: dict[str, Any], new: dict[str, Any]) -> None:
    """Refuse an attendee's change of what the copies share (403 forbiddenForNonOrganizer)."""
    if organizes(cal, old):
        return
    email = cal.id.lower()
    if _shared(old, email) != _shared(new, email):
        raise exc.forbidden_for_non_organizer()


def _response(resource: dict[str, Any], email: str) -> str | None:
    for a in resource.get("attendees") or []:
        if isinstance(a, dict) and str(a.get("email", "")).lower() == email:
            value = a.get("responseStatus")
            return value if isinstance(value, str) else None
    return None


def answer_organizer(
    state: CalendarState, cal: CalendarData, event_id: str, response: str | None = None
) -> Changes:
    """An attendee's copy in ``cal`` changed their response (or, with ``response``, they
    deleted it): record it on the organizer's copy, and from there on every other copy."""
    copy_record = cal.events.get(event_id)
    if copy_record is None or organizes(cal, copy_record.resource):
        return []
    email = cal.id.lower()
    wanted = response or _response(copy_record.resource, email)
    organizer = str((copy_record.resource.get("organizer") or {}).get("email", "")).lower()
    home = state.calendars.get(organizer)
    record = home.events.get(event_id) if home else None
    if home is None or record is None or wanted is None:
        return []
    if _response(record.resource, email) == wanted:
        return []
    old = record.resource
    new = {
        **old,
        "attendees": [
            {**a, "responseStatus": wanted}
            if isinstance(a, dict) and str(a.get("email", "")).lower() == email
            else a
            for a in old.get("attendees") or []
        ],
    }
    state._commit(home, new)
    return [(home.id, event_id), *fan_out(state, home, event_id, old)]
