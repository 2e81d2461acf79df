"""Render the gsuiteaddons v1 ``Deployment`` for this HTTP add-on from the settings.

``flask --app app deployment --base-url https://addon.example.com`` prints it; the committed
``deployment.json`` is that rendering with a placeholder host. Every URL in it is an endpoint
of this app (a test routes each one), and every field name exists in the Deployment schema
(a test reads the gsuiteaddons messages shipped with the gcloud SDK).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from addon.settings import Settings, Solution
from addon.web.calendar_addon import CONFERENCE_PATH, HOMEPAGE_PATH, NOTIFICATION_PATH
from addon.web.panel import EVENT_OPEN_PATH, SETTINGS_URL_PATH

PLACEHOLDER_BASE_URL = "https://addon.example.com"

OAUTH_SCOPES = [
    "https://www.googleapis.com/auth/calendar.addons.execute",
    "https://www.googleapis.com/auth/calendar.addons.current.event.read",
    "https://www.googleapis.com/auth/calendar.addons.current.event.write",
    "https://www.googleapis.com/auth/calendar.events",
    "https://www.googleapis.com/auth/userinfo.email",
]


def check_base_url(url: str) -> str:
    """``url`` as the base of every endpoint Google calls, without a trailing slash; a
    ``ValueError`` says why it cannot be one. Google calls only https endpoints, so http is
    accepted for a loopback host alone (the local stack)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise ValueError(f"{url!r} is not a URL") from None
    if parts.scheme not in ("https", "http") or not host:
        raise ValueError(f"{url!r} is not an absolute https:// URL")
    if parts.scheme == "http" and not _is_loopback(host):
        raise ValueError(
            f"{url!r} is http: Google calls add-on endpoints over https only "
            "(http is accepted for localhost / 127.0.0.1, for local use)"
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"{url!r} must not carry a query, a fragment or credentials")
    return url.rstrip("/")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def common_part(settings: Settings) -> dict[str, Any]:
    """``addOns.common``: the same in the HTTP deployment and the Apps Script manifest."""
    return {"name": settings.addon_name, "logoUrl": settings.logo_url, "useLocaleFromApp": True}


def solutions_part(
    settings: Settings, on_create: Callable[[Solution], str]
) -> list[dict[str, Any]]:
    """``addOns.calendar.conferenceSolution``: ids, names and logos from the one solutions
    configuration, whichever way Google calls us (``on_create``: a URL, or a function name)."""
    return [
        {"id": s.id, "name": s.name, "logoUrl": s.logo_url, "onCreateFunction": on_create(s)}
        for s in settings.solutions
    ]


def render(settings: Settings, base_url: str | None = None) -> dict[str, Any]:
    base = check_base_url(base_url or settings.base_url)
    return {
        "oauthScopes": list(OAUTH_SCOPES),
        "addOns": {
            # The cards open our own pages (settings, account linking): links the add-on opens
            # must match a prefix listed here.
            "common": {**common_part(settings), "openLinkUrlPrefixes": [base + "/"]},
            "calendar": {
                "conferenceSolution": solutions_part(
                    settings, lambda s: base + CONFERENCE_PATH.format(solution_id=s.id)
                ),
                "calendarNotificationTrigger": {"runFunction": base + NOTIFICATION_PATH},
                "eventOpenTrigger": {"runFunction": base + EVENT_OPEN_PATH},
                "homepageTrigger": {"runFunction": base + HOMEPAGE_PATH},
                "createSettingsUrlFunction": base + SETTINGS_URL_PATH,
                "currentEventAccess": "READ_WRITE",
            },
            "httpOptions": {
                "authorizationHeader": "SYSTEM_ID_TOKEN",
                "granularOauthPermissionSupport": "OPT_IN",
            },
        },
    }
