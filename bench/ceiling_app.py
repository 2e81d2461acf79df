"""BENCHMARK ONLY: the product app plus two bare endpoints that conference creation is compared
with, served by gunicorn as ``bench.ceiling_app:app`` next to the real endpoints. Never
deployed: the product's entry point is ``app:app``.

* ``POST /bench/ceiling`` — one Datastore write and nothing else (no ID-token check, no
  provider, no Calendar call): the stack's ceiling (gunicorn + Flask + one Datastore round
  trip) on the same machine.
* ``POST /bench/seed-minimum`` — what the Apps Script seed's onCreate does at the least, done
  as well as it can be done: read the same event object our endpoint receives
  (``authorizationEventObject.userOAuthToken``, ``calendar.calendarId``, ``calendar.id``);
  one ``events.get`` with the user's token through google-api-python-client (the service
  built once per process from the shipped discovery document; one
  ``google_auth_httplib2.AuthorizedHttp`` per call over this thread's own ``httplib2.Http``,
  so connections are reused); one provider create (``RestProvider`` with its default
  transport, ``PoolTransport``: one urllib3 pool per process); one Datastore put; a minimal
  JSON conference data answer. It does **no ID-token verification** (the seed has none), no
  scope or domain checks, no idempotent replay of an existing conference, no subscription and
  no error mapping: a failure is a 500.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import google.oauth2.credentials
import google_auth_httplib2
import httplib2
from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue
from googleapiclient.discovery import build

from addon import create_app
from addon.providers.rest import RestProvider
from addon.services import Services
from addon.settings import Solution
from addon.store.entities import CONFERENCE_UNINDEXED, conference_to_props
from addon.store.records import Conference
from addon.sync.keys import create_key
from addon.sync.provider_calls import meeting_request

CEILING_KIND = "BenchCeiling"
# Not the product's Conference kind: the product's syncs of the same calendars must not find
# records they did not make (the entity is the same size as a Conference record).
SEED_MINIMUM_KIND = "BenchSeedMinimum"
CALENDAR_TIMEOUT_SECONDS = 30.0


@dataclass
class SeedMinimum:
    """What the seed-style endpoint builds once per process."""

    solution: Solution
    provider: RestProvider
    events: Any  # the discovery-built events() resource
    local: threading.local

    @classmethod
    def build(cls, svc: Services) -> SeedMinimum:
        settings = svc.settings
        solution = settings.solutions[0]
        endpoint = settings.calendar_api_endpoint
        service = build(
            "calendar",
            "v3",
            http=httplib2.Http(),  # placeholder: every execute() passes its own
            static_discovery=True,
            cache_discovery=False,
            client_options={"api_endpoint": endpoint} if endpoint else None,
        )
        return cls(solution, RestProvider(solution.options), service.events(), threading.local())

    def http(self, token: str) -> google_auth_httplib2.AuthorizedHttp:
        """The user's credentials over this thread's connection (httplib2 is not thread-safe)."""
        http: httplib2.Http | None = getattr(self.local, "http", None)
        if http is None:
            http = self.local.http = httplib2.Http(timeout=CALENDAR_TIMEOUT_SECONDS)
        credentials = google.oauth2.credentials.Credentials(token=token)
        return google_auth_httplib2.AuthorizedHttp(credentials, http=http)


def _event_object_fields(body: Any) -> tuple[str, str, str] | None:
    """(user token, calendar id, event id) from the event object, or None."""
    if not isinstance(body, dict):
        return None
    auth = body.get("authorizationEventObject")
    calendar = body.get("calendar")
    token = auth.get("userOAuthToken") if isinstance(auth, dict) else None
    calendar_id = calendar.get("calendarId") if isinstance(calendar, dict) else None
    event_id = calendar.get("id") if isinstance(calendar, dict) else None
    fields = (token, calendar_id, event_id)
    if not all(isinstance(f, str) and f for f in fields):
        return None
    return token, calendar_id, event_id  # type: ignore[return-value]


def create_ceiling_app() -> Flask:
    app = create_app()
    seed_lock = threading.Lock()
    seed: list[SeedMinimum] = []

    def seed_minimum_parts() -> SeedMinimum:
        with seed_lock:  # built on first use, once per worker process
            if not seed:
                seed.append(SeedMinimum.build(app.extensions["addon"]))
            return seed[0]

    @app.post("/bench/ceiling")
    def ceiling() -> ResponseReturnValue:
        from google.cloud import datastore

        svc: Services = app.extensions["addon"]
        client = svc.store._client  # the same Datastore client the product uses
        entity = datastore.Entity(client.key(CEILING_KIND, uuid.uuid4().hex))
        entity.update({"n": 1})
        client.put(entity)
        return jsonify({"ok": True})

    @app.post("/bench/seed-minimum")
    def seed_minimum() -> ResponseReturnValue:
        from google.cloud import datastore

        fields = _event_object_fields(request.get_json(silent=True))
        if fields is None:
            return jsonify({"error": "userOAuthToken, calendarId and id are required"}), 400
        token, calendar_id, event_id = fields
        parts = seed_minimum_parts()
        solution = parts.solution
        event = parts.events.get(calendarId=calendar_id, eventId=event_id).execute(
            http=parts.http(token)
        )
        meeting = parts.provider.create(
            meeting_request(calendar_id, event_id, solution, event),
            idempotency_key=create_key(solution.id, calendar_id, event_id, 0),
        )
        client = app.extensions["addon"].store._client
        now = datetime.now(UTC)
        record = Conference.new(calendar_id, event_id, solution.id, meeting, event)
        entity = datastore.Entity(
            client.key(SEED_MINIMUM_KIND, f"{calendar_id}/{event_id}"),
            exclude_from_indexes=CONFERENCE_UNINDEXED,
        )
        entity.update(conference_to_props(record.with_(created_at=now, updated_at=now)))
        client.put(entity)
        return jsonify(
            {
                "conferenceId": meeting.meeting_id,
                "conferenceSolution": {"key": {"type": "addOn"}, "name": solution.name},
                "entryPoints": [
                    {"entryPointType": ep.type, "uri": ep.uri} for ep in meeting.entry_points
                ],
            }
        )

    return app


app = create_ceiling_app()
