"""One HTTP dispatch of a task, as Cloud Tasks makes it, and what came of it.

Headers are the task's own (``User-Agent: Google-Cloud-Tasks`` among them) plus those the
Cloud Tasks docs list for HTTP targets ("Reading request headers"): ``X-CloudTasks-QueueName``,
``-TaskName``, ``-TaskRetryCount`` (0 on the first attempt), ``-TaskExecutionCount`` (answers
received before, not counting 5xx), ``-TaskETA`` (schedule time, epoch seconds), and on
retries ``-TaskPreviousResponse`` (the previous HTTP status, when there was one) and
``-TaskRetryReason``. Google does not document the retry reason's values; we send the
previous attempt's ``responseStatus`` message. With an ``oidcToken`` the request carries
``Authorization: Bearer <ID token>`` for the service account, audience the token's
``audience`` or else the task URL.

Redirects are not followed (a 3xx is a failed attempt), and the dispatch deadline is the
``requests`` timeout, which, like Google's, is approximate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import requests

from localgoogle.tasks.errors import RPC_CODES, rpc_status_for_http
from localgoogle.tasks.models import Attempt, Task

Mint = Callable[[str, str], str]  # (audience, service account email) -> signed ID token


@dataclass(frozen=True)
class Lease:
    """A dispatch handed to a worker: a snapshot of the task, taken under the state lock."""

    epoch: int
    queue_name: str
    task_id: str
    task_uid: int
    attempt: Attempt  # updated with the result (the same object as the task's last attempt)
    url: str
    method: str
    headers: dict[str, str]
    body: bytes
    deadline: float
    oidc_email: str | None = None
    oidc_audience: str | None = None
    counted: bool = True  # takes a slot of the queue's maxConcurrentDispatches
    forced: bool = False  # RunTask
    duplicate: bool = False  # the extra delivery of the at-least-once fault
    extra: dict[str, str] = field(default_factory=dict)  # Authorization, added outside the lock


@dataclass(frozen=True)
class Outcome:
    http_status: int | None  # None: no answer (no connection, deadline passed)
    rpc: tuple[int, str]
    message: str

    @property
    def ok(self) -> bool:
        return self.http_status is not None and 200 <= self.http_status < 300

    @classmethod
    def failure(cls, rpc_name: str, detail: str) -> Outcome:
        number = RPC_CODES[rpc_name][0]
        return cls(None, (number, rpc_name), f"{rpc_name}({number}): {detail}")


def _epoch_seconds(seconds: float) -> str:
    """``1700000000.123456``: the microseconds of the stored time, not a float's rounding."""
    whole, micros = divmod(round(seconds * 1_000_000), 1_000_000)
    return f"{whole}.{micros:06d}"


def merge_headers(base: dict[str, str], override: dict[str, str]) -> dict[str, str]:
    """``base`` with ``override`` on top, header names compared without case (one of each)."""
    replaced = {name.lower() for name in override}
    return {**{k: v for k, v in base.items() if k.lower() not in replaced}, **override}


def dispatch_headers(task: Task, retry_count: int, previous: Attempt | None) -> dict[str, str]:
    ours = {
        "User-Agent": "Google-Cloud-Tasks",
        "X-CloudTasks-QueueName": task.queue_name.rsplit("/", 1)[-1],
        "X-CloudTasks-TaskName": task.id,
        "X-CloudTasks-TaskRetryCount": str(retry_count),
        "X-CloudTasks-TaskExecutionCount": str(task.execution_count),
        "X-CloudTasks-TaskETA": _epoch_seconds(task.schedule_time),
    }
    if previous is not None and previous.rpc_code is not None:
        if previous.http_status is not None:
            ours["X-CloudTasks-TaskPreviousResponse"] = str(previous.http_status)
        ours["X-CloudTasks-TaskRetryReason"] = previous.message
    # A task's own X-CloudTasks-* headers cannot pose as Cloud Tasks'.
    own = {k: v for k, v in task.request.headers.items()
           if not k.lower().startswith("x-cloudtasks-")}  # fmt: skip
    return merge_headers(own, ours)


def authorization(lease: Lease, mint: Mint) -> dict[str, str]:
    """The ``Authorization`` header of an OIDC task (signing happens outside the lock)."""
    if lease.oidc_email is None:
        return {}
    token = mint(lease.oidc_audience or lease.url, lease.oidc_email)
    return {"Authorization": f"Bearer {token}"}


def deliver(lease: Lease) -> Outcome:
    """Make the HTTP call of ``lease``; never raises for what the worker does."""
    headers = merge_headers(lease.headers, lease.extra)  # the OIDC token beats a task's own
    try:
        response = requests.request(
            lease.method,
            lease.url,
            headers=headers,
            data=lease.body or None,
            timeout=lease.deadline,
            allow_redirects=False,
        )
    except requests.Timeout:
        return Outcome.failure(
            "DEADLINE_EXCEEDED",
            f"The worker did not answer within the dispatch deadline ({lease.deadline:g}s).",
        )
    except requests.ConnectionError as error:
        return Outcome.failure("UNAVAILABLE", f"The worker could not be reached: {error}")
    except requests.RequestException as error:
        return Outcome.failure("UNKNOWN", f"The request to the worker failed: {error}")
    with response:
        status = response.status_code
    name = rpc_status_for_http(status)
    number = RPC_CODES[name][0]
    message = "OK" if name == "OK" else f"{name}({number}): HTTP status code {status}"
    return Outcome(status, (number, name), message)
