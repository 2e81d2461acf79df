"""The endpoints Google Calendar calls (their URLs are what ``deployment.json`` lists).

* ``POST /calendar/conference/<solution_id>`` — a solution's onCreateFunction.
* ``POST /calendar/notification``            — the calendarNotificationTrigger.
* ``POST /calendar/homepage``                — the homepageTrigger: the add-on's home card.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from addon.auth import VerifiedUser
from addon.cards import HomeView, OfflineState, home_card, push_card_response, unidentified_card
from addon.conferences import create_conference, verified_user
from addon.credentials.links import make_link_token
from addon.errors import ApiError
from addon.event_object import parse_event_object
from addon.panel import account_actions, calendar_health, settings_url
from addon.scheduling import on_trigger
from addon.services import Services
from addon.web.requests import json_object, require_google, services

bp = Blueprint("calendar_addon", __name__, url_prefix="/calendar")

CONFERENCE_PATH = "/calendar/conference/{solution_id}"
NOTIFICATION_PATH = "/calendar/notification"
HOMEPAGE_PATH = "/calendar/homepage"
# Calendars the home card lists with their health (the count covers them all).
HEALTH_LINES = 20


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
    user = verified_user(svc, event_object)
    return jsonify(on_trigger(svc, event_object.calendar_id, event_object.user_oauth_token, user))


@bp.post("/homepage")
@require_google
def on_homepage() -> ResponseReturnValue:
    svc = services()
    user = verified_user(svc, parse_event_object(json_object()))
    if user is None:
        return jsonify(push_card_response(unidentified_card(svc.settings.addon_name)))
    return jsonify(push_card_response(home_card(_home_view(svc, user))))


def _home_view(svc: Services, user: VerifiedUser) -> HomeView:
    offline = svc.access.offline
    delegation = svc.access.delegation
    state: OfflineState
    link = None
    if delegation is not None and delegation.covers(user.email):
        state = "delegated"
    elif offline is None:
        state = "not_offered"
    else:
        grant = svc.store.get_grant(user.user_id)
        if grant is None:
            state = "off"
        elif grant.usable:
            state = "on"
        else:
            state = "needs_consent"
        token = make_link_token(svc.settings.secret_key, user)
        link = svc.settings.endpoint_url("/offline") + "?" + urlencode({"u": token})
    calendars = svc.store.calendars_of_user(user.user_id)
    return HomeView(
        addon_name=svc.settings.addon_name,
        user_email=user.email,
        offline=state,
        calendars=len(calendars),
        manage_url=link,
        health=calendar_health(svc, calendars[:HEALTH_LINES]),
        accounts=account_actions(svc, user, [s.id for s in svc.settings.solutions]),
        settings_url=settings_url(svc, user),
    )
