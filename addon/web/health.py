"""``GET /healthz``: liveness, plus a loud flag when caller verification is off."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from addon.web.requests import services

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    svc = services()
    body = {
        "status": "ok",
        "env": svc.settings.env,
        "idTokenVerification": "on" if svc.verifier is not None else "OFF (local only, insecure)",
        "solutions": [s.id for s in svc.settings.solutions],
    }
    return jsonify(body)
