"""HTTP parsing of the Calendar API v3 (the moto "responses" layer): ``/calendar/v3/``.

Only request parsing and response shaping live here; behaviour is in ``models`` and
``listing``. Every response body passes through ``_respond`` so a test hook
(``app.config["EMULATOR_RESPONSE_HOOK"]``) can check it against the discovery document.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, current_app, g, request

from localgoogle.calendar import exceptions as exc
from localgoogle.calendar.listing import ListParams, list_events, list_instances
from localgoogle.calendar.models import CalendarState
from localgoogle.calendar.partial import parse_fields, select
from localgoogle.calendar.scopes import allows

bp = Blueprint("calendar_v3", __name__, url_prefix="/calendar/v3")

# Flask endpoint name -> discovery method id.
METHOD_IDS = {
    "calendars_get": "calendar.calendars.get",
    "calendars_insert": "calendar.calendars.insert",
    "calendar_list": "calendar.calendarList.list",
    "events_list": "calendar.events.list",
    "events_insert": "calendar.events.insert",
    "events_get": "calendar.events.get",
    "events_patch": "calendar.events.patch",
    "events_update": "calendar.events.update",
    "events_delete": "calendar.events.delete",
    "events_instances": "calendar.events.instances",
    "events_watch": "calendar.events.watch",
    "channels_stop": "calendar.channels.stop",
}


def state() -> CalendarState:
    value: CalendarState = current_app.config["EMULATOR_STATE"]
    return value


def method_id() -> str:
    endpoint = (request.endpoint or "").rpartition(".")[2]
    return METHOD_IDS.get(endpoint, "calendar.unknown")


def _respond(
    status: int, body: dict[str, Any] | None, headers: dict[str, str] | None = None
) -> Response:
    hook: Callable[[str, int, dict[str, Any] | None], None] | None = current_app.config.get(
        "EMULATOR_RESPONSE_HOOK"
    )
    fields = g.get("fields")
    if fields is not None and body is not None and status < 300:
        body = select(body, fields)  # a partial response (``fields``)
    if hook is not None:
        hook(method_id(), status, body)
    if body is None:
        return Response(status=status, headers=headers)
    return Response(json.dumps(body), status=status, headers=headers, mimetype="application/json")


@bp.errorhandler(exc.ApiError)
def _api_error(error: exc.ApiError) -> Response:
    return _respond(error.code, error.body())


@bp.errorhandler(exc.NotModified)
def _not_modified(_error: exc.NotModified) -> Response:
    return _respond(304, None)


@bp.before_request
def _authenticate() -> None:
    st = state()
    method = method_id()
    st.count_request(method.removeprefix("calendar."))
    latency, error = st.faults.check(method)
    if latency:
        time.sleep(latency)
    if error is not None:
        raise error
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    found = st.authenticate(token.strip()) if scheme.lower() == "bearer" else None
    if found is None:
        raise exc.auth_error()
    user, scopes = found
    if scopes is not None and not allows(method, scopes):
        raise exc.insufficient_scopes()
    g.user = user


# ----- parameter parsing ---------------------------------------------------------------
@bp.before_request
def _partial_response() -> None:
    expression = request.args.get("fields")
    g.fields = parse_fields(expression) if expression else None


def _bool(name: str) -> bool | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    if raw.lower() not in ("true", "false"):
        raise exc.bad_request(f"Invalid boolean value for {name}.")
    return raw.lower() == "true"


def _int(name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError as error:
        raise exc.bad_request(f"Invalid value for {name}.") from error


def _time(name: str) -> datetime | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError as error:
        raise exc.bad_request(f"Bad Request: invalid {name}.", "badRequest") from error
    if parsed.tzinfo is None:
        raise exc.bad_request(f"Bad Request: {name} needs a time zone offset.", "badRequest")
    return parsed


def _list_params() -> ListParams:
    order_by = request.args.get("orderBy")
    if order_by not in (None, "startTime", "updated"):
        raise exc.bad_request("Invalid value for orderBy.")
    return ListParams(
        max_results=_int("maxResults", 250),
        page_token=request.args.get("pageToken"),
        sync_token=request.args.get("syncToken"),
        show_deleted=_bool("showDeleted"),
        single_events=bool(_bool("singleEvents")),
        time_min=_time("timeMin"),
        time_max=_time("timeMax"),
        updated_min=_time("updatedMin"),
        order_by=order_by,
        q=request.args.get("q"),
        i_cal_uid=request.args.get("iCalUID"),
        private_ext=request.args.getlist("privateExtendedProperty"),
        shared_ext=request.args.getlist("sharedExtendedProperty"),
    )


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True, force=True)
    if body is None and request.get_data():
        raise exc.bad_request("Parse Error", "parseError")
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise exc.bad_request("Parse Error", "parseError")
    return body


def _conference_version() -> int:
    version = _int("conferenceDataVersion", 0)
    if version not in (0, 1):
        raise exc.bad_request("Invalid conference data version.")
    return version


def _event_response(resource: dict[str, Any]) -> Response:
    return _respond(200, resource, {"ETag": resource["etag"]})


# ----- routes ------------------------------------------------------------------------------
@bp.get("/calendars/<calendar_id>", endpoint="calendars_get")
def calendars_get(calendar_id: str) -> Response:
    return _respond(200, state().calendars_get(g.user, calendar_id))


@bp.post("/calendars", endpoint="calendars_insert")
def calendars_insert() -> Response:
    return _respond(200, state().calendars_insert(g.user, _body()))


@bp.get("/users/me/calendarList", endpoint="calendar_list")
def calendar_list() -> Response:
    items = state().calendar_list(g.user)
    return _respond(200, {"kind": "calendar#calendarList", "etag": '"p1"', "items": items})


@bp.get("/calendars/<calendar_id>/events", endpoint="events_list")
def events_list(calendar_id: str) -> Response:
    return _respond(200, list_events(state(), g.user, calendar_id, _list_params()))


@bp.post("/calendars/<calendar_id>/events", endpoint="events_insert")
def events_insert(calendar_id: str) -> Response:
    resource = state().events_insert(g.user, calendar_id, _body(), _conference_version())
    return _event_response(resource)


@bp.post("/calendars/<calendar_id>/events/watch", endpoint="events_watch")
def events_watch(calendar_id: str) -> Response:
    base = current_app.config.get("EMULATOR_BASE_URL") or request.host_url
    uri_base = base.rstrip("/") + "/calendar/v3/"
    return _respond(200, state().events_watch(g.user, calendar_id, _body(), uri_base))


@bp.get("/calendars/<calendar_id>/events/<event_id>", endpoint="events_get")
def events_get(calendar_id: str, event_id: str) -> Response:
    resource = state().events_get(g.user, calendar_id, event_id)
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match and resource["etag"] in [e.strip() for e in if_none_match.split(",")]:
        raise exc.NotModified()
    return _event_response(resource)


@bp.patch("/calendars/<calendar_id>/events/<event_id>", endpoint="events_patch")
def events_patch(calendar_id: str, event_id: str) -> Response:
    resource = state().events_patch(
        g.user, calendar_id, event_id, _body(), _conference_version(),
        request.headers.get("If-Match"),
    )  # fmt: skip
    return _event_response(resource)


@bp.put("/calendars/<calendar_id>/events/<event_id>", endpoint="events_update")
def events_update(calendar_id: str, event_id: str) -> Response:
    resource = state().events_update(
        g.user, calendar_id, event_id, _body(), _conference_version(),
        request.headers.get("If-Match"),
    )  # fmt: skip
    return _event_response(resource)


@bp.delete("/calendars/<calendar_id>/events/<event_id>", endpoint="events_delete")
def events_delete(calendar_id: str, event_id: str) -> Response:
    state().events_delete(g.user, calendar_id, event_id, request.headers.get("If-Match"))
    return _respond(204, None)


@bp.get("/calendars/<calendar_id>/events/<event_id>/instances", endpoint="events_instances")
def events_instances(calendar_id: str, event_id: str) -> Response:
    params = _list_params()
    return _respond(200, list_instances(state(), g.user, calendar_id, event_id, params))


@bp.post("/channels/stop", endpoint="channels_stop")
def channels_stop() -> Response:
    body = _body()
    state().push.stop(str(body.get("id", "")), str(body.get("resourceId", "")))
    return _respond(204, None)
