"""Putting conference data on an event with If-Match, re-reading on 412.

The user may be editing the same event in another client: If-Match makes sure we never
overwrite their change, and the re-read picks it up before trying again. When the re-read
shows another conference than the one we meant to replace (the user picked a solution
meanwhile, another add-on's), the event is no longer ours to write: stop, the next sync plans
from what it shows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from addon.calendar.client import CalendarClient
from addon.calendar.errors import NotFound, PreconditionFailed
from addon.conference_data import carried_conference

WRITE_BACK_ATTEMPTS = 5


class RetryLater(Exception):
    """The action could not finish now (write-back conflicts kept coming); it is kept as a
    pending change and replayed on the next sync."""


def patch_if_match(
    calendar: CalendarClient,
    calendar_id: str,
    event_id: str,
    event: Mapping[str, Any] | None,
    data: dict[str, Any],
    replaces: set[str],
    on_conflict: Callable[[], None],
) -> bool:
    """Write ``data`` on the event as last seen (``event``); True once written.

    False when the event is gone, or a re-read after 412 shows a conference outside
    ``replaces`` (or none): that is the user's call, and the next sync acts on it. Raises
    ``RetryLater`` after ``WRITE_BACK_ATTEMPTS`` conflicts.
    """
    current = event
    for _ in range(WRITE_BACK_ATTEMPTS):
        if current is None or current.get("status") == "cancelled":
            return False  # gone meanwhile; the next sync sees the tombstone and deletes
        etag = current.get("etag")
        if not isinstance(etag, str):
            current = calendar.get_event(calendar_id, event_id)
            continue
        try:
            calendar.patch_conference_data(calendar_id, event_id, etag, data)
        except PreconditionFailed:
            on_conflict()
            current = calendar.get_event(calendar_id, event_id)
            now = carried_conference(current) if current is not None else None
            if current is not None and (now is None or now.conference_id not in replaces):
                return False
            continue
        except NotFound:
            return False
        return True
    raise RetryLater("the write-back kept conflicting with concurrent edits")
