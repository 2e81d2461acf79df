"""What a person can do in the console. Each action takes the console and the posted form
and returns the sentence to show; ``ConsoleError`` says what went wrong.

Calendar changes go through the Calendar API as the user (so the add-on host sees them as
changes and fires the add-on's trigger, as Google does); picking a solution goes through the
add-on host, which calls the add-on's onCreateFunction. A copy inserts a new event with the
same body, conference data included (``conferenceDataVersion=1``): that is what copying an
event in Calendar does, and the add-on must then give the copy a meeting of its own. The copy
also carries the shared extended property ``consoleCopyOf`` naming its original
(``relations``), so the page can show which event it copies once the add-on has replaced the
conference data that named the original.

A calendar's picks go through the HTTP add-on (the emulator's add-on host calls the backend's
onCreateFunction endpoint) or, once chosen with ``host-mode``, through the Apps Script bridge
(the stand-in runs the bridge's script, which calls the backend): two host modes side by side.

Picking a solution is refused, before the add-on is called, when the event already has that
solution or when the user is a guest (only the organizer changes an event's conference, as in
Calendar); the other organizer-only changes are refused by Calendar itself (403).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from werkzeug.datastructures import MultiDict

from localrun.console import Console
from localrun.console.client import ConsoleError
from localrun.console.relations import carried_solution, copy_marker, organizer_of

Form = MultiDict[str, str]
Action = Callable[[Console, Form], str]

ACTIONS: dict[str, Action] = {}

CONFERENCING_OUTAGE = "conferencing-outage"
CALENDAR_429 = "calendar-429"
# The sync reads Calendar with events.list (and events.get when reconciling).
CALENDAR_429_METHODS = ("calendar.events.list", "calendar.events.get")
HOST_MODES = {"http": "HTTP add-on", "bridge": "Apps Script bridge"}
MAX_FAULT_SECONDS = 600
# Fields a copy carries over (what Calendar's "Duplicate" keeps).
COPIED_FIELDS = (
    "summary",
    "description",
    "location",
    "start",
    "end",
    "attendees",
    "recurrence",
    "conferenceData",
)


def action(name: str) -> Callable[[Action], Action]:
    def register(fn: Action) -> Action:
        ACTIONS[name] = fn
        return fn

    return register


def run(console: Console, name: str, form: Form) -> str:
    fn = ACTIONS.get(name)
    if fn is None:
        raise ConsoleError(f"unknown action {name!r}")
    return fn(console, form)


# -- form reading ----------------------------------------------------------------------------


def _field(form: Form, name: str) -> str:
    value = (form.get(name) or "").strip()
    if not value:
        raise ConsoleError(f"{name} is required")
    return value


def _number(form: Form, name: str, default: int, low: int, high: int) -> int:
    raw = (form.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConsoleError(f"{name} must be a whole number") from None
    if not low <= value <= high:
        raise ConsoleError(f"{name} must be between {low} and {high}")
    return value


def _user(form: Form) -> str:
    return _field(form, "user")


def _start(form: Form) -> datetime:
    raw = (form.get("start") or "").strip()
    if not raw:
        return default_start()
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise ConsoleError("start must be a date and time such as 2030-01-07T10:00") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def default_start(now: datetime | None = None) -> datetime:
    """The next full hour after the coming hour: soon, but clearly in the future."""
    now = now or datetime.now(UTC)
    return now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)


def _when(moment: datetime) -> dict[str, str]:
    return {"dateTime": moment.isoformat(), "timeZone": "UTC"}


def _shift(time_obj: dict[str, Any], delta: timedelta) -> dict[str, Any]:
    if "dateTime" not in time_obj:
        raise ConsoleError("only timed events can be moved here (this one lasts all day)")
    moved = datetime.fromisoformat(time_obj["dateTime"]) + delta
    return {**time_obj, "dateTime": moved.isoformat()}


def _solution_name(console: Console, solution_id: str) -> str:
    deployment = console.client.deployment() or {}
    for s in deployment.get("addOns", {}).get("calendar", {}).get("conferenceSolution", []):
        if s.get("id") == solution_id:
            return str(s.get("name") or solution_id)
    return solution_id


# -- Calendar actions ------------------------------------------------------------------------


@action("create")
def create_event(console: Console, form: Form) -> str:
    user = _user(form)
    start = _start(form)
    minutes = _number(form, "duration", 30, 5, 24 * 60)
    body: dict[str, Any] = {
        "summary": (form.get("title") or "").strip() or "New meeting",
        "start": _when(start),
        "end": _when(start + timedelta(minutes=minutes)),
    }
    guests = [g.strip() for g in (form.get("guests") or "").replace(";", ",").split(",")]
    if any(guests):
        body["attendees"] = [{"email": g} for g in guests if g]
    weekly = form.get("weekly") in ("on", "1", "true")
    if weekly:
        body["recurrence"] = [f"RRULE:FREQ=WEEKLY;COUNT={_number(form, 'count', 6, 2, 52)}"]
    event = console.client.insert_event(user, user, body)
    message = f"Created {'weekly series' if weekly else 'event'} “{body['summary']}”."
    solution = (form.get("solution") or "").strip()
    if solution:
        message += " " + _pick(console, user, event["id"], solution, new=True)
    return message


def _pick(
    console: Console, user: str, event_id: str, solution_id: str, *, new: bool = False
) -> str:
    name = _solution_name(console, solution_id)
    if not new:
        _check_pick(console, user, event_id, solution_id, name)
    if host_mode(console, user) == "bridge":
        return _pick_through_bridge(console, user, event_id, solution_id, name)
    answer = console.client.pick_conference(user, user, event_id, solution_id)
    if answer.get("requestedScopes"):
        return f"The add-on asked for more permissions: {', '.join(answer['requestedScopes'])}."
    error = answer.get("error")
    if error and error.get("type") == "AUTHENTICATION" and error.get("authenticationUrl"):
        # Calendar shows a "sign in" link here; so does the console (account linking).
        console.link_prompts[user] = (name, str(error["authenticationUrl"]))
        return f"{name}: link your account first (follow the link above), then pick it again."
    if error:
        return f"{name}: the add-on answered a conference error ({error.get('type')})."
    console.link_prompts.pop(user, None)
    if not answer.get("applied"):
        return f"{name}: the add-on answered, but the event does not exist (yet)."
    return f"{name} added to the event."


def host_mode(console: Console, calendar_id: str) -> str:
    """How this calendar's picks reach the backend: "http" or "bridge"."""
    if console.bridge_url is None:
        return "http"
    return console.host_modes.get(calendar_id, "http")


def _pick_through_bridge(
    console: Console, user: str, event_id: str, solution_id: str, name: str
) -> str:
    assert console.bridge_url is not None
    answer = console.client.pick_through_bridge(
        console.bridge_url, user, user, event_id, solution_id
    )
    execution = answer.get("execution") or {}
    if execution.get("status") != "completed" or execution.get("error"):
        reason = execution.get("error") or execution.get("status")
        return f"{name}: the bridge's script failed ({reason})."
    error = answer.get("conferenceError")
    if error:
        return f"{name}: the bridge answered a conference error ({error.get('type')})."
    if not answer.get("applied"):
        return f"{name}: the bridge answered, but the event does not exist (yet)."
    return f"{name} added to the event through the Apps Script bridge."


@action("host-mode")
def set_host_mode(console: Console, form: Form) -> str:
    user, mode = _user(form), _field(form, "mode")
    if mode not in HOST_MODES:
        raise ConsoleError(f"mode must be one of {', '.join(HOST_MODES)}")
    if mode == "bridge" and console.bridge_url is None:
        raise ConsoleError("no Apps Script stand-in runs here: `make run` starts one")
    console.host_modes[user] = mode
    return f"Picks on {user}'s calendar now go through the {HOST_MODES[mode]}."


def _check_pick(console: Console, user: str, event_id: str, solution_id: str, name: str) -> None:
    event = console.client.get_event(user, user, event_id)
    organizer = organizer_of(event)
    if organizer is not None:
        raise ConsoleError(
            f"Only the organizer, {organizer}, can change this event's conference: nothing changed."
        )
    current = carried_solution(event)
    if current is None:
        # Calendar may not have stored the conference yet: the add-on's record knows it.
        try:
            record = console.store.get_conferences(user, [event_id]).get(event_id)
        except Exception:  # Datastore not up: Calendar's answer alone decides
            record = None
        current = record.solution_id if record is not None and record.live else None
    if current == solution_id:
        raise ConsoleError(f"The event already has {name}: nothing changed.")


@action("pick")
def pick_solution(console: Console, form: Form) -> str:
    return _pick(console, _user(form), _field(form, "event_id"), _field(form, "solution_id"))


@action("move")
def move_event(console: Console, form: Form) -> str:
    user, event_id = _user(form), _field(form, "event_id")
    minutes = _number(form, "minutes", 60, -7 * 24 * 60, 7 * 24 * 60)
    event = console.client.get_event(user, user, event_id)
    delta = timedelta(minutes=minutes)
    console.client.patch_event(
        user,
        user,
        event_id,
        {"start": _shift(event["start"], delta), "end": _shift(event["end"], delta)},
    )
    what = "Occurrence" if event.get("recurringEventId") else "Event"
    return f"{what} moved by {minutes:+d} min."


@action("retitle")
def retitle_event(console: Console, form: Form) -> str:
    user, event_id, title = _user(form), _field(form, "event_id"), _field(form, "title")
    console.client.patch_event(user, user, event_id, {"summary": title})
    return f"Renamed to “{title}”."


@action("guest")
def add_guest(console: Console, form: Form) -> str:
    user, event_id, email = _user(form), _field(form, "event_id"), _field(form, "email")
    if "@" not in email:
        raise ConsoleError("a guest is an email address")
    event = console.client.get_event(user, user, event_id)
    attendees = list(event.get("attendees") or [])
    if any(a.get("email", "").lower() == email.lower() for a in attendees):
        raise ConsoleError(f"{email} is already a guest")
    console.client.patch_event(user, user, event_id, {"attendees": [*attendees, {"email": email}]})
    return f"Added {email} as a guest."


@action("copy")
def copy_event(console: Console, form: Form) -> str:
    user, event_id = _user(form), _field(form, "event_id")
    event = console.client.get_event(user, user, event_id)
    body = {k: event[k] for k in COPIED_FIELDS if k in event}
    body["extendedProperties"] = copy_marker(event_id)
    copy = console.client.insert_event(user, user, body, conference_version=1)
    carried = " (with the original's conference data)" if "conferenceData" in body else ""
    return f"Copied to a new event {copy['id'][:10]}…{carried}."


@action("delete")
def delete_event(console: Console, form: Form) -> str:
    user, event_id = _user(form), _field(form, "event_id")
    organizer = organizer_of(console.client.get_event(user, user, event_id))
    console.client.delete_event(user, user, event_id)
    if organizer is not None:
        # A guest's delete removes their copy only (Calendar records them as declining).
        return f"Invitation removed from your calendar; {organizer} sees you declined."
    return "Event deleted."


@action("cancel-occurrence")
def cancel_occurrence(console: Console, form: Form) -> str:
    user, instance_id = _user(form), _field(form, "event_id")
    console.client.delete_event(user, user, instance_id)
    return "Occurrence cancelled."


# -- sync and fault injection ----------------------------------------------------------------


@action("expire-sync-token")
def expire_sync_token(console: Console, form: Form) -> str:
    user = _user(form)
    console.client.expire_sync_tokens(user)
    return (
        f"Sync tokens of {user} expired: the next sync gets 410 and runs a full sync "
        "(change an event to trigger one)."
    )


@action("conferencing-outage")
def conferencing_outage(console: Console, form: Form) -> str:
    seconds = _number(form, "seconds", 30, 1, MAX_FAULT_SECONDS)
    console.conferencing.set_fault("down")
    console.windows.open(CONFERENCING_OUTAGE, seconds, lambda: console.conferencing.set_fault(None))
    return f"Conferencing API answers 503 for {seconds} s."


@action("conferencing-restore")
def conferencing_restore(console: Console, form: Form) -> str:
    console.windows.close(CONFERENCING_OUTAGE, lambda: console.conferencing.set_fault(None))
    return "Conferencing API is back."


@action("calendar-429")
def calendar_rate_limit(console: Console, form: Form) -> str:
    seconds = _number(form, "seconds", 20, 1, MAX_FAULT_SECONDS)
    rules = [{"method": m, "status": 429, "rate": 1.0} for m in CALENDAR_429_METHODS]
    console.client.set_calendar_fault({"rules": rules})
    console.windows.open(CALENDAR_429, seconds, console.client.clear_calendar_faults)
    return f"Calendar answers 429 rateLimitExceeded to events.list/get for {seconds} s."


@action("open-home")
def open_home(console: Console, form: Form) -> str:
    user = _user(form)
    card = console.client.open_homepage(user)
    if card is None:
        raise ConsoleError("the add-on answered its home page without a card")
    console.home_cards[user] = (card, datetime.now(UTC))
    return "The add-on's home card is shown under Offline sync."


@action("open-event")
def open_event(console: Console, form: Form) -> str:
    """The event opened with the add-on's side panel: its eventOpen card is shown beside it."""
    user, event_id = _user(form), _field(form, "event_id")
    answer = console.client.open_event(user, user, event_id)
    if answer.get("addonStatus") != 200 or not isinstance(answer.get("card"), dict):
        raise ConsoleError(f"the add-on answered eventOpen with {answer.get('addonStatus')}")
    console.event_cards[(user, event_id)] = (answer["card"], datetime.now(UTC), None)
    return "The add-on's card is shown beside the event."


@action("card-action")
def card_action(console: Console, form: Form) -> str:
    """A button of the event's card: Google (the host emulator) calls the add-on endpoint
    the button names with its parameters; the answer's notification is the toast, its card
    replaces the one shown."""
    user, event_id = _user(form), _field(form, "event_id")
    function = _field(form, "function")
    try:
        parameters = json.loads(form.get("parameters") or "{}")
    except ValueError:
        raise ConsoleError("the button's parameters are not JSON") from None
    if not isinstance(parameters, dict):
        raise ConsoleError("the button's parameters must be an object")
    answer = console.client.card_action(
        user, function, {str(k): str(v) for k, v in parameters.items()}, user, event_id
    )
    status = answer.get("addonStatus")
    if status != 200:
        body = answer.get("answer") or {}
        error = body.get("error", {}) if isinstance(body, dict) else {}
        raise ConsoleError(f"the add-on refused the click ({status}): {error.get('message', '')}")
    text = str(answer.get("notification") or "Done.")
    card = answer.get("card")
    previous = console.event_cards.get((user, event_id))
    if isinstance(card, dict):
        console.event_cards[(user, event_id)] = (card, datetime.now(UTC), text)
    elif previous is not None:
        console.event_cards[(user, event_id)] = (previous[0], previous[1], text)
    return text


@action("notify-deletions")
def notify_deletions(console: Console, form: Form) -> str:
    on = _field(form, "on") == "yes"
    console.client.set_notify_deletions(on)
    if on:
        return "Deleting an event fires the add-on's trigger again."
    return (
        "Deleting an event fires no trigger now (Google documents the trigger for created and "
        "updated events): the push channel or the sweep has to find it."
    )


@action("calendar-restore")
def calendar_restore(console: Console, form: Form) -> str:
    console.windows.close(CALENDAR_429, console.client.clear_calendar_faults)
    return "Calendar faults cleared."
