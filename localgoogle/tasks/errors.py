"""Cloud Tasks errors in Google's JSON form, and the HTTP-status-to-RPC-code table.

Google's JSON APIs answer ``{"error": {"code": 409, "message": ..., "status": "ALREADY_EXISTS"}}``;
``google.api_core.exceptions.from_http_response`` maps the HTTP status of such an answer to
``AlreadyExists``, ``NotFound`` and so on, so the client raises exactly what it raises against
Google. The messages are the ones Cloud Tasks gives where they are known.
"""

from __future__ import annotations

from typing import Any

# google.rpc.Code: name -> (number, HTTP status), from google/rpc/code.proto.
RPC_CODES: dict[str, tuple[int, int]] = {
    "OK": (0, 200),
    "CANCELLED": (1, 499),
    "UNKNOWN": (2, 500),
    "INVALID_ARGUMENT": (3, 400),
    "DEADLINE_EXCEEDED": (4, 504),
    "NOT_FOUND": (5, 404),
    "ALREADY_EXISTS": (6, 409),
    "PERMISSION_DENIED": (7, 403),
    "RESOURCE_EXHAUSTED": (8, 429),
    "FAILED_PRECONDITION": (9, 400),
    "ABORTED": (10, 409),
    "OUT_OF_RANGE": (11, 400),
    "UNIMPLEMENTED": (12, 501),
    "INTERNAL": (13, 500),
    "UNAVAILABLE": (14, 503),
    "UNAUTHENTICATED": (16, 401),
}

# The RPC status Cloud Tasks records for a worker's HTTP answer (code.proto's HTTP mapping).
_HTTP_TO_RPC = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    416: "OUT_OF_RANGE",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

QUEUE_NOT_FOUND = (
    "Queue does not exist. If you just created the queue, wait at least a minute for the "
    "queue to initialize."
)
ENTITY_NOT_FOUND = "Requested entity was not found."
TASK_RECENTLY_DELETED = (
    "The task no longer exists, though a task with this name existed recently. The task "
    "either successfully completed or was deleted."
)
TASK_EXISTS = "Requested entity already exists"
TASK_EXISTED_RECENTLY = (
    "The task cannot be created because a task with this name existed too recently. For more "
    "information about task de-duplication see https://cloud.google.com/tasks/docs/reference/"
    "rest/v2/projects.locations.queues.tasks/create#body.request_body.FIELDS.task."
)
QUEUE_EXISTS = "Queue already exists"
QUEUE_EXISTED_RECENTLY = (
    "The queue cannot be created because a queue with this name existed too recently."
)


def rpc_status_for_http(status: int) -> str:
    """The google.rpc.Code name for a worker's HTTP status (2xx is OK)."""
    if 200 <= status < 300:
        return "OK"
    if status in _HTTP_TO_RPC:
        return _HTTP_TO_RPC[status]
    if 400 <= status < 500:
        return "FAILED_PRECONDITION"
    return "UNKNOWN" if status < 500 or status >= 600 else "INTERNAL"


class TasksError(Exception):
    """An API error: the RPC status name decides the HTTP status."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.http_status = RPC_CODES[status][1]

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.http_status, "message": self.message, "status": self.status}}


def invalid(message: str) -> TasksError:
    return TasksError("INVALID_ARGUMENT", message)


def not_found(message: str = ENTITY_NOT_FOUND) -> TasksError:
    return TasksError("NOT_FOUND", message)


def already_exists(message: str) -> TasksError:
    return TasksError("ALREADY_EXISTS", message)


def failed_precondition(message: str) -> TasksError:
    return TasksError("FAILED_PRECONDITION", message)


def unimplemented(what: str) -> TasksError:
    return TasksError(
        "UNIMPLEMENTED", f"{what} is not supported by the local Cloud Tasks emulator."
    )
