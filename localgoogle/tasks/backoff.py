"""When Cloud Tasks retries a failed task, and when it gives up (``RetryConfig``)."""

from __future__ import annotations

from localgoogle.tasks.models import RetryConfig

_MAX_EXPONENT = 64  # 2**64 times any min_backoff is past any max_backoff a Duration can hold


def retry_delay(retry: int, config: RetryConfig) -> float:
    """Seconds from a failed attempt to retry number ``retry`` (1 is the first retry).

    Google's formula (RetryConfig.max_doublings in the Cloud Tasks v2 reference): "A task's
    retry interval starts at min_backoff, then doubles max_doublings times, then increases
    linearly, and finally retries at intervals of max_backoff up to max_attempts times. For
    example, if min_backoff is 10s, max_backoff is 300s, and max_doublings is 3, then [...] the
    requests will retry at 10s, 20s, 40s, 80s, 160s, 240s, 300s, 300s, ...": the linear step is
    2^max_doublings * min_backoff.
    """
    if retry < 1:
        raise ValueError("retry numbers start at 1")
    doublings = min(retry - 1, config.max_doublings, _MAX_EXPONENT)
    interval = config.min_backoff * 2.0**doublings
    linear_steps = retry - 1 - config.max_doublings
    if linear_steps > 0:
        interval += (
            linear_steps * config.min_backoff * 2.0 ** min(config.max_doublings, _MAX_EXPONENT)
        )
    return min(interval, config.max_backoff)


def exhausted(attempts: int, since_first_attempt: float, config: RetryConfig) -> bool:
    """True when no further attempt is made after ``attempts`` failed ones.

    "Cloud Tasks stops retrying only when max_attempts and max_retry_duration are both
    satisfied [...]. If max_attempts is set to -1 and max_retry_duration is set to 0, the task
    is retried until the maximum task retention" (RetryConfig.max_attempts). An unlimited
    limit (-1 attempts, 0 duration) counts as satisfied, unless both are unlimited.
    """
    unlimited_attempts = config.max_attempts == -1
    unlimited_duration = config.max_retry_duration <= 0
    if unlimited_attempts and unlimited_duration:
        return False
    attempts_done = unlimited_attempts or attempts >= config.max_attempts
    duration_done = unlimited_duration or since_first_attempt >= config.max_retry_duration
    return attempts_done and duration_done
