"""What the console shows, as plain view models built from the emulator, the fake
conferencing server and the add-on's Datastore records.

``gather(console, user)`` reads everything once per refresh; the ``*_view`` / ``timeline``
functions only reshape data (no I/O), so the templates stay free of logic. A part that
cannot be read (Datastore not up yet) shows its error instead of failing the page.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

from addon.local.console import Console
from addon.local.console.actions import CALENDAR_429, CONFERENCING_OUTAGE
from addon.local.timed_conferencing import TimedConferencingState
from addon.store.records import CalendarState, Conference, PendingChange

T = TypeVar("T")
LOG_LIMIT = 80
DASH = "\u2013"  # en dash, for time ranges
TIMES = "\u00d7"  # multiplication sign: "update x2" reads as a count


# -- formatting ------------------------------------------------------------------------------


def parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def event_time(time_obj: Any) -> datetime | None:
    if not isinstance(time_obj, Mapping):
        return None
    return parse_time(time_obj.get("dateTime") or time_obj.get("date"))


def when(start: Any, end: Any = None) -> str:
    """``Mon 7 Jan 2030 10:00-11:00 UTC`` (UTC throughout: the demo users live in UTC)."""
    begin, finish = event_time(start), event_time(end)
    if begin is None:
        return "no time"
    begin = begin.astimezone(UTC)
    text = f"{begin:%a} {begin.day} {begin:%b %Y} {begin:%H:%M}"
    if finish is not None:
        finish = finish.astimezone(UTC)
        same_day = finish.date() == begin.date()
        text += f"{DASH}{finish:%H:%M}" if same_day else f" {DASH} {finish:%d %b %H:%M}"
    return text + " UTC"


def ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "never"
    seconds = int((now - moment).total_seconds())
    if seconds < 0:
        return "just now"
    if seconds < 90:
        return f"{seconds} s ago"
    if seconds < 90 * 60:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h ago"


def recurrence_text(rules: Any) -> str | None:
    if not isinstance(rules, list) or not rules:
        return None
    rule = next((r for r in rules if isinstance(r, str) and r.startswith("RRULE:")), None)
    if rule is None:
        return "Recurring"
    parts = dict(p.split("=", 1) for p in rule[6:].split(";") if "=" in p)
    text = {"DAILY": "Daily", "WEEKLY": "Weekly", "MONTHLY": "Monthly", "YEARLY": "Yearly"}.get(
        parts.get("FREQ", ""), "Recurring"
    )
    return f"{text}, {parts['COUNT']} times" if "COUNT" in parts else text


# -- events and their conferences ------------------------------------------------------------


@dataclass
class MeetingView:
    id: str
    title: str | None
    when: str
    attendees: list[str]
    occurrences: list[str]
    updates: int
    deleted: bool


@dataclass
class ConferenceView:
    conference_id: str
    solution: str
    join_url: str | None
    phone: str | None
    pin: str | None
    more_url: str | None
    meeting: MeetingView | None
    record: str | None  # the add-on's Datastore record, summarised
    shared_with: list[str] = field(default_factory=list)


@dataclass
class InstanceView:
    id: str
    when: str
    status: str  # scheduled | moved | cancelled
    summary: str | None


@dataclass
class EventView:
    id: str
    summary: str
    when: str
    sort_key: str
    cancelled: bool
    recurrence: str | None
    attendees: list[str]
    conference: ConferenceView | None
    instances: list[InstanceView] = field(default_factory=list)
    exceptions: list[EventView] = field(default_factory=list)


def meeting_view(meeting: Mapping[str, Any]) -> MeetingView:
    occurrences = []
    for occ in meeting.get("occurrences") or []:
        if not isinstance(occ, Mapping):
            continue
        kind = "cancelled" if occ.get("cancelled") or occ.get("status") == "cancelled" else "moved"
        original = occ.get("originalStart") or occ.get("originalStartTime")
        label = when(original) if isinstance(original, Mapping) else str(occ.get("eventId", ""))
        if kind == "moved" and isinstance(occ.get("start"), Mapping):
            label += f" → {when(occ['start'], occ.get('end'))}"
        occurrences.append(f"{kind}: {label}")
    return MeetingView(
        id=str(meeting.get("id")),
        title=meeting.get("title"),
        when=when(meeting.get("start"), meeting.get("end")),
        attendees=list(meeting.get("attendees") or []),
        occurrences=occurrences,
        updates=int(meeting.get("updates") or 0),
        deleted=bool(meeting.get("deleted")),
    )


def record_text(record: Conference | None) -> str | None:
    if record is None:
        return None
    confirmed = "confirmed" if record.confirmed else "not yet seen in a listing"
    return f"{record.state}, {confirmed}, meeting {record.conference_id}"


def conference_view(
    event: Mapping[str, Any],
    meetings: Mapping[str, Mapping[str, Any]],
    records: Mapping[str, Conference],
) -> ConferenceView | None:
    data = event.get("conferenceData")
    if not isinstance(data, Mapping) or not data.get("conferenceId"):
        record = records.get(str(event.get("id")))
        if record is None:
            return None
        # Our record without conference data on the event: Calendar has not stored it yet.
        data = {"conferenceId": record.conference_id, "conferenceSolution": {}}
    conference_id = str(data["conferenceId"])
    points = {
        str(ep.get("entryPointType")): ep
        for ep in data.get("entryPoints") or []
        if isinstance(ep, Mapping)
    }
    phone = points.get("phone", {})
    solution = data.get("conferenceSolution") or {}
    meeting = meetings.get(conference_id)
    return ConferenceView(
        conference_id=conference_id,
        solution=str(solution.get("name") or solution.get("key", {}).get("type") or "conference"),
        join_url=points.get("video", {}).get("uri"),
        phone=phone.get("label") or phone.get("uri"),
        pin=phone.get("pin"),
        more_url=points.get("more", {}).get("uri"),
        meeting=meeting_view(meeting) if meeting is not None else None,
        record=record_text(records.get(str(event.get("id")))),
    )


def instance_view(instance: Mapping[str, Any]) -> InstanceView:
    if instance.get("status") == "cancelled":
        status = "cancelled"
    elif instance.get("originalStartTime") and instance.get("start") != instance.get(
        "originalStartTime"
    ):
        status = "moved"
    else:
        status = "scheduled"
    start = instance.get("start") or instance.get("originalStartTime")
    return InstanceView(
        id=str(instance.get("id")),
        when=when(start, instance.get("end") if status != "cancelled" else None),
        status=status,
        summary=instance.get("summary"),
    )


def event_views(
    events: Iterable[Mapping[str, Any]],
    meetings: Mapping[str, Mapping[str, Any]],
    records: Mapping[str, Conference],
    instances: Mapping[str, list[dict[str, Any]]],
) -> list[EventView]:
    """One card per event or series (its changed occurrences nested), upcoming first,
    deleted ones last."""
    cards: dict[str, EventView] = {}
    exceptions: list[tuple[str, EventView]] = []
    for event in events:
        view = EventView(
            id=str(event.get("id")),
            summary=str(event.get("summary") or "(no title)"),
            when=when(event.get("start"), event.get("end")),
            sort_key=str(event_time(event.get("start")) or datetime.max.replace(tzinfo=UTC)),
            cancelled=event.get("status") == "cancelled",
            recurrence=recurrence_text(event.get("recurrence")),
            attendees=[
                str(a.get("email")) for a in event.get("attendees") or [] if isinstance(a, Mapping)
            ],
            conference=conference_view(event, meetings, records),
            instances=[instance_view(i) for i in instances.get(str(event.get("id")), [])],
        )
        parent = event.get("recurringEventId")
        if isinstance(parent, str):
            exceptions.append((parent, view))
        else:
            cards[view.id] = view
    for parent, view in exceptions:
        if parent in cards:
            cards[parent].exceptions.append(view)
    # Two live events pointing at one meeting: the copied-event failure mode, made visible.
    owners: dict[str, list[str]] = {}
    for card in cards.values():
        if card.conference and not card.cancelled:
            owners.setdefault(card.conference.conference_id, []).append(card.id)
    for card in cards.values():
        if card.conference and not card.cancelled:
            others = owners[card.conference.conference_id]
            card.conference.shared_with = [o for o in others if o != card.id]
    return sorted(cards.values(), key=lambda c: (c.cancelled, c.sort_key, c.id))


# -- the calendar's sync state ---------------------------------------------------------------


@dataclass
class StatusView:
    calendar_id: str
    known: bool
    subscribed: bool
    subscribed_by: str | None
    host_subscribers: list[str]
    token: str
    token_age: str
    last_sync: str
    last_result: str
    pending: int
    needs_full_sync: bool
    lease: str | None
    error: str | None
    faults: list[str]
    # (event id, what it stood for, why) of each change parked as needing attention.
    parked: list[tuple[str, str, str]] = field(default_factory=list)
    next_retry: str | None = None
    attention: str | None = None


def summarise_report(report: Mapping[str, Any]) -> str:
    if not report:
        return "no sync yet"
    parts = [
        f"{report.get('mode', '?')} sync",
        f"{report.get('pages', 0)} list call(s)",
        f"{report.get('changes', 0)} change(s)",
    ]
    actions = report.get("actions") or {}
    if actions:
        parts.append(", ".join(f"{k}{TIMES}{v}" for k, v in sorted(actions.items())))
    if report.get("token_expired"):
        parts.append("410: token expired → full sync + reconcile")
    if report.get("replayed"):
        parts.append(f"replayed {report['replayed']}")
    if report.get("pending"):
        parts.append(f"{report['pending']} pending")
    if report.get("parked"):
        parts.append(f"{report['parked']} parked")
    if report.get("error"):
        parts.append(f"error: {report['error']}")
    return " · ".join(parts)


def status_view(
    calendar_id: str,
    state: CalendarState | None,
    pending: int,
    subscribers: list[str],
    faults: list[str],
    now: datetime,
    error: str | None = None,
    parked: Iterable[PendingChange] = (),
) -> StatusView:
    if state is None:
        return StatusView(
            calendar_id, False, False, None, subscribers, "none", "—", "never",
            "no sync yet", pending, False, None, error, faults,
        )  # fmt: skip
    lease = None
    if state.lease_owner and state.lease_expires and state.lease_expires > now:
        lease = f"held by {state.lease_owner[:18]} until {state.lease_expires:%H:%M:%S}"
    return StatusView(
        calendar_id=calendar_id,
        known=True,
        subscribed=state.subscribed,
        subscribed_by=state.subscribed_by,
        host_subscribers=subscribers,
        token=f"generation {state.token_generation}" if state.sync_token else "none",
        token_age=ago(state.token_stored_at, now) if state.sync_token else "—",
        last_sync=ago(state.last_sync_at, now),
        last_result=summarise_report(state.last_result),
        pending=pending,
        needs_full_sync=state.needs_full_sync,
        lease=lease,
        error=error,
        faults=faults,
        parked=[(p.event_id, p.action, p.last_error or "") for p in parked],
        next_retry=_next_retry(state, now),
        attention=state.attention,
    )


def _next_retry(state: CalendarState, now: datetime) -> str | None:
    if state.retry_at is None:
        return None
    seconds = (state.retry_at - now).total_seconds()
    when = f"in {seconds:.0f} s" if seconds > 0 else "due now"
    return f"{when} (attempt {state.retry_count + 1}, at {state.retry_at:%H:%M:%S})"


# -- the timeline ----------------------------------------------------------------------------


@dataclass
class LogEntry:
    at: datetime | None
    source: str  # trigger | sync | provider
    title: str
    detail: str
    tone: str  # ok | warn | error
    op: str = ""
    calendar: str = ""

    @property
    def time(self) -> str:
        return f"{self.at:%H:%M:%S}.{self.at.microsecond // 1000:03d}" if self.at else "—"


def trigger_entry(call: Mapping[str, Any]) -> LogEntry:
    kind = str(call.get("kind", "call"))
    status = call.get("status")
    outcome = str(call.get("outcome", ""))
    title = f"{'onCreateFunction' if kind == 'onCreate' else 'calendarNotificationTrigger'}"
    title += f" → {status}" if status is not None else f" → {outcome}"
    details = [str(call.get("calendarId", ""))]
    if call.get("eventId"):
        details.append(f"event {str(call['eventId'])[:12]}")
    for flag in ("applied", "subscribed", "duplicate"):
        if call.get(flag):
            details.append(flag if flag != "subscribed" else "subscribed the calendar")
    if call.get("attempt", 1) != 1:
        details.append(f"attempt {call['attempt']}")
    if call.get("conferenceError"):
        details.append(f"conference error {call['conferenceError'].get('type')}")
    if outcome not in ("ok", ""):
        details.append(outcome)
    tone = "ok" if outcome == "ok" else ("warn" if outcome == "dropped" else "error")
    return LogEntry(
        parse_time(call.get("at")), "trigger", title, " · ".join(details), tone,
        op=kind, calendar=str(call.get("calendarId", "")),
    )  # fmt: skip


def sync_entry(calendar_id: str, run: Mapping[str, Any]) -> LogEntry:
    title = (
        f"{run.get('mode', '?')} sync · {run.get('pages', 0)} list call(s) · "
        f"{run.get('changes', 0)} change(s)"
    )
    details = [calendar_id]
    actions = run.get("actions") or {}
    details.append(
        "actions " + ", ".join(f"{k}{TIMES}{v}" for k, v in sorted(actions.items()))
        if actions
        else "no action"
    )
    provider = run.get("provider_calls") or {}
    if provider:
        details.append(
            "provider " + ", ".join(f"{k}{TIMES}{v}" for k, v in sorted(provider.items()))
        )
    if run.get("token_expired"):
        details.append("410: token expired → full sync")
    if run.get("reconciled"):
        details.append(f"{run['reconciled']} reconciled")
    if run.get("retired"):
        details.append(f"{run['retired']} retired")
    if run.get("replayed"):
        details.append(f"replayed {run['replayed']}")
    if run.get("pending"):
        details.append(f"{run['pending']} pending")
    if run.get("parked"):
        details.append(f"{run['parked']} parked (needs attention)")
    if run.get("retry_in") is not None:
        details.append(f"next retry in {run['retry_in']:.0f} s")
    if run.get("write_backs"):
        details.append(f"{run['write_backs']} write-back(s)")
    details.append("token stored" if run.get("token_stored") else "token kept")
    tone = "ok"
    if run.get("pending") or run.get("failed") or run.get("parked"):
        tone = "warn"
    if run.get("error"):
        tone = "error"
        details.append(f"error: {run['error']}")
    return LogEntry(
        parse_time(run.get("at")), "sync", title, " · ".join(details), tone,
        op=str(run.get("mode", "")), calendar=calendar_id,
    )  # fmt: skip


def provider_entry(at: datetime | None, call: Mapping[str, Any]) -> LogEntry:
    op = str(call.get("op", ""))
    outcome = str(call.get("outcome", ""))
    meeting = call.get("meetingId") or "new meeting"
    tone = {"applied": "ok", "duplicate": "warn"}.get(outcome, "error")
    return LogEntry(
        at, "provider", f"{op} {meeting}",
        f"{call.get('method')} → {call.get('status')} · {outcome}", tone, op=op,
    )  # fmt: skip


def timeline(
    trigger_calls: Iterable[Mapping[str, Any]],
    sync_runs: Mapping[str, Iterable[Mapping[str, Any]]],
    provider_calls: Iterable[tuple[datetime | None, Mapping[str, Any]]],
    limit: int = LOG_LIMIT,
) -> list[LogEntry]:
    """Everything that happened, newest first."""
    entries = [trigger_entry(c) for c in trigger_calls]
    entries += [sync_entry(cal, run) for cal, runs in sync_runs.items() for run in runs]
    entries += [provider_entry(at, call) for at, call in provider_calls]
    oldest = datetime.min.replace(tzinfo=UTC)
    entries.sort(key=lambda e: e.at or oldest, reverse=True)
    return entries[:limit]


def counts(entries: Iterable[LogEntry]) -> dict[str, int]:
    return dict(Counter(e.source for e in entries))


# -- gathering -------------------------------------------------------------------------------


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
    status = status_view(
        user,
        state,
        pending,
        subscribers,
        faults,
        now,
        "; ".join(store_errors) or None,
        [c for c in changes if c.parked],
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
