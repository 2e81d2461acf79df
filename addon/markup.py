"""The one place that builds every response Google Calendar gets from the add-on.

Follows SPEC.md §3 ("Responses"): ``ConferenceDataMarkup``, ``EntryPointMarkup``, the
``error`` types and the ``renderActions`` wrappers. Every limit there is enforced here, so a
provider bug surfaces as ``MarkupError`` (which the service turns into an ``UNKNOWN`` error
markup) instead of bad data sent to Google.

Public functions: ``conference_data_markup``, ``error_markup``, ``create_conference_response``,
``settings_url_response``, ``requesting_scopes_response``, ``notification_response``,
``truncate_html``.

Policy: every violation is refused, except an over-long ``note``, which is truncated. The note
is the only free text (it may quote a long event title); losing its tail is better than
failing to create the conference. Truncation never cuts inside a tag or an entity, closes
the tags it left open and ends with an ellipsis (see ``truncate_html``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Final, Literal, get_args
from urllib.parse import urlsplit

from addon.providers.base import EntryPoint, Meeting

MAX_CONFERENCE_ID = 512
MAX_ENTRY_POINTS = 300
MAX_PARAMETERS = 300
MAX_PARAMETER_KEY = 50
MAX_PARAMETER_VALUE = 1024
MAX_NOTE = 2048
MAX_URI = 1300
MAX_LABEL = 512
MAX_CODE = 128

ErrorType = Literal[
    "UNKNOWN",
    "AUTHENTICATION",
    "TEMPORARY",
    "PERMANENT",
    "PERMISSION_DENIED",
    "CONFERENCE_SOLUTION_FORBIDDEN",
]
ERROR_TYPES: Final = frozenset(get_args(ErrorType))

# Which URI schemes each entry point type accepts.
_SCHEMES: Final[Mapping[str, tuple[str, ...]]] = {
    "VIDEO": ("http", "https"),
    "MORE": ("http", "https"),
    "PHONE": ("tel",),
    "SIP": ("sip", "sips"),
}
_SINGLETONS: Final = ("VIDEO", "SIP", "MORE")
_FEATURES: Final = frozenset({"TOLL", "TOLL_FREE"})
_REGION_CODE = re.compile(r"[A-Z]{2}")
# The code fields of EntryPoint and their markup names; each is limited to MAX_CODE.
_CODE_FIELDS: Final = (
    ("meeting_code", "meetingCode"),
    ("access_code", "accessCode"),
    ("passcode", "passcode"),
    ("password", "password"),
    ("pin", "pin"),
)


class MarkupError(ValueError):
    """A response would break Calendar's markup rules.

    ``field`` is the offending markup path (``entryPoints[1].uri``), ``reason`` says why.
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def _require_text(value: str | None, field: str, limit: int) -> str:
    if not value:
        raise MarkupError(field, "must not be empty")
    _limit(value, field, limit)
    return value


def _limit(value: str, field: str, limit: int) -> None:
    if len(value) > limit:
        raise MarkupError(field, f"{len(value)} characters, at most {limit} allowed")


def _check_uri(uri: str, field: str, schemes: tuple[str, ...]) -> None:
    _require_text(uri, field, MAX_URI)
    parts = urlsplit(uri)
    if parts.scheme.lower() not in schemes:
        raise MarkupError(field, f"scheme must be one of {', '.join(schemes)}: {uri[:80]!r}")
    if parts.scheme.lower() in ("http", "https"):
        if not parts.netloc:
            raise MarkupError(field, f"no host in {uri[:80]!r}")
    elif not uri.partition(":")[2].strip():
        raise MarkupError(field, f"nothing after the scheme in {uri[:80]!r}")


def _entry_point(entry: EntryPoint, field: str) -> dict[str, Any]:
    kind = str(entry.type).upper()
    if kind not in _SCHEMES:
        raise MarkupError(f"{field}.type", f"unknown entry point type {entry.type!r}")
    _check_uri(entry.uri, f"{field}.uri", _SCHEMES[kind])
    markup: dict[str, Any] = {"type": kind, "uri": entry.uri}
    if entry.label is not None:
        markup["label"] = _require_text(entry.label, f"{field}.label", MAX_LABEL)
    for attribute, name in _CODE_FIELDS:
        value: str | None = getattr(entry, attribute)
        if value is not None:
            markup[name] = _require_text(value, f"{field}.{name}", MAX_CODE)
    if entry.region_code is not None:
        if kind != "PHONE":
            raise MarkupError(f"{field}.regionCode", "only PHONE entry points have a region")
        if not _REGION_CODE.fullmatch(entry.region_code):
            raise MarkupError(f"{field}.regionCode", f"not a region code: {entry.region_code!r}")
        markup["regionCode"] = entry.region_code
    if entry.features:
        if kind != "PHONE":
            raise MarkupError(f"{field}.features", "only PHONE entry points have features")
        features = [str(feature) for feature in entry.features]
        if not _FEATURES.issuperset(features) or len(set(features)) != len(features):
            raise MarkupError(f"{field}.features", f"TOLL, TOLL_FREE at most once: {features}")
        markup["features"] = features
    return markup


def _entry_points(entries: tuple[EntryPoint, ...]) -> list[dict[str, Any]]:
    if not entries:
        raise MarkupError("entryPoints", "a conference needs at least one entry point")
    if len(entries) > MAX_ENTRY_POINTS:
        raise MarkupError("entryPoints", f"{len(entries)} entries, at most {MAX_ENTRY_POINTS}")
    markups = [_entry_point(entry, f"entryPoints[{i}]") for i, entry in enumerate(entries)]
    kinds = [m["type"] for m in markups]
    for kind in _SINGLETONS:
        if kinds.count(kind) > 1:
            raise MarkupError("entryPoints", f"at most one {kind} entry point")
    if set(kinds) == {"MORE"}:
        raise MarkupError("entryPoints", "a MORE entry point cannot be the only one")
    return markups


def _parameters(parameters: Mapping[str, str]) -> list[dict[str, str]]:
    if len(parameters) > MAX_PARAMETERS:
        raise MarkupError("parameters", f"{len(parameters)} parameters, at most {MAX_PARAMETERS}")
    result = []
    for key, value in parameters.items():
        _require_text(key, f"parameters[{key[:60]!r}].key", MAX_PARAMETER_KEY)
        if not isinstance(value, str):
            raise MarkupError(f"parameters[{key!r}].value", "must be a string")
        _limit(value, f"parameters[{key!r}].value", MAX_PARAMETER_VALUE)
        result.append({"key": key, "value": value})
    return result


def conference_data_markup(
    meeting: Meeting,
    *,
    conference_solution_id: str,
    parameters: Mapping[str, str] | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """``ConferenceDataMarkup`` for a meeting; ``note`` (HTML) replaces ``meeting.note`` if given.

    ``parameters`` are persisted by Calendar with the event and handed back on later calls.
    Raises ``MarkupError`` on any violation; an over-long note is truncated instead.
    """
    markup: dict[str, Any] = {
        "conferenceId": _require_text(meeting.meeting_id, "conferenceId", MAX_CONFERENCE_ID),
        "conferenceSolutionId": _require_text(
            conference_solution_id, "conferenceSolutionId", MAX_CONFERENCE_ID
        ),
        "entryPoints": _entry_points(meeting.entry_points),
    }
    if parameters:
        markup["parameters"] = _parameters(parameters)
    text = note if note is not None else meeting.note
    if text:
        markup["note"] = truncate_html(text, MAX_NOTE)
    return markup


def error_markup(
    type: ErrorType,
    conference_solution_id: str,
    authentication_url: str | None = None,
) -> dict[str, Any]:
    """``ConferenceDataMarkup`` carrying only an error.

    ``AUTHENTICATION`` requires ``authentication_url`` (http(s), at most 1300 characters), where
    the user links their account or logs in; the other types refuse one.
    """
    if type not in ERROR_TYPES:
        raise MarkupError("error.type", f"unknown error type {type!r}")
    error: dict[str, str] = {"type": type}
    if type == "AUTHENTICATION":
        if authentication_url is None:
            raise MarkupError("error.authenticationUrl", "required for AUTHENTICATION")
        _check_uri(authentication_url, "error.authenticationUrl", ("https", "http"))
        error["authenticationUrl"] = authentication_url
    elif authentication_url is not None:
        raise MarkupError("error.authenticationUrl", "only AUTHENTICATION errors carry a URL")
    return {
        "conferenceSolutionId": _require_text(
            conference_solution_id, "conferenceSolutionId", MAX_CONFERENCE_ID
        ),
        "error": error,
    }


def _calendar_action(**markups: Any) -> dict[str, Any]:
    # Inferred from Google's markup reference (apps.extensions.markup: RenderActions ->
    # HostAppAction -> CalendarClientActionMarkup); Google does not document this response
    # for HTTP add-ons. Every calendar response goes through here so the shape can change once.
    return {"renderActions": {"hostAppAction": {"calendarAction": markups}}}


def create_conference_response(
    conference_data: dict[str, Any], subscribe_calendar_id: str | None
) -> dict[str, Any]:
    """The onCreateFunction answer; subscribes the calendar to notifications if an id is given.

    ``conference_data`` is the output of ``conference_data_markup`` or ``error_markup``.
    """
    actions: dict[str, Any] = {
        "createConferenceDataActionMarkup": {"createConferenceData": conference_data}
    }
    if subscribe_calendar_id is not None:
        actions["calendarSubscriptionActionMarkup"] = {
            "operation": "CREATE",
            "calendarId": _require_text(subscribe_calendar_id, "calendarId", 1024),
        }
    return _calendar_action(**actions)


def settings_url_response(url: str) -> dict[str, Any]:
    """The createSettingsUrlFunction answer: where the user manages the solution's settings."""
    _check_uri(url, "settingsUrl", ("https", "http"))
    return _calendar_action(createConferenceSettingUrlActionMarkup={"settingsUrl": url})


def requesting_scopes_response(scopes: Iterable[str]) -> dict[str, Any]:
    """Ask Google to request the granular OAuth scopes the user has not granted yet."""
    wanted = list(dict.fromkeys(scopes))  # order kept, duplicates dropped
    if not wanted or not all(wanted):
        raise MarkupError("requesting_google_scopes.scopes", "at least one non-empty scope")
    return {"requesting_google_scopes": {"scopes": wanted}}


def notification_response(text: str) -> dict[str, Any]:
    """A toast shown to the user in the add-on's host app."""
    _require_text(text, "notification.text", MAX_NOTE)
    return {"renderActions": {"action": {"notification": {"text": text}}}}


# A tag, an entity, or one character of text.
_HTML_TOKEN = re.compile(r"<[^<>]*>|&#?[A-Za-z0-9]+;|[^<&]|[<&]", re.DOTALL)
_TAG_NAME = re.compile(r"<\s*(/?)\s*([A-Za-z][A-Za-z0-9]*)")
_VOID_TAGS: Final = frozenset({"br", "hr", "img", "wbr", "input", "meta", "link"})
_ELLIPSIS = "…"


def truncate_html(html: str, limit: int) -> str:
    """``html`` if it fits in ``limit`` characters, else a well-formed prefix ending in "…".

    Never cuts inside a tag or entity; closes the elements the prefix left open.
    """
    if len(html) <= limit:
        return html
    kept: list[str] = []
    length = 0
    open_tags: list[str] = []
    for match in _HTML_TOKEN.finditer(html):
        token = match.group()
        tag = _TAG_NAME.match(token) if token.startswith("<") and len(token) > 1 else None
        stack = open_tags
        if tag is not None and not token.endswith("/>"):
            closing, name = tag.group(1) == "/", tag.group(2).lower()
            if closing and name in open_tags:
                stack = open_tags[: len(open_tags) - 1 - open_tags[::-1].index(name)]
            elif not closing and name not in _VOID_TAGS:
                stack = [*open_tags, name]
        closers = len(_ELLIPSIS) + sum(len(name) + 3 for name in stack)
        if length + len(token) + closers > limit:
            break
        kept.append(token)
        length += len(token)
        open_tags = stack
    return "".join(kept) + _ELLIPSIS + "".join(f"</{name}>" for name in reversed(open_tags))
