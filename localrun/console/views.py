"""Routes of the console (see the package docstring); views parse, call, render."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue

from localrun.console import EXTENSION, Console, actions, board, event_views, favicon
from localrun.console.client import ConsoleError

bp = Blueprint(
    "console",
    __name__,
    url_prefix="/console",
    template_folder="templates",
    static_folder="static",
)


@bp.context_processor
def _page_globals() -> dict[str, str]:
    return {"favicon": favicon.DATA_URI}


def _console() -> Console:
    return cast(Console, current_app.extensions[EXTENSION])


def _user() -> str:
    return board.resolve_user(request.values.get("user"), _console().client.users())


@bp.get("/")
def index() -> ResponseReturnValue:
    user = _user()
    return render_template(
        "console/index.html",
        board=board.gather(_console(), user),
        link_prompt=_console().link_prompts.get(user),
        default_start=actions.default_start().strftime("%Y-%m-%dT%H:%M"),
    )


@bp.get("/live")
def live() -> Response:
    """The page's live parts, rendered on the server, for the two-second refresh."""
    data = board.gather(_console(), _user())
    return jsonify(
        {
            "events": render_template("console/_events.html", board=data),
            "status": render_template("console/_status.html", board=data),
            "log": render_template("console/_log.html", board=data),
            "link": render_template(
                "console/_link.html", link_prompt=_console().link_prompts.get(data.user)
            ),
            "errors": data.errors,
            "at": datetime.now(UTC).strftime("%H:%M:%S"),
        }
    )


@bp.post("/actions/<name>")
def act(name: str) -> ResponseReturnValue:
    if name not in actions.ACTIONS:
        abort(404)
    try:
        message, ok = actions.run(_console(), name, request.form), True
    except ConsoleError as error:
        message, ok = str(error), False
    if request.accept_mimetypes.best == "application/json":
        return jsonify({"ok": ok, "message": message}), 200 if ok else 400
    flash(message, "ok" if ok else "error")
    return redirect(url_for("console.index", user=request.form.get("user") or None))


@bp.get("/join/<meeting_id>")
def join(meeting_id: str) -> ResponseReturnValue:
    """Where a join link leads locally: the meeting as the conferencing server has it."""
    meeting = _console().conferencing.meeting(meeting_id)
    if meeting is None:
        abort(404)
    return render_template("console/join.html", meeting=event_views.meeting_view(meeting))
