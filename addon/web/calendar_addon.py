"""The endpoints Google Calendar calls (their URLs are what ``deployment.json`` lists).

* ``POST /calendar/conference/<solution_id>`` — a solution's onCreateFunction.
* ``POST /calendar/notification``            — the calendarNotificationTrigger.
"""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from addon.conferences import create_conference
from addon.errors import ApiError
from addon.event_object import parse_event_object
from addon.scheduling import on_trigger
from addon.web.requests import json_object, require_google, services

bp = Blueprint("calendar_addon", __name__, url_prefix="/calendar")

CONFERENCE_PATH = "/calendar/conference/{solution_id}"
NOTIFICATION_PATH = "/calendar/notification"


@bp.post("/conference/<solution_id>")
@require_google
def on_create(solution_id: str) -> ResponseReturnValue:
    svc = services()
    solution = svc.settings.solution(solution_id)
    if solution is None:
        raise ApiError(404, "unknownSolution", f"No conference solution {solution_id!r} here.")
    event_object = parse_event_object(json_object())
    return jsonify(create_conference(svc, solution, event_object))


@bp.post("/notification")
@require_google
def on_notification() -> ResponseReturnValue:
    svc = services()
    event_object = parse_event_object(json_object())
    if event_object.calendar_id is None:
        raise ApiError(400, "missingCalendarId", "The event object has no calendar.calendarId.")
    if event_object.user_oauth_token is None:
        raise ApiError(
            400,
            "missingUserToken",
            "The event object has no authorizationEventObject.userOAuthToken to read Calendar.",
        )
    return jsonify(on_trigger(svc, event_object.calendar_id, event_object.user_oauth_token))
