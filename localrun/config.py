"""What the local stack runs with: its ports, the add-on's environment, and the bootstrap.

One place decides how the parts are wired, so the runner (``python -m localrun``) and the
tests that build the same stack in-process cannot drift apart:

* ``LocalPorts`` — backend (the add-on under gunicorn), emulator (Calendar API, add-on host,
  fake conferencing server and console in one process) and the Datastore emulator.
* ``backend_env(ports)`` — the ``ADDON_*`` variables the add-on reads (``addon.settings``).
  Locally two solutions use the ``rest`` provider against the fake conferencing server
  mounted on the emulator at ``/_conferencing``, so the console can show meeting state and
  inject outages, and one more per fake vendor (``localrun.vendors``: Zoom at ``/_zoom``,
  Teams at ``/_graph``, each behind account linking); production defaults to the ``jitsi``
  provider (``settings.DEFAULT_SOLUTIONS``).
* ``stack_environment(ports, environ)`` — ``backend_env`` merged with the caller's own
  ``ADDON_*`` variables: the ones that wire the add-on to the emulators (``WIRED``) are the
  stack's, whatever the environment says; the local defaults in ``ADJUSTABLE`` give way to the
  user's; every other ``ADDON_*`` variable passes through. It says which is which, so the
  runner can print it at start-up instead of replacing anything silently.
* ``bootstrap(emulator_url, settings)`` — install the add-on's deployment in the emulator's
  add-on host (as ``gcloud workspace-add-ons deployments create`` would), create the Cloud
  Tasks queue in the emulator (as ``flask create-queue`` does on Google), register the
  offline-sync callback with the emulator's OAuth client, and create the demo users.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import requests

from addon.credentials.offline import CALLBACK_PATH
from addon.credentials.signin import SIGNIN_CALLBACK_PATH
from addon.deployment import render
from addon.linking.accounts import GOOGLE_CALLBACK_PATH
from addon.settings import LOCAL_TASKS_QUEUE, Settings
from addon.tasks.queue import SyncQueue
from localgoogle.addon_host.keys import DEFAULT_OAUTH_CLIENT_ID
from localgoogle.apps_script import DEFAULT_BRIDGE_CLIENT_ID
from localgoogle.oauth import DEFAULT_CLIENT_SECRET
from localrun.vendors import vendor_solutions

HOST = "127.0.0.1"
PROJECT = "local-addon"
DEMO_USERS = ("alice@example.com", "bob@example.com")
CONFERENCING_PREFIX = "/_conferencing"
LOGO_URL = "https://www.gstatic.com/images/branding/product/2x/calendar_48dp.png"


@dataclass(frozen=True)
class LocalPorts:
    backend: int = 8080
    emulator: int = 8090
    datastore: int = 8081
    # The Apps Script stand-in running the bridge's script (its control API and push receiver).
    bridge: int = 8070

    @property
    def backend_url(self) -> str:
        return f"http://{HOST}:{self.backend}"

    @property
    def emulator_url(self) -> str:
        return f"http://{HOST}:{self.emulator}"

    @property
    def bridge_url(self) -> str:
        return f"http://{HOST}:{self.bridge}"

    @property
    def datastore_host(self) -> str:
        return f"{HOST}:{self.datastore}"


def local_solutions(
    conferencing_url: str, emulator_url: str | None = None
) -> list[dict[str, object]]:
    """The two solutions on the fake conferencing server (``rest`` provider), and with
    ``emulator_url`` one more per fake vendor mounted there (``localrun.vendors``)."""
    options = {"base_url": conferencing_url}
    vendors = vendor_solutions(emulator_url) if emulator_url else []
    return [
        {
            "id": "web-conference",
            "name": "Web conference",
            "logoUrl": LOGO_URL,
            "provider": "rest",
            "options": options,
        },
        {
            "id": "recorded-web-conference",
            "name": "Recorded web conference",
            "logoUrl": LOGO_URL,
            "provider": "rest",
            "options": options,
        },
        *vendors,
    ]


def backend_env(
    ports: LocalPorts, *, project: str = PROJECT, sync_mode: str = "tasks"
) -> dict[str, str]:
    """The environment of the add-on backend: ID-token verification stays on and checks
    tokens against the emulator's certs; Calendar and Cloud Tasks calls go to the emulator,
    whose tasks come back with OIDC tokens signed by the same keys."""
    emulator = ports.emulator_url
    return {
        "ADDON_ENV": "local",
        "ADDON_BASE_URL": ports.backend_url,
        "ADDON_VERIFY_ID_TOKENS": "true",
        "ADDON_CERTS_URL": f"{emulator}/oauth2/v1/certs",
        "ADDON_CALENDAR_API_ENDPOINT": f"{emulator}/calendar/v3/",
        "ADDON_DATASTORE_PROJECT": project,
        "DATASTORE_EMULATOR_HOST": ports.datastore_host,
        "ADDON_SOLUTIONS": json.dumps(local_solutions(emulator + CONFERENCING_PREFIX, emulator)),
        "ADDON_SYNC_MODE": sync_mode,
        "ADDON_TASKS_API_ENDPOINT": emulator,
        "ADDON_TASKS_QUEUE": LOCAL_TASKS_QUEUE,
        # A short debounce: a person clicking around sees the sync soon after each change.
        "ADDON_SYNC_DEBOUNCE_SECONDS": "1",
        # The emulator's host signs users' ID tokens for this client id, and its OAuth server
        # knows it with this secret: offline consent runs against the emulator.
        "ADDON_OAUTH_CLIENT_ID": DEFAULT_OAUTH_CLIENT_ID,
        "ADDON_OAUTH_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
        "ADDON_OAUTH_AUTH_URI": f"{emulator}/o/oauth2/v2/auth",
        "ADDON_OAUTH_TOKEN_URI": f"{emulator}/token",
        "ADDON_OAUTH_REVOKE_URI": f"{emulator}/revoke",
        "ADDON_IAM_CREDENTIALS_ENDPOINT": emulator,
        # The bridge is on: the stand-in's identity tokens are for this client (issue 15).
        "ADDON_BRIDGE_CLIENT_ID": DEFAULT_BRIDGE_CLIENT_ID,
        # The operators' status page (/status): alice signs in with Google (the emulator's
        # consent page) and is let in; bob is refused.
        "ADDON_STATUS_ADMINS": "alice@example.com",
    }


# Variables the stack sets whatever the environment says, and why: they point the add-on at
# the emulators of this machine, and another value would break the stack, not configure it.
WIRED: dict[str, str] = {
    "ADDON_ENV": "the stack is local; production checks refuse every emulator",
    "ADDON_BASE_URL": "the backend listens on --backend-port",
    "ADDON_VERIFY_ID_TOKENS": "every call is proven as in production, with the emulator's keys",
    "ADDON_CERTS_URL": "Google's ID tokens are signed by the emulator's keys here",
    "ADDON_CALENDAR_API_ENDPOINT": "Calendar is the emulator on --emulator-port",
    "ADDON_DATASTORE_PROJECT": "the Datastore project is --project (ADDON_LOCAL_PROJECT)",
    "DATASTORE_EMULATOR_HOST": "Datastore is the emulator on --datastore-port",
    "ADDON_TASKS_API_ENDPOINT": "Cloud Tasks is the emulator on --emulator-port",
    "ADDON_TASKS_QUEUE": "the queue the stack creates in the Cloud Tasks emulator",
    "ADDON_OAUTH_CLIENT_ID": "the emulator's add-on host signs users' ID tokens for this client",
    "ADDON_OAUTH_CLIENT_SECRET": "the secret the emulator's OAuth server knows for that client",
    "ADDON_OAUTH_AUTH_URI": "Google's consent page is the emulator's here",
    "ADDON_OAUTH_TOKEN_URI": "Google's token endpoint is the emulator's here",
    "ADDON_OAUTH_REVOKE_URI": "Google's revocation endpoint is the emulator's here",
    "ADDON_IAM_CREDENTIALS_ENDPOINT": "IAM Credentials (keyless delegation) is the emulator's here",
    "ADDON_BRIDGE_CLIENT_ID": "the emulator signs the Apps Script stand-in's identity tokens for "
    "this client",
}
# Local defaults a user may replace with their own value.
ADJUSTABLE = (
    "ADDON_SOLUTIONS",
    "ADDON_SYNC_MODE",
    "ADDON_SYNC_DEBOUNCE_SECONDS",
    "ADDON_STATUS_ADMINS",
)


@dataclass(frozen=True)
class StackEnvironment:
    """The backend's environment, and what became of the caller's own ``ADDON_*`` values."""

    env: dict[str, str]
    # The caller's values in use: local defaults they replaced, and variables passed through.
    honoured: list[str] = field(default_factory=list)
    # The caller's values the stack replaced, each with why.
    replaced: list[tuple[str, str]] = field(default_factory=list)


def stack_environment(
    ports: LocalPorts, environ: Mapping[str, str], *, project: str = PROJECT
) -> StackEnvironment:
    """``backend_env`` with the caller's ``ADDON_*`` variables (see the module docstring)."""
    env = backend_env(ports, project=project)
    honoured: list[str] = []
    replaced: list[tuple[str, str]] = []
    for name in sorted(environ):
        value = environ[name]
        if not (name.startswith("ADDON_") or name in WIRED) or name.startswith("ADDON_LOCAL_"):
            continue
        if name in WIRED:
            if value != env[name]:
                replaced.append((name, WIRED[name]))
            continue
        env[name] = value
        honoured.append(name)
    return StackEnvironment(env, honoured, replaced)


def bootstrap(
    emulator_url: str, settings: Settings, users: tuple[str, ...] = DEMO_USERS
) -> dict[str, str]:
    """Install the deployment, create the sync queue (tasks mode) with the settings the
    deployment guide gives, and create ``users``; returns ``{email: access token}``."""
    if settings.sync_mode == "tasks":
        SyncQueue.for_settings(settings).ensure_queue()
    with requests.Session() as http:
        r = http.post(
            f"{emulator_url}/_emulator/addon/deployment", json=render(settings), timeout=10
        )
        r.raise_for_status()
        # The add-on's OAuth client accepts its offline-sync and sign-in callbacks (as
        # registered in the Cloud console's credentials page for a real client).
        r = http.post(
            f"{emulator_url}/_oauth/clients",
            json={
                "clientId": settings.oauth_client_id or DEFAULT_OAUTH_CLIENT_ID,
                "redirectUris": [
                    settings.endpoint_url(CALLBACK_PATH),
                    settings.endpoint_url(SIGNIN_CALLBACK_PATH),
                    # Google Sign-In of account linking (issue 16).
                    settings.endpoint_url(GOOGLE_CALLBACK_PATH),
                ],
            },
            timeout=10,
        )
        r.raise_for_status()
        tokens = {}
        for email in users:
            r = http.post(f"{emulator_url}/_emulator/users", json={"email": email}, timeout=10)
            r.raise_for_status()
            tokens[email] = str(r.json()["accessToken"])
    return tokens
