"""The local Google as one WSGI app: the Calendar API emulator with the add-on host on it.

The two halves stay independent (``localgoogle.calendar`` knows nothing of the host; the
host reads and writes calendars only through ``localgoogle.seams``); this module is
the one place that puts them together.
"""

from __future__ import annotations

from flask import Flask

from localgoogle import addon_host
from localgoogle.calendar.app import create_calendar_app
from localgoogle.calendar.control import RESET_HOOKS
from localgoogle.calendar.models import CalendarState


def create_emulator_app(
    state: CalendarState | None = None, *, base_url: str | None = None
) -> Flask:
    """Calendar API v3 + control API + add-on host, sharing one in-memory ``state``."""
    app = create_calendar_app(state, base_url=base_url)
    host = addon_host.register(app, app.config["EMULATOR_STATE"])
    # "Reset everything" includes the host's deployment, subscriptions and trigger log.
    app.config[RESET_HOOKS].append(host.reset)
    return app
