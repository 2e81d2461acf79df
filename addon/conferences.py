"""onCreateFunction: a Calendar user picked one of our solutions on an event.

``create_conference(services, solution, event_object)`` returns the body Calendar gets:

1. Essentials missing (calendar id, event id) -> ``error`` PERMANENT (never a 500).
2. Granted scopes missing -> ``requesting_google_scopes``.
3. Solution not offered to the user's domain -> ``error`` CONFERENCE_SOLUTION_FORBIDDEN. The
   user is who the verified ``userIdToken`` says (audience ``ADDON_OAUTH_CLIENT_ID``), or the
   ``acting_user`` a caller already proved (the Apps Script bridge: its identity token);
   without a verified user a restricted solution is refused (fail closed), never guessed from
   the organizer or the calendar.
4. Read the event with the user's token (while the store reads what step 5 needs: one wait,
   not two); it may not exist yet (404): then work from the request and let the next sync
   fill in the rest.
5. A live conference for the same event and solution -> return it (idempotent; nothing new
   is created on the conferencing system).
6. Otherwise the provider creates the meeting (with the user's settings: recording for a
   recorded solution, no dial-in when they turned it off) under the idempotency key of this creation
   (``keys.create_key``: calendar, event, solution and the *generation* that follows the
   event's stored record), and the record is stored in a one-entity transaction: concurrent
   duplicates compute the same key and end with one record and one meeting, while a new pick
   after the conference was removed gets a new meeting. A meeting of another of our
   solutions that the event had is deleted (its own delete key).
7. A solution whose vendor acts as one user (``account_link``, ``addon.linking``): the meeting
   is made as the verified user's linked account and the record names that user as its
   owner (the sync acts as the owner later). No usable link -> ``error`` AUTHENTICATION with
   our own ``/link/<solution>/start?state=…`` (a signed, single-use, 10-minute link bound to
   the user's ``sub``). Without a verified user there is nobody to bind a link to: PERMANENT
   (logged), never an AUTHENTICATION loop nobody can complete.
8. First conference on the calendar -> subscribe it (``calendarSubscriptionActionMarkup``) and
   take the initial sync token; if that fails the calendar is marked for a full sync.
"""

from __future__ import annotations

import logging
from typing import Any

from addon.auth import AuthError, VerifiedUser
from addon.calendar.errors import CalendarError
from addon.conference_data import owner_parameters
from addon.event_object import EventObject
from addon.linking import AccountNotLinked
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
from addon.scheduling import on_trigger
from addon.services import Services
from addon.settings import Solution
from addon.store.errors import Contention, StoreError
from addon.store.preferences import apply_preferences, shape_meeting
from addon.store.records import Conference
from addon.sync.keys import create_key, delete_key, next_generation
from addon.sync.provider_calls import meeting_request

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


def create_conference(
    services: Services,
    solution: Solution,
    ev: EventObject,
    *,
    acting_user: VerifiedUser | None = None,
) -> dict[str, Any]:
    """The onCreateFunction answer. ``acting_user``: the user the caller already verified
    (the bridge); None reads the ``userIdToken`` of the event object."""
    if ev.calendar_id is None or ev.event_id is None:
        log.warning("onCreate without calendar or event id")
        return _error(solution, "PERMANENT")
    if ev.authorized_scopes is not None:
        missing = [s for s in REQUIRED_SCOPES if s not in ev.authorized_scopes]
        if missing:
            return requesting_scopes_response(missing)
    verified = acting_user or verified_user(services, ev)
    user = verified.email if verified else None
    if solution.allowed_domains:
        domain = user.rsplit("@", 1)[1] if user else None
        if domain is None or domain not in solution.allowed_domains:
            return _error(solution, "CONFERENCE_SOLUTION_FORBIDDEN")

    calendar_id, event_id = ev.calendar_id, ev.event_id
    store = services.store
    # One lookup (the event's record, the calendar's state and the user's settings), made
    # while Calendar answers events.get: neither needs the other, so the pick waits once.
    reading = services.side_reads.submit(
        store.creation_view, calendar_id, event_id, verified.user_id if verified else None
    )
    event = _read_event(services, ev, calendar_id, event_id)
    source = event or ev.event_stub()
    view = reading.result()
    existing, calendar_state = view.conference, view.calendar
    provider = services.providers[solution.id]
    needs_link = provider.account_link() is not None
    if needs_link and verified is None:
        log.warning(
            "solution needs a linked account but the user is not verified: refused",
            extra={"json_fields": {"solution": solution.id}},
        )
        return _error(solution, "PERMANENT")
    if existing is not None and existing.live and existing.solution_id == solution.id:
        # Picking again is how a user whose link was dropped mends it: ask to link.
        acting = verified.user_id if verified is not None else None
        if needs_link and acting and not services.links.linked(f"{solution.id}:{acting}"):
            return _link_first(services, solution, verified)
        conference = existing
    else:
        request = meeting_request(calendar_id, event_id, solution, source)
        # The user's settings page: recording for a recorded solution, dial-in or not.
        prefs = view.preferences
        if prefs is not None:
            request = apply_preferences(request, prefs)
        generation = next_generation(existing)
        key = create_key(solution.id, calendar_id, event_id, generation)
        owner = verified.user_id if verified else None
        try:
            meeting = services.links.call_as(
                provider, solution.id, owner, lambda p: p.create(request, idempotency_key=key)
            )
        except AccountNotLinked:
            return _link_first(services, solution, verified)
        except ProviderAuthRequired as exc:
            return _error(solution, "AUTHENTICATION", exc.authentication_url)
        except ProviderUnavailable:
            return _error(solution, "TEMPORARY")
        except ProviderRefused:
            return _error(solution, "PERMANENT")
        except ProviderError:
            return _error(solution, "UNKNOWN")
        if prefs is not None:
            meeting = shape_meeting(meeting, prefs)
        record = Conference.new(
            calendar_id, event_id, solution.id, meeting, source, "create", generation, owner
        )
        try:
            # No record read: one insert commit (refused if a duplicate landed meanwhile).
            saved = store.save_creation(record, absent=existing is None)
            conference, inserted, replaced = saved
        except Contention:
            # The meeting exists under its key: a retry (Calendar's or the user's) gets it.
            log.warning("onCreate gave up on Datastore contention")
            return _error(solution, "TEMPORARY")
        # Retire what the record held when ours replaced it (a sync may have given the event
        # a meeting since we read it), not what we read before calling the provider.
        if inserted and replaced is not None and replaced.live:
            _retire(services, replaced)

    try:
        markup = conference_data_markup(
            conference.meeting,
            conference_solution_id=solution.id,
            parameters=owner_parameters(calendar_id, event_id, solution.id),
        )
    except MarkupError as exc:
        log.error("provider produced invalid conference data: %s", exc)
        return _error(solution, "UNKNOWN")

    try:
        newly_subscribed = store.subscribe(
            calendar_id,
            user or ev.user_email,
            calendar_state,
            verified=(verified.user_id, verified.email) if verified else None,
        )
    except Contention:
        # Unsure whether this is the calendar's first conference: ask Calendar to subscribe
        # anyway (asking again for a subscribed calendar changes nothing we rely on). With no
        # stored state, the first trigger takes the initial token with a full sync.
        log.warning("subscription check gave up on Datastore contention")
        return create_conference_response(markup, calendar_id)
    if newly_subscribed:
        _initialize_sync(services, calendar_id, ev.user_oauth_token, verified)
    return create_conference_response(markup, calendar_id if newly_subscribed else None)


def _read_event(
    services: Services, ev: EventObject, calendar_id: str, event_id: str
) -> dict[str, Any] | None:
    """The event as Calendar has it, read with the user's token; None without a token or
    when Calendar fails (not fatal: the meeting can be made from the request, and the sync
    corrects it later)."""
    if not ev.user_oauth_token:
        return None
    client = services.calendar_for_token(ev.user_oauth_token, interactive=True)
    try:
        return client.get_event(calendar_id, event_id)
    except CalendarError as exc:
        log.warning("events.get failed during onCreate: %s", type(exc).__name__)
        return None


def verified_user(services: Services, ev: EventObject) -> VerifiedUser | None:
    """The acting user from the verified ``userIdToken``, or None.

    With ID-token verification off (local use only) the token is read unverified. Without
    ``ADDON_OAUTH_CLIENT_ID`` nobody is verified.
    """
    token = ev.user_id_token
    if token is None:
        return None
    if services.verifier is None:
        return _unverified_user(token)
    if services.user_verifier is None:
        return None
    try:
        caller = services.user_verifier.verify(token)
    except AuthError as exc:
        log.warning("userIdToken refused", extra={"json_fields": {"code": exc.code}})
        return None
    return VerifiedUser(caller.subject, caller.email.lower())


def _unverified_user(token: str) -> VerifiedUser | None:
    import jwt

    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    email, sub = claims.get("email"), claims.get("sub")
    if not isinstance(email, str) or not isinstance(sub, str):
        return None
    return VerifiedUser(sub, email.lower())


def _link_first(
    services: Services, solution: Solution, user: VerifiedUser | None
) -> dict[str, Any]:
    """AUTHENTICATION with our linking page for ``user`` (see step 7)."""
    assert user is not None  # checked before the provider was called
    try:
        url = services.links.start_url(user, solution.id)
    except StoreError:
        return _error(solution, "TEMPORARY")
    except ValueError as exc:  # an authenticationUrl Calendar could not show
        log.error("linking URL refused: %s", exc)
        return _error(solution, "PERMANENT")
    return _error(solution, "AUTHENTICATION", url)


def _retire(services: Services, old: Conference) -> None:
    """The user switched the event to another of our solutions: the old meeting goes."""
    provider = services.providers.get(old.solution_id)
    key = delete_key(old.solution_id, old.conference_id)
    try:
        if provider is not None:
            services.links.call_as(
                provider,
                old.solution_id,
                old.owner_id,
                lambda p: p.delete(old.meeting, idempotency_key=key),
            )
    except ProviderError as exc:
        log.warning("could not delete the replaced meeting: %s", type(exc).__name__)


def _initialize_sync(
    services: Services, calendar_id: str, token: str | None, user: VerifiedUser | None
) -> None:
    """Take the initial sync token (windowed full sync). Failure only defers it."""
    if token is None:
        services.store.mark_needs_full_sync(calendar_id, "no user token at creation")
        return
    try:
        on_trigger(services, calendar_id, token, user)
    except Exception as exc:  # the conference must still be returned
        log.warning("initial sync could not start: %s", type(exc).__name__)
        services.store.mark_needs_full_sync(calendar_id, "initial sync failed")
