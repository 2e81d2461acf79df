"""Which credentials a piece of work may use for one calendar, decided in one place.

``CalendarAccess.for_calendar(state, trigger_token)`` tries, in order:

1. the **trigger's token** (the ``userOAuthToken`` a trigger brought, sealed in the task,
   while it is young enough to be valid) — the user's own, with nothing stored;
2. **domain-wide delegation**, when configured and the calendar's sync user (a verified
   email) belongs to a domain that granted it;
3. the sync user's **offline consent** (their stored refresh token);
4. otherwise ``NoAccess``: the calendar waits for its user, and says so in its sync state.

Push channels and periodic checks need credentials that outlive a trigger:
``stored_only=True`` skips step 1. ``TokenServiceUnavailable`` (Google's token endpoint
failing) is raised rather than treated as "no access": the work is retried.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import google.oauth2.credentials
from google.auth.credentials import Credentials

from addon.credentials.delegation import Delegation
from addon.credentials.offline import ConsentRequired, OfflineConsent
from addon.store.records import CalendarState

AccessKind = Literal["trigger token", "domain-wide delegation", "offline consent"]

# Every reason a calendar waits starts with this (the sweep and the status pages read it).
WAITING = "waiting for the user's next change in Calendar: "


@dataclass(frozen=True)
class Access:
    credentials: Credentials
    kind: AccessKind
    user: str | None = None  # the impersonated or consenting user's email

    @property
    def stored(self) -> bool:
        """Credentials the add-on holds (they outlive the trigger that brought a token)."""
        return self.kind != "trigger token"

    def describe(self) -> str:
        return f"{self.kind} of {self.user}" if self.user else self.kind


@dataclass(frozen=True)
class NoAccess:
    reason: str


class CalendarAccess:
    def __init__(self, offline: OfflineConsent | None, delegation: Delegation | None) -> None:
        self.offline = offline
        self.delegation = delegation

    def for_calendar(
        self, state: CalendarState, trigger_token: str | None = None, *, stored_only: bool = False
    ) -> Access | NoAccess:
        if trigger_token and not stored_only:
            creds = google.oauth2.credentials.Credentials(token=trigger_token)  # type: ignore[no-untyped-call]
            return Access(creds, "trigger token")
        email, user_id = state.sync_user_email, state.sync_user_id
        if self.delegation is not None and email and self.delegation.covers(email):
            delegated = self.delegation.credentials_for(email)
            if delegated is not None:
                return Access(delegated, "domain-wide delegation", email)
        if self.offline is not None and user_id:
            try:
                return Access(self.offline.credentials(user_id), "offline consent", email)
            except ConsentRequired:
                return NoAccess(
                    WAITING + "the last trigger's token expired and offline sync is off "
                    "(never turned on, or revoked); turning it on resumes syncing"
                )
        if user_id is None:
            return NoAccess(
                WAITING + "the last trigger's token expired and no verified user of this "
                "calendar is known to hold offline sync"
            )
        return NoAccess(WAITING + "the last trigger's token expired and no offline sync is held")

    def refused(self, state: CalendarState, access: Access) -> None:
        """Calendar answered 401 to ``access``: do not reuse its cached token."""
        if access.kind == "offline consent" and self.offline and state.sync_user_id:
            self.offline.forget_cached(state.sync_user_id)
        elif access.kind == "domain-wide delegation" and self.delegation and access.user:
            self.delegation.forget_cached(access.user)
