"""Dispatch as Cloud Tasks does it: when, with which headers and token, and what a failure
costs (retries with backoff, the attempt limit, the dispatch deadline)."""

from __future__ import annotations

import datetime
import itertools
import time
from collections.abc import Callable, Mapping
from typing import Any

import google.auth.transport.requests
import pytest
from flask import Flask
from google.api_core import exceptions
from google.cloud import tasks_v2
from google.oauth2 import id_token

from localgoogle.server import serve
from localgoogle.tasks import register

from .conftest import Served
from .support import (
    PROJECT_LOCATION,
    SERVICE_ACCOUNT,
    Target,
    client_for,
    http_task,
    make_queue,
    seconds,
)

QUEUE = f"{PROJECT_LOCATION}/queues/sync"
AUDIENCE = "https://addon.example.com"
# Typed aliases of google-auth's callables keep strict mypy without ignores.
_verify_token: Callable[..., Mapping[str, Any]] = id_token.verify_token
_transport: Callable[[], Any] = google.auth.transport.requests.Request


def test_task_is_sent_with_its_method_headers_body_and_cloud_tasks_headers(
    client: tasks_v2.CloudTasksClient, target: Target, emulator: Served
) -> None:
    make_queue(client)
    name = f"{QUEUE}/tasks/sync-alice"
    task = http_task(
        target.url("/sync?calendar=alice"),
        name,
        http={
            "http_method": tasks_v2.HttpMethod.PUT,
            "body": b'{"calendar": "alice"}',
            "headers": {"Content-Type": "application/json", "X-Custom": "kept", "Host": "dropped"},
        },
    )
    created = client.create_task(parent=QUEUE, task=task)

    [received] = target.wait_for(1)
    assert emulator.tasks.wait_idle(timeout=5)
    assert received.method == "PUT"
    assert received.path == "/sync"
    assert received.body == b'{"calendar": "alice"}'
    assert received.header("Content-Type") == "application/json"
    assert received.header("X-Custom") == "kept"
    assert received.header("Host") == target.base_url.removeprefix("http://")
    assert received.header("User-Agent") == "Google-Cloud-Tasks"
    assert received.header("X-CloudTasks-QueueName") == "sync"
    assert received.header("X-CloudTasks-TaskName") == "sync-alice"
    assert received.header("X-CloudTasks-TaskRetryCount") == "0"
    assert received.header("X-CloudTasks-TaskExecutionCount") == "0"
    eta = float(received.header("X-CloudTasks-TaskETA") or "0")
    assert eta == pytest.approx(created.schedule_time.timestamp(), abs=1e-6)
    assert received.header("X-CloudTasks-TaskPreviousResponse") is None
    assert received.header("X-CloudTasks-TaskRetryReason") is None
    assert received.header("Authorization") is None  # no oidcToken, no token
    with pytest.raises(exceptions.NotFound):  # done: deleted
        client.get_task(name=name)
    assert emulator.tasks.stats()["total"]["successes"] == 1


def test_schedule_time_is_honoured(client: tasks_v2.CloudTasksClient, target: Target) -> None:
    make_queue(client)
    when = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=0.6)
    started = time.monotonic()
    client.create_task(parent=QUEUE, task=http_task(target.url(), schedule_time=when))

    time.sleep(0.3)
    assert target.snapshot() == []
    [received] = target.wait_for(1)
    assert received.at - started >= 0.55


def test_oidc_token_verifies_against_the_emulator_certs(
    client: tasks_v2.CloudTasksClient, target: Target, emulator: Served
) -> None:
    make_queue(client)
    default_url, explicit_url = target.url("/default"), target.url("/explicit")
    oidc = tasks_v2.OidcToken(service_account_email=SERVICE_ACCOUNT)
    client.create_task(parent=QUEUE, task=http_task(default_url, http={"oidc_token": oidc}))
    explicit = tasks_v2.OidcToken(service_account_email=SERVICE_ACCOUNT, audience=AUDIENCE)
    client.create_task(parent=QUEUE, task=http_task(explicit_url, http={"oidc_token": explicit}))

    received = {request.path: request for request in target.wait_for(2)}
    certs = f"{emulator.base_url}/oauth2/v1/certs"
    # The audience is the oidcToken's, or else the task's URL.
    for path, audience in (("/default", default_url), ("/explicit", AUDIENCE)):
        scheme, token = (received[path].header("Authorization") or "").split(" ", 1)
        assert scheme == "Bearer"
        claims = _verify_token(token, _transport(), audience=audience, certs_url=certs)
        assert claims["iss"] == "https://accounts.google.com"
        assert claims["email"] == SERVICE_ACCOUNT
        assert claims["email_verified"] is True


def test_retries_back_off_per_retry_config_and_stop_at_max_attempts(
    client: tasks_v2.CloudTasksClient, target: Target, emulator: Served
) -> None:
    # min 0.05 s, doubling twice, then linear steps of 0.2 s, capped at 0.3 s:
    # retries after 0.05, 0.1, 0.2, 0.3 (0.4 capped) -> 5 attempts in all.
    make_queue(
        client,
        retry={
            "min_backoff": seconds(0.05),
            "max_backoff": seconds(0.3),
            "max_doublings": 2,
            "max_attempts": 5,
        },
    )
    target.default_status = 500
    name = f"{QUEUE}/tasks/failing"
    client.create_task(parent=QUEUE, task=http_task(target.url(), name))

    received = target.wait_for(5)
    assert emulator.tasks.wait_idle(timeout=5, within=1.0)
    time.sleep(0.4)  # longer than any backoff here: a sixth attempt would have come
    assert len(target.snapshot()) == 5
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(received)]
    for gap, expected in zip(gaps, [0.05, 0.1, 0.2, 0.3], strict=True):
        assert gap >= expected * 0.9
    assert gaps[3] > gaps[0]  # the interval grew
    assert [r.header("X-CloudTasks-TaskRetryCount") for r in received] == ["0", "1", "2", "3", "4"]
    # 5xx answers do not count as executions (Cloud Tasks' header reference).
    assert {r.header("X-CloudTasks-TaskExecutionCount") for r in received} == {"0"}
    assert [r.header("X-CloudTasks-TaskPreviousResponse") for r in received[1:]] == ["500"] * 4
    assert "HTTP status code 500" in (received[1].header("X-CloudTasks-TaskRetryReason") or "")
    totals = emulator.tasks.stats()["total"]
    assert totals["attempts"] == 5 and totals["retries"] == 4 and totals["failures"] == 5
    assert totals["deletedAfterMaxAttempts"] == 1
    with pytest.raises(exceptions.NotFound):
        client.get_task(name=name)


def test_failed_attempt_is_visible_on_the_task(
    client: tasks_v2.CloudTasksClient, target: Target, emulator: Served
) -> None:
    make_queue(client, retry={"min_backoff": seconds(5), "max_backoff": seconds(5)})
    target.statuses.append(404)
    name = f"{QUEUE}/tasks/visible"
    client.create_task(parent=QUEUE, task=http_task(target.url(), name))
    target.wait_for(1)
    assert emulator.tasks.wait_idle(timeout=5)

    task = client.get_task(name=name)
    assert (task.dispatch_count, task.response_count) == (1, 1)
    assert task.last_attempt.response_status.code == 5  # NOT_FOUND
    assert "HTTP status code 404" in task.last_attempt.response_status.message
    assert task.first_attempt.dispatch_time.timestamp() > 0
    assert task.schedule_time.timestamp() == pytest.approx(time.time() + 5, abs=1)

    run = client.run_task(name=name)  # RunTask: now, despite the backoff
    assert run.dispatch_count == 2
    [_, second] = target.wait_for(2)
    assert second.header("X-CloudTasks-TaskRetryCount") == "1"
    assert second.header("X-CloudTasks-TaskExecutionCount") == "1"  # the 404 was an execution
    assert second.header("X-CloudTasks-TaskPreviousResponse") == "404"
    assert emulator.tasks.wait_idle(timeout=5)
    with pytest.raises(exceptions.NotFound):
        client.run_task(name=name)  # succeeded: gone


def test_dispatch_deadline_counts_as_a_failed_attempt(target: Target) -> None:
    app = Flask("fast_deadlines")
    emulator = register(app, lambda audience, email: "unused", min_dispatch_deadline=0.1)
    target.hold_first_seconds = 2.0
    try:
        with serve(app) as base_url, client_for(base_url) as client:
            make_queue(client)
            client.create_task(
                parent=QUEUE, task=http_task(target.url(), dispatch_deadline=seconds(0.3))
            )
            first, second = target.wait_for(2)
            assert emulator.wait_idle(timeout=5)
    finally:
        emulator.close()
    assert 0.3 <= second.at - first.at < 1.5
    assert second.header("X-CloudTasks-TaskRetryCount") == "1"
    assert second.header("X-CloudTasks-TaskPreviousResponse") is None  # no answer came
    assert "DEADLINE_EXCEEDED" in (second.header("X-CloudTasks-TaskRetryReason") or "")
    totals = emulator.stats()["total"]
    assert (totals["failures"], totals["successes"]) == (1, 1)


def test_unreachable_target_is_retried(client: tasks_v2.CloudTasksClient, emulator: Served) -> None:
    make_queue(client, retry={"max_attempts": 2})
    client.create_task(parent=QUEUE, task=http_task("http://127.0.0.1:9/nothing-listens"))
    assert emulator.tasks.wait_idle(timeout=10, within=1.0)
    totals = emulator.tasks.stats()["total"]
    assert (totals["attempts"], totals["failures"], totals["deletedAfterMaxAttempts"]) == (2, 2, 1)


def test_own_headers_cannot_pose_as_cloud_tasks_or_replace_the_token(
    client: tasks_v2.CloudTasksClient, target: Target
) -> None:
    make_queue(client)
    oidc = tasks_v2.OidcToken(service_account_email=SERVICE_ACCOUNT)
    headers = {"x-cloudtasks-taskname": "spoofed", "authorization": "Bearer mine"}
    task = http_task(
        target.url(), f"{QUEUE}/tasks/real", http={"oidc_token": oidc, "headers": headers}
    )
    client.create_task(parent=QUEUE, task=task)

    [received] = target.wait_for(1)
    assert received.header("X-CloudTasks-TaskName") == "real"
    assert (received.header("Authorization") or "").startswith("Bearer ey")  # a JWT, ours
