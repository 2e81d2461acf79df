"""Control API under ``/_emulator/`` (JSON, no auth; loopback use only).

POST /_emulator/users {"email", "timeZone"?} -> {"email", "accessToken"} (idempotent)
POST /_emulator/reset                        -> empty state, channels and faults cleared
GET  /_emulator/stats                        -> {"requests": {"events.list": 12, ...}}
POST /_emulator/stats/reset
POST /_emulator/calendars/<id>/expire-sync-tokens
POST /_emulator/calendars/<id>/seed {"count", "start"?, "intervalMinutes"?,
                                      "durationMinutes"?, "summary"?}
POST /_emulator/calendars/<id>/share {"email", "role": reader|writer|owner}
GET  /_emulator/calendars/<id>/events        -> {"items": [...]} every stored event, incl. cancelled
GET|POST|DELETE /_emulator/faults            -> rules (see ``faults.py``)
POST /_emulator/clock {"advanceSeconds"}     -> {"now"}
GET|POST /_emulator/push {"dropRate", "duplicateRate", "delaySeconds", "seed",
                          "retryBaseSeconds", "maxAttempts"}
POST /_emulator/push/flush {"timeout"?}      -> {"flushed": bool}
Errors use the same Google error format as the API.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from localgoogle.calendar import exceptions as exc
from localgoogle.calendar.clock import rfc3339
from localgoogle.calendar.models import CalendarState

# ``app.config`` key: callables run by ``POST /_emulator/reset`` after the calendars are
# emptied, so what is composed beside the Calendar (the add-on host) is reset with it
# without the Calendar knowing what it is.
RESET_HOOKS = "EMULATOR_RESET_HOOKS"

bp = Blueprint("emulator_control", __name__, url_prefix="/_emulator")


def state() -> CalendarState:
    value: CalendarState = current_app.config["EMULATOR_STATE"]
    return value


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True, force=True)
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise exc.bad_request("JSON object expected", "parseError")
    return body


@bp.errorhandler(exc.ApiError)
def _api_error(error: exc.ApiError) -> tuple[Response, int]:
    return jsonify(error.body()), error.code


@bp.errorhandler(ValueError)
def _value_error(error: ValueError) -> tuple[Response, int]:
    return jsonify(exc.bad_request(str(error)).body()), 400


@bp.post("/users")
def create_user() -> Response:
    body = _body()
    email = body.get("email")
    if not isinstance(email, str) or "@" not in email:
        raise exc.required("email is required")
    token = state().create_user(email, body.get("timeZone") or "UTC")
    return jsonify({"email": email, "accessToken": token})


@bp.post("/reset")
def reset() -> Response:
    state().reset()
    # Whatever is composed beside the Calendar (the add-on host) is part of "everything".
    for hook in current_app.config.get(RESET_HOOKS, []):
        hook()
    return jsonify({})


@bp.get("/stats")
def stats() -> Response:
    return jsonify({"requests": state().stats_snapshot()})


@bp.post("/stats/reset")
def stats_reset() -> Response:
    state().reset_stats()
    return jsonify({})


@bp.post("/calendars/<calendar_id>/expire-sync-tokens")
def expire_sync_tokens(calendar_id: str) -> Response:
    state().expire_sync_tokens(calendar_id)
    return jsonify({})


@bp.post("/calendars/<calendar_id>/seed")
def seed(calendar_id: str) -> Response:
    body = _body()
    start = datetime.fromisoformat(body["start"]) if body.get("start") else datetime.now(UTC)
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    result = state().seed(
        calendar_id, int(body.get("count", 1)), start,
        interval=timedelta(minutes=float(body.get("intervalMinutes", 60))),
        duration=timedelta(minutes=float(body.get("durationMinutes", 30))),
        summary=str(body.get("summary", "Seeded event")),
    )  # fmt: skip
    return jsonify(result)


@bp.post("/calendars/<calendar_id>/share")
def share(calendar_id: str) -> Response:
    body = _body()
    email = body.get("email")
    if not isinstance(email, str):
        raise exc.required("email is required")
    role = str(body.get("role", "reader"))
    state().share(calendar_id, email, role)
    return jsonify({"calendarId": calendar_id, "email": email, "role": role})


@bp.get("/calendars/<calendar_id>/events")
def admin_events(calendar_id: str) -> Response:
    return jsonify({"items": state().admin_events(calendar_id)})


@bp.get("/faults")
def faults_get() -> Response:
    return jsonify({"rules": state().faults.describe()})


@bp.post("/faults")
def faults_set() -> Response:
    return jsonify({"rules": state().faults.configure(_body())})


@bp.delete("/faults")
def faults_clear() -> Response:
    state().faults.clear()
    return jsonify({"rules": []})


@bp.post("/clock")
def clock() -> Response:
    now = state().clock.advance(float(_body().get("advanceSeconds", 0)))
    return jsonify({"now": rfc3339(now)})


@bp.get("/push")
def push_get() -> Response:
    return jsonify(state().push.describe())


@bp.post("/push")
def push_set() -> Response:
    return jsonify(state().push.configure(_body()))


@bp.post("/push/flush")
def push_flush() -> Response:
    flushed = state().push.flush(float(_body().get("timeout", 5.0)))
    return jsonify({"flushed": flushed})
