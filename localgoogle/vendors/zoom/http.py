"""The fake Zoom's HTTP surface over a ``ZoomState``: OAuth, the Meetings API and the control
API described in ``localgoogle.vendors.zoom``."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, jsonify, redirect, request

from localgoogle.vendors.oauth import TokenAnswer
from localgoogle.vendors.zoom.state import FAULT_MODES, ZoomState


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    if body is None:
        response = Response(status=status)
    else:
        response = jsonify(body)
        response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _token_answer(answer: TokenAnswer) -> Response:
    body = dict(answer.body)
    if answer.status != 200:
        # Zoom's token errors carry a ``reason`` next to the RFC 6749 ``error``.
        body.setdefault("reason", "Invalid Token!" if body["error"] == "invalid_grant"
                        else "Invalid client")  # fmt: skip
    return _json(answer.status, body, {"Cache-Control": "no-store"})


def zoom_blueprint(state: ZoomState, name: str = "zoom") -> Blueprint:
    """OAuth at ``/oauth/…``, the API at ``/v2/…``, control at ``/_control/…``."""
    bp = Blueprint(name, __name__)

    @bp.get("/oauth/authorize")
    def authorize_page() -> Response:
        problem = state.oauth.authorization_problem(request.args)
        if problem:
            return _json(400, {"error": "invalid_request", "reason": problem})
        html = state.oauth.consent_page(request.args, request.path, "Zoom")
        return Response(html, mimetype="text/html")

    @bp.post("/oauth/authorize")
    def authorize_decide() -> Response:
        url, problem = state.oauth.decide(request.form)
        if url is None:
            return _json(400, {"error": "invalid_request", "reason": problem})
        return redirect(url, code=302)  # type: ignore[return-value]

    @bp.post("/oauth/token")
    def token() -> Response:
        return _token_answer(state.oauth.token(request.form, request.headers.get("Authorization")))

    @bp.post("/oauth/revoke")
    def revoke() -> Response:
        return _token_answer(state.oauth.revoke(request.form, request.headers.get("Authorization")))

    def api(op: str, meeting_id: str | None = None) -> Response:
        body = request.get_json(silent=True)
        if request.method in ("POST", "PATCH") and not isinstance(body, dict):
            return _json(400, {"code": 300, "message": "Request Body should be a valid JSON."})
        status, answer, headers = state.handle(
            request.method,
            op,
            request.headers.get("Authorization"),
            meeting_id,
            request.args.get("occurrence_id") or None,
            body if isinstance(body, dict) else None,
            dict(request.args),
        )
        return _json(status, answer, headers)

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
    @bp.get("/_control/meetings")
    def all_meetings() -> Response:
        return jsonify({"meetings": state.meetings()})

    @bp.get("/_control/calls")
    def calls() -> Response:
        return jsonify({"calls": state.calls()})

    @bp.get("/_control/stats")
    def stats() -> Response:
        return jsonify(state.oauth.stats())

    @bp.post("/_control/reset")
    def reset() -> Response:
        state.reset()
        return Response(status=204)

    @bp.post("/_control/faults")
    def faults() -> Response:
        body = request.get_json(silent=True) or {}
        mode, count, after = body.get("mode"), body.get("count"), body.get("retryAfter", 1)
        if mode == "none":
            state.set_fault(None)
            return Response(status=204)
        ok_count = count is None or (isinstance(count, int) and count > 0)
        ok_after = isinstance(after, int) and 0 <= after <= 3600
        if mode not in FAULT_MODES or not ok_count or not ok_after:
            return _json(400, {"error": f"mode one of {', '.join(FAULT_MODES)}, none; "
                               "count > 0; 0 <= retryAfter <= 3600"})  # fmt: skip
        state.set_fault(mode, count, after)
        return Response(status=204)

    @bp.post("/_control/expire-tokens")
    def expire_tokens() -> Response:
        return jsonify({"expired": state.oauth.expire_access_tokens()})

    @bp.post("/_control/revoke")
    def revoke_account() -> Response:
        body = request.get_json(silent=True) or {}
        account = body.get("account")
        if not isinstance(account, str) or not account:
            return _json(400, {"error": "account required"})
        state.oauth.revoke_account(account)
        return Response(status=204)

    return bp


def create_zoom_app(state: ZoomState | None = None) -> Flask:
    """The fake Zoom alone; its state is ``app.extensions["zoom"]``."""
    app = Flask(__name__)
    state = state or ZoomState()
    app.extensions["zoom"] = state
    app.register_blueprint(zoom_blueprint(state))
    return app
