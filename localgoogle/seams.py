"""The seams between the parts of the local Google: the only things they share, so none
imports another (an import-linter independence contract checks it).

``HostCalendarAccess`` — between the Calendar emulator (``localgoogle.calendar``) and the
add-on host simulation (``localgoogle.addon_host``). The add-on host plays Google Calendar
towards an HTTP add-on: it calls the add-on's onCreateFunction, applies the returned
conference data to the event, and calls the calendarNotificationTrigger after changes. It
needs a few privileged operations on the Calendar state that no API user has.

``OAuthCalendarAccess`` — between the Calendar emulator and Google's OAuth 2.0 endpoints
(``localgoogle.oauth``). The authorization server decides who gets a token; the Calendar
API is the resource server that accepts it. An access token is minted by the Calendar
state, bound to a *grant* (one user's consent to one client, or one service-account
assertion) so that revoking the grant or reaching ``expires_at`` on the emulator clock makes
Calendar answer 401 ``authError``, as Google does.

The Calendar state object implements both protocols.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
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


class OAuthCalendarAccess(Protocol):
    def now(self) -> datetime:
        """The emulator clock (``POST /_emulator/clock`` moves it), timezone-aware UTC."""

    def user_exists(self, email: str) -> bool:
        """Whether ``email`` is a Calendar user of the emulator (a Google account)."""

    def user_emails(self) -> list[str]:
        """Every user's email, sorted (the accounts the consent page offers)."""

    def issue_access_token(
        self, email: str, *, expires_at: datetime, grant_id: str, scopes: frozenset[str]
    ) -> str:
        """A new bearer token acting as ``email`` until ``expires_at`` (emulator clock).

        Calendar accepts it only for methods one of ``scopes`` allows (the discovery
        document's per-method list) and refuses it with 401 once it expired or
        ``revoke_grant(grant_id)`` ran. ``email`` need not have a calendar (a service
        account acting as itself).
        """

    def revoke_grant(self, grant_id: str) -> int:
        """Invalidate every access token issued under ``grant_id``; how many were live."""
