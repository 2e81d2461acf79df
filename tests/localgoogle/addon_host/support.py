"""Test doubles for the add-on host simulation.

* ``FakeCalendars`` — a small real in-memory ``HostCalendarAccess`` (the emulator's Calendar
  state is built separately; the seam is all the host may use).
* ``FakeAddon`` — a Flask app playing the add-on, served over real HTTP, recording every call.
* ``Emulator`` — the host's Flask app served over real HTTP, so google-auth fetches our certs
  the way it fetches Google's.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import requests
from flask import Flask, Response, jsonify, request
from werkzeug.serving import BaseWSGIServer, make_server

from localgoogle.addon_host import HostSimulator
from localgoogle.seams import ChangeListener

SOLUTION_ID = "ourMeeting"
USER = "alice@example.com"
CALENDAR = "alice@example.com"


class FakeCalendars:
    """Events in a dict; every write is a change and runs the listeners after the lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.events: dict[tuple[str, str], dict[str, Any]] = {}
        self.owners: dict[str, str] = {}
        self._listeners: list[ChangeListener] = []
        self._version = 0

    def add_change_listener(self, listener: ChangeListener) -> None:
        self._listeners.append(listener)

    def put_event(self, calendar_id: str, event_id: str, **fields: Any) -> None:
        with self._lock:
            self._version += 1
            event = {"id": event_id, "etag": f'"{self._version}"', **fields}
            self.events[(calendar_id, event_id)] = event
        self._changed(calendar_id, event_id)

    def _changed(self, calendar_id: str, event_id: str) -> None:
        for listener in list(self._listeners):
            listener(calendar_id, event_id)

    def host_get_event(self, calendar_id: str, event_id: str) -> dict[str, Any] | None:
        with self._lock:
            event = self.events.get((calendar_id, event_id))
            return dict(event) if event else None

    def host_set_conference_data(
        self, calendar_id: str, event_id: str, conference_data: dict[str, Any]
    ) -> dict[str, Any]:
        with self._lock:
            event = self.events[(calendar_id, event_id)]  # KeyError as the seam promises
            self._version += 1
            event.update(conferenceData=conference_data, etag=f'"{self._version}"')
            result = dict(event)
        self._changed(calendar_id, event_id)
        return result

    def host_user_token(self, email: str) -> str:
        return f"ya29.fake-{email}"

    def host_calendar_owner(self, calendar_id: str) -> str | None:
        return self.owners.get(calendar_id)


def default_markup(calendar_id: str) -> dict[str, Any]:
    """The answer a well-behaved add-on gives: a conference plus a subscription."""
    return {
        "renderActions": {
            "hostAppAction": {
                "calendarAction": {
                    "createConferenceDataActionMarkup": {
                        "createConferenceData": {
                            "conferenceId": "conf-123",
                            "conferenceSolutionId": SOLUTION_ID,
                            "entryPoints": [
                                {"type": "VIDEO", "uri": "https://meet.example/conf-123"},
                                {
                                    "type": "PHONE",
                                    "uri": "tel:+1-555-0100",
                                    "pin": "4321",
                                    "regionCode": "US",
                                    "features": ["TOLL"],
                                },
                            ],
                            "parameters": [{"key": "meetingId", "value": "m-1"}],
                            "note": "<b>Join</b>",
                        }
                    },
                    "calendarSubscriptionActionMarkup": {
                        "operation": "CREATE",
                        "calendarId": calendar_id,
                    },
                }
            }
        }
    }


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: Any


OnCreate = Callable[[dict[str, Any]], Response | tuple[Any, int]]


@dataclass
class FakeAddon:
    """The add-on side: behaviour set by each test, every call recorded."""

    base_url: str = ""
    received: list[Received] = field(default_factory=list)
    on_create: OnCreate | None = None
    trigger_statuses: deque[int] = field(default_factory=deque)  # then 200 forever
    trigger_gate: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.trigger_gate.set()

    def calls_to(self, path: str) -> list[Received]:
        return [r for r in list(self.received) if r.path == path]

    def app(self) -> Flask:
        app = Flask("fake_addon")

        def record() -> Any:
            body = request.get_json(silent=True)
            self.received.append(Received(request.path, dict(request.headers), body))
            return body

        @app.post(f"/oncreate/{SOLUTION_ID}")
        def on_create() -> Any:
            body = record()
            if self.on_create is not None:
                return self.on_create(body)
            return jsonify(default_markup(body["calendar"]["calendarId"]))

        @app.post("/trigger")
        def trigger() -> Any:
            self.trigger_gate.wait(5)
            record()
            status = self.trigger_statuses.popleft() if self.trigger_statuses else 200
            return jsonify({}), status

        return app

    def deployment(self, **http_options: str) -> dict[str, Any]:
        return {
            "oauthScopes": [
                "https://www.googleapis.com/auth/calendar.addons.execute",
                "https://www.googleapis.com/auth/calendar.events",
                "https://www.googleapis.com/auth/userinfo.email",
            ],
            "addOns": {
                "common": {"name": "Our Meetings", "logoUrl": "https://example.com/logo.png"},
                "calendar": {
                    "conferenceSolution": [
                        {
                            "id": SOLUTION_ID,
                            "name": "Our Meeting",
                            "logoUrl": "https://example.com/solution.png",
                            "onCreateFunction": f"{self.base_url}/oncreate/{SOLUTION_ID}",
                        }
                    ],
                    "calendarNotificationTrigger": {"runFunction": f"{self.base_url}/trigger"},
                    "currentEventAccess": "READ_WRITE",
                },
                "httpOptions": {"granularOauthPermissionSupport": "OPT_IN", **http_options},
            },
        }


def serve(app: Flask) -> Iterator[tuple[str, BaseWSGIServer]]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@dataclass
class Emulator:
    base_url: str
    host: HostSimulator

    def url(self, path: str) -> str:
        return self.base_url + path

    def post(self, path: str, body: Any) -> requests.Response:
        return requests.post(self.url(path), json=body, timeout=10)

    def get(self, path: str) -> requests.Response:
        return requests.get(self.url(path), timeout=10)

    def pick(self, event_id: str = "ev1", **body: Any) -> requests.Response:
        payload = {"solutionId": SOLUTION_ID, "user": USER, **body}
        path = f"/_emulator/calendars/{CALENDAR}/events/{event_id}/pick-conference"
        return self.post(path, payload)
