"""Queue and task bodies from JSON, validated the way Cloud Tasks validates them.

Messages quote Cloud Tasks where its wording is known (recorded against the real service);
output-only fields (``state``, ``purgeTime``, ``maxBurstSize``, a task's counters and
attempts) are accepted and ignored, as the API reference says. App Engine targets, queue-level
``httpTarget`` and OAuth tokens are not emulated and answer UNIMPLEMENTED rather than being
silently ignored.
"""

from __future__ import annotations

from typing import Any

from localgoogle.tasks import models, names
from localgoogle.tasks.errors import invalid, unimplemented
from localgoogle.tasks.models import HttpRequest, RateLimits, RetryConfig, Task
from localgoogle.tasks.wire import (
    HTTP_METHODS,
    TASK_VIEWS,
    message,
    parse_bytes,
    parse_duration,
    parse_enum,
    parse_float,
    parse_int,
    parse_string,
    parse_timestamp,
)

QUEUE_FIELDS = frozenset(
    {
        "name",
        "appEngineRoutingOverride",
        "httpTarget",
        "rateLimits",
        "retryConfig",
        "state",
        "purgeTime",
        "stackdriverLoggingConfig",
    }
)
RATE_FIELDS = frozenset({"maxDispatchesPerSecond", "maxBurstSize", "maxConcurrentDispatches"})
RETRY_FIELDS = frozenset(
    {"maxAttempts", "maxRetryDuration", "minBackoff", "maxBackoff", "maxDoublings"}
)
TASK_FIELDS = frozenset(
    {
        "name",
        "appEngineHttpRequest",
        "httpRequest",
        "scheduleTime",
        "createTime",
        "dispatchDeadline",
        "dispatchCount",
        "responseCount",
        "firstAttempt",
        "lastAttempt",
        "view",
        "retryConfig",
    }
)
HTTP_FIELDS = frozenset({"url", "httpMethod", "headers", "body", "oauthToken", "oidcToken"})
OIDC_FIELDS = frozenset({"serviceAccountEmail", "audience"})
MAX_SCHEDULE_AHEAD = 30 * 86400.0  # "Maximum schedule time for a task: 30 days" (quotas)
MAX_TASK_BYTES = 100 * 1024  # "The maximum task size is 100KB."
MAX_URL_LENGTH = 2083
_BODY_METHODS = {"POST", "PUT", "PATCH"}
# "Some HTTP request headers will be ignored or replaced" (HttpRequest.headers reference).
_DROPPED_HEADERS = {"host", "content-length", "user-agent"}
_DROPPED_PREFIXES = ("x-google-", "x-appengine-")


def rate_limits(value: object, field: str = "queue.rate_limits") -> dict[str, Any]:
    """Set fields of a RateLimits (0 means "unset": Cloud Tasks picks the default)."""
    body = message(value, field, RATE_FIELDS)
    out: dict[str, Any] = {}
    if "maxDispatchesPerSecond" in body:
        rate = parse_float(body["maxDispatchesPerSecond"], f"{field}.max_dispatches_per_second")
        if rate < 0:
            raise invalid("RateLimits.maxDispatchesPerSecond cannot be negative.")
        if rate > models.MAX_DISPATCHES_PER_SECOND:
            raise invalid("RateLimits.maxDispatchesPerSecond must be less than or equal to 500.")
        out["max_dispatches_per_second"] = rate or models.DEFAULT_DISPATCHES_PER_SECOND
    if "maxConcurrentDispatches" in body:
        limit = parse_int(body["maxConcurrentDispatches"], f"{field}.max_concurrent_dispatches")
        if limit < 0:
            raise invalid("RateLimits.maxConcurrentDispatches cannot be negative.")
        if limit > models.MAX_CONCURRENT_DISPATCHES:
            raise invalid("RateLimits.maxConcurrentDispatches must be less than or equal to 5000.")
        out["max_concurrent_dispatches"] = limit or models.DEFAULT_CONCURRENT_DISPATCHES
    return out  # maxBurstSize is output only: ignored


def retry_config(value: object, field: str = "queue.retry_config") -> dict[str, Any]:
    """Set fields of a RetryConfig, as ``RetryConfig`` attribute names."""
    body = message(value, field, RETRY_FIELDS)
    out: dict[str, Any] = {}
    if "maxAttempts" in body:
        attempts = parse_int(body["maxAttempts"], f"{field}.max_attempts")
        if attempts < -1:
            raise invalid("RetryConfig.maxAttempts must be greater or equal to -1.")
        # A scalar 0 is "unset" in proto3, so Cloud Tasks picks the default for it.
        out["max_attempts"] = attempts or models.RetryConfig.max_attempts
    if "maxDoublings" in body:
        doublings = parse_int(body["maxDoublings"], f"{field}.max_doublings")
        if doublings < 0:
            raise invalid("RetryConfig.maxDoublings cannot be negative.")
        out["max_doublings"] = doublings or models.RetryConfig.max_doublings
    for key, attr in (
        ("maxRetryDuration", "max_retry_duration"),
        ("minBackoff", "min_backoff"),
        ("maxBackoff", "max_backoff"),
    ):
        if key in body:
            seconds = parse_duration(body[key], f"{field}.{attr}")
            if seconds < 0:
                raise invalid(f"RetryConfig.{key} cannot be negative.")
            out[attr] = seconds
    return out


def check_retry(config: RetryConfig) -> RetryConfig:
    if config.min_backoff > config.max_backoff:
        raise invalid(
            "RetryConfig.minBackoff must be less than or equal to RetryConfig.maxBackoff."
        )
    return config


def queue_body(value: object) -> dict[str, Any]:
    """The Queue message of CreateQueue/UpdateQueue, with its unsupported parts refused."""
    body = message(value, "queue", QUEUE_FIELDS)
    for key in ("appEngineRoutingOverride", "httpTarget"):
        if body.get(key):
            raise unimplemented(f"Queue.{key}")
    return body


def logging_ratio(value: object) -> float | None:
    body = message(value, "queue.stackdriver_logging_config", frozenset({"samplingRatio"}))
    if "samplingRatio" not in body:
        return None
    ratio = parse_float(body["samplingRatio"], "queue.stackdriver_logging_config.sampling_ratio")
    if not 0.0 <= ratio <= 1.0:
        raise invalid("StackdriverLoggingConfig.samplingRatio must be between 0 and 1.")
    return ratio


def new_queue_config(body: dict[str, Any]) -> tuple[RateLimits, RetryConfig, float | None]:
    rate = RateLimits(**rate_limits(body.get("rateLimits")))
    retry = check_retry(RetryConfig(**retry_config(body.get("retryConfig"))))
    return rate, retry, logging_ratio(body.get("stackdriverLoggingConfig"))


def _headers(value: object) -> dict[str, str]:
    value = {} if value is None else value
    if not isinstance(value, dict):
        raise invalid("Invalid value at 'task.http_request.headers': expected an object")
    out: dict[str, str] = {}
    for key, item in value.items():
        text = parse_string(item, f"task.http_request.headers[{key}]")
        lowered = key.lower()
        if lowered in _DROPPED_HEADERS or lowered.startswith(_DROPPED_PREFIXES):
            continue
        out[key] = text  # Cloud Tasks keeps the caller's spelling of header names
    out["User-Agent"] = "Google-Cloud-Tasks"
    return out


def _http_request(value: object) -> HttpRequest:
    body = message(value, "task.http_request", HTTP_FIELDS)
    url = parse_string(body.get("url", ""), "task.http_request.url")
    if not url:
        raise invalid("HttpRequest.url is required.")
    if not url.startswith(("http://", "https://")):
        raise invalid("HttpTarget.url must start with 'http://' or 'https://'.")
    if len(url) > MAX_URL_LENGTH:
        raise invalid(f"HttpRequest.url must be at most {MAX_URL_LENGTH} characters.")
    method = parse_enum(body.get("httpMethod", 0), HTTP_METHODS, "task.http_request.http_method")
    method = "POST" if method == "HTTP_METHOD_UNSPECIFIED" else method
    payload = parse_bytes(body["body"], "task.http_request.body") if "body" in body else b""
    if payload and method not in _BODY_METHODS:
        raise invalid("HttpRequest.body is allowed only if the HTTP method is POST, PUT, or PATCH.")
    if body.get("oauthToken"):
        if body.get("oidcToken"):
            raise invalid(
                "Only one of HttpRequest.oauthToken and HttpRequest.oidcToken may be set."
            )
        raise unimplemented("HttpRequest.oauthToken")
    request = HttpRequest(
        url=url, method=method, headers=_headers(body.get("headers")), body=payload
    )
    if "oidcToken" in body:
        oidc = message(body["oidcToken"], "task.http_request.oidc_token", OIDC_FIELDS)
        email = parse_string(
            oidc.get("serviceAccountEmail", ""), "oidc_token.service_account_email"
        )
        if not email:
            raise invalid("OidcToken.serviceAccountEmail is required.")
        request.oidc_email = email
        request.oidc_audience = (
            parse_string(oidc.get("audience", ""), "oidc_token.audience") or None
        )
    return request


def new_task(
    value: object, queue_name: str, *, now: float, min_deadline: float
) -> tuple[Task, bool]:
    """The task of a CreateTask request for ``queue_name``, and whether it was named."""
    body = message(value, "task", TASK_FIELDS)
    named = bool(body.get("name"))
    if named:
        task_queue, task_id = names.split_task(parse_string(body["name"], "task.name"))
        if task_queue != queue_name:
            raise invalid(
                f"The queue name from request ('{queue_name}') must be the same as the "
                f"queue name in the named task ('{task_queue}')."
            )
    else:
        task_id = names.new_task_id()
    if body.get("appEngineHttpRequest"):
        raise unimplemented("Task.appEngineHttpRequest (App Engine tasks)")
    if "httpRequest" not in body:
        raise invalid("Task.httpRequest is required: a task needs an HTTP request to send.")
    request = _http_request(body["httpRequest"])
    schedule = now
    if body.get("scheduleTime"):
        schedule = max(now, parse_timestamp(body["scheduleTime"], "task.schedule_time"))
        if schedule > now + MAX_SCHEDULE_AHEAD:
            raise invalid("Task.scheduleTime must be at most 30 days in the future.")
    deadline = models.DEFAULT_DISPATCH_DEADLINE
    if body.get("dispatchDeadline"):
        deadline = parse_duration(body["dispatchDeadline"], "task.dispatch_deadline")
        if not min_deadline <= deadline <= models.MAX_DISPATCH_DEADLINE:
            raise invalid(
                f"Task.dispatchDeadline must be between {min_deadline:g}s and "
                f"{models.MAX_DISPATCH_DEADLINE:g}s for HTTP tasks."
            )
    overrides = retry_config(body.get("retryConfig"), "task.retry_config")
    size = len(request.url) + len(request.body)
    size += sum(len(k) + len(v) for k, v in request.headers.items())
    if size > MAX_TASK_BYTES:
        raise invalid("Task size exceeds the maximum task size of 100KB.")
    task = Task(
        name=f"{queue_name}/tasks/{task_id}",
        request=request,
        schedule_time=schedule,
        create_time=now,
        dispatch_deadline=deadline,
        retry_overrides=overrides,
    )
    return task, named


def view(value: object, field: str = "response_view") -> str:
    """A ``responseView`` (number, digit string from a query parameter, or name)."""
    if value is None or value == "":
        return "BASIC"
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    name = parse_enum(value, TASK_VIEWS, field)
    return "BASIC" if name == "VIEW_UNSPECIFIED" else name
