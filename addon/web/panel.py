"""The side panel's endpoints Google Calendar calls (all verified like every Calendar call:
Google's ID token for this very URL, ``require_google``).

* ``POST /calendar/event-open``     — eventOpenTrigger: the open event's card (``pushCard``).
* ``POST /calendar/action/sync``    — the card's "Sync now" button.
* ``POST /calendar/action/new-link`` — the card's "New join link" button.
* ``POST /calendar/settings-url``   — createSettingsUrlFunction: the signed settings-page URL
  (``createConferenceSettingUrlActionMarkup``).

A button call must also carry the button's signed parameter (``commonEventObject.
parameters.a``, ``addon.credentials.signed``): made for this action, this event and the user
clicking, and not older than ``ACTION_MAX_AGE``. Anything else is a JSON 4xx saying why;
nothing is changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from addon.auth import VerifiedUser
from addon.cards import (
    notification_response,
    push_card_response,
    settings_url_response,
    unidentified_card,
    update_card_response,
)
from addon.conferences import verified_user
from addon.credentials.links import LinkError
from addon.credentials.signed import ActionClaim, read_action_token
from addon.errors import ApiError
from addon.event_object import EventObject, parse_event_object
from addon.panel import (
    ACTION_PARAMETER,
    ActionResult,
    event_card_for,
    new_join_link,
    settings_url,
    sync_now,
)
from addon.services import Services
from addon.web.requests import json_object, require_google, services

bp = Blueprint("panel", __name__, url_prefix="/calendar")

EVENT_OPEN_PATH = "/calendar/event-open"
SETTINGS_URL_PATH = "/calendar/settings-url"

Action = Callable[[Services, VerifiedUser, ActionClaim, EventObject], ActionResult]

_LINK_REASONS = {
    "missingLink": (400, "missingActionParameter", "The button's parameter is missing."),
    "linkExpired": (403, "actionExpired", "This card is too old; reopen the event."),
    "badLink": (403, "forgedAction", "The button's parameter is not one this add-on made."),
}


@bp.post("/event-open")
@require_google
def event_open() -> ResponseReturnValue:
    svc = services()
    ev = parse_event_object(json_object())
    if ev.calendar_id is None or ev.event_id is None:
        raise ApiError(400, "missingEvent", "The event object names no calendar.calendarId / id.")
    user = verified_user(svc, ev)
    if user is None:
        return jsonify(push_card_response(unidentified_card(svc.settings.addon_name)))
    return jsonify(push_card_response(event_card_for(svc, user, ev)))


@bp.post("/settings-url")
@require_google
def settings_url_function() -> ResponseReturnValue:
    svc = services()
    user = verified_user(svc, parse_event_object(json_object()))
    if user is None:
        raise ApiError(401, "unidentifiedUser", "Google sent no verifiable user identity.")
    return jsonify(settings_url_response(settings_url(svc, user)))


def _claim(svc: Services, ev: EventObject, action: str) -> tuple[VerifiedUser, ActionClaim]:
    try:
        claim = read_action_token(svc.settings.secret_key, ev.parameters.get(ACTION_PARAMETER))
    except LinkError as exc:
        status, reason, message = _LINK_REASONS[exc.reason]
        raise ApiError(status, reason, message) from None
    if claim.action != action:
        raise ApiError(403, "wrongAction", "This button's parameter is for another action.")
    user = verified_user(svc, ev)
    if user is None:
        raise ApiError(401, "unidentifiedUser", "Google sent no verifiable user identity.")
    if user.user_id != claim.user_id:
        raise ApiError(403, "wrongUser", "This card was made for another user.")
    named = (ev.calendar_id, ev.event_id)
    if any(named) and named != (claim.calendar_id, claim.event_id):
        raise ApiError(403, "wrongEvent", "This button belongs to another event's card.")
    return user, claim


def _act(action: str, run: Action) -> ResponseReturnValue:
    svc = services()
    ev = parse_event_object(json_object())
    user, claim = _claim(svc, ev, action)
    result = run(svc, user, claim, ev)
    if not result.refresh:
        return jsonify(notification_response(result.message))
    bound = replace(ev, calendar_id=claim.calendar_id, event_id=claim.event_id)
    return jsonify(update_card_response(event_card_for(svc, user, bound), result.message))


@bp.post("/action/sync")
@require_google
def action_sync() -> ResponseReturnValue:
    return _act("sync", sync_now)


@bp.post("/action/new-link")
@require_google
def action_new_link() -> ResponseReturnValue:
    return _act("new-link", new_join_link)
