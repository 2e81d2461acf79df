"""google-api-python-client pointed at the emulator: how tests, tools and benchmarks talk to it.

Built offline from the discovery document shipped with the library (``static_discovery``),
exactly as the add-on builds its own client, so the emulator is exercised by the real library.
"""

from __future__ import annotations

from typing import Any

import google.oauth2.credentials
from googleapiclient.discovery import build


def calendar_service(emulator_url: str, access_token: str) -> Any:
    """A Calendar v3 service acting as the user who owns ``access_token``."""
    credentials = google.oauth2.credentials.Credentials(token=access_token)  # type: ignore[no-untyped-call]
    return build(
        "calendar",
        "v3",
        credentials=credentials,
        static_discovery=True,
        cache_discovery=False,
        client_options={"api_endpoint": emulator_url.rstrip("/") + "/calendar/v3/"},
    )
