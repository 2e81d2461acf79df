"""The endpoints Cloud Tasks and Cloud Scheduler call.

* ``POST /tasks/sync``    — one sync task (``addon.tasks.body.TaskBody``).
* ``POST /tasks/channel`` — one push-channel task (open / renew / stop a channel).
* ``POST /tasks/sweep``   — the sweep (``addon.sweep``), from Cloud Scheduler (or continued
  as a task). Any body is accepted: the sweep reads its work from Datastore.

Each needs the OIDC token Google signs for this URL as the configured invoker account
(``ADDON_TASKS_INVOKER``; for the sweep also ``ADDON_SCHEDULER_INVOKER``). 200: done (its
outcome and any follow-up task are stored); 400: not a body we wrote; 503: Datastore, Cloud
Tasks, Calendar or Google's token service failed, and the caller retries with its backoff.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from addon.calendar.errors import CalendarUnavailable
from addon.credentials.common import TokenServiceUnavailable
from addon.errors import ApiError
from addon.scheduling import TaskOutcome, run_channel_task, run_task
from addon.store.errors import StoreError
from addon.sweep import sweep
from addon.tasks.body import BadTaskBody, ChannelTaskBody, TaskBody
from addon.tasks.queue import CHANNEL_TASK_PATH, SWEEP_PATH, TASK_PATH, QueueUnavailable
from addon.web.requests import require_cloud_tasks, require_scheduler, services

log = logging.getLogger(__name__)

bp = Blueprint("tasks", __name__)
T = TypeVar("T")

# Failures that pass: the delivery is answered 503 and retried with the queue's backoff.
RETRYABLE = (StoreError, QueueUnavailable, TokenServiceUnavailable, CalendarUnavailable)


def _delivery(kind: str) -> dict[str, str | None]:
    return {
        # Cloud Tasks sets these on every dispatch (and strips them from outside requests).
        "task": request.headers.get("X-CloudTasks-TaskName"),
        "retry": request.headers.get("X-CloudTasks-TaskRetryCount"),
        "kind": kind,
    }


def _retry_later(delivery: dict[str, str | None], exc: Exception) -> ApiError:
    log.warning(
        "task failed; it is retried",
        extra={"json_fields": {**delivery, "error": type(exc).__name__}},
    )
    return ApiError(503, "retryLater", "The task could not be completed; retry later.")


@bp.post(TASK_PATH)
@require_cloud_tasks
def sync_task() -> ResponseReturnValue:
    body = _parse(TaskBody.parse)
    return _run(body.kind, lambda: run_task(services(), body))


@bp.post(CHANNEL_TASK_PATH)
@require_cloud_tasks
def channel_task() -> ResponseReturnValue:
    body = _parse(ChannelTaskBody.parse)
    return _run(body.kind, lambda: run_channel_task(services(), body))


def _parse(parse: Callable[[bytes], T]) -> T:
    try:
        return parse(request.get_data(cache=True))
    except BadTaskBody as exc:
        raise ApiError(400, "badTaskBody", str(exc)) from None


def _run(kind: str, task: Callable[[], TaskOutcome]) -> ResponseReturnValue:
    delivery = _delivery(kind)
    try:
        outcome = task()
    except RETRYABLE as exc:
        raise _retry_later(delivery, exc) from None
    log.info("task", extra={"json_fields": {**delivery, **outcome.to_dict()}})
    return jsonify(outcome.to_dict())


@bp.post(SWEEP_PATH)
@require_scheduler
def sweep_task() -> ResponseReturnValue:
    delivery = _delivery("sweep")
    try:
        report = sweep(services(), datetime.now(UTC))
    except RETRYABLE as exc:
        raise _retry_later(delivery, exc) from None
    return jsonify(report.to_dict())
