"""What the add-on's cards show and what their buttons do (the side panel in Calendar).

Gathering (store and Calendar reads -> the plain views ``addon.cards`` renders):

* ``event_card_for(svc, user, ev)`` — the eventOpen card of the event the user opened.
* ``home_card_for(svc, user)``      — the homepage card.

Actions (a button's signed parameter already checked by the endpoint, ``addon.web.panel``):

* ``sync_now(svc, user, claim, ev)`` — a sync of the event's calendar, as a trigger would
  start it (enqueued, debounced; inline mode syncs at once). Its notification says which.
* ``new_join_link(svc, user, claim, ev)`` — the vendor creates a new meeting for the event
  (idempotency key ``renew:<solution>:<old meeting>``, so a double click gets one), the record
  is swapped for it only if no sync or creation wrote the record meanwhile (compare-and-set
  on its version; a lost race is retried against the fresh record while it still holds the
  old meeting), then the conference data is written onto the event with If-Match
  (``patch_if_match``: 412 -> re-read, retried; when the event now shows another conference,
  it is the user's choice and is left alone), and the old meeting is deleted. A record
  swapped but not yet written back owes a write-back, which the next sync makes: a sync
  that runs in between sees the event showing the old meeting and writes the new one.

``account_actions(svc, user, solution_ids)``: the vendor-account lines and link / re-link /
unlink buttons the cards and the settings page show (issue 16's account linking). A vendor that
acts as each user's account makes the new join link's meeting as the clicking user's linked
account (who then owns it), and deletes the old one as its owner's.

Who may see what: the card shows the store's view of an event only to a user whose own
Calendar token can read that event (one ``events.get``); otherwise it shows what Google
sent in the event object and nothing else.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from addon.auth import VerifiedUser
from addon.calendar.errors import CalendarError, Forbidden
from addon.cards import (
    AccountAction,
    ActionLink,
    CalendarHealth,
    EventView,
    MeetingView,
    PendingView,
    SyncView,
    event_card,
    no_conference_card,
)
from addon.cards.event import MeetingState
from addon.conference_data import (
    carried_conference,
    carried_join_digest,
    carry_dial_in_choice,
    conference_data_resource,
    join_digest,
    owner_parameters,
)
from addon.credentials.signed import ActionClaim, make_action_token, make_settings_token
from addon.event_object import EventObject
from addon.linking import AccountNotLinked
from addon.providers.base import (
    ConferenceProvider,
    EntryPoint,
    Meeting,
    MeetingRequest,
    ProviderAuthRequired,
    ProviderError,
    ProviderRefused,
    ProviderUnavailable,
)
from addon.scheduling import on_trigger
from addon.services import Services
from addon.store.preferences import apply_preferences
from addon.store.records import CalendarState, Conference, PendingChange
from addon.sync.keys import delete_key, renew_key
from addon.sync.plan import WRITE_ROLES, PlanContext
from addon.sync.provider_calls import meeting_request
from addon.sync.write_back import RetryLater, patch_if_match
from addon.tasks.queue import QueueUnavailable

log = logging.getLogger(__name__)

SYNC_ACTION_PATH = "/calendar/action/sync"
NEW_LINK_ACTION_PATH = "/calendar/action/new-link"
SETTINGS_PAGE_PATH = "/settings"
ACTION_PARAMETER = "a"
SWAP_ATTEMPTS = 3

_ACTION_WORDS = {
    "UpdateMeeting": "Update the meeting",
    "DeleteMeeting": "Delete the meeting",
    "WriteBack": "Put the join details on the event",
    "CreateForCopy": "Give the copied event its own meeting",
    "ChangeOccurrence": "Change one occurrence",
    "Confirm": "Confirm the meeting",
    "Skip": "Nothing can be done automatically",
}


def account_actions(
    svc: Services, user: VerifiedUser, solution_ids: Iterable[str]
) -> tuple[AccountAction, ...]:
    """The vendor-account lines to show ``user`` for these solutions (issue 16's account
    linking): one per solution whose provider acts as each user's account, with its button.
    Linked: Unlink (a confirmation page). Never linked, unlinked or dropped (the vendor refused
    the tokens): Link account / Link again, a signed request that makes the linking flow only
    when opened, so building a card writes nothing."""
    lines: list[AccountAction] = []
    for solution_id in dict.fromkeys(solution_ids):
        solution = svc.settings.solution(solution_id)
        provider = svc.providers.get(solution_id)
        if solution is None or provider is None or provider.account_link() is None:
            continue
        link = svc.store.get_link(solution_id, user.user_id)
        if link is not None and link.usable:
            lines.append(
                AccountAction(
                    solution.name,
                    f"Linked ({user.email})",
                    ActionLink("Unlink", open_url=svc.links.unlink_url(user, solution_id)),
                )
            )
            continue
        request = svc.links.request_url(user, solution_id)
        if link is not None and link.reason:
            state, label = f"Link again: {link.reason}", "Link again"
        else:
            state, label = "Not linked: the first pick asks you to link", "Link account"
        lines.append(AccountAction(solution.name, state, ActionLink(label, open_url=request)))
    return tuple(lines)


def ago(moment: datetime | None, now: datetime | None = None) -> str | None:
    if moment is None:
        return None
    seconds = int(((now or datetime.now(UTC)) - moment).total_seconds())
    if seconds < 60:
        return "just now"
    if seconds < 90 * 60:
        return f"{seconds // 60} min ago"
    if seconds < 48 * 3600:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} days ago"


def settings_url(svc: Services, user: VerifiedUser) -> str:
    token = make_settings_token(svc.settings.secret_key, user)
    return svc.settings.endpoint_url(SETTINGS_PAGE_PATH) + "?" + urlencode({"s": token})


def outcome_words(state: CalendarState | None) -> str:
    if state is None or not state.last_result:
        return "no sync yet"
    result = state.last_result
    if result.get("error"):
        return f"stopped: {result['error']}"
    parts = [f"{result.get('changes', 0)} change(s) read"]
    if result.get("pending"):
        parts.append(f"{result['pending']} left to retry")
    if result.get("parked"):
        parts.append(f"{result['parked']} parked")
    return "done, " + ", ".join(parts)


def _pending_view(change: PendingChange) -> PendingView:
    reason = change.last_error or (
        "waiting for the conferencing system or Calendar"
        if change.kind == "retry"
        else "refused; retrying will not help"
    )
    if change.needs_solution:
        reason = f"its conference solution {change.needs_solution} is not configured"
    return PendingView(
        what=_ACTION_WORDS.get(change.action, change.action or "Apply a change"),
        reason=reason,
        parked=change.parked,
        since=ago(change.first_failed_at),
    )


def meeting_view(
    svc: Services, solution_id: str | None, meeting: Meeting | None
) -> MeetingView | None:
    if meeting is None:
        return None
    solution = svc.settings.solution(solution_id or "")
    name = solution.name if solution else (solution_id or "Conference")
    video = next((e for e in meeting.entry_points if e.type == "video"), None)
    phones = tuple(
        (e.label or e.uri.removeprefix("tel:"), e.pin)
        for e in meeting.entry_points
        if e.type == "phone"
    )
    sip = next((e.uri for e in meeting.entry_points if e.type == "sip"), None)
    code = video.meeting_code or video.password or video.passcode if video else None
    return MeetingView(name, meeting.meeting_id, video.uri if video else None, phones, sip, code)


def _carried_meeting(event: Mapping[str, Any]) -> tuple[str | None, Meeting] | None:
    """The meeting the event shows, read from its conferenceData (None: none of ours)."""
    carried = carried_conference(event)
    data = event.get("conferenceData")
    if carried is None or not isinstance(data, Mapping):
        return None
    points = []
    for raw in data.get("entryPoints") or ():
        if not isinstance(raw, Mapping) or not isinstance(raw.get("uri"), str):
            continue
        kind = raw.get("entryPointType")
        if kind not in ("video", "phone", "sip", "more"):
            continue
        points.append(
            EntryPoint(
                type=kind,
                uri=raw["uri"],
                label=raw.get("label") if isinstance(raw.get("label"), str) else None,
                pin=raw.get("pin") if isinstance(raw.get("pin"), str) else None,
                meeting_code=raw.get("meetingCode")
                if isinstance(raw.get("meetingCode"), str)
                else None,
                password=raw.get("password") if isinstance(raw.get("password"), str) else None,
            )
        )
    return carried.solution_id, Meeting(carried.conference_id, tuple(points))


@dataclass(frozen=True)
class _Read:
    """The event as the user's own token reads it (None: not readable for them)."""

    event: Mapping[str, Any] | None
    readable: bool


def _read_event(svc: Services, ev: EventObject, calendar_id: str, event_id: str) -> _Read:
    if ev.user_oauth_token is None:
        return _Read(None, False)
    client = svc.calendar_for_token(ev.user_oauth_token, interactive=True)
    try:
        event = client.get_event(calendar_id, event_id)
    except CalendarError as exc:
        log.info("eventOpen could not read the event: %s", type(exc).__name__)
        return _Read(None, False)
    return _Read(event, event is not None)


def _record_of(
    svc: Services, calendar_id: str, event_id: str, series: str | None
) -> Conference | None:
    record = svc.store.get_conference(calendar_id, event_id)
    if record is None and series:
        record = svc.store.get_conference(calendar_id, series)
    return record


def event_card_for(svc: Services, user: VerifiedUser | None, ev: EventObject) -> dict[str, Any]:
    """The eventOpen card for the event ``ev`` names (its calendar and event ids)."""
    s = svc.settings
    calendar_id, event_id = ev.calendar_id, ev.event_id
    assert calendar_id is not None and event_id is not None  # the endpoint checked
    read = _read_event(svc, ev, calendar_id, event_id)
    event: Mapping[str, Any] = read.event or {"conferenceData": ev.conference_data or {}}
    summary = event.get("summary") if isinstance(event.get("summary"), str) else None
    shown = _carried_meeting(event)
    record = (
        _record_of(svc, calendar_id, event_id, ev.recurring_event_id) if read.readable else None
    )
    solution_ids = [x.id for x in s.solutions]
    accounts = account_actions(svc, user, solution_ids) if user is not None else ()
    if shown is None and record is None:
        return no_conference_card(s.addon_name, summary, accounts)
    state: MeetingState = record.state if record is not None else "active"
    on_event = meeting_view(svc, shown[0], shown[1]) if shown else None
    at_vendor = None
    if record is not None and record.live:
        event_digest = carried_join_digest(event) if shown else None
        if event_digest != join_digest(record.meeting):
            at_vendor = meeting_view(svc, record.solution_id, record.meeting)
    calendar = svc.store.get_calendar(calendar_id) if read.readable else None
    pending = (
        tuple(
            _pending_view(p)
            for p in svc.store.list_pending(calendar_id)
            if p.event_id in (event_id, ev.recurring_event_id)
        )
        if read.readable
        else ()
    )
    sync = SyncView(
        when=ago(calendar.last_sync_at) if calendar else None,
        outcome=outcome_words(calendar),
        waiting=calendar.attention if calendar else None,
        meeting_changed=ago(record.updated_at) if record is not None else None,
    )
    sync_now = new_link = None
    if user is not None and record is not None:

        def link(label: str, path: str, action: str) -> ActionLink:
            token = make_action_token(
                s.secret_key, user, calendar_id, event_id, action, record.conference_id
            )
            return ActionLink(label, s.endpoint_url(path), {ACTION_PARAMETER: token})

        sync_now = link("Sync now", SYNC_ACTION_PATH, "sync")
        if record.live and record.state == "active" and record.event_id == event_id and shown:
            new_link = link("New join link", NEW_LINK_ACTION_PATH, "new-link")
    view = EventView(
        addon_name=s.addon_name,
        user_email=user.email if user else None,
        summary=summary,
        state=state,
        on_event=on_event,
        at_vendor=at_vendor,
        sync=sync,
        pending=pending,
        sync_now=sync_now,
        new_link=new_link,
        accounts=accounts,
        settings_url=settings_url(svc, user) if user is not None else None,
    )
    return event_card(view)


def calendar_health(svc: Services, calendar_ids: list[str]) -> tuple[CalendarHealth, ...]:
    """The home card's lines: each of these calendars (the user's) with its health."""
    out = []
    for state in svc.store.get_calendars(calendar_ids):
        out.append(
            CalendarHealth(
                calendar_id=state.calendar_id,
                last_sync=(
                    f"{ago(state.last_sync_at)}: {outcome_words(state)}"
                    if state.last_sync_at
                    else None
                ),
                due=state.due,
                parked=state.parked_count,
                pending=state.pending_count,
                waiting=state.attention,
            )
        )
    return tuple(out)


# ---- actions ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ActionResult:
    """What a button did: the notification text, and whether the card should be rebuilt."""

    message: str
    refresh: bool = True


def sync_now(
    svc: Services, user: VerifiedUser, claim: ActionClaim, ev: EventObject
) -> ActionResult:
    if ev.user_oauth_token is None:
        return ActionResult("Calendar did not send your access; reopen the event.", False)
    # The sync reads and writes with the clicking user's token, as a trigger of theirs
    # would: only someone who may edit the calendar (a reader's sync would park every write
    # it owes as "cannot edit"; someone who lost access reads nothing).
    client = svc.calendar_for_token(ev.user_oauth_token, interactive=True)
    try:
        role = client.access_role(claim.calendar_id)
    except CalendarError:
        role = None
    if role not in WRITE_ROLES:
        return ActionResult("Only someone who can edit this calendar can sync it from here.", False)
    try:
        outcome = on_trigger(svc, claim.calendar_id, ev.user_oauth_token, user)
    except QueueUnavailable:
        return ActionResult("The sync could not be started now; try again in a moment.", False)
    status = outcome.get("status")
    if status == "queued":
        return ActionResult("Sync queued: this calendar is synced in a few seconds.")
    if status == "coalesced":
        return ActionResult("A sync of this calendar is already on its way.")
    return ActionResult(f"Synced ({status}).")


def new_join_link(
    svc: Services, user: VerifiedUser, claim: ActionClaim, ev: EventObject
) -> ActionResult:
    if ev.user_oauth_token is None:
        return ActionResult("Calendar did not send your access; reopen the event.", False)
    cal, event_id = claim.calendar_id, claim.event_id
    client = svc.calendar_for_token(ev.user_oauth_token, interactive=True)
    try:
        event = client.get_event(cal, event_id)
    except CalendarError:
        return ActionResult("Calendar could not be read; try again in a moment.", False)
    stale = ActionResult("This card is out of date: the meeting changed. Reopen the event.")
    record = svc.store.get_conference(cal, event_id)
    if event is None or event.get("status") == "cancelled":
        return ActionResult("The event is gone.", False)
    carried = carried_conference(event)
    if (
        record is None
        or not record.live
        or record.conference_id != claim.conference_id
        or carried is None
        or carried.conference_id != record.conference_id
    ):
        return stale
    solution = svc.settings.solution(record.solution_id)
    provider = svc.providers.get(record.solution_id)
    if solution is None or provider is None:
        return ActionResult(f"Solution {record.solution_id} is no longer offered here.", False)
    try:
        role = client.access_role(cal)
    except CalendarError:
        return ActionResult("Calendar could not be read; try again in a moment.", False)
    if not PlanContext(cal, frozenset(), role).may_write(event):
        # Checked before anything is made: a meeting swapped in that the user cannot put on
        # the event would leave the event showing a deleted one.
        return ActionResult(
            "Only someone who can edit the organizer's copy of this event can give it a new "
            "join link.",
            False,
        )
    request = meeting_request(cal, event_id, solution, event)
    request = preferred_request(svc, user, request)
    key = renew_key(solution.id, record.conference_id)
    try:
        created = svc.links.call_as(
            provider, solution.id, user.user_id, lambda p: p.create(request, idempotency_key=key)
        )
    except (ProviderAuthRequired, AccountNotLinked):
        return ActionResult("Link your account with the conferencing system first.", False)
    except ProviderUnavailable:
        return ActionResult("The conferencing system is unavailable; try again later.", False)
    except ProviderRefused:
        return ActionResult("The conferencing system refused a new meeting.", False)
    except ProviderError:
        return ActionResult("The conferencing system failed; try again later.", False)
    created = carry_dial_in_choice(record.meeting, created)
    old = record
    stored = None
    for _ in range(SWAP_ATTEMPTS):
        replacement = Conference.new(
            cal,
            event_id,
            solution.id,
            created,
            event,
            record.origin,
            record.generation + 1,
            user.user_id,
        )
        replacement = replacement.with_(confirmed=True, occurrences=record.occurrences)
        stored = svc.store.swap_meeting(record, replacement)
        if stored is not None:
            break
        fresh = svc.store.get_conference(cal, event_id)
        if fresh is None or not fresh.live or fresh.conference_id != old.conference_id:
            # Deleted or replaced meanwhile (the user removed the conference, picked another
            # solution): ours is not wanted.
            _delete(svc, provider, solution.id, created, user.user_id)
            return stale
        record = fresh
    if stored is None:
        return ActionResult("The event is being synced right now; try again in a moment.", False)
    data = conference_data_resource(
        created,
        solution_name=solution.name,
        icon_uri=solution.logo_url,
        parameters=owner_parameters(cal, event_id, solution.id),
    )
    written = False
    try:
        written = patch_if_match(
            client,
            cal,
            event_id,
            event,
            data,
            {old.conference_id, created.meeting_id},
            on_conflict=lambda: None,
        )
    except Forbidden:
        # Refused after all (the user's access changed meanwhile): put the old meeting back in
        # the record. The new one is kept at the vendor: its key gives it to a later retry.
        svc.store.swap_meeting(stored, old.with_(version=stored.version))
        log.warning("new join link refused by Calendar; the old meeting stays")
        return ActionResult("Calendar refused the change; the join link stays as it was.", False)
    except (RetryLater, CalendarError) as exc:
        log.warning("new join link not written back yet: %s", type(exc).__name__)
    if written:
        svc.store.swap_meeting(stored, stored.with_(written_digest=join_digest(created)))
    _delete(svc, provider, solution.id, old.meeting, old.owner_id)
    if written:
        return ActionResult("New join link ready; the old one no longer works.")
    return ActionResult("New meeting made; the event gets its join link with the next sync.")


def _delete(
    svc: Services,
    provider: ConferenceProvider,
    solution_id: str,
    meeting: Meeting,
    owner_id: str | None,
) -> None:
    """Delete a replaced meeting, as its owner's linked account where the vendor needs one."""
    key = delete_key(solution_id, meeting.meeting_id)
    try:
        svc.links.call_as(
            provider, solution_id, owner_id, lambda p: p.delete(meeting, idempotency_key=key)
        )
    except ProviderError as exc:
        log.warning("could not delete a replaced meeting: %s", type(exc).__name__)


def preferred_request(
    svc: Services, user: VerifiedUser | None, request: MeetingRequest
) -> MeetingRequest:
    """The request with the user's recording choice for a recorded solution."""
    if user is None:
        return request
    return apply_preferences(request, svc.store.get_preferences(user.user_id))
