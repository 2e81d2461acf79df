"""Flask application factory of the Calendar API v3 emulator (Calendar alone, no add-on host)."""

from __future__ import annotations

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from localgoogle.calendar import control, views
from localgoogle.calendar.control import RESET_HOOKS
from localgoogle.calendar.exceptions import ApiError
from localgoogle.calendar.models import CalendarState


def create_calendar_app(
    state: CalendarState | None = None, *, base_url: str | None = None
) -> Flask:
    """The Calendar emulator; ``base_url`` fixes the host used in channel resource URIs."""
    app = Flask("localgoogle.calendar")
    app.config["EMULATOR_STATE"] = state if state is not None else CalendarState()
    app.config["EMULATOR_BASE_URL"] = base_url
    app.config[RESET_HOOKS] = []
    app.register_blueprint(views.bp)
    app.register_blueprint(control.bp)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> tuple[Response, int] | HTTPException:
        # Unknown routes under the API prefixes answer in Google's format too.
        if request.path.startswith(("/calendar/v3/", "/_emulator/")):
            code = error.code or 500
            reason = "notFound" if code == 404 else "badRequest"
            return jsonify(ApiError(code, reason, error.description or "Error").body()), code
        return error

    return app
