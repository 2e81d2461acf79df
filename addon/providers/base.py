"""The conferencing-system seam: what the add-on asks of a provider.

A *provider* is the client of one conferencing system (Jitsi Meet, a vendor's REST API).
A *meeting* is the provider's object; a *conference* is our record tying one meeting to the
Calendar event that owns it (see ``addon.store.records``). The add-on never talks to a
conferencing system except through this interface, so a vendor adds its own system by writing
one module with a ``ConferenceProvider`` subclass and registering it (``addon.providers.registry``).

Contract every provider keeps:

* ``create`` receives an ``idempotency_key``; calling it twice with the same key must return
  the same meeting and create nothing new (the add-on retries after crashes and timeouts).
* ``update``/``update_occurrence``/``delete`` receive an ``idempotency_key`` too, derived from
  the event version they apply; a repeat with the same key is a no-op on the remote side.
* ``delete`` of a meeting that is already gone succeeds.
* ``timeout_seconds`` is the longest one call can take (its network timeout). The sync starts a
  call only while its lease outlasts the call's whole budget, and refuses to start at all when
  ``ADDON_LEASE_SECONDS`` is too short for it.
* ``MeetingRequest.event_version`` is the event version (Calendar's ``updated``) an update
  applies. A vendor that can should refuse an update older than one it already applied: a
  request delayed in the network must not undo a newer one.
* Failures are raised as the ``ProviderError`` subclasses below, never as library exceptions:
  the add-on maps them to Calendar's ``error.type`` values and to retry decisions.
* A vendor whose API acts as one user (Zoom, Microsoft Graph, Webex) declares how that user
  links their account (``account_link``: an OAuth 2.0 authorization-code flow with PKCE) and
  is called through ``with_account`` with the linked account's access token. A token the vendor
  refuses (HTTP 401) is raised as ``ProviderAccountExpired``: the caller refreshes it and
  retries once. Vendors keyed by the deployment (a shared secret, an API key) need none of this.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

EntryPointType = Literal["video", "phone", "sip", "more"]


@dataclass(frozen=True)
class EntryPoint:
    """One way to join (Calendar's ``EntryPointMarkup``); ``type`` in lower case."""

    type: EntryPointType
    uri: str
    label: str | None = None
    meeting_code: str | None = None
    access_code: str | None = None
    passcode: str | None = None
    password: str | None = None
    pin: str | None = None
    region_code: str | None = None
    features: tuple[Literal["TOLL", "TOLL_FREE"], ...] = ()


@dataclass(frozen=True)
class MeetingRequest:
    """What the provider is told about the event that owns (or will own) a meeting.

    ``start``/``end`` are Calendar's EventDateTime objects (``dateTime``/``date``/``timeZone``)
    or None when the event was not readable yet (onCreateFunction may run before the event
    exists). ``recurrence`` holds the RRULE/EXDATE lines of a series.
    """

    calendar_id: str
    event_id: str
    solution_id: str
    summary: str | None = None
    start: Mapping[str, str] | None = None
    end: Mapping[str, str] | None = None
    time_zone: str | None = None
    attendees: tuple[str, ...] = ()
    organizer: str | None = None
    recurrence: tuple[str, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)
    event_version: str | None = None


@dataclass(frozen=True)
class OccurrenceChange:
    """One occurrence of a recurring series moved (``cancelled=False``) or cancelled."""

    recurring_event_id: str
    occurrence_event_id: str
    original_start: Mapping[str, str]
    cancelled: bool
    start: Mapping[str, str] | None = None
    end: Mapping[str, str] | None = None


@dataclass(frozen=True)
class Meeting:
    """A meeting as the provider returned it.

    ``meeting_id`` is the provider's id and becomes the Calendar ``conferenceId``.
    ``data`` is provider-private state (strings only) the provider needs on later calls;
    it is stored with the conference record, never shown to users.
    """

    meeting_id: str
    entry_points: tuple[EntryPoint, ...]
    note: str | None = None
    data: Mapping[str, str] = field(default_factory=dict)


class ProviderError(Exception):
    """Base of every provider failure."""


class ProviderUnavailable(ProviderError):
    """Unreachable, timed out, rate-limited or 5xx: worth retrying later (Calendar ``TEMPORARY``).

    ``retry_after``: seconds the vendor asked us to wait (its ``Retry-After``), when it said.
    """

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ProviderRefused(ProviderError):
    """The conferencing system refused the request (4xx): retrying will not help (``PERMANENT``)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ProviderAuthRequired(ProviderError):
    """The user must link their account or log in first (Calendar ``AUTHENTICATION``)."""

    def __init__(self, message: str, authentication_url: str) -> None:
        super().__init__(message)
        self.authentication_url = authentication_url


class ProviderAccountExpired(ProviderError):
    """The vendor refused the linked account's access token (HTTP 401): refresh, retry once."""


@dataclass(frozen=True)
class AccountLink:
    """How a user links their account on the vendor: OAuth 2.0 authorization code with PKCE.

    ``client_secret`` None means a public client (PKCE only). ``extra_authorize`` holds
    vendor-specific query parameters of the authorization request (Microsoft's
    ``response_mode``, say).
    """

    authorize_url: str
    token_url: str
    client_id: str
    client_secret: str | None
    scopes: tuple[str, ...]
    revoke_url: str | None = None
    extra_authorize: Mapping[str, str] = field(default_factory=dict)
    # How the client authenticates at the token (and revoke) endpoint (RFC 6749 2.3.1): HTTP
    # Basic (Zoom requires it) or the client secret in the form body (Microsoft's default).
    client_auth: Literal["basic", "post"] = "post"


@dataclass(frozen=True)
class VendorAccount:
    """The linked account a call acts as: its current access token, and the vendor's id of the
    user when the token response or a profile call named it."""

    access_token: str
    vendor_user_id: str | None = None


class ConferenceProvider(abc.ABC):
    """One conferencing system. Instances are built once per solution from its options."""

    name: ClassVar[str]
    timeout_seconds: float = 0.0

    def account_link(self) -> AccountLink | None:
        """How users link an account on this vendor; None when calls need no user account."""
        return None

    def with_account(self, account: VendorAccount) -> ConferenceProvider:
        """This provider acting as ``account`` (a cheap copy holding its token). Providers
        without ``account_link`` ignore it."""
        return self

    @abc.abstractmethod
    def create(self, request: MeetingRequest, *, idempotency_key: str) -> Meeting:
        """Create a meeting for the event (or return the one made earlier under this key)."""

    @abc.abstractmethod
    def update(self, meeting: Meeting, request: MeetingRequest, *, idempotency_key: str) -> Meeting:
        """The event's time, title, guests or recurrence changed.

        Return the meeting as it is now; if its join data changed (a new URL, say) the add-on
        writes the new conference data back onto the event.
        """

    @abc.abstractmethod
    def update_occurrence(
        self, meeting: Meeting, change: OccurrenceChange, *, idempotency_key: str
    ) -> None:
        """One occurrence of the series moved or was cancelled; the series' meeting stays."""

    @abc.abstractmethod
    def delete(self, meeting: Meeting, *, idempotency_key: str) -> None:
        """The event was deleted or cancelled. Deleting a gone meeting succeeds."""
