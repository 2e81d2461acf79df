"""``EmulatorClient``: how the console acts — through the emulator's own HTTP surfaces.

Calls go through the Flask test client of the app the console is mounted on: in-process (no
URL to configure) yet through the same routing, parsing and error handling as a request over
the network. Calendar calls carry the user's access token, so the emulator applies the same
access rules and change notifications as for any other Calendar client.
"""

from __future__ import annotations

from typing import Any

import requests
from flask import Flask


class ConsoleError(Exception):
    """An action could not be done; ``str(error)`` is shown to the person using the console."""


class EmulatorClient:
    def __init__(self, app: Flask) -> None:
        self._app = app

    def call(
        self,
        method: str,
        path: str,
        *,
        user: str | None = None,
        body: Any = None,
        query: dict[str, Any] | None = None,
    ) -> Any:
        """One request; the decoded JSON answer (None when empty). ``ConsoleError`` on 4xx/5xx."""
        headers = {"Authorization": f"Bearer {self.token(user)}"} if user else {}
        # A fresh test client per call: a client keeps cookies and is not meant to be shared
        # between the server's request threads.
        response = self._app.test_client().open(
            path, method=method, json=body, query_string=query, headers=headers
        )
        payload = response.get_json(silent=True) if response.data else None
        if response.status_code >= 400:
            raise ConsoleError(
                f"{method} {path} failed: {_error_message(payload, response.status)}"
            )
        return payload

    def token(self, user: str) -> str:
        """The user's access token (the control API creates the user on first use)."""
        answer = self.call("POST", "/_emulator/users", body={"email": user})
        return str(answer["accessToken"])

    # -- Calendar API v3, as the user ------------------------------------------------------

    def events_path(self, calendar_id: str, event_id: str | None = None) -> str:
        path = f"/calendar/v3/calendars/{calendar_id}/events"
        return f"{path}/{event_id}" if event_id else path

    def get_event(self, user: str, calendar_id: str, event_id: str) -> dict[str, Any]:
        event: dict[str, Any] = self.call("GET", self.events_path(calendar_id, event_id), user=user)
        return event

    def insert_event(
        self, user: str, calendar_id: str, body: dict[str, Any], *, conference_version: int = 0
    ) -> dict[str, Any]:
        event: dict[str, Any] = self.call(
            "POST",
            self.events_path(calendar_id),
            user=user,
            body=body,
            query={"conferenceDataVersion": conference_version},
        )
        return event

    def patch_event(
        self, user: str, calendar_id: str, event_id: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        event: dict[str, Any] = self.call(
            "PATCH", self.events_path(calendar_id, event_id), user=user, body=body
        )
        return event

    def delete_event(self, user: str, calendar_id: str, event_id: str) -> None:
        self.call("DELETE", self.events_path(calendar_id, event_id), user=user)

    def instances(
        self, user: str, calendar_id: str, event_id: str, limit: int = 6
    ) -> list[dict[str, Any]]:
        answer = self.call(
            "GET",
            self.events_path(calendar_id, event_id) + "/instances",
            user=user,
            query={"maxResults": limit, "showDeleted": "true"},
        )
        return list(answer.get("items", []))

    # -- emulator control and add-on host --------------------------------------------------

    def users(self) -> list[str]:
        state = self._app.config["EMULATOR_STATE"]
        return sorted(state.users)

    def all_events(self, calendar_id: str) -> list[dict[str, Any]]:
        """Every stored event of the calendar, cancelled ones included (control API)."""
        answer = self.call("GET", f"/_emulator/calendars/{calendar_id}/events")
        return list(answer.get("items", []))

    def deployment(self) -> dict[str, Any] | None:
        info = self.call("GET", "/_emulator/addon")
        if not info.get("installed"):
            return None
        deployment: dict[str, Any] = self.call("GET", "/_emulator/addon/deployment")
        return deployment

    def pick_conference(
        self, user: str, calendar_id: str, event_id: str, solution_id: str
    ) -> dict[str, Any]:
        answer: dict[str, Any] = self.call(
            "POST",
            f"/_emulator/calendars/{calendar_id}/events/{event_id}/pick-conference",
            body={"solutionId": solution_id, "user": user},
        )
        return answer

    def pick_through_bridge(
        self, bridge_url: str, user: str, calendar_id: str, event_id: str, solution_id: str
    ) -> dict[str, Any]:
        """The same pick, Calendar calling the bridge's onCreateFunction in the Apps Script
        stand-in (real HTTP to its control API)."""
        body = {"calendarId": calendar_id, "eventId": event_id, "solutionId": solution_id}
        try:
            r = requests.post(
                f"{bridge_url}/_control/pick", json={**body, "user": user}, timeout=60
            )
        except requests.RequestException as exc:
            raise ConsoleError(f"the Apps Script stand-in did not answer: {exc}") from None
        if r.status_code >= 400:
            raise ConsoleError(f"the Apps Script stand-in refused the pick: {r.text[:200]}")
        answer: dict[str, Any] = r.json()
        return answer

    def bridge_triggers(self, bridge_url: str, user: str) -> list[dict[str, Any]]:
        r = requests.get(f"{bridge_url}/_control/triggers", params={"user": user}, timeout=10)
        r.raise_for_status()
        return list(r.json()["triggers"])

    def trigger_calls(self, limit: int = 200) -> list[dict[str, Any]]:
        answer = self.call("GET", "/_emulator/addon/calls", query={"limit": limit})
        return list(answer.get("calls", []))

    def subscriptions(self) -> list[dict[str, Any]]:
        return list(self.call("GET", "/_emulator/addon/subscriptions").get("subscriptions", []))

    def queues(self) -> list[dict[str, Any]]:
        """The Cloud Tasks emulator's queues with their tasks (``/_tasks/queues``)."""
        return list(self.call("GET", "/_tasks/queues").get("queues", []))

    def open_homepage(self, user: str) -> dict[str, Any] | None:
        """The add-on's home card as Calendar would show it to ``user`` (its homepageTrigger)."""
        answer = self.call("POST", "/_emulator/addon/homepage", body={"user": user})
        card = answer.get("card")
        return card if isinstance(card, dict) else None

    def open_event(self, user: str, calendar_id: str, event_id: str) -> dict[str, Any]:
        """The event opened with the add-on's side panel (its eventOpenTrigger):
        ``{addonStatus, card, notification}``."""
        answer: dict[str, Any] = self.call(
            "POST",
            f"/_emulator/calendars/{calendar_id}/events/{event_id}/open",
            body={"user": user},
        )
        return answer

    def card_action(
        self, user: str, function: str, parameters: dict[str, str], calendar_id: str, event_id: str
    ) -> dict[str, Any]:
        """A card button clicked: Google calls ``function`` with the button's parameters."""
        body = {
            "user": user,
            "function": function,
            "parameters": parameters,
            "calendarId": calendar_id,
            "eventId": event_id,
        }
        answer: dict[str, Any] = self.call("POST", "/_emulator/addon/action", body=body)
        return answer

    def settings_url(self, user: str) -> str | None:
        """The settings page URL Calendar gets from createSettingsUrlFunction."""
        answer = self.call("POST", "/_emulator/addon/settings-url", body={"user": user})
        url = answer.get("settingsUrl")
        return url if isinstance(url, str) else None

    def notify_deletions(self) -> bool:
        settings = self.call("GET", "/_emulator/addon/notifications")
        return bool(settings.get("notifyDeletions", True))

    def set_notify_deletions(self, on: bool) -> None:
        self.call("POST", "/_emulator/addon/notifications", body={"notifyDeletions": on})

    def push_channels(self, calendar_id: str) -> list[dict[str, Any]]:
        """The push channels Calendar would notify for the calendar (open, not expired)."""
        channels = self.call("GET", "/_emulator/push").get("channels", [])
        return [c for c in channels if c.get("calendarId") == calendar_id]

    def expire_sync_tokens(self, calendar_id: str) -> None:
        self.call("POST", f"/_emulator/calendars/{calendar_id}/expire-sync-tokens")

    def calendar_faults(self) -> list[dict[str, Any]]:
        return list(self.call("GET", "/_emulator/faults").get("rules", []))

    def set_calendar_fault(self, rule: dict[str, Any]) -> None:
        self.call("POST", "/_emulator/faults", body=rule)

    def clear_calendar_faults(self) -> None:
        self.call("DELETE", "/_emulator/faults")


def _error_message(payload: Any, status: str) -> str:
    if isinstance(payload, dict):
        error = payload.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return f"{error['message']} ({status})"
        if isinstance(error, str):
            return f"{error} ({status})"
    return status
