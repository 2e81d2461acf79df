"""The token bucket that RateLimits describes: ``max_burst_size`` tokens, refilled continuously
at ``max_dispatches_per_second``; each dispatch takes one (RunTask takes none)."""

from __future__ import annotations

import time


class TokenBucket:
    """Not thread-safe: the dispatcher uses it under the emulator's state lock."""

    def __init__(self, rate: float, capacity: int) -> None:
        self._rate = rate
        self._capacity = float(capacity)
        self._tokens = float(capacity)  # a new queue may burst at once
        self._updated = time.monotonic()

    def configure(self, rate: float, capacity: int) -> None:
        self._refill(time.monotonic())
        self._rate = rate
        self._capacity = float(capacity)
        self._tokens = min(self._tokens, self._capacity)

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self._updated)
        self._tokens = min(self._capacity, self._tokens + elapsed * self._rate)
        self._updated = now

    def take(self, now: float | None = None) -> float:
        """Take a token and return 0.0, or return the seconds until one will be there."""
        now = time.monotonic() if now is None else now
        self._refill(now)
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        if self._rate <= 0:
            return float("inf")
        return (1.0 - self._tokens) / self._rate
