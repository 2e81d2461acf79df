"""Flask application factory of the Calendar emulator."""

from __future__ import annotations

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from addon.emulator import control, views
from addon.emulator.exceptions import ApiError
from addon.emulator.models import CalendarState


def create_emulator_app(
    state: CalendarState | None = None, *, base_url: str | None = None
) -> Flask:
    """The emulator app; ``base_url`` fixes the host used in channel resource URIs."""
    from addon.emulator import host

    app = Flask("addon.emulator")
    app.config["EMULATOR_STATE"] = state if state is not None else CalendarState()
    app.config["EMULATOR_BASE_URL"] = base_url
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

    host.register(app, app.config["EMULATOR_STATE"])
    return app
