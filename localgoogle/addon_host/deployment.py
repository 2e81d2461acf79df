"""The installed add-on: a gsuiteaddons v1 Deployment, validated the way the API would.

Public names: ``parse_deployment(body) -> Deployment``, ``Deployment``, ``ConferenceSolution``,
``AuthorizationHeader``.

Field names follow ``GoogleCloudGsuiteaddonsV1Deployment`` in the gcloud SDK's generated
messages (SPEC §3). Like Google's proto-JSON parser we refuse unknown field names in the parts
this host reads (a typo such as ``conferenceSolutions`` would otherwise be silently ignored and
the add-on would just never be called). Parts of other hosts (gmail, drive, …) are kept as given.

Deliberate difference: endpoint URLs may be ``http://`` as well as ``https://``, because the
add-on under test runs on loopback without TLS. Google requires HTTPS.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Literal, cast
from urllib.parse import urlsplit

from localgoogle.addon_host.errors import DeploymentError

AuthorizationHeader = Literal["SYSTEM_ID_TOKEN", "USER_ID_TOKEN", "NONE"]

_DEPLOYMENT_FIELDS = {"name", "etag", "oauthScopes", "addOns"}
_ADDONS_FIELDS = {
    "common",
    "calendar",
    "httpOptions",
    "gmail",
    "drive",
    "docs",
    "sheets",
    "slides",
    "meet",
}
_CALENDAR_FIELDS = {
    "calendarNotificationTrigger",
    "conferenceSolution",
    "createSettingsUrlFunction",
    "currentEventAccess",
    "eventAttachmentTrigger",
    "eventOpenTrigger",
    "eventUpdateTrigger",
    "homepageTrigger",
}
_SOLUTION_FIELDS = {"id", "name", "logoUrl", "onCreateFunction"}
_HTTP_OPTIONS_FIELDS = {"authorizationHeader", "granularOauthPermissionSupport"}
_EVENT_ACCESS = {"UNSPECIFIED", "METADATA", "READ", "WRITE", "READ_WRITE"}
_AUTH_HEADERS = {
    "HTTP_AUTHORIZATION_HEADER_UNSPECIFIED",
    "SYSTEM_ID_TOKEN",
    "USER_ID_TOKEN",
    "NONE",
}
_GRANULAR = {"GRANULAR_OAUTH_PERMISSION_SUPPORT_UNSPECIFIED", "OPT_IN", "OPT_OUT"}
# Google only hands the add-on the user's ID token when it may see the user's identity.
_IDENTITY_SCOPES = {
    "https://www.googleapis.com/auth/userinfo.email",
    "email",
    "openid",
}


@dataclass(frozen=True)
class ConferenceSolution:
    """One ``addOns.calendar.conferenceSolution[]`` entry; ``id`` is the solution id."""

    id: str
    name: str
    logo_url: str
    on_create_function: str


@dataclass(frozen=True)
class Deployment:
    """What the host needs from an installed deployment, plus the raw JSON as given."""

    raw: dict[str, Any]
    name: str
    logo_url: str
    oauth_scopes: tuple[str, ...]
    solutions: tuple[ConferenceSolution, ...]
    notification_function: str | None
    settings_url_function: str | None
    current_event_access: str
    authorization_header: AuthorizationHeader
    homepage_function: str | None = None
    event_open_function: str | None = None

    def solution(self, solution_id: str) -> ConferenceSolution | None:
        return next((s for s in self.solutions if s.id == solution_id), None)

    def origins(self) -> set[str]:
        """Scheme and host of every endpoint the deployment names: a card button's action
        may call only these (Google calls back the add-on that rendered the card)."""
        urls = [s.on_create_function for s in self.solutions]
        urls += [
            u
            for u in (
                self.notification_function,
                self.settings_url_function,
                self.homepage_function,
                self.event_open_function,
            )
            if u
        ]
        return {f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" for u in urls}

    @property
    def shares_user_identity(self) -> bool:
        """True when the scopes let Google include ``userIdToken`` in event objects."""
        return any(scope in _IDENTITY_SCOPES for scope in self.oauth_scopes)

    @property
    def can_read_event(self) -> bool:
        return self.current_event_access in {"READ", "READ_WRITE"}

    @property
    def can_write_event(self) -> bool:
        return self.current_event_access in {"WRITE", "READ_WRITE"}


def _object(value: object, where: str, *, required: bool = True) -> dict[str, Any]:
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise DeploymentError(f"{where} must be a JSON object")
    return cast(dict[str, Any], value)


def _known_fields(obj: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise DeploymentError(f"{where}: unknown field(s) {', '.join(unknown)}")


def _string(obj: dict[str, Any], key: str, where: str, *, required: bool) -> str | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise DeploymentError(f"{where}.{key} is required")
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise DeploymentError(f"{where}.{key} must be a non-empty string")
    return value


def _url(obj: dict[str, Any], key: str, where: str, *, required: bool) -> str | None:
    value = _string(obj, key, where, required=required)
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise DeploymentError(f"{where}.{key} must be a full http(s) URL, got {value!r}")
    return value


def _enum(obj: dict[str, Any], key: str, allowed: set[str], where: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if value not in allowed:
        raise DeploymentError(f"{where}.{key} must be one of {', '.join(sorted(allowed))}")
    return cast(str, value)


def _extension_point(calendar: dict[str, Any], key: str) -> str | None:
    where = f"addOns.calendar.{key}"
    point = _object(calendar.get(key), where, required=False)
    if key in calendar:
        return _url(point, "runFunction", where, required=True)
    return None


def parse_deployment(body: object) -> Deployment:
    """Validate a Deployment JSON; raise ``DeploymentError`` naming the first problem."""
    root = _object(body, "deployment")
    _known_fields(root, _DEPLOYMENT_FIELDS, "deployment")

    scopes = root.get("oauthScopes", [])
    if not isinstance(scopes, list) or not all(isinstance(s, str) and s for s in scopes):
        raise DeploymentError("oauthScopes must be a list of scope strings")

    addons = _object(root.get("addOns"), "addOns")
    _known_fields(addons, _ADDONS_FIELDS, "addOns")

    common = _object(addons.get("common"), "addOns.common")
    name = cast(str, _string(common, "name", "addOns.common", required=True))
    logo_url = cast(str, _url(common, "logoUrl", "addOns.common", required=True))

    calendar = _object(addons.get("calendar"), "addOns.calendar", required=False)
    _known_fields(calendar, _CALENDAR_FIELDS, "addOns.calendar")
    raw_solutions = calendar.get("conferenceSolution", [])
    if not isinstance(raw_solutions, list):
        raise DeploymentError("addOns.calendar.conferenceSolution must be a list")
    solutions: list[ConferenceSolution] = []
    for index, raw in enumerate(raw_solutions):
        where = f"addOns.calendar.conferenceSolution[{index}]"
        entry = _object(raw, where)
        _known_fields(entry, _SOLUTION_FIELDS, where)
        solution = ConferenceSolution(
            id=cast(str, _string(entry, "id", where, required=True)),
            name=cast(str, _string(entry, "name", where, required=True)),
            logo_url=cast(str, _url(entry, "logoUrl", where, required=True)),
            on_create_function=cast(str, _url(entry, "onCreateFunction", where, required=True)),
        )
        if any(s.id == solution.id for s in solutions):
            raise DeploymentError(f"{where}.id {solution.id!r} is used twice")
        solutions.append(solution)

    notification = _extension_point(calendar, "calendarNotificationTrigger")
    event_open = _extension_point(calendar, "eventOpenTrigger")
    _extension_point(calendar, "eventUpdateTrigger")
    homepage = _extension_point(calendar, "homepageTrigger")
    settings_url = _url(calendar, "createSettingsUrlFunction", "addOns.calendar", required=False)
    access = _enum(calendar, "currentEventAccess", _EVENT_ACCESS, "addOns.calendar")

    http_options = _object(addons.get("httpOptions"), "addOns.httpOptions", required=False)
    _known_fields(http_options, _HTTP_OPTIONS_FIELDS, "addOns.httpOptions")
    header = _enum(http_options, "authorizationHeader", _AUTH_HEADERS, "addOns.httpOptions")
    _enum(http_options, "granularOauthPermissionSupport", _GRANULAR, "addOns.httpOptions")
    if header in {None, "HTTP_AUTHORIZATION_HEADER_UNSPECIFIED"}:
        header = "SYSTEM_ID_TOKEN"  # the documented default

    return Deployment(
        raw=copy.deepcopy(root),
        name=name,
        logo_url=logo_url,
        oauth_scopes=tuple(scopes),
        solutions=tuple(solutions),
        notification_function=notification,
        settings_url_function=settings_url,
        current_event_access="METADATA" if access in {None, "UNSPECIFIED"} else cast(str, access),
        authorization_header=cast(AuthorizationHeader, header),
        homepage_function=homepage,
        event_open_function=event_open,
    )
