"""The Apps Script bridge's endpoints: the same create and sync flows, called by our thin
Apps Script add-on (``bridge/``) instead of by Google Calendar directly.

* ``POST /bridge/conference/<solution_id>`` — the script's onCreateFunction forwards
  ``{calendarId, eventId, userOAuthToken}``; the answer is exactly what
  ``/calendar/conference/<solution_id>`` answers (``create_conference``).
* ``POST /bridge/notification`` — the script's ``onEventUpdated`` trigger forwards
  ``{calendarId, userOAuthToken}``; the answer is what ``/calendar/notification`` answers
  (``on_trigger``: in tasks mode the sync is enqueued).

Only the caller proof and the body differ from the HTTP add-on. The caller proves itself with
``Authorization: Bearer <ScriptApp.getIdentityToken()>``: Google-signed, issuer Google,
audience ``ADDON_BRIDGE_CLIENT_ID`` (the script's OAuth client), ``email_verified``, not
expired. Its email is the acting user (``allowedDomains``). That check is never switched off:
``ADDON_VERIFY_ID_TOKENS`` concerns the HTTP add-on's endpoints only. Without
``ADDON_BRIDGE_CLIENT_ID`` both endpoints answer 404: the bridge is off.

The ``userOAuthToken`` (``ScriptApp.getOAuthToken()``) is used only as the Calendar credentials
of the request, never to decide who acts: a token of another user than the identity token's
reaches only what Calendar lets that token reach, with the identity token's user deciding
``allowedDomains`` (README, "Apps Script bridge").
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from addon.auth import AuthError, VerifiedUser
from addon.conferences import create_conference
from addon.errors import ApiError
from addon.event_object import EventObject
from addon.scheduling import on_trigger
from addon.web.requests import json_object, refusal, services

log = logging.getLogger(__name__)

bp = Blueprint("bridge", __name__, url_prefix="/bridge")

BRIDGE_CONFERENCE_PATH = "/bridge/conference/{solution_id}"
BRIDGE_NOTIFICATION_PATH = "/bridge/notification"

# What the script sends, and the longest value accepted for each field. Calendar ids and event
# ids are far shorter in practice (an event id is at most 1024 characters, calendar.v3); Google
# access tokens are a few hundred characters.
CONFERENCE_FIELDS = {"calendarId": 1024, "eventId": 1024, "userOAuthToken": 4096}
NOTIFICATION_FIELDS = {"calendarId": 1024, "userOAuthToken": 4096}


def _acting_user() -> VerifiedUser:
    """The verified email of the identity token, or the ApiError to answer (404 when the
    bridge is off, 401 when the token does not prove our script, 503 without Google's certs)."""
    verifier = services().bridge_verifier
    if verifier is None:
        raise ApiError(
            404, "bridgeOff", "The Apps Script bridge is off here (ADDON_BRIDGE_CLIENT_ID unset)."
        )
    header = (request.headers.get("Authorization") or "").strip()
    scheme, _, token = header.partition(" ")
    try:
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthError("missing_token" if not header else "malformed", "no Bearer token")
        caller = verifier.verify(token.strip())
        return VerifiedUser(caller.subject, caller.email.lower())
    except AuthError as exc:
        raise refusal(exc, "the bridge's Apps Script") from None


def _fields(body: Mapping[str, Any], limits: Mapping[str, int]) -> dict[str, str]:
    """The body's fields, each a non-empty string within its limit; anything else is a 400."""
    unknown = sorted(str(k)[:40] for k in body if k not in limits)
    if unknown:
        raise ApiError(
            400,
            "unknownField",
            f"Unknown field(s) {', '.join(unknown[:5])}; the bridge sends only "
            f"{', '.join(limits)}.",
        )
    values: dict[str, str] = {}
    for name, limit in limits.items():
        value = body.get(name)
        if name not in body:
            raise ApiError(400, "missingField", f"{name} is required.")
        if not isinstance(value, str) or not value.strip():
            raise ApiError(400, "invalidField", f"{name} must be a non-empty string.")
        if len(value) > limit:
            raise ApiError(400, "fieldTooLong", f"{name} is longer than {limit} characters.")
        values[name] = value
    return values


@bp.post("/conference/<solution_id>")
def on_create(solution_id: str) -> ResponseReturnValue:
    user = _acting_user()
    svc = services()
    solution = svc.settings.solution(solution_id)
    if solution is None:
        raise ApiError(404, "unknownSolution", f"No conference solution {solution_id!r} here.")
    fields = _fields(json_object(), CONFERENCE_FIELDS)
    event = EventObject(
        calendar_id=fields["calendarId"],
        event_id=fields["eventId"],
        recurring_event_id=None,
        organizer_email=None,
        attendees=(),
        time_zone=None,
        user_oauth_token=fields["userOAuthToken"],
        user_id_token=None,
        # The script's scopes are its manifest's, granted at install: nothing to request.
        authorized_scopes=None,
        conference_data=None,
    )
    return jsonify(create_conference(svc, solution, event, acting_user=user))


@bp.post("/notification")
def on_notification() -> ResponseReturnValue:
    user = _acting_user()
    fields = _fields(json_object(), NOTIFICATION_FIELDS)
    return jsonify(on_trigger(services(), fields["calendarId"], fields["userOAuthToken"], user))
