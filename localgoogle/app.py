"""The local Google as one WSGI app: the Calendar API emulator with the add-on host, the
Cloud Tasks emulator and Google's OAuth 2.0 endpoints on it.

The parts stay independent (``localgoogle.calendar`` knows nothing of the host; the
host reads and writes calendars only through ``localgoogle.seams``; ``localgoogle.tasks``
gets its token signer as a plain callable; ``localgoogle.oauth`` mints access tokens through
``seams.OAuthCalendarAccess`` and gets its ID-token signer as a plain callable); this module
is the one place that puts them together.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from localgoogle import addon_host, oauth, tasks
from localgoogle.calendar.app import create_calendar_app
from localgoogle.calendar.control import RESET_HOOKS
from localgoogle.calendar.models import CalendarState


def create_emulator_app(
    state: CalendarState | None = None, *, base_url: str | None = None
) -> Flask:
    """Calendar API v3 + control API + add-on host, sharing one in-memory ``state``, Cloud
    Tasks v2 (``/v2/``, ``/_tasks/``) and OAuth 2.0 + IAM Credentials (``/o/oauth2/v2/auth``,
    ``/token``, ``/revoke``, ``/v1/projects/-/serviceAccounts/…``, ``/_oauth/``);
    ``app.extensions["cloud_tasks"].close()`` stops the Cloud Tasks dispatcher."""
    app = create_calendar_app(state, base_url=base_url)
    calendars: CalendarState = app.config["EMULATOR_STATE"]
    host = addon_host.register(app, calendars)
    # "Reset everything" includes the host's deployment, subscriptions and trigger log.
    app.config[RESET_HOOKS].append(host.reset)
    # Cloud Tasks signs its OIDC tokens with the host's keys: one issuer, one certs URL.
    cloud_tasks = tasks.register(
        app, lambda audience, email: host.tokens.mint(audience=audience, email=email)
    )
    app.config[RESET_HOOKS].append(cloud_tasks.reset)

    # So do the OAuth endpoints their ID tokens (azp, nonce and at_hash come in ``claims``).
    def mint_id_token(audience: str, email: str, claims: dict[str, Any]) -> str:
        return host.tokens.mint(audience=audience, email=email, extra_claims=claims)

    authorization_server = oauth.register(app, calendars, mint_id_token)
    app.config[RESET_HOOKS].append(authorization_server.reset)
    return app
