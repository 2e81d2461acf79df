"""``GET /healthz``: liveness, plus a loud flag when caller verification is off.
``GET /readyz``: readiness, 503 while Datastore cannot be reached (Cloud Run's startup or
readiness probe; a load balancer's health check)."""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from addon.errors import ApiError
from addon.web.requests import services

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


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


@bp.get("/readyz")
def readyz() -> ResponseReturnValue:
    try:
        services().store.ping()
    except Exception as exc:  # any failure to reach Datastore means "not ready"
        log.warning("not ready: Datastore unreachable (%s)", type(exc).__name__)
        raise ApiError(
            503, "notReady", "Datastore cannot be reached; requests would fail. Retry shortly."
        ) from None
    return jsonify({"status": "ready", "datastore": "ok"})
