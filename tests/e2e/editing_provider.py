"""A real provider for one test: the REST provider, except that while it creates a meeting
for a copied event it edits that event as the user, through the Calendar API.

That edit lands between the add-on's read of the event (its etag) and its conditional write
of the new conference data, which is exactly the race If-Match exists for.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

from addon.providers.base import Meeting, MeetingRequest
from addon.providers.registry import register
from addon.providers.rest import RestProvider


@register("edit-during-copy")
class EditDuringCopyProvider(RestProvider):
    name = "edit-during-copy"

    def __init__(self, options: Mapping[str, Any], **kwargs: Any) -> None:
        self.emulator_url = str(options["emulator_url"])
        self.edit_summary = str(options["edit_summary"])
        self.creates = 0
        super().__init__({"base_url": options["base_url"]}, **kwargs)

    def create(self, request: MeetingRequest, *, idempotency_key: str) -> Meeting:
        meeting = super().create(request, idempotency_key=idempotency_key)
        self.creates += 1
        if self.creates == 2:  # the first create is the original's, the second the copy's
            token = requests.post(
                f"{self.emulator_url}/_emulator/users",
                json={"email": request.calendar_id},
                timeout=10,
            ).json()["accessToken"]
            r = requests.patch(
                f"{self.emulator_url}/calendar/v3/calendars/{request.calendar_id}/events/{request.event_id}",
                json={"summary": self.edit_summary},
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            )
            r.raise_for_status()
        return meeting
