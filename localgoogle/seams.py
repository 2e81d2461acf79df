"""The seam between the Calendar emulator (``localgoogle.calendar``) and the add-on host
simulation (``localgoogle.addon_host``): the only thing the two share, so neither imports
the other (an import-linter independence contract checks it).

The add-on host plays Google Calendar towards an HTTP add-on: it calls the add-on's
onCreateFunction, applies the returned conference data to the event, and calls the
calendarNotificationTrigger after changes. It needs a few privileged operations on the
Calendar state that no API user has; the Calendar state object implements this protocol.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

# Called after every committed change of an event: (calendar_id, event_id).
ChangeListener = Callable[[str, str], None]


class HostCalendarAccess(Protocol):
    def add_change_listener(self, listener: ChangeListener) -> None:
        """Register a callback run after every committed event change (outside locks)."""

    def host_get_event(self, calendar_id: str, event_id: str) -> dict[str, Any] | None:
        """The event resource as events.get returns it, or None; no auth check."""

    def host_set_conference_data(
        self, calendar_id: str, event_id: str, conference_data: dict[str, Any]
    ) -> dict[str, Any]:
        """Store conference data on the event as Calendar does after an add-on answered.

        Counts as a change (new etag, appears in incremental sync, listeners run).
        Raises KeyError if the event does not exist.
        """

    def host_user_token(self, email: str) -> str:
        """An access token of this user (the user is created if new)."""

    def host_calendar_owner(self, calendar_id: str) -> str | None:
        """Email of the calendar's owner, or None for an unknown calendar."""
