"""BASELINE ONLY — NOT USED BY THE PRODUCT. A Python port of the seed sample's ``syncEvents``.

The seed (``shared/seed/sync-calendar-conference-changes.zh-TW.txt``, Google's "Syncing
calendar conference changes" guide) is what the add-on replaces; the benchmarks run this port
side by side with ours, against the same emulator, through the same google-api-python-client.
Its structure is kept on purpose, defects included (SPEC §2):

* one ``syncToken`` user property for every calendar of the user (``UserProperties``);
* no token → a "full" sync of future events updated in the last day: ``timeMin`` = now,
  ``updatedMin`` = yesterday, ``maxResults`` 50, ``orderBy`` updated; with a token only the
  token is sent, so Calendar's default page size (250) applies;
* a 410 is recognised by comparing the error *message text*; the property is then deleted
  and ``syncEvents`` calls itself (the branch body is missing in the local copy of the seed,
  whose blank and brace-only lines were stripped; this follows Google's published sample);
* ``eventHasConference`` reads ``conferenceData.conferenceSolution.name`` with no null check:
  it raises on every event without conference data and on deletion tombstones
  (``null_safe=True`` adds only that check, so the rest of the algorithm can be measured);
* ``updateConference``'s condition ``cancelled || eventHasConference(event)`` is always true
  for the events it is called with, so every change to a conference *deletes* the meeting;
  the update branch never runs;
* no lease (every trigger runs a whole sync, concurrently with the others), no retries, no
  record of which event owns which meeting, no idempotency keys.

The third-party calls the seed leaves as comments go to the same conferencing server as
ours (``/meetings/<conferenceId>``), without idempotency keys.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from googleapiclient.errors import HttpError

SOLUTION_NAMES = ("Web conference", "Recorded web conference")
SYNC_TOKEN_INVALID = "Sync token is no longer valid, a full sync is required."


class UserProperties:
    """``PropertiesService.getUserProperties()``: one string map per user, kept in a JSON file
    so subprocess runs share it like Apps Script executions do. Not transactional (nor is
    Apps Script's), which is part of what is measured."""

    _lock = threading.Lock()  # only keeps the file readable, not the algorithm safe

    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def get_property(self, key: str) -> str | None:
        with self._lock:
            return self._read().get(key)

    def set_property(self, key: str, value: str) -> None:
        with self._lock:
            data = self._read()
            data[key] = value
            self.path.write_text(json.dumps(data))

    def delete_property(self, key: str) -> None:
        with self._lock:
            data = self._read()
            data.pop(key, None)
            self.path.write_text(json.dumps(data))


class ThirdParty:
    """The conferencing API calls the seed leaves as comments, made for real (no keys)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.calls = 0

    def delete(self, conference_id: str) -> None:
        self.calls += 1
        r = self.session.delete(f"{self.base_url}/meetings/{conference_id}", timeout=30)
        if r.status_code >= 400 and r.status_code != 404:
            raise RuntimeError(f"conferencing API {r.status_code}")

    def update(self, conference_id: str, event: dict[str, Any]) -> None:  # never reached
        self.calls += 1
        body = {"title": event.get("summary"), "start": event.get("start")}
        r = self.session.patch(f"{self.base_url}/meetings/{conference_id}", json=body, timeout=30)
        if r.status_code >= 400:
            raise RuntimeError(f"conferencing API {r.status_code}")


class SeedSync:
    """``syncEvents(e)`` with its collaborators: Calendar (a googleapiclient service), the
    user's properties and the third-party API."""

    def __init__(
        self,
        calendar: Any,
        properties: UserProperties,
        third_party: ThirdParty,
        *,
        null_safe: bool = False,
        http_factory: Any = None,
    ) -> None:
        self.calendar = calendar
        self.properties = properties
        self.third_party = third_party
        self.null_safe = null_safe
        self.http_factory = http_factory
        self.events_seen = 0

    def _list(self, calendar_id: str, options: dict[str, Any]) -> dict[str, Any]:
        request = self.calendar.events().list(calendarId=calendar_id, **options)
        http = self.http_factory() if self.http_factory else None
        return dict(request.execute(http=http) if http else request.execute())

    def sync_events(self, e: dict[str, Any]) -> None:
        calendar_id = e["calendarId"]
        properties = self.properties
        sync_token = properties.get_property("syncToken")

        if sync_token:
            options: dict[str, Any] = {"syncToken": sync_token}
        else:
            now = datetime.now(UTC)
            yesterday = now - timedelta(days=1)
            options = {
                "timeMin": now.isoformat().replace("+00:00", "Z"),
                "updatedMin": yesterday.isoformat().replace("+00:00", "Z"),
                "maxResults": 50,
                "orderBy": "updated",
            }

        events: dict[str, Any] = {}
        page_token: str | None = None
        while True:
            try:
                if page_token:
                    options["pageToken"] = page_token
                else:
                    options.pop("pageToken", None)
                events = self._list(calendar_id, options)
            except HttpError as err:
                # The seed compares the human message (SPEC §2: fragile, but faithful).
                if _message(err) == SYNC_TOKEN_INVALID:
                    properties.delete_property("syncToken")
                    self.sync_events(e)
                    return
                raise RuntimeError(_message(err)) from None

            for cal_event in events.get("items") or []:
                self.events_seen += 1
                if self.event_has_conference(cal_event):
                    self.update_conference(cal_event, cal_event["conferenceData"]["conferenceId"])

            page_token = events.get("nextPageToken")
            if not page_token:
                break

        if events.get("nextSyncToken"):
            properties.set_property("syncToken", events["nextSyncToken"])

    def event_has_conference(self, cal_event: dict[str, Any]) -> bool:
        if self.null_safe:
            data = cal_event.get("conferenceData") or {}
            name = (data.get("conferenceSolution") or {}).get("name")
        else:
            # var name = calEvent.conferenceData.conferenceSolution.name || null;
            # KeyError here is the seed's TypeError on any event without conference data.
            name = cal_event["conferenceData"]["conferenceSolution"].get("name")
        return bool(name) and name in SOLUTION_NAMES

    def update_conference(self, cal_event: dict[str, Any], conference_id: str) -> None:
        # The seed's condition: always true when called from syncEvents (the event has a
        # conference), so the update branch below never runs and every edit deletes.
        if cal_event.get("status") == "cancelled" or self.event_has_conference(cal_event):
            self.third_party.delete(conference_id)
        else:
            self.third_party.update(conference_id, cal_event)


def _message(err: HttpError) -> str:
    try:
        return str(json.loads(err.content)["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return str(err)
