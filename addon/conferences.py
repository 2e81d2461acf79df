"""onCreateFunction: a Calendar user picked one of our solutions on an event.

``create_conference(services, solution, event_object)`` returns the body Calendar gets:

1. Essentials missing (calendar id, event id) -> ``error`` PERMANENT (never a 500).
2. Granted scopes missing -> ``requesting_google_scopes``.
3. Solution not offered to the user's domain -> ``error`` CONFERENCE_SOLUTION_FORBIDDEN.
4. Read the event with the user's token; it may not exist yet (404): then work from the
   request and let the next sync fill in the rest.
5. An active conference for the same event and solution -> return it (idempotent; nothing new
   is created on the conferencing system).
6. Otherwise the provider creates the meeting under an idempotency key bound to
   (calendar, event, solution), and the record is inserted in a transaction: two concurrent
   duplicates end with one record and one meeting.
7. First conference on the calendar -> subscribe it (``calendarSubscriptionActionMarkup``) and
   take the initial sync token; if that fails the calendar is marked for a full sync.
"""

from __future__ import annotations

import logging
from typing import Any

from addon.calendar.errors import CalendarError
from addon.conference_data import owner_parameters
from addon.event_object import EventObject
from addon.markup import (
    MarkupError,
    conference_data_markup,
    create_conference_response,
    error_markup,
    requesting_scopes_response,
)
from addon.providers.base import (
    ProviderAuthRequired,
    ProviderError,
    ProviderRefused,
    ProviderUnavailable,
)
from addon.services import Services
from addon.settings import Solution
from addon.store.records import Conference
from addon.sync.execute import idempotency_key, meeting_request

log = logging.getLogger(__name__)

SCOPE = "https://www.googleapis.com/auth/"
# Without these the add-on cannot read the event or keep it in sync.
REQUIRED_SCOPES = (
    SCOPE + "calendar.addons.execute",
    SCOPE + "calendar.addons.current.event.read",
    SCOPE + "calendar.events",
)


def _error(solution: Solution, kind: Any, url: str | None = None) -> dict[str, Any]:
    return create_conference_response(error_markup(kind, solution.id, url), None)


def create_conference(services: Services, solution: Solution, ev: EventObject) -> dict[str, Any]:
    if ev.calendar_id is None or ev.event_id is None:
        log.warning("onCreate without calendar or event id")
        return _error(solution, "PERMANENT")
    if ev.authorized_scopes is not None:
        missing = [s for s in REQUIRED_SCOPES if s not in ev.authorized_scopes]
        if missing:
            return requesting_scopes_response(missing)
    domain = ev.user_domain
    if solution.allowed_domains and (domain is None or domain not in solution.allowed_domains):
        return _error(solution, "CONFERENCE_SOLUTION_FORBIDDEN")

    calendar_id, event_id = ev.calendar_id, ev.event_id
    store = services.store
    client = (
        services.calendar_for_token(ev.user_oauth_token, interactive=True)
        if ev.user_oauth_token
        else None
    )
    event: dict[str, Any] | None = None
    if client is not None:
        try:
            event = client.get_event(calendar_id, event_id)
        except CalendarError as exc:
            # Not fatal: the meeting can be made from the request; sync corrects it later.
            log.warning("events.get failed during onCreate: %s", type(exc).__name__)
    source = event or ev.event_stub()

    existing = store.get_conference(calendar_id, event_id)
    if existing is not None and existing.state == "active" and existing.solution_id == solution.id:
        conference = existing
    else:
        provider = services.providers[solution.id]
        request = meeting_request(calendar_id, event_id, solution, source)
        try:
            meeting = provider.create(
                request,
                idempotency_key=idempotency_key("create", calendar_id, event_id, solution.id),
            )
        except ProviderAuthRequired as exc:
            return _error(solution, "AUTHENTICATION", exc.authentication_url)
        except ProviderUnavailable:
            return _error(solution, "TEMPORARY")
        except ProviderRefused:
            return _error(solution, "PERMANENT")
        except ProviderError:
            return _error(solution, "UNKNOWN")
        record = Conference.new(calendar_id, event_id, solution.id, meeting, source)
        conference, inserted = store.create_conference_if_absent(record)
        if inserted and existing is not None and existing.state == "active":
            _retire(services, existing)

    try:
        markup = conference_data_markup(
            conference.meeting,
            conference_solution_id=solution.id,
            parameters=owner_parameters(calendar_id, event_id, solution.id),
        )
    except MarkupError as exc:
        log.error("provider produced invalid conference data: %s", exc)
        return _error(solution, "UNKNOWN")

    newly_subscribed = store.subscribe(calendar_id, ev.user_email)
    if newly_subscribed:
        _initialize_sync(services, calendar_id, ev.user_oauth_token)
    return create_conference_response(markup, calendar_id if newly_subscribed else None)


def _retire(services: Services, old: Conference) -> None:
    """The user switched the event to another of our solutions: the old meeting goes."""
    provider = services.providers.get(old.solution_id)
    try:
        if provider is not None:
            provider.delete(
                old.meeting,
                idempotency_key=idempotency_key("delete", old.calendar_id, old.event_id, None),
            )
    except ProviderError as exc:
        log.warning("could not delete the replaced meeting: %s", type(exc).__name__)


def _initialize_sync(services: Services, calendar_id: str, token: str | None) -> None:
    """Take the initial sync token (windowed full sync). Failure only defers it."""
    if token is None:
        services.store.mark_needs_full_sync(calendar_id, "no user token at creation")
        return
    try:
        services.start_sync(calendar_id, services.calendar_for_token(token))
    except Exception as exc:  # the conference must still be returned
        log.warning("initial sync could not start: %s", type(exc).__name__)
        services.store.mark_needs_full_sync(calendar_id, "initial sync failed")
