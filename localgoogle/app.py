"""The local Google as one WSGI app: the Calendar API emulator with the add-on host and the
Cloud Tasks emulator on it.

The parts stay independent (``localgoogle.calendar`` knows nothing of the host; the
host reads and writes calendars only through ``localgoogle.seams``; ``localgoogle.tasks``
gets its token signer as a plain callable); this module is the one place that puts them
together.
"""

from __future__ import annotations

from flask import Flask

from localgoogle import addon_host, tasks
from localgoogle.calendar.app import create_calendar_app
from localgoogle.calendar.control import RESET_HOOKS
from localgoogle.calendar.models import CalendarState


def create_emulator_app(
    state: CalendarState | None = None, *, base_url: str | None = None
) -> Flask:
    """Calendar API v3 + control API + add-on host, sharing one in-memory ``state``, and
    Cloud Tasks v2 (``/v2/``, ``/_tasks/``); ``app.extensions["cloud_tasks"].close()`` stops
    its dispatcher."""
    app = create_calendar_app(state, base_url=base_url)
    host = addon_host.register(app, app.config["EMULATOR_STATE"])
    # "Reset everything" includes the host's deployment, subscriptions and trigger log.
    app.config[RESET_HOOKS].append(host.reset)
    # Cloud Tasks signs its OIDC tokens with the host's keys: one issuer, one certs URL.
    cloud_tasks = tasks.register(
        app, lambda audience, email: host.tokens.mint(audience=audience, email=email)
    )
    app.config[RESET_HOOKS].append(cloud_tasks.reset)
    return app
