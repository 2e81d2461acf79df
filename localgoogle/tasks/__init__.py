"""A local Google Cloud Tasks (v2) for the unmodified ``google-cloud-tasks`` client.

Google ships no Cloud Tasks emulator. This one serves the v2 REST API under ``/v2/`` (point
``CloudTasksClient(transport="rest", client_options=ClientOptions(api_endpoint=...))`` at the
app) and dispatches tasks by HTTP to their targets as Cloud Tasks does.

Emulated: queues (create, get, list with paging and a ``state`` filter, update with or
without ``updateMask`` and creating a missing queue as UpdateQueue does, delete, pause,
resume, purge) and HTTP tasks (create named or unnamed, get, list with paging and
``responseView``, delete, run); Google's validation and error statuses and messages; task
name reservation after a task ran or was deleted (ALREADY_EXISTS on create) and queue name
reservation after a delete (FAILED_PRECONDITION); dispatch of due tasks of RUNNING queues
with the task's method, headers and body plus the ``X-CloudTasks-*`` headers and an OIDC
``Authorization`` token; retries per RetryConfig (min/max backoff, doublings then linear
growth, ``maxAttempts`` and ``maxRetryDuration``, task-level ``retryConfig``); the dispatch
deadline; rate limits (token bucket of ``maxDispatchesPerSecond`` and a derived
``maxBurstSize``) and ``maxConcurrentDispatches``; at-least-once duplicates as a fault.

Not emulated: App Engine tasks and routing, queue-level ``httpTarget``, OAuth tokens,
``tasks.buffer``, batch calls, IAM, CMEK, locations (all answer UNIMPLEMENTED or NOT_FOUND);
authentication of API callers; Google's system throttling (ramp-up, 429/503 back-off,
``Retry-After``); the 31-day task retention; redirects (a 3xx is a failure); the
``X-CloudTasks-TaskRetryReason`` wording, which Google does not document.

Modules: ``wire`` (proto3 JSON values), ``names``, ``models`` (queue and task state and their
JSON), ``parse`` (request bodies, validated), ``store`` (the methods' semantics under one
lock), ``backoff``, ``throttle`` (token bucket), ``delivery`` (one HTTP dispatch),
``dispatch`` (scheduler thread and workers), ``stats``, ``emulator`` (``CloudTasksEmulator``,
the Python control API), ``rest`` (``/v2/``), ``control`` (``/_tasks/``).

``register(app, mint)`` mounts both blueprints and puts the emulator on
``app.extensions["cloud_tasks"]``. It imports nothing of the Calendar or the add-on host:
``mint(audience, email)`` is whatever signs Google-style ID tokens.
"""

from __future__ import annotations

from flask import Flask

from localgoogle.tasks import control, rest
from localgoogle.tasks.delivery import Mint
from localgoogle.tasks.emulator import CloudTasksEmulator

__all__ = ["CloudTasksEmulator", "Mint", "register"]

API_PREFIX = "/v2/"
CONTROL_PREFIX = "/_tasks/"


def register(
    app: Flask,
    mint: Mint,
    *,
    tombstone_seconds: float = 3600.0,
    queue_tombstone_seconds: float = 3 * 86400.0,
    min_dispatch_deadline: float = 15.0,
    max_workers: int = 32,
) -> CloudTasksEmulator:
    """Build the emulator, mount ``/v2/`` and ``/_tasks/`` on ``app`` and return it.

    No thread starts here: the dispatcher starts with the first task. Call ``close()`` on
    the returned object (also ``app.extensions["cloud_tasks"]``) to stop it.
    """
    emulator = CloudTasksEmulator(
        mint,
        tombstone_seconds=tombstone_seconds,
        queue_tombstone_seconds=queue_tombstone_seconds,
        min_dispatch_deadline=min_dispatch_deadline,
        max_workers=max_workers,
    )
    app.extensions["cloud_tasks"] = emulator
    app.register_blueprint(rest.bp)
    app.register_blueprint(control.bp)
    return emulator
