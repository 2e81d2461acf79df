"""Control API of the Cloud Tasks emulator under ``/_tasks/`` (JSON, no auth; loopback use).

GET    /_tasks/stats                        -> {"queues": {name: counters}, "total": counters}
POST   /_tasks/wait-idle {"timeout", "within"?} -> {"idle": bool}
GET    /_tasks/faults                       -> {"duplicateRate", "duplicateNext"}
POST   /_tasks/faults {"duplicateRate"?, "duplicateNext"?, "seed"?} -> the same (replaced)
DELETE /_tasks/faults                       -> cleared
GET    /_tasks/queues                       -> {"queues": [queue with "tasks": [...]]}
POST   /_tasks/reset                        -> {} (everything forgotten, faults cleared)

Bad input answers 400 in the API's error format, the message saying what is wrong.
"""

from __future__ import annotations

import json
from typing import Any, cast

from flask import Blueprint, Response, current_app, jsonify, request

from localgoogle.tasks.emulator import CloudTasksEmulator
from localgoogle.tasks.errors import TasksError, invalid

bp = Blueprint("cloud_tasks_control", __name__, url_prefix="/_tasks")

MAX_WAIT_SECONDS = 600.0


def _emulator() -> CloudTasksEmulator:
    return cast(CloudTasksEmulator, current_app.extensions["cloud_tasks"])


def _body(allowed: set[str]) -> dict[str, Any]:
    raw = request.get_data()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise invalid(f"request body is not JSON: {error}") from error
    if not isinstance(body, dict):
        raise invalid("request body must be a JSON object")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise invalid(f"unknown field(s): {', '.join(unknown)}; expected {sorted(allowed)}")
    return body


def _number(body: dict[str, Any], key: str, default: float, low: float, high: float) -> float:
    value = body.get(key, default)
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise invalid(f"{key} must be a number")
    if not low <= value <= high:
        raise invalid(f"{key} must be between {low:g} and {high:g}")
    return float(value)


def _integer(body: dict[str, Any], key: str, *, allow_null: bool = False) -> int | None:
    value = body.get(key, None if allow_null else 0)
    if value is None and allow_null:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise invalid(f"{key} must be a non-negative integer")
    return value


@bp.errorhandler(TasksError)
def _tasks_error(error: TasksError) -> tuple[Response, int]:
    return jsonify(error.body()), error.http_status


@bp.get("/stats")
def stats() -> Response:
    return jsonify(_emulator().stats())


@bp.post("/wait-idle")
def wait_idle() -> Response:
    body = _body({"timeout", "within"})
    timeout = _number(body, "timeout", 10.0, 0.0, MAX_WAIT_SECONDS)
    within = _number(body, "within", 0.0, 0.0, 31 * 86400.0)
    return jsonify({"idle": _emulator().wait_idle(timeout, within)})


@bp.get("/faults")
def faults_get() -> Response:
    return jsonify(_emulator().faults())


@bp.post("/faults")
def faults_set() -> Response:
    body = _body({"duplicateRate", "duplicateNext", "seed"})
    rate = _number(body, "duplicateRate", 0.0, 0.0, 1.0)
    count = _integer(body, "duplicateNext") or 0
    return jsonify(
        _emulator().set_faults(rate, count, seed=_integer(body, "seed", allow_null=True))
    )


@bp.delete("/faults")
def faults_clear() -> Response:
    return jsonify(_emulator().set_faults(0.0, 0))


@bp.get("/queues")
def queues() -> Response:
    return jsonify({"queues": _emulator().queues_view()})


@bp.post("/reset")
def reset() -> Response:
    _emulator().reset()
    return jsonify({})


@bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def unknown(rest: str) -> tuple[Response, int]:
    # Registered after the real routes; Werkzeug prefers the more specific rules anyway.
    error = TasksError("NOT_FOUND", f"no control endpoint {request.method} /_tasks/{rest}")
    return jsonify(error.body()), 404
