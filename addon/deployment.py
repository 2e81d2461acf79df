"""Render the gsuiteaddons v1 ``Deployment`` for this HTTP add-on from the settings.

``flask --app app deployment --base-url https://addon.example.com`` prints it; the committed
``deployment.json`` is that rendering with a placeholder host. Every URL in it is an endpoint
of this app (a test routes each one), and every field name exists in the Deployment schema
(a test reads the gsuiteaddons messages shipped with the gcloud SDK).
"""

from __future__ import annotations

from typing import Any

from addon.settings import Settings
from addon.web.calendar_addon import CONFERENCE_PATH, NOTIFICATION_PATH

PLACEHOLDER_BASE_URL = "https://addon.example.com"

OAUTH_SCOPES = [
    "https://www.googleapis.com/auth/calendar.addons.execute",
    "https://www.googleapis.com/auth/calendar.addons.current.event.read",
    "https://www.googleapis.com/auth/calendar.addons.current.event.write",
    "https://www.googleapis.com/auth/calendar.events",
    "https://www.googleapis.com/auth/userinfo.email",
]


def render(settings: Settings, base_url: str | None = None) -> dict[str, Any]:
    base = (base_url or settings.base_url).rstrip("/")
    return {
        "oauthScopes": list(OAUTH_SCOPES),
        "addOns": {
            "common": {
                "name": settings.addon_name,
                "logoUrl": settings.logo_url,
                "useLocaleFromApp": True,
            },
            "calendar": {
                "conferenceSolution": [
                    {
                        "id": s.id,
                        "name": s.name,
                        "logoUrl": s.logo_url,
                        "onCreateFunction": base + CONFERENCE_PATH.format(solution_id=s.id),
                    }
                    for s in settings.solutions
                ],
                "calendarNotificationTrigger": {"runFunction": base + NOTIFICATION_PATH},
                "currentEventAccess": "READ_WRITE",
            },
            "httpOptions": {
                "authorizationHeader": "SYSTEM_ID_TOKEN",
                "granularOauthPermissionSupport": "OPT_IN",
            },
        },
    }
