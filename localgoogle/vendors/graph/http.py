"""The fake Graph's HTTP surface: the Microsoft identity platform's v2.0 endpoints, online
meetings and the control API (``localgoogle.vendors.graph``)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, request

from localgoogle.vendors.graph.state import GraphState
from localgoogle.vendors.oauth import add_account_control_routes, add_oauth_routes
from localgoogle.vendors.toolkit import json_response, vendor_app


def _token_error(body: dict[str, Any]) -> None:
    # Microsoft's token errors: RFC 6749 ``error`` with a description and AADSTS codes.
    codes = {"invalid_grant": 70000, "invalid_client": 7000215}.get(body["error"], 900144)
    body.setdefault("error_description", f"AADSTS{codes}: the request was refused.")
    body.setdefault("error_codes", [codes])


def graph_blueprint(state: GraphState, name: str = "graph") -> Blueprint:
    """Login at ``/<tenant>/oauth2/v2.0/…``, Graph at ``/v1.0/…``, control at ``/_control/…``."""
    bp = Blueprint(name, __name__)
    # No revocation endpoint: Microsoft has none for an app's user tokens.
    add_oauth_routes(
        bp, state.oauth, base="/<tenant>/oauth2/v2.0", vendor="Microsoft",
        problem_key="error_description", token_error=_token_error, revoke=False,
    )  # fmt: skip

    def api(op: str, meeting_id: str | None = None) -> Response:
        body = request.get_json(silent=True)
        if request.method in ("POST", "PATCH") and not isinstance(body, dict):
            return json_response(
                400, {"error": {"code": "BadRequest", "message": "Invalid JSON body."}}
            )
        status, answer, headers = state.handle(
            request.method,
            op,
            request.headers.get("Authorization"),
            meeting_id,
            body if isinstance(body, dict) else None,
        )
        return json_response(status, answer, headers)

    @bp.post("/v1.0/me/onlineMeetings/createOrGet")
    def create_or_get() -> Response:
        return api("createOrGet")

    @bp.get("/v1.0/me/onlineMeetings/<meeting_id>")
    def get(meeting_id: str) -> Response:
        return api("get", meeting_id)

    @bp.patch("/v1.0/me/onlineMeetings/<meeting_id>")
    def update(meeting_id: str) -> Response:
        return api("update", meeting_id)

    @bp.delete("/v1.0/me/onlineMeetings/<meeting_id>")
    def delete(meeting_id: str) -> Response:
        return api("delete", meeting_id)

    add_account_control_routes(bp, state)
    return bp


def create_graph_app(state: GraphState | None = None) -> Flask:
    """The fake Graph alone; its state is ``app.extensions["graph"]``."""
    state = state or GraphState()
    return vendor_app(__name__, "graph", state, graph_blueprint(state))
