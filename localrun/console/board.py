"""What the console shows, gathered once per refresh from the emulator, the fake
conferencing server and the add-on's Datastore records.

``gather(console, user)`` does all the reading; the view models it fills (``event_views``,
``status_view``, ``timeline``) only reshape data (no I/O), so the templates stay free of
logic. A part that cannot be read (Datastore not up yet) shows its error instead of failing
the page.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

from addon.store.records import Conference, PendingChange
from localrun.console import Console
from localrun.console.actions import CALENDAR_429, CONFERENCING_OUTAGE
from localrun.console.event_views import EventView, event_views
from localrun.console.status_view import StatusView, queued_tasks, status_view
from localrun.console.timeline import LogEntry, timeline
from localrun.timed_conferencing import TimedConferencingState

T = TypeVar("T")


@dataclass
class Board:
    user: str
    users: list[str]
    solutions: list[dict[str, str]]
    addon_url: str | None
    events: list[EventView]
    status: StatusView
    log: list[LogEntry]
    errors: list[str]


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


def gather(console: Console, user: str) -> Board:
    client = console.client
    store = console.store
    errors: list[str] = []
    now = datetime.now(UTC)
    users = client.users()
    deployment = _safely(errors, "add-on host", client.deployment, None)

    events: list[EventView] = []
    if user in users:
        raw: list[dict[str, Any]] = _safely(errors, "Calendar", lambda: client.all_events(user), [])
        ids = [str(e.get("id")) for e in raw]
        no_records: dict[str, Conference] = {}
        records = _safely(errors, "Datastore", lambda: store.get_conferences(user, ids), no_records)
        instances: dict[str, list[dict[str, Any]]] = {}
        for event in raw:
            if event.get("recurrence") and event.get("status") != "cancelled":
                series_id = str(event["id"])
                instances[series_id] = _safely(
                    errors, "Calendar", partial(client.instances, user, user, series_id), []
                )
        meetings = {m["id"]: m for m in console.conferencing.meetings()}
        events = event_views(raw, meetings, records, instances)

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

    runs: dict[str, list[dict[str, Any]]] = {}
    for calendar_id in users:
        runs[calendar_id] = _safely(
            errors, "Datastore", partial(store.recent_sync_runs, calendar_id), []
        )
    conferencing = console.conferencing
    provider_calls: list[tuple[datetime | None, dict[str, Any]]] = (
        conferencing.timed_calls()
        if isinstance(conferencing, TimedConferencingState)
        else [(None, c) for c in conferencing.calls()]
    )
    no_calls: list[dict[str, Any]] = []
    trigger_calls = _safely(errors, "add-on host", client.trigger_calls, no_calls)
    return Board(
        user=user,
        users=users,
        solutions=solutions_of(deployment),
        addon_url=addon_url_of(deployment),
        events=events,
        status=status,
        log=timeline(trigger_calls, runs, provider_calls),
        errors=list(dict.fromkeys(errors)),
    )
