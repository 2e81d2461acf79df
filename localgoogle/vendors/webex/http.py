"""The fake Webex's HTTP surface: the meetings API, the OAuth endpoints and the control API
(described in ``localgoogle.vendors.webex``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, Response, jsonify, request

from localgoogle.vendors.toolkit import (
    FaultsAndCalls,
    add_control_routes,
    json_response,
    vendor_app,
)
from localgoogle.vendors.webex.meetings import Meetings, Result, error
from localgoogle.vendors.webex.oauth import DEFAULT_SCOPES, Client, Tokens, add_oauth_routes

_WRITE = "meeting:schedules_write"
_READ = "meeting:schedules_read"


class WebexState:
    """Tokens, meetings, the fault plan and the call log of one fake Webex."""

    def __init__(
        self, *, clock: Callable[[], float] = time.time, rotate_refresh_tokens: bool = False
    ) -> None:
        self.tokens = Tokens(clock=clock, rotate_refresh_tokens=rotate_refresh_tokens)
        self.meetings = Meetings(clock)
        self.faults = FaultsAndCalls()
        self.reset()

    def reset(self) -> None:
        self.tokens.reset()
        self.meetings.reset()
        self.faults.reset()

    def call(
        self, op: str, target: str | None, scope: str, run: Callable[[str], Result]
    ) -> tuple[Result, dict[str, str]]:
        """One API call: fault, then the bearer token and its scope, then ``run(owner)``."""
        fault = self.faults.take()
        if fault is not None:
            self.faults.log(request.method, op, target, fault.status, "fault")
            message = "Too many requests" if fault.status == 429 else "Injected failure"
            return error(fault.status, message), fault.headers()
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        grant = self.tokens.user_of(token) if scheme.lower() == "bearer" else None
        if grant is None:
            result = error(
                401,
                "The request requires a valid access token set in the Authorization request "
                "header.",
            )
        elif scope not in grant.scopes:
            result = error(403, f"The access token lacks the scope {scope}.")
        else:
            result = run(grant.email)
        outcome = "applied" if result[0] < 400 else "rejected"
        self.faults.log(request.method, op, target, result[0], outcome)
        return result, {}


def _respond(result: Result, headers: dict[str, str]) -> Response:
    status, body = result
    response = json_response(status, body, headers)
    if body is not None and "trackingId" in body:
        response.headers["TrackingID"] = body["trackingId"]
    return response


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def webex_blueprint(state: WebexState, name: str = "webex") -> Blueprint:
    """The Webex API (``/v1/…``), its OAuth endpoints and ``/_control/…``."""
    bp = Blueprint(name, __name__)
    meetings = state.meetings

    @bp.post("/v1/meetings")
    def create() -> Response:
        body = _body()
        return _respond(*state.call("create", None, _WRITE, lambda o: meetings.create(o, body)))

    @bp.get("/v1/meetings")
    def list_meetings() -> Response:
        args = request.args.to_dict()
        return _respond(*state.call("list", None, _READ, lambda o: meetings.list(o, args)))

    @bp.get("/v1/meetings/<meeting_id>")
    def read(meeting_id: str) -> Response:
        run = lambda o: meetings.read(o, meeting_id)  # noqa: E731
        return _respond(*state.call("get", meeting_id, _READ, run))

    @bp.put("/v1/meetings/<meeting_id>")
    def update(meeting_id: str) -> Response:
        body = _body()
        run = lambda o: meetings.update(o, meeting_id, body)  # noqa: E731
        return _respond(*state.call("update", meeting_id, _WRITE, run))

    @bp.delete("/v1/meetings/<meeting_id>")
    def delete(meeting_id: str) -> Response:
        run = lambda o: meetings.delete(o, meeting_id)  # noqa: E731
        return _respond(*state.call("delete", meeting_id, _WRITE, run))

    @bp.get("/v1/meetingInvitees")
    def invitees() -> Response:
        meeting_id = request.args.get("meetingId", "")
        run = lambda o: meetings.invitees(o, meeting_id)  # noqa: E731
        return _respond(*state.call("invitees", meeting_id, _READ, run))

    @bp.post("/v1/meetingInvitees")
    def invite() -> Response:
        body = _body()
        target = body.get("meetingId") if isinstance(body.get("meetingId"), str) else None
        run = lambda o: meetings.invite(o, body)  # noqa: E731
        return _respond(*state.call("invite", target, _WRITE, run))

    @bp.delete("/v1/meetingInvitees/<invitee_id>")
    def uninvite(invitee_id: str) -> Response:
        run = lambda o: meetings.uninvite(o, invitee_id)  # noqa: E731
        return _respond(*state.call("uninvite", invitee_id, _WRITE, run))

    add_oauth_routes(bp, state.tokens)

    @bp.get("/_control/meetings")
    def all_meetings() -> Response:
        return jsonify({"meetings": meetings.all()})

    @bp.post("/_control/clients")
    def register_client() -> Response:
        body = _body()
        client_id, secret = body.get("clientId"), body.get("clientSecret")
        uris = body.get("redirectUris") or []
        if not isinstance(client_id, str) or not isinstance(secret, str):
            return _respond((400, {"error": "clientId and clientSecret are required"}), {})
        with state.tokens.lock:
            state.tokens.clients[client_id] = Client(secret, tuple(str(u) for u in uris))
        return Response(status=204)

    @bp.post("/_control/tokens")
    def mint() -> Response:
        """A token pair for ``email`` without the consent page (tests, the local console)."""
        body = _body()
        email = str(body.get("email") or "user@example.com").lower()
        client_id = str(body.get("clientId") or "webex-client-id")
        scopes = tuple(body.get("scopes") or DEFAULT_SCOPES)
        return jsonify(state.tokens.mint(email, client_id, scopes))

    @bp.post("/_control/expire")
    def expire() -> Response:
        body = _body()
        count = state.tokens.expire(body.get("email"), body.get("token"))
        return jsonify({"expired": count})

    @bp.get("/_control/stats")
    def stats() -> Response:
        return jsonify(state.tokens.stats())

    @bp.post("/_control/revoke")
    def revoke() -> Response:
        return jsonify({"revoked": state.tokens.revoke(str(_body().get("email", "")))})

    add_control_routes(bp, state.faults, state.reset)
    return bp


def create_webex_app(state: WebexState | None = None) -> Flask:
    """The fake Webex on its own; its state is ``app.extensions["webex"]``."""
    state = state or WebexState()
    return vendor_app(__name__, "webex", state, webex_blueprint(state))
