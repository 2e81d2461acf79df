"""Google Calendar conferencing add-on backend (HTTP runtime).

``create_app(settings)`` builds the Flask app; ``app.py`` exposes ``app`` for gunicorn.
Layout: ``web/`` endpoints, ``conferences`` creation flow, ``scheduling`` who runs a sync
(a trigger, a Cloud Tasks task) and its follow-ups, ``sync/`` the sync engine, ``tasks/``
Cloud Tasks (names, bodies, sealed tokens, the queue client), ``calendar/`` the Calendar
client, ``store/`` Datastore, ``providers/`` conferencing systems. The local Google and the
local stack live outside this package (``localgoogle``, ``localrun``): nothing here imports them.
"""

from __future__ import annotations

import warnings

# google-api-core warns on import that its releases after Python 3.11's end of life (2027) will
# not support 3.11. Nothing in this service can act on it, and it came first in every command's
# output. It is filtered here because every entry point (app.py under gunicorn and the flask
# CLI, python -m localrun, the benchmarks) imports this package before any Google library; it is
# matched by its text and module, so every other warning still shows.
warnings.filterwarnings(
    "ignore",
    message=r"You are using a Python version \(3\.11",
    category=FutureWarning,
    module=r"google\.api_core\.",
)

import logging
from collections.abc import Callable, Mapping

from flask import Flask

from addon import logs
from addon.credentials.offline import allow_local_http
from addon.errors import register_error_handlers
from addon.services import Services
from addon.settings import Settings, from_env
from addon.store.datastore import Store

MAX_BODY_BYTES = 1024 * 1024

log = logging.getLogger("addon")


def create_app(
    settings: Settings | Mapping[str, str] | None = None,
    *,
    store_factory: Callable[[], Store] | None = None,
) -> Flask:
    """Build the app. ``settings``: a ``Settings``, a mapping of ``ADDON_*`` variables, or
    None to read the environment. Bad settings raise ``SettingsError`` before anything runs."""
    if not isinstance(settings, Settings):
        settings = from_env(settings)
    logs.configure(settings.log_level)
    app = Flask(__name__)
    app.config.from_mapping(MAX_CONTENT_LENGTH=MAX_BODY_BYTES)
    app.extensions["addon"] = Services.build(settings, store_factory)
    register_error_handlers(app)

    from addon import cli
    from addon.web import (
        calendar_addon,
        health,
        offline,
        panel,
        push,
        settings_page,
        signin,
        status_page,
        tasks,
    )

    app.register_blueprint(calendar_addon.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(tasks.bp)
    app.register_blueprint(push.bp)
    app.register_blueprint(offline.bp)
    app.register_blueprint(panel.bp)
    app.register_blueprint(signin.bp)
    app.register_blueprint(settings_page.bp)
    app.register_blueprint(status_page.bp)
    cli.register(app)
    # --- Apps Script bridge (issue 15): its endpoints and its manifest command ---
    from addon import apps_script
    from addon.web import bridge

    app.register_blueprint(bridge.bp)
    apps_script.register_cli(app)
    # --- vendors (issue 16): the join link of BigBlueButton conferences ---
    from addon.web import join

    app.register_blueprint(join.bp)
    # --- Account linking (issue 16): the pages behind Calendar's AUTHENTICATION error ---
    from addon.web import link

    app.register_blueprint(link.bp)
    if not settings.verify_id_tokens:
        log.warning(
            "ID-TOKEN VERIFICATION IS OFF: any caller is accepted. Local use only "
            "(ADDON_VERIFY_ID_TOKENS=false); refused when ADDON_ENV=production."
        )
    if settings.offline_consent and allow_local_http(settings):
        # Not a hole (a loopback emulator, and refused with ADDON_ENV=production), but said.
        log.info(
            "offline consent over plain http to the local OAuth emulator at %s "
            "(OAUTHLIB_INSECURE_TRANSPORT=1, ADDON_ENV=local only)",
            settings.oauth_token_uri,
        )
    if settings.production and settings.allow_non_google_endpoints:
        others = {k: v for k, v in settings.google_endpoints().items() if v is not None}
        log.warning(
            "ADDON_ALLOW_NON_GOOGLE_ENDPOINTS=true: tokens and Calendar answers are trusted "
            "from endpoints that may not be Google's: %s",
            ", ".join(f"{k}={v}" for k, v in others.items()),
        )
    return app
