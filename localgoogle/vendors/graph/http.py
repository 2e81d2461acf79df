"""The fake Graph's HTTP surface: the Microsoft identity platform's v2.0 endpoints, online
meetings and the control API (``localgoogle.vendors.graph``)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, jsonify, redirect, request

from localgoogle.vendors.graph.state import FAULT_MODES, GraphState
from localgoogle.vendors.oauth import TokenAnswer


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    response = Response(status=status) if body is None else jsonify(body)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _token_answer(answer: TokenAnswer) -> Response:
    body = dict(answer.body)
    if answer.status != 200:
        # Microsoft's token errors: RFC 6749 ``error`` with a description and AADSTS codes.
        codes = {"invalid_grant": 70000, "invalid_client": 7000215}.get(body["error"], 900144)
        body.setdefault("error_description", f"AADSTS{codes}: the request was refused.")
        body.setdefault("error_codes", [codes])
    return _json(answer.status, body, {"Cache-Control": "no-store"})


def graph_blueprint(state: GraphState, name: str = "graph") -> Blueprint:
    """Login at ``/<tenant>/oauth2/v2.0/…``, Graph at ``/v1.0/…``, control at ``/_control/…``."""
    bp = Blueprint(name, __name__)

    @bp.get("/<tenant>/oauth2/v2.0/authorize")
    def authorize_page(tenant: str) -> Response:
        problem = state.oauth.authorization_problem(request.args)
        if problem:
            return _json(400, {"error": "invalid_request", "error_description": problem})
        html = state.oauth.consent_page(request.args, request.path, "Microsoft")
        return Response(html, mimetype="text/html")

    @bp.post("/<tenant>/oauth2/v2.0/authorize")
    def authorize_decide(tenant: str) -> Response:
        url, problem = state.oauth.decide(request.form)
        if url is None:
            return _json(400, {"error": "invalid_request", "error_description": problem})
        return redirect(url, code=302)  # type: ignore[return-value]

    @bp.post("/<tenant>/oauth2/v2.0/token")
    def token(tenant: str) -> Response:
        return _token_answer(state.oauth.token(request.form, request.headers.get("Authorization")))

    def api(op: str, meeting_id: str | None = None) -> Response:
        body = request.get_json(silent=True)
        if request.method in ("POST", "PATCH") and not isinstance(body, dict):
            return _json(400, {"error": {"code": "BadRequest", "message": "Invalid JSON body."}})
        status, answer, headers = state.handle(
            request.method,
            op,
            request.headers.get("Authorization"),
            meeting_id,
            body if isinstance(body, dict) else None,
        )
        return _json(status, answer, headers)

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


def create_graph_app(state: GraphState | None = None) -> Flask:
    """The fake Graph alone; its state is ``app.extensions["graph"]``."""
    app = Flask(__name__)
    state = state or GraphState()
    app.extensions["graph"] = state
    app.register_blueprint(graph_blueprint(state))
    return app
