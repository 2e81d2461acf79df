"""Test doubles for the Cloud Tasks emulator: a recording HTTP target and client helpers.

``Target`` is a Flask app served over real HTTP playing the task handler: it records every
request (arrival time, headers, body), answers with scripted statuses, can hold requests for
a while, and counts how many requests it is serving at once.
"""

from __future__ import annotations

import datetime
import threading
import time
import warnings
from collections import deque
from dataclasses import dataclass
from typing import Any

from flask import Flask, request
from google.auth.credentials import AnonymousCredentials

with warnings.catch_warnings():
    # google-api-core's notice about Python 3.11's end of life, which pyproject's filters
    # ignore too; silenced here as well so that `pytest -W error` can import the client.
    warnings.filterwarnings("ignore", "You are using a Python version", FutureWarning)
    from google.api_core.client_options import ClientOptions
    from google.cloud import tasks_v2

PROJECT_LOCATION = "projects/test-project/locations/europe-west1"
SERVICE_ACCOUNT = "tasks-invoker@test-project.iam.gserviceaccount.com"


@dataclass(frozen=True)
class Received:
    at: float  # time.monotonic() at arrival
    path: str
    method: str
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


class Target:
    def __init__(self) -> None:
        self.base_url = ""
        self._lock = threading.Lock()
        self.received: list[Received] = []
        self.statuses: deque[int] = deque()  # scripted answers, then ``default_status``
        self.default_status = 200
        self.hold_seconds = 0.0  # how long each request is held before answering
        self.hold_first_seconds = 0.0  # extra hold for the very first request only
        self.released = threading.Event()  # set at teardown: held requests return at once
        self.current = 0
        self.max_concurrent = 0

    def url(self, path: str = "/task") -> str:
        return self.base_url + path

    def app(self) -> Flask:
        app = Flask("tasks_target")

        @app.route("/<path:path>", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"])
        def handle(path: str) -> tuple[str, int]:
            arrived = time.monotonic()
            with self._lock:
                first = not self.received
                self.received.append(
                    Received(
                        arrived,
                        "/" + path,
                        request.method,
                        dict(request.headers),
                        request.get_data(),
                    )
                )
                status = self.statuses.popleft() if self.statuses else self.default_status
                self.current += 1
                self.max_concurrent = max(self.max_concurrent, self.current)
            hold = self.hold_seconds + (self.hold_first_seconds if first else 0.0)
            try:
                if hold:
                    self.released.wait(hold)
            finally:
                with self._lock:
                    self.current -= 1
            return "", status

        return app

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.01)
        with self._lock:
            raise AssertionError(f"expected {count} requests, got {len(self.received)}")

    def snapshot(self) -> list[Received]:
        with self._lock:
            return list(self.received)


def client_for(base_url: str) -> tasks_v2.CloudTasksClient:
    """The unmodified client, as the add-on builds it for the emulator."""
    return tasks_v2.CloudTasksClient(
        credentials=AnonymousCredentials(),
        transport="rest",
        client_options=ClientOptions(api_endpoint=base_url),
    )


def seconds(value: float) -> datetime.timedelta:
    """A Duration field's value (proto-plus converts ``timedelta``)."""
    return datetime.timedelta(seconds=value)


def make_queue(
    client: tasks_v2.CloudTasksClient, queue_id: str = "sync", **settings: Any
) -> tasks_v2.Queue:
    """A queue with fast retries by default (tests must not wait out Google's 0.1 s..1 h)."""
    retry = {"min_backoff": seconds(0.05), "max_backoff": seconds(0.2), "max_attempts": 3}
    retry.update(settings.pop("retry", {}))
    queue = tasks_v2.Queue(
        name=f"{PROJECT_LOCATION}/queues/{queue_id}",
        retry_config=tasks_v2.RetryConfig(**retry),
        rate_limits=tasks_v2.RateLimits(**settings.pop("rate", {})),
    )
    assert not settings, settings
    return client.create_queue(parent=PROJECT_LOCATION, queue=queue)


def http_task(url: str, name: str | None = None, **fields: Any) -> tasks_v2.Task:
    request_fields = {"url": url, "http_method": tasks_v2.HttpMethod.POST}
    request_fields.update(fields.pop("http", {}))
    if name is not None:
        fields["name"] = name
    return tasks_v2.Task(http_request=tasks_v2.HttpRequest(**request_fields), **fields)


def error_status(error: Any) -> str:
    """The ``status`` of Google's JSON error body behind an api_core exception."""
    body: dict[str, Any] = error.response.json()
    status: str = body["error"]["status"]
    return status
