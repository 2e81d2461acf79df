"""The service's error types and the one place that turns them into HTTP responses.

Every error answer is JSON ``{"error": {"code": <status>, "reason": <machine word>,
"message": <what was wrong and what to do>}}``; nothing internal (stack, token, body) leaks.
"""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class ApiError(Exception):
    """A request we refuse, with the status and reason the caller gets."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message


def error_body(status: int, reason: str, message: str) -> ResponseReturnValue:
    return jsonify({"error": {"code": status, "reason": reason, "message": message}}), status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> ResponseReturnValue:
        return error_body(exc.status, exc.reason, exc.message)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> ResponseReturnValue:
        status = exc.code or 500
        reason = {
            404: "notFound",
            405: "methodNotAllowed",
            413: "requestTooLarge",
            415: "unsupportedMediaType",
        }.get(status, "badRequest" if status < 500 else "internalError")
        message = {
            404: "No such endpoint. See the README for the add-on's endpoints.",
            405: "This endpoint accepts POST only." if status == 405 else "",
            413: "The request body is larger than 1 MiB.",
        }.get(status) or (exc.description or "The request could not be handled.")
        return error_body(status, reason, message)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> ResponseReturnValue:
        log.exception("unhandled error")
        return error_body(500, "internalError", "Internal error; it has been logged.")
