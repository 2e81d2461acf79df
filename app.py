"""WSGI entry point: ``gunicorn app:app`` (settings from ``ADDON_*`` environment variables).

Bad settings print every problem, one per line and without a traceback, and exit with
``EXIT_BAD_SETTINGS``: gunicorn's own code for "App failed to load". The image runs gunicorn
with ``--preload`` so this happens once, in the master, before any worker is forked;
``flask --app app`` exits with it too.
"""

import sys

from addon import create_app
from addon.settings import SettingsError

EXIT_BAD_SETTINGS = 4  # gunicorn.arbiter.Arbiter.APP_LOAD_ERROR

try:
    app = create_app()
except SettingsError as exc:
    print(exc.report(), file=sys.stderr, flush=True)
    sys.exit(EXIT_BAD_SETTINGS)
