"""Add-on host simulation: the emulator playing Google Calendar towards an HTTP add-on.

Modules: ``keys`` (ID-token signing, certs), ``deployment`` (installed Deployment JSON),
``calls`` (event objects, outbound calls, markup conversion), ``on_create`` (what an
onCreate answer asks for, validated), ``triggers`` (background trigger worker and its fault
settings), ``call_log`` (what the host called), ``simulator`` (``HostSimulator``, the state),
``routes`` (HTTP surface), ``errors``.

``localgoogle.app`` calls ``register(app, calendars)``; the host then lives on
``app.extensions["addon_host"]``. Optional config: ``EMULATOR_BASE_URL`` (for the certs URL),
``ADDON_SYSTEM_SERVICE_ACCOUNT``, ``ADDON_OAUTH_CLIENT_ID``, ``ADDON_CALL_TIMEOUT``.
"""

from __future__ import annotations

from flask import Flask

from localgoogle.addon_host.keys import DEFAULT_OAUTH_CLIENT_ID, DEFAULT_SYSTEM_SERVICE_ACCOUNT
from localgoogle.addon_host.routes import bp
from localgoogle.addon_host.simulator import HostSimulator
from localgoogle.seams import HostCalendarAccess

__all__ = ["HostSimulator", "register"]


def register(app: Flask, calendars: HostCalendarAccess) -> HostSimulator:
    """Build the host for ``calendars``, mount its routes on ``app`` and return it."""
    host = HostSimulator(
        calendars,
        system_service_account=app.config.get(
            "ADDON_SYSTEM_SERVICE_ACCOUNT", DEFAULT_SYSTEM_SERVICE_ACCOUNT
        ),
        oauth_client_id=app.config.get("ADDON_OAUTH_CLIENT_ID", DEFAULT_OAUTH_CLIENT_ID),
        call_timeout=float(app.config.get("ADDON_CALL_TIMEOUT", 10.0)),
    )
    app.extensions["addon_host"] = host
    app.register_blueprint(bp)
    return host
