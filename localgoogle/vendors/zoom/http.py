"""The fake Zoom's HTTP surface over a ``ZoomState``: OAuth, the Meetings API and the control
API described in ``localgoogle.vendors.zoom``."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, request

from localgoogle.vendors.oauth import add_account_control_routes, add_oauth_routes
from localgoogle.vendors.toolkit import json_response, vendor_app
from localgoogle.vendors.zoom.state import ZoomState


def _token_error(body: dict[str, Any]) -> None:
    # Zoom's token errors carry a ``reason`` next to the RFC 6749 ``error``.
    body.setdefault("reason", "Invalid Token!" if body["error"] == "invalid_grant"
                    else "Invalid client")  # fmt: skip


def zoom_blueprint(state: ZoomState, name: str = "zoom") -> Blueprint:
    """OAuth at ``/oauth/…``, the API at ``/v2/…``, control at ``/_control/…``."""
    bp = Blueprint(name, __name__)
    add_oauth_routes(
        bp, state.oauth, base="/oauth", vendor="Zoom", problem_key="reason",
        token_error=_token_error, revoke=True,
    )  # fmt: skip

    def api(op: str, meeting_id: str | None = None) -> Response:
        body = request.get_json(silent=True)
        if request.method in ("POST", "PATCH") and not isinstance(body, dict):
            return json_response(
                400, {"code": 300, "message": "Request Body should be a valid JSON."}
            )
        status, answer, headers = state.handle(
            request.method,
            op,
            request.headers.get("Authorization"),
            meeting_id,
            request.args.get("occurrence_id") or None,
            body if isinstance(body, dict) else None,
            dict(request.args),
        )
        return json_response(status, answer, headers)

    @bp.post("/v2/users/me/meetings")
    def create() -> Response:
        return api("create")

    @bp.get("/v2/users/me/meetings")
    def list_meetings() -> Response:
        return api("list")

    @bp.get("/v2/meetings/<meeting_id>")
    def get(meeting_id: str) -> Response:
        return api("get", meeting_id)

    @bp.patch("/v2/meetings/<meeting_id>")
    def update(meeting_id: str) -> Response:
        return api("update", meeting_id)

    @bp.delete("/v2/meetings/<meeting_id>")
    def delete(meeting_id: str) -> Response:
        return api("delete", meeting_id)

    # ---- control (never faulted, never logged) ------------------------------------------
    add_account_control_routes(bp, state)
    return bp


def create_zoom_app(state: ZoomState | None = None) -> Flask:
    """The fake Zoom alone; its state is ``app.extensions["zoom"]``."""
    state = state or ZoomState()
    return vendor_app(__name__, "zoom", state, zoom_blueprint(state))
