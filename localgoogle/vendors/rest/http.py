"""The fake vendor's HTTP surface over a ``ConferencingState``: the vendor API and the control
API described in ``localgoogle.vendors.rest``."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, jsonify, request

from localgoogle.vendors.rest.state import FAULT_MODES, ConferencingState, Result, latency_problem
from localgoogle.vendors.toolkit import json_response, vendor_app


def _credential() -> str | None:
    api_key = request.headers.get("X-Api-Key")
    if api_key:
        return api_key
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token if scheme.lower() == "bearer" and token else None


def _respond(result: Result) -> Response:
    return json_response(*result)


def conferencing_blueprint(state: ConferencingState, name: str = "conferencing") -> Blueprint:
    """The vendor API and the control API over ``state``; mount with any ``url_prefix``."""
    bp = Blueprint(name, __name__)

    def api(op: str, meeting_id: str | None = None) -> Response:
        payload = request.get_json(silent=True)
        return _respond(
            state.handle(
                request.method,
                op,
                meeting_id,
                request.headers.get("Idempotency-Key") or None,
                _credential(),
                payload if isinstance(payload, dict) else {},
            )
        )

    @bp.post("/meetings")
    def create_meeting() -> Response:
        return api("create")

    @bp.patch("/meetings/<meeting_id>")
    def update_meeting(meeting_id: str) -> Response:
        return api("update", meeting_id)

    @bp.post("/meetings/<meeting_id>/occurrences")
    def add_occurrence(meeting_id: str) -> Response:
        return api("occurrence", meeting_id)

    @bp.delete("/meetings/<meeting_id>")
    def delete_meeting(meeting_id: str) -> Response:
        return api("delete", meeting_id)

    @bp.get("/meetings")
    def list_meetings() -> Response:
        return jsonify({"meetings": state.meetings()})

    @bp.get("/meetings/<meeting_id>")
    def get_meeting(meeting_id: str) -> Response:
        meeting = state.meeting(meeting_id)
        if meeting is None:
            return _respond((404, {"error": f"no meeting {meeting_id}"}))
        return jsonify(meeting)

    @bp.get("/calls")
    def list_calls() -> Response:
        return jsonify({"calls": state.calls()})

    @bp.get("/stats")
    def stats() -> Response:
        return jsonify(state.stats())

    @bp.post("/latency")
    def set_latency() -> Response:
        body = request.get_json(silent=True)
        seconds: Any = body.get("seconds") if isinstance(body, dict) else None
        problem = latency_problem(seconds)
        if problem is not None:
            return _respond((400, {"error": f"latency: {problem}"}))
        state.set_latency(seconds)
        return jsonify(state.stats())

    @bp.post("/reset")
    def reset() -> Response:
        state.reset()
        return Response(status=204)

    @bp.post("/faults")
    def set_fault() -> Response:
        body = request.get_json(silent=True) or {}
        mode = body.get("mode")
        seconds, count = body.get("seconds", 0), body.get("count")
        if mode == "none":
            state.set_fault(None)
            return Response(status=204)
        valid_count = count is None or (isinstance(count, int) and count > 0)
        valid_seconds = isinstance(seconds, int | float) and seconds >= 0
        if mode not in FAULT_MODES or not valid_seconds or not valid_count:
            modes = ", ".join([*FAULT_MODES, "none"])
            return _respond((400, {"error": f"mode one of {modes}; seconds ≥ 0; count > 0"}))
        state.set_fault(mode, float(seconds), count)
        return Response(status=204)

    @bp.delete("/faults")
    def clear_faults() -> Response:
        state.set_fault(None)
        return Response(status=204)

    return bp


def create_conferencing_app(state: ConferencingState | None = None) -> Flask:
    """The fake conferencing server on its own; its state is ``app.extensions["conferencing"]``."""
    state = state or ConferencingState()
    return vendor_app(__name__, "conferencing", state, conferencing_blueprint(state))
