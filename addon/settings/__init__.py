"""One typed settings object, read from ``ADDON_*`` environment variables.

Every setting has a default that runs the local stack (emulators, no Google account), except
where production needs a real value: when ``ADDON_ENV=production`` the service refuses to start
without a public base URL, the add-on service account and ID-token verification, and refuses
certificate and Calendar endpoints that are not Google's (a token minted by an emulator's open
control API would pass otherwise) unless ``ADDON_ALLOW_NON_GOOGLE_ENDPOINTS=true`` says so,
which is announced at start-up.
A missing or malformed value raises ``SettingsError`` naming the variable and what it expects.

Modules: ``model`` (``Settings``, ``Solution``, ``SettingsError``, the local defaults),
``checks`` (what makes settings invalid, locally and in production), ``env`` (``from_env``).
"""

from __future__ import annotations

from addon.settings.checks import is_google_url
from addon.settings.env import from_env, parse_solutions
from addon.settings.model import (
    DEFAULT_LOGO,
    DEFAULT_SOLUTIONS,
    GOOGLE_CERTS_URL,
    LOCAL_SECRET_KEY,
    LOCAL_SERVICE_ACCOUNT,
    LOCAL_TASKS_INVOKER,
    LOCAL_TASKS_QUEUE,
    MAX_SYNC_POOL,
    PREFIX,
    Settings,
    SettingsError,
    Solution,
)

__all__ = [
    "DEFAULT_LOGO",
    "DEFAULT_SOLUTIONS",
    "GOOGLE_CERTS_URL",
    "LOCAL_SECRET_KEY",
    "LOCAL_SERVICE_ACCOUNT",
    "LOCAL_TASKS_INVOKER",
    "LOCAL_TASKS_QUEUE",
    "MAX_SYNC_POOL",
    "PREFIX",
    "Settings",
    "SettingsError",
    "Solution",
    "from_env",
    "is_google_url",
    "parse_solutions",
]
