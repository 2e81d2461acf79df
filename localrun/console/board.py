"""What the console shows, gathered once per refresh from the emulator, the fake
conferencing server, the fake vendors (``localrun.vendors``: Zoom, Teams, Webex, Daily,
BigBlueButton, each meeting normalized to the REST fake's shape) and the add-on's Datastore
records.

``gather(console, user)`` does all the reading; the view models it fills (``event_views``,
``relations``, ``status_view``, ``timeline``) only reshape data (no I/O), so the templates
stay free of logic. A part that cannot be read (Datastore not up yet) shows its error instead
of failing the page. The log shows what concerns the user: their calendar, the events in it
(an invitation's too) and those events' meetings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

from addon.store.records import CalendarState, Conference, PendingChange
from localrun.console import Console
from localrun.console.actions import CALENDAR_429, CONFERENCING_OUTAGE, HOST_MODES, host_mode
from localrun.console.card_view import panel_view
from localrun.console.event_views import EventView, event_views
from localrun.console.offline_view import OfflineView, offline_view
from localrun.console.relations import offered_solutions, organizer_of
from localrun.console.status_view import StatusView, queued_tasks, status_view
from localrun.console.timeline import LOG_LIMIT, LogEntry, concerning, timeline
from localrun.timed_conferencing import TimedConferencingState
from localrun.vendors import LOCAL_VENDORS, VendorMeeting

T = TypeVar("T")


@dataclass
class Board:
    user: str
    users: list[str]
    solutions: list[dict[str, str]]
    addon_url: str | None
    events: list[EventView]
    status: StatusView
    offline: OfflineView
    log: list[LogEntry]
    errors: list[str]
    # Who the "Guests" field of a new event names at first: another user, never oneself.
    default_guest: str = ""
    # How this calendar's picks reach the backend ("http" or "bridge"), whether a bridge
    # runs here, and the calendars the user's bridge triggers sync (Apps Script, issue 15).
    host_mode: str = "http"
    host_modes: dict[str, str] | None = None
    bridge_available: bool = False
    bridge_calendars: list[str] | None = None


def _safely(errors: list[str], what: str, fn: Callable[[], T], default: T) -> T:
    try:
        return fn()
    except Exception as exc:  # a part that cannot be read shows its error, the rest renders
        errors.append(f"{what}: {type(exc).__name__}: {str(exc)[:200]}")
        return default


def solutions_of(deployment: Mapping[str, Any] | None) -> list[dict[str, str]]:
    if not deployment:
        return []
    items = deployment.get("addOns", {}).get("calendar", {}).get("conferenceSolution", [])
    return [{"id": str(s["id"]), "name": str(s.get("name", s["id"]))} for s in items]


def addon_url_of(deployment: Mapping[str, Any] | None) -> str | None:
    if not deployment:
        return None
    trigger = deployment.get("addOns", {}).get("calendar", {}).get("calendarNotificationTrigger")
    url = (trigger or {}).get("runFunction")
    if not isinstance(url, str):
        return None
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


def resolve_user(wanted: str | None, users: list[str]) -> str:
    """The emulator user ``?user=`` means: its exact email, the same email in other letter
    case, or the one user whose name before the ``@`` it is (``bob``); nothing asked, the
    first user. Anything else is returned as asked, and the page says it is nobody."""
    wanted = (wanted or "").strip()
    if not wanted:
        return users[0] if users else ""
    if wanted in users:
        return wanted
    folded = [u for u in users if u.lower() == wanted.lower()]
    named = [u for u in users if u.split("@", 1)[0].lower() == wanted.lower()]
    for matches in (folded, named):
        if len(matches) == 1:
            return matches[0]
    return wanted


def default_guest(user: str, users: list[str]) -> str:
    """The first other user (the demo's other person), or nobody."""
    return next((u for u in users if u.lower() != user.lower()), "")


def _invitation_records(
    console: Console, raw: list[dict[str, Any]], errors: list[str]
) -> dict[str, Conference]:
    """The add-on's records of the invitations in ``raw``: kept in each organizer's calendar
    (an invitation has the organizer's event id)."""
    by_organizer: dict[str, list[str]] = {}
    for event in raw:
        organizer = organizer_of(event)
        if organizer is not None:
            by_organizer.setdefault(organizer, []).append(str(event.get("id")))
    records: dict[str, Conference] = {}
    for organizer, ids in by_organizer.items():
        none: dict[str, Conference] = {}
        records |= _safely(
            errors, "Datastore", partial(console.store.get_conferences, organizer, ids), none
        )
    return records


def _offline(
    console: Console, user: str, state: CalendarState | None, errors: list[str], now: datetime
) -> OfflineView:
    store = console.store
    grant = None
    if state is not None and state.sync_user_id:
        grant = _safely(errors, "Datastore", partial(store.get_grant, state.sync_user_id), None)
    channel = None
    if state is not None and state.channel_id:
        channel = _safely(errors, "Datastore", partial(store.get_channel, state.channel_id), None)
    none: list[dict[str, Any]] = []
    at_calendar = _safely(errors, "Calendar", partial(console.client.push_channels, user), none)
    notify = _safely(errors, "add-on host", console.client.notify_deletions, True)
    card = console.home_cards.get(user)
    return offline_view(state, grant, channel, len(at_calendar), notify, card, now)


def vendor_meetings(console: Console, errors: list[str]) -> dict[str, dict[str, Any]]:
    """Every fake vendor's meetings (``localrun.vendors``) by id, each with its ``vendor``."""
    found: dict[str, dict[str, Any]] = {}
    for vendor in LOCAL_VENDORS:
        state = console.vendors.get(vendor.provider)
        if state is not None:
            none: list[VendorMeeting] = []
            for meeting in _safely(errors, vendor.name, partial(vendor.meetings, state), none):
                found[meeting["id"]] = {**meeting, "vendor": vendor.name}
    return found


def gather(console: Console, user: str) -> Board:
    client = console.client
    store = console.store
    errors: list[str] = []
    now = datetime.now(UTC)
    users = client.users()
    deployment = _safely(errors, "add-on host", client.deployment, None)

    events: list[EventView] = []
    raw: list[dict[str, Any]] = []
    # The REST fake's meetings and each fake vendor's, by the id the event carries.
    meetings = vendor_meetings(console, errors) | {
        m["id"]: m for m in console.conferencing.meetings()
    }
    labels = {v.solution_id: (v.name, v.absent) for v in LOCAL_VENDORS}
    if user in users:
        raw = _safely(errors, "Calendar", lambda: client.all_events(user), [])
        ids = [str(e.get("id")) for e in raw]
        no_records: dict[str, Conference] = {}
        records = _invitation_records(console, raw, errors)
        records |= _safely(
            errors, "Datastore", lambda: store.get_conferences(user, ids), no_records
        )
        instances: dict[str, list[dict[str, Any]]] = {}
        for event in raw:
            if event.get("recurrence") and event.get("status") != "cancelled":
                series_id = str(event["id"])
                instances[series_id] = _safely(
                    errors, "Calendar", partial(client.instances, user, user, series_id), []
                )
        events = event_views(raw, meetings, records, instances, labels)
        solutions = solutions_of(deployment)
        for card in events:
            current = card.conference.solution_id if card.conference else None
            card.offers = offered_solutions(current, solutions)
            opened = console.event_cards.get((user, card.id))
            if opened is not None:
                card.panel = panel_view(opened[0], opened[1], now, opened[2])
    elif user:
        known = ", ".join(users) or "none yet"
        errors.append(f"{user} is not a user of the Calendar emulator (users: {known})")

    store_errors: list[str] = []
    state = _safely(store_errors, "Datastore", lambda: store.get_calendar(user), None)
    no_changes: list[PendingChange] = []
    changes = _safely(store_errors, "Datastore", lambda: store.list_pending(user), no_changes)
    pending = sum(1 for c in changes if not c.parked)
    no_subscriptions: list[dict[str, Any]] = []
    subscriptions = _safely(errors, "add-on host", client.subscriptions, no_subscriptions)
    subscribers = [str(s.get("user")) for s in subscriptions if s.get("calendarId") == user]
    faults = []
    windows = console.windows.active()
    if CONFERENCING_OUTAGE in windows:
        faults.append(f"conferencing API down until {windows[CONFERENCING_OUTAGE]:%H:%M:%S}")
    if CALENDAR_429 in windows:
        faults.append(f"Calendar 429s until {windows[CALENDAR_429]:%H:%M:%S}")
    no_queues: list[dict[str, Any]] = []
    queues = _safely(errors, "Cloud Tasks", client.queues, no_queues)
    status = status_view(
        user,
        state,
        pending,
        subscribers,
        faults,
        now,
        "; ".join(store_errors) or None,
        [c for c in changes if c.parked],
        queued_tasks(user, queues, now),
    )
    errors += store_errors
    offline = _offline(console, user, state, store_errors, now)

    # Only this user's calendar's runs: another calendar's runs do not say which events they
    # touched, so they cannot be told to concern this user.
    runs: dict[str, list[dict[str, Any]]] = {}
    if user in users:
        runs[user] = _safely(errors, "Datastore", partial(store.recent_sync_runs, user), [])
    conferencing = console.conferencing
    provider_calls: list[tuple[datetime | None, dict[str, Any]]] = (
        conferencing.timed_calls()
        if isinstance(conferencing, TimedConferencingState)
        else [(None, c) for c in conferencing.calls()]
    )
    no_calls: list[dict[str, Any]] = []
    trigger_calls = _safely(errors, "add-on host", client.trigger_calls, no_calls)
    everything = timeline(trigger_calls, runs, provider_calls, limit=None, meetings=meetings)
    seen = {str(e.get("id")) for e in raw}
    conference_ids = {c.conference.conference_id for c in events if c.conference}
    bridge_calendars: list[str] = []
    if console.bridge_url is not None and user in users:
        no_triggers: list[dict[str, Any]] = []
        triggers = _safely(
            errors,
            "Apps Script stand-in",
            partial(client.bridge_triggers, console.bridge_url, user),
            no_triggers,
        )
        bridge_calendars = sorted(str(t.get("sourceId")) for t in triggers)
    return Board(
        user=user,
        users=users,
        solutions=solutions_of(deployment),
        addon_url=addon_url_of(deployment),
        events=events,
        status=status,
        offline=offline,
        log=concerning(everything, [user], seen, conference_ids)[:LOG_LIMIT],
        errors=list(dict.fromkeys(errors)),
        default_guest=default_guest(user, users),
        host_mode=host_mode(console, user),
        host_modes=dict(HOST_MODES),
        bridge_available=console.bridge_url is not None,
        bridge_calendars=bridge_calendars,
    )
