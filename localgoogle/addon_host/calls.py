"""What Google Calendar sends to an HTTP add-on, and how it reads the answer.

Public names:

* ``AuthParts`` and ``on_create_event_object`` / ``notification_event_object`` — build the
  JSON event objects (SPEC §3 "Requests Google sends"). Google does not document the exact
  body of these two calls over HTTP; we send the documented event-object parts with the
  calendar id and event id the Apps Script contract passes.
* ``post_event_object`` — the one place that performs an outbound call; never raises.
* ``read_calendar_action`` — unwraps ``renderActions.hostAppAction.calendarAction`` (the wrapper
  is inferred from the markup reference, so it is read in exactly this one function).
* ``markup_to_conference_data`` — validates a ``ConferenceDataMarkup`` against the documented
  limits and converts it into a Calendar API ``conferenceData`` resource.
"""

from __future__ import annotations

import datetime
import json
import zoneinfo
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit

import requests

from localgoogle.addon_host.deployment import ConferenceSolution, Deployment

ENTRY_POINT_TYPES = {"VIDEO", "PHONE", "SIP", "MORE"}
ERROR_TYPES = {
    "UNKNOWN",
    "AUTHENTICATION",
    "TEMPORARY",
    "PERMANENT",
    "PERMISSION_DENIED",
    "CONFERENCE_SOLUTION_FORBIDDEN",
}
_URI_SCHEMES = {
    "VIDEO": {"http", "https"},
    "MORE": {"http", "https"},
    "PHONE": {"tel"},
    "SIP": {"sip", "sips"},
}
_CODE_FIELDS = ("meetingCode", "accessCode", "passcode", "password", "pin")
_RESPONSE_TEXT_LIMIT = 2000


@dataclass(frozen=True)
class AuthParts:
    """The credentials placed in ``authorizationEventObject`` and the Authorization header."""

    user_oauth_token: str
    system_id_token: str
    user_id_token: str | None
    authorized_scopes: tuple[str, ...]
    header_token: str | None  # what goes after "Bearer ", per httpOptions.authorizationHeader

    def event_object_part(self) -> dict[str, Any]:
        part: dict[str, Any] = {
            "userOAuthToken": self.user_oauth_token,
            "systemIdToken": self.system_id_token,
            "authorizedScopes": list(self.authorized_scopes),
        }
        if self.user_id_token is not None:
            part["userIdToken"] = self.user_id_token
        return part


def time_zone_part(time_zone_id: str, now: datetime.datetime) -> dict[str, Any]:
    """``{id, offset}`` with the offset in milliseconds, as Apps Script event objects give it."""
    try:
        offset = now.astimezone(zoneinfo.ZoneInfo(time_zone_id)).utcoffset()
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        offset = None
    millis = int(offset.total_seconds() * 1000) if offset is not None else 0
    return {"id": time_zone_id, "offset": millis}


def event_time_zone(event: dict[str, Any] | None) -> str | None:
    if not event:
        return None
    start = event.get("start")
    if isinstance(start, dict) and isinstance(start.get("timeZone"), str):
        return cast(str, start["timeZone"])
    return None


def on_create_event_object(
    *,
    deployment: Deployment,
    auth: AuthParts,
    calendar_id: str,
    event_id: str,
    event: dict[str, Any] | None,
    organizer_email: str | None,
    time_zone_id: str,
    locale: str,
    platform: str,
    now: datetime.datetime,
) -> dict[str, Any]:
    """The body of an onCreateFunction call. ``event`` is None when it does not exist yet."""
    calendar: dict[str, Any] = {"calendarId": calendar_id, "id": event_id}
    if event and isinstance(event.get("recurringEventId"), str):
        calendar["recurringEventId"] = event["recurringEventId"]
    organizer = (event or {}).get("organizer")
    if isinstance(organizer, dict) and organizer.get("email"):
        calendar["organizer"] = {"email": organizer["email"]}
    elif organizer_email:
        calendar["organizer"] = {"email": organizer_email}
    # currentEventAccess decides what the add-on may see and do (gsuiteaddons enum docs).
    if deployment.can_read_event and event:
        calendar["attendees"] = list(event.get("attendees") or [])
        if event.get("conferenceData"):
            calendar["conferenceData"] = event["conferenceData"]
    calendar["capabilities"] = {
        "canSeeAttendees": deployment.can_read_event,
        "canAddAttendees": deployment.can_write_event,
        "canSeeConferenceData": deployment.can_read_event,
        "canSetConferenceData": deployment.can_write_event,
        "canAddAttachments": deployment.can_write_event,
    }
    return {
        "commonEventObject": {
            "hostApp": "CALENDAR",
            "platform": platform,
            "userLocale": locale,
            "timeZone": time_zone_part(time_zone_id, now),
        },
        "authorizationEventObject": auth.event_object_part(),
        "calendar": calendar,
    }


def homepage_event_object(*, auth: AuthParts, locale: str) -> dict[str, Any]:
    """The body of a homepageTrigger call: the user opened the add-on in Calendar's side
    panel with no event open (the common event object, no calendar part)."""
    return {
        "commonEventObject": {"hostApp": "CALENDAR", "platform": "WEB", "userLocale": locale},
        "authorizationEventObject": auth.event_object_part(),
    }


def event_open_event_object(
    *,
    deployment: Deployment,
    auth: AuthParts,
    calendar_id: str,
    event_id: str,
    event: dict[str, Any] | None,
    locale: str,
    parameters: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The body of an eventOpenTrigger call, or of a card action on the open event: the common
    event object (with the button's ``parameters``), the user's tokens and the calendar part
    (what ``currentEventAccess`` lets the add-on see)."""
    calendar: dict[str, Any] = {"calendarId": calendar_id, "id": event_id}
    if event and isinstance(event.get("recurringEventId"), str):
        calendar["recurringEventId"] = event["recurringEventId"]
    organizer = (event or {}).get("organizer")
    if isinstance(organizer, dict) and organizer.get("email"):
        calendar["organizer"] = {"email": organizer["email"]}
    if deployment.can_read_event and event:
        calendar["attendees"] = list(event.get("attendees") or [])
        if event.get("conferenceData"):
            calendar["conferenceData"] = event["conferenceData"]
    common: dict[str, Any] = {"hostApp": "CALENDAR", "platform": "WEB", "userLocale": locale}
    if parameters:
        common["parameters"] = dict(parameters)
    return {
        "commonEventObject": common,
        "authorizationEventObject": auth.event_object_part(),
        "calendar": calendar,
    }


def read_card_answer(body: Any) -> dict[str, Any]:
    """``{card, notification}`` of a card-returning answer: ``action.navigations`` (a
    trigger's ``pushCard``) or ``renderActions.action`` (a button's ``updateCard`` and
    notification)."""
    body = body if isinstance(body, dict) else {}
    action = body.get("action")
    if not isinstance(action, dict):
        render = body.get("renderActions")
        action = render.get("action") if isinstance(render, dict) else None
    action = action if isinstance(action, dict) else {}
    card = None
    navigations = action.get("navigations") or []
    if isinstance(navigations, list) and navigations and isinstance(navigations[0], dict):
        card = navigations[0].get("pushCard") or navigations[0].get("updateCard")
    notification = action.get("notification")
    text = notification.get("text") if isinstance(notification, dict) else None
    return {"card": card if isinstance(card, dict) else None, "notification": text}


def notification_event_object(*, auth: AuthParts, calendar_id: str) -> dict[str, Any]:
    """The body of a calendarNotificationTrigger call: it names the calendar, not the event."""
    return {
        "commonEventObject": {"hostApp": "CALENDAR"},
        "authorizationEventObject": auth.event_object_part(),
        "calendar": {"calendarId": calendar_id},
    }


@dataclass(frozen=True)
class AddonAnswer:
    """The outcome of one outbound call; ``status`` is None when no HTTP answer came."""

    url: str
    status: int | None
    body: Any
    text: str
    error: str | None

    @property
    def retryable(self) -> bool:
        # Mirrors what Google retries for push notifications (SPEC §4): no answer or 5xx.
        return self.status is None or self.status >= 500

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def post_event_object(
    url: str, body: dict[str, Any], *, bearer: str | None, timeout: float
) -> AddonAnswer:
    """POST the event object as JSON; turn every failure into an ``AddonAnswer``."""
    headers = {"Content-Type": "application/json", "User-Agent": "Google-Calendar-Emulator"}
    if bearer is not None:
        headers["Authorization"] = f"Bearer {bearer}"
    try:
        response = requests.post(url, data=json.dumps(body), headers=headers, timeout=timeout)
    except requests.RequestException as exc:
        return AddonAnswer(url, None, None, "", f"{type(exc).__name__}: {exc}")
    text = response.text[:_RESPONSE_TEXT_LIMIT]
    try:
        parsed: Any = response.json()
    except ValueError:
        return AddonAnswer(url, response.status_code, None, text, "answer is not JSON")
    return AddonAnswer(url, response.status_code, parsed, text, None)


@dataclass(frozen=True)
class CalendarAction:
    """The parts of an onCreateFunction answer the host acts on."""

    conference_markup: dict[str, Any] | None
    subscription: dict[str, Any] | None
    requested_scopes: list[str] | None


def read_calendar_action(answer: dict[str, Any]) -> CalendarAction:
    """Unwrap the answer; raise ``ValueError`` naming what is missing or malformed."""
    requesting = answer.get("requesting_google_scopes")
    if isinstance(requesting, dict):
        scopes = requesting.get("scopes")
        if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
            raise ValueError("requesting_google_scopes.scopes must be a list of strings")
        return CalendarAction(None, None, list(scopes))
    path = ("renderActions", "hostAppAction", "calendarAction")
    node: Any = answer
    for index, key in enumerate(path):
        node = node.get(key) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            raise ValueError(f"answer has no object at {'.'.join(path[: index + 1])}")
    markup_wrapper = node.get("createConferenceDataActionMarkup")
    markup: dict[str, Any] | None = None
    if markup_wrapper is not None:
        inner = (
            markup_wrapper.get("createConferenceData") if isinstance(markup_wrapper, dict) else None
        )
        if not isinstance(inner, dict):
            raise ValueError("createConferenceDataActionMarkup.createConferenceData is missing")
        markup = inner
    subscription = node.get("calendarSubscriptionActionMarkup")
    if subscription is not None and not isinstance(subscription, dict):
        raise ValueError("calendarSubscriptionActionMarkup must be an object")
    if markup is None and subscription is None:
        raise ValueError("calendarAction carries neither conference data nor a subscription")
    return CalendarAction(markup, subscription, None)


class MarkupError(ValueError):
    """A ConferenceDataMarkup that Calendar would refuse; ``problems`` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _limit(problems: list[str], where: str, value: Any, limit: int) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        problems.append(f"{where} must be a string")
    elif len(value) > limit:
        problems.append(f"{where} is longer than {limit} characters")


def _entry_point(index: int, raw: Any, problems: list[str]) -> dict[str, Any] | None:
    where = f"entryPoints[{index}]"
    if not isinstance(raw, dict):
        problems.append(f"{where} must be an object")
        return None
    kind = raw.get("type")
    if kind not in ENTRY_POINT_TYPES:
        problems.append(f"{where}.type must be one of {', '.join(sorted(ENTRY_POINT_TYPES))}")
        return None
    uri = raw.get("uri")
    if not isinstance(uri, str) or not uri:
        problems.append(f"{where}.uri is required")
    else:
        _limit(problems, f"{where}.uri", uri, 1300)
        if urlsplit(uri).scheme.lower() not in _URI_SCHEMES[kind]:
            allowed = "/".join(sorted(_URI_SCHEMES[kind]))
            problems.append(f"{where}.uri must use {allowed} for {kind}")
    _limit(problems, f"{where}.label", raw.get("label"), 512)
    for field in _CODE_FIELDS:
        _limit(problems, f"{where}.{field}", raw.get(field), 128)
    if raw.get("regionCode") is not None and kind != "PHONE":
        problems.append(f"{where}.regionCode is only allowed on PHONE")
    features = raw.get("features") or []
    if not isinstance(features, list) or not set(features) <= {"TOLL", "TOLL_FREE"}:
        problems.append(f"{where}.features must be a list of TOLL/TOLL_FREE")
        features = []
    elif {"TOLL", "TOLL_FREE"} <= set(features):
        problems.append(f"{where}.features cannot be both TOLL and TOLL_FREE")
    converted: dict[str, Any] = {"entryPointType": kind.lower(), "uri": uri}
    for field in ("label", "regionCode", *_CODE_FIELDS):
        if raw.get(field) is not None:
            converted[field] = raw[field]
    if features:
        # Assumed API spelling: Calendar lower-cases the markup enums (as for entryPointType).
        converted["entryPointFeatures"] = [str(f).lower() for f in features]
    return converted


def markup_to_conference_data(
    markup: dict[str, Any], solution: ConferenceSolution
) -> dict[str, Any]:
    """Convert a successful (error-free) markup for the picked ``solution``.

    Raises ``MarkupError`` listing every documented limit the markup breaks.
    """
    problems: list[str] = []
    conference_id = markup.get("conferenceId")
    if not isinstance(conference_id, str) or not conference_id:
        problems.append("conferenceId is required")
    else:
        _limit(problems, "conferenceId", conference_id, 512)
    solution_id = markup.get("conferenceSolutionId")
    if solution_id != solution.id:
        problems.append(
            f"conferenceSolutionId {solution_id!r} is not the picked solution {solution.id!r}"
        )

    raw_points = markup.get("entryPoints") or []
    entry_points: list[dict[str, Any]] = []
    if not isinstance(raw_points, list):
        problems.append("entryPoints must be a list")
    elif len(raw_points) > 300:
        problems.append("more than 300 entryPoints")
    else:
        for index, raw in enumerate(raw_points):
            point = _entry_point(index, raw, problems)
            if point is not None:
                entry_points.append(point)
    kinds = [p["entryPointType"] for p in entry_points]
    for single in ("video", "sip", "more"):
        if kinds.count(single) > 1:
            problems.append(f"at most one {single.upper()} entry point is allowed")
    if not entry_points:
        problems.append("at least one entry point is required")
    elif set(kinds) == {"more"}:
        problems.append("a MORE entry point alone is not a valid conference")

    raw_params = markup.get("parameters") or []
    params: dict[str, str] = {}
    if not isinstance(raw_params, list) or len(raw_params) > 300:
        problems.append("parameters must be a list of at most 300 {key, value}")
    else:
        for index, raw in enumerate(raw_params):
            key = raw.get("key") if isinstance(raw, dict) else None
            value = raw.get("value") if isinstance(raw, dict) else None
            if not isinstance(key, str) or not isinstance(value, str):
                problems.append(f"parameters[{index}] needs string key and value")
                continue
            _limit(problems, f"parameters[{index}].key", key, 50)
            _limit(problems, f"parameters[{index}].value", value, 1024)
            params[key] = value
    note = markup.get("note")
    _limit(problems, "note", note, 2048)
    if problems:
        raise MarkupError(problems)

    data: dict[str, Any] = {
        "conferenceId": conference_id,
        "conferenceSolution": {
            "key": {"type": "addOn"},
            "name": solution.name,
            "iconUri": solution.logo_url,
        },
        "entryPoints": entry_points,
    }
    if params:
        data["parameters"] = {"addOnParameters": {"parameters": params}}
    if note:
        data["notes"] = note
    return data


def validate_markup_error(error: Any) -> list[str]:
    """Problems with a markup's ``error`` part (the conference is not created either way)."""
    if not isinstance(error, dict):
        return ["error must be an object"]
    problems: list[str] = []
    if error.get("type") not in ERROR_TYPES:
        problems.append(f"error.type must be one of {', '.join(sorted(ERROR_TYPES))}")
    _limit(problems, "error.authenticationUrl", error.get("authenticationUrl"), 1300)
    return problems
