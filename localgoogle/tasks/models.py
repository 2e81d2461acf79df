"""Queue and task state, with the JSON Cloud Tasks answers for them.

Defaults are those Cloud Tasks picks for a queue created through the API: 500 dispatches per
second, 1000 concurrent dispatches, and retries ``maxAttempts`` 100, ``minBackoff`` 0.1 s,
``maxBackoff`` 3600 s, ``maxDoublings`` 16, no ``maxRetryDuration``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

from localgoogle.tasks.throttle import TokenBucket
from localgoogle.tasks.wire import format_bytes, format_duration, format_timestamp

DEFAULT_DISPATCHES_PER_SECOND = 500.0
DEFAULT_CONCURRENT_DISPATCHES = 1000
MAX_DISPATCHES_PER_SECOND = 500.0
MAX_CONCURRENT_DISPATCHES = 5000
# Observed on Google for the default 500/s queue; the real formula is internal.
MAX_DERIVED_BURST = 100
DEFAULT_DISPATCH_DEADLINE = 600.0
MAX_DISPATCH_DEADLINE = 1800.0


@dataclass
class RetryConfig:
    max_attempts: int = 100  # -1: unlimited
    max_retry_duration: float = 0.0  # 0: unlimited
    min_backoff: float = 0.1
    max_backoff: float = 3600.0
    max_doublings: int = 16

    def with_overrides(self, overrides: dict[str, Any]) -> RetryConfig:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(overrides)
        return RetryConfig(**values)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"maxAttempts": self.max_attempts}
        if self.max_retry_duration:
            out["maxRetryDuration"] = format_duration(self.max_retry_duration)
        out["minBackoff"] = format_duration(self.min_backoff)
        out["maxBackoff"] = format_duration(self.max_backoff)
        out["maxDoublings"] = self.max_doublings
        return out


def retry_overrides_json(overrides: dict[str, Any]) -> dict[str, Any]:
    """A task-level ``retryConfig`` as given (only the fields that were set)."""
    out: dict[str, Any] = {}
    for attr, value in overrides.items():
        key = {
            "max_attempts": "maxAttempts",
            "max_retry_duration": "maxRetryDuration",
            "min_backoff": "minBackoff",
            "max_backoff": "maxBackoff",
            "max_doublings": "maxDoublings",
        }[attr]
        out[key] = value if isinstance(value, int) else format_duration(value)
    return out


@dataclass
class RateLimits:
    max_dispatches_per_second: float = DEFAULT_DISPATCHES_PER_SECOND
    max_concurrent_dispatches: int = DEFAULT_CONCURRENT_DISPATCHES

    @property
    def max_burst_size(self) -> int:
        """Output only; Google derives it from the rate ("generally at least equal to it")."""
        return max(1, min(MAX_DERIVED_BURST, math.ceil(self.max_dispatches_per_second)))

    def to_json(self) -> dict[str, Any]:
        return {
            "maxDispatchesPerSecond": self.max_dispatches_per_second,
            "maxBurstSize": self.max_burst_size,
            "maxConcurrentDispatches": self.max_concurrent_dispatches,
        }


@dataclass
class Attempt:
    """One dispatch: ``rpc_code`` stays None until the worker answered or the attempt failed."""

    schedule_time: float
    dispatch_time: float
    response_time: float | None = None
    rpc_code: tuple[int, str] | None = None  # (google.rpc.Code number, name)
    message: str = ""
    http_status: int | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "scheduleTime": format_timestamp(self.schedule_time),
            "dispatchTime": format_timestamp(self.dispatch_time),
        }
        if self.response_time is not None:
            out["responseTime"] = format_timestamp(self.response_time)
        if self.rpc_code is not None:
            status: dict[str, Any] = {"message": self.message}
            if self.rpc_code[0]:
                status["code"] = self.rpc_code[0]
            out["responseStatus"] = status
        return out


@dataclass
class HttpRequest:
    url: str
    method: str = "POST"
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    oidc_email: str | None = None
    oidc_audience: str | None = None

    def to_json(self, *, full: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"url": self.url, "httpMethod": self.method}
        if self.headers:
            out["headers"] = dict(self.headers)
        if full and self.body:
            out["body"] = format_bytes(self.body)  # the BASIC view leaves the body out
        if self.oidc_email is not None:
            token = {"serviceAccountEmail": self.oidc_email}
            if self.oidc_audience:
                token["audience"] = self.oidc_audience
            out["oidcToken"] = token
        return out


@dataclass
class Task:
    name: str
    request: HttpRequest
    schedule_time: float
    create_time: float
    dispatch_deadline: float = DEFAULT_DISPATCH_DEADLINE
    retry_overrides: dict[str, Any] = field(default_factory=dict)
    uid: int = 0  # tells a task from a later one of the same name (results of old leases)
    dispatch_count: int = 0
    response_count: int = 0
    # Answers that were not 5xx: X-CloudTasks-TaskExecutionCount "does not include failures
    # due to 5XX error codes" (Cloud Tasks HTTP target docs).
    execution_count: int = 0
    first_attempt: Attempt | None = None
    last_attempt: Attempt | None = None
    running: int = 0  # dispatches in flight (RunTask may add one to a running task)

    @property
    def id(self) -> str:
        return self.name.rsplit("/", 1)[-1]

    @property
    def queue_name(self) -> str:
        return self.name.rsplit("/tasks/", 1)[0]

    def to_json(self, view: str = "BASIC") -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "httpRequest": self.request.to_json(full=view == "FULL"),
            "scheduleTime": format_timestamp(self.schedule_time),
            "createTime": format_timestamp(math.floor(self.create_time)),  # to the second
            "dispatchDeadline": format_duration(self.dispatch_deadline),
        }
        if self.dispatch_count:
            out["dispatchCount"] = self.dispatch_count
        if self.response_count:
            out["responseCount"] = self.response_count
        if self.first_attempt is not None:
            # "Only dispatch_time will be set" for the first attempt.
            out["firstAttempt"] = {
                "dispatchTime": format_timestamp(self.first_attempt.dispatch_time)
            }
        if self.last_attempt is not None:
            out["lastAttempt"] = self.last_attempt.to_json()
        out["view"] = view
        if self.retry_overrides:
            out["retryConfig"] = retry_overrides_json(self.retry_overrides)
        return out


@dataclass
class Queue:
    name: str
    rate_limits: RateLimits = field(default_factory=RateLimits)
    retry_config: RetryConfig = field(default_factory=RetryConfig)
    state: str = "RUNNING"
    purge_time: float | None = None
    logging_sampling_ratio: float | None = None
    tasks: dict[str, Task] = field(default_factory=dict)  # by task id
    in_flight: int = 0
    bucket: TokenBucket = field(default_factory=lambda: TokenBucket(500.0, 100))

    def __post_init__(self) -> None:
        self.refresh_bucket()

    def refresh_bucket(self) -> None:
        self.bucket.configure(
            self.rate_limits.max_dispatches_per_second, self.rate_limits.max_burst_size
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "rateLimits": self.rate_limits.to_json(),
            "retryConfig": self.retry_config.to_json(),
            "state": self.state,
        }
        if self.purge_time is not None:
            out["purgeTime"] = format_timestamp(self.purge_time)
        if self.logging_sampling_ratio is not None:
            out["stackdriverLoggingConfig"] = {"samplingRatio": self.logging_sampling_ratio}
        return out
