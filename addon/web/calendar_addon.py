"""The endpoints Google Calendar calls (their URLs are what ``deployment.json`` lists).

* ``POST /calendar/conference/<solution_id>`` — a solution's onCreateFunction.
* ``POST /calendar/notification``            — the calendarNotificationTrigger.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from addon.conferences import create_conference
from addon.errors import ApiError
from addon.event_object import parse_event_object
from addon.sync.report import SyncRun
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
    client = svc.calendar_for_token(event_object.user_oauth_token)
    outcome = svc.start_sync(event_object.calendar_id, client)
    # The response body is not documented for this trigger; an empty object is the safe
    # answer. Inline mode says what happened, which helps when driving it by hand.
    body: dict[str, Any] = {"status": outcome.status} if isinstance(outcome, SyncRun) else {}
    return jsonify(body)
