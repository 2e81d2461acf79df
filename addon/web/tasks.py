"""The endpoint Cloud Tasks delivers sync tasks to.

* ``POST /tasks/sync`` — one sync task (``addon.tasks.body``), with the OIDC token Cloud Tasks
  signs as ``ADDON_TASKS_INVOKER`` for this URL. 200: the task is done (its outcome and any
  follow-up task are stored); 400: not a task body we wrote; 503: Datastore or Cloud Tasks
  failed, so Cloud Tasks retries the delivery with the queue's backoff.
"""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from addon.errors import ApiError
from addon.scheduling import run_task
from addon.store.errors import StoreError
from addon.tasks.body import BadTaskBody, TaskBody
from addon.tasks.queue import TASK_PATH, QueueUnavailable
from addon.web.requests import require_cloud_tasks, services

log = logging.getLogger(__name__)

bp = Blueprint("tasks", __name__)


@bp.post(TASK_PATH)
@require_cloud_tasks
def sync_task() -> ResponseReturnValue:
    try:
        body = TaskBody.parse(request.get_data(cache=True))
    except BadTaskBody as exc:
        raise ApiError(400, "badTaskBody", str(exc)) from None
    delivery = {
        # Cloud Tasks sets these on every dispatch (and strips them from outside requests).
        "task": request.headers.get("X-CloudTasks-TaskName"),
        "retry": request.headers.get("X-CloudTasks-TaskRetryCount"),
        "kind": body.kind,
    }
    try:
        outcome = run_task(services(), body)
    except (StoreError, QueueUnavailable) as exc:
        log.warning(
            "sync task failed; Cloud Tasks retries it",
            extra={"json_fields": {**delivery, "error": type(exc).__name__}},
        )
        raise ApiError(503, "retryLater", "The task could not be completed; retry later.") from None
    log.info("sync task", extra={"json_fields": {**delivery, **outcome.to_dict()}})
    return jsonify(outcome.to_dict())
