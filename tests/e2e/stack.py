"""A whole stack in one test process: Calendar emulator (+ add-on host and a fake
conferencing server), the add-on service on its own port, and the real Datastore emulator.

Every part talks over real HTTP: the add-on verifies ID tokens the emulator signs and reads
Calendar through google-api-python-client pointed at the emulator.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import requests
from flask import Flask

from addon import create_app
from addon.calendar.client import RetryPolicy
from addon.deployment import render
from addon.services import Services
from addon.settings import Settings, Solution
from addon.store.datastore import Store
from addon.tasks.queue import SyncQueue
from localgoogle.app import create_emulator_app
from localgoogle.calendar.client import calendar_service
from localgoogle.datastore_emulator import free_port
from localgoogle.oauth import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from localgoogle.server import serve
from localgoogle.vendors.graph import GraphState, graph_blueprint
from localgoogle.vendors.rest import ConferencingState, conferencing_blueprint
from localgoogle.vendors.webex import WebexState, webex_blueprint
from localgoogle.vendors.zoom import ZoomState, zoom_blueprint
from tests.localgoogle.calendar.discovery_schema import validate_response

SOLUTION = "web-conference"
RECORDED = "recorded-web-conference"


@dataclass
class Stack:
    emulator_url: str
    addon_url: str
    addon_app: Flask
    emulator_app: Flask
    conferencing: ConferencingState
    tokens: dict[str, str] = field(default_factory=dict)
    # Vendors that act as one linked user (issue 16), mounted at /_zoom, /_graph and /_webex.
    zoom: ZoomState = field(default_factory=ZoomState)
    graph: GraphState = field(default_factory=GraphState)
    webex: WebexState = field(default_factory=WebexState)

    @property
    def services(self) -> Services:
        svc: Services = self.addon_app.extensions["addon"]
        return svc

    @property
    def store(self) -> Store:
        return self.services.store

    def control(self, method: str, path: str, body: Any = None) -> Any:
        r = requests.request(method, self.emulator_url + path, json=body, timeout=30)
        assert r.status_code < 300, (r.status_code, r.text)
        return r.json() if r.content else None

    def user(self, email: str) -> str:
        if email not in self.tokens:
            self.tokens[email] = self.control("POST", "/_emulator/users", {"email": email})[
                "accessToken"
            ]
        return self.tokens[email]

    def calendar(self, email: str) -> Any:
        return calendar_service(self.emulator_url, self.user(email))

    def pick(self, calendar_id: str, event_id: str, user: str, solution: str = SOLUTION) -> Any:
        return self.control(
            "POST",
            f"/_emulator/calendars/{calendar_id}/events/{event_id}/pick-conference",
            {"solutionId": solution, "user": user},
        )

    def copy_event(self, user: str, calendar_id: str, event_id: str) -> dict[str, Any]:
        """Copy an event, its conference data included, as Calendar's "duplicate" does; through
        the emulator's model, so injected API faults meant for the add-on do not hit it."""
        model = self.emulator_app.config["EMULATOR_STATE"]
        source = model.events_get(user, calendar_id, event_id)
        body = {k: source[k] for k in ("summary", "start", "end", "conferenceData")}
        return dict(model.events_insert(user, calendar_id, body, 1))

    def settle(self, timeout: float = 30.0) -> None:
        """Wait until every trigger call the host owes the add-on has been answered and, in
        tasks mode, every task due within the debounce (and those they made) has run."""
        host = self.emulator_app.extensions["addon_host"]
        if self.services.settings.sync_mode != "tasks":
            assert host.flush(timeout), "trigger calls did not finish"
            return
        tasks = self.emulator_app.extensions["cloud_tasks"]
        within = self.services.settings.debounce_seconds + 0.5
        deadline = time.monotonic() + timeout
        quiet_rounds = 0
        while quiet_rounds < 2:  # a task's write-back fires a trigger, which makes a task
            left = deadline - time.monotonic()
            assert left > 0, "triggers and tasks did not settle"
            flushed = host.flush(left)
            idle = tasks.wait_idle(max(0.1, deadline - time.monotonic()), within=within)
            assert flushed and idle, "triggers and tasks did not settle"
            quiet_rounds = quiet_rounds + 1 if host.flush(0.05) else 0
            time.sleep(0.05)

    def tasks_stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = self.emulator_app.extensions["cloud_tasks"].stats()
        return stats

    def meetings(self) -> dict[str, dict[str, Any]]:
        return {m["id"]: m for m in self.conferencing.meetings()}

    def provider_calls(self, outcome: str = "applied") -> list[dict[str, Any]]:
        return [c for c in self.conferencing.calls() if c["outcome"] == outcome]

    def list_runs(self) -> int:
        stats = self.control("GET", "/_emulator/stats")
        return int(stats["requests"].get("events.list", 0))

    def calendar_state(self, calendar_id: str) -> Any:
        return self.store.get_calendar(calendar_id)


SolutionsFor = Callable[[str], tuple[Solution, ...]]


def default_solutions(emulator_url: str) -> tuple[Solution, ...]:
    """Both solutions on the REST provider against the emulator's conferencing server."""
    conferencing = emulator_url + "/_conferencing"
    return (
        Solution(
            SOLUTION,
            "Web conference",
            "https://x.example/logo.png",
            "rest",
            {"base_url": conferencing, "timeout_seconds": 2},
        ),
        Solution(
            RECORDED,
            "Recorded web conference",
            "https://x.example/logo.png",
            "rest",
            {"base_url": conferencing, "timeout_seconds": 2},
        ),
    )


def offline_settings(emulator_url: str) -> dict[str, Any]:
    """Offline consent against the emulator's OAuth server, with its default client (whose id
    the add-on host uses as the userIdToken audience), and keyless delegation through its IAM
    endpoint once a test grants it."""
    return {
        "oauth_client_id": DEFAULT_CLIENT_ID,
        "oauth_client_secret": DEFAULT_CLIENT_SECRET,
        "oauth_auth_uri": emulator_url + "/o/oauth2/v2/auth",
        "oauth_token_uri": emulator_url + "/token",
        "oauth_revoke_uri": emulator_url + "/revoke",
        "iam_credentials_endpoint": emulator_url,
    }


def addon_settings(
    addon_url: str,
    emulator_url: str,
    project: str,
    solutions_for: SolutionsFor = default_solutions,
    *,
    offline: bool = False,
    **overrides: Any,
) -> Settings:
    solutions = solutions_for(emulator_url)
    values: dict[str, Any] = {
        "base_url": addon_url,
        "certs_url": emulator_url + "/oauth2/v1/certs",
        "calendar_api_endpoint": emulator_url + "/calendar/v3/",
        "datastore_project": project,
        "solutions": solutions,
        "sync_mode": "inline",
        "lease_seconds": 40,
        "tasks_api_endpoint": emulator_url,
        "debounce_seconds": 0.3,
    }
    if offline:
        values.update(offline_settings(emulator_url))
    values.update(overrides)
    return Settings(**values).validate()


@contextlib.contextmanager
def running_stack(
    project: str,
    solutions_for: SolutionsFor = default_solutions,
    *,
    offline: bool = False,
    **overrides: Any,
) -> Iterator[Stack]:
    conferencing = ConferencingState()
    emulator_app = create_emulator_app()
    # Every Calendar response the add-on reads must match Google's discovery schemas.
    responses: list[tuple[str, int, Any]] = []
    emulator_app.config["EMULATOR_RESPONSE_HOOK"] = lambda m, s, b: responses.append((m, s, b))
    emulator_app.register_blueprint(
        conferencing_blueprint(conferencing), url_prefix="/_conferencing"
    )
    zoom, graph, webex = ZoomState(), GraphState(), WebexState()
    emulator_app.register_blueprint(zoom_blueprint(zoom), url_prefix="/_zoom")
    emulator_app.register_blueprint(graph_blueprint(graph), url_prefix="/_graph")
    emulator_app.register_blueprint(webex_blueprint(webex), url_prefix="/_webex")
    with serve(emulator_app) as emulator_url:
        port = free_port()
        addon_url = f"http://127.0.0.1:{port}"
        settings = addon_settings(
            addon_url, emulator_url, project, solutions_for, offline=offline, **overrides
        )
        app = create_app(settings)
        svc: Services = app.extensions["addon"]
        svc.calendar_retry = RetryPolicy(base_delay=0.01, max_delay=0.05)
        with serve(app, port=port):
            stack = Stack(
                emulator_url, addon_url, app, emulator_app, conferencing,
                zoom=zoom, graph=graph, webex=webex,
            )  # fmt: skip
            stack.control("POST", "/_emulator/addon/deployment", render(settings))
            if offline:
                callback = [
                    addon_url + "/offline/callback",
                    addon_url + "/signin/callback",
                    addon_url + "/link/google/callback",
                ]
                stack.control(
                    "POST",
                    "/_oauth/clients",
                    {"clientId": DEFAULT_CLIENT_ID, "redirectUris": callback},
                )
            if settings.sync_mode == "tasks":
                create_queue(svc.queue)
            yield stack
            with contextlib.suppress(Exception):
                stack.settle(10)
            emulator_app.extensions["addon_host"].close()
            emulator_app.extensions["cloud_tasks"].close()
    for method_id, status, body in responses:
        validate_response(method_id, body, status)


def create_queue(queue: SyncQueue, min_backoff: float = 0.2, max_backoff: float = 2.0) -> None:
    """The sync queue with the deployment guide's limits and backoffs short enough for tests,
    created through the unmodified google-cloud-tasks client."""
    backoffs = {
        "min_backoff": timedelta(seconds=min_backoff),
        "max_backoff": timedelta(seconds=max_backoff),
    }
    assert queue.ensure_queue(backoffs)


def wait_for(predicate: Any, timeout: float = 20.0, message: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {message}")
