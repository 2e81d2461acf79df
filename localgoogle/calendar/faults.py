"""Injected API failures and latency, per API method id, with a seeded RNG.

A rule: ``{"method": "calendar.events.list" | "events.list" | "*", "status": 429,
"reason": "rateLimitExceeded", "message": ..., "rate": 0.5, "count": 3,
"latencySeconds": 0.2, "skip": 1}``. With ``skip`` the first N matching calls pass untouched
(to fail, say, the full listing that follows a 410); with ``count`` the next N matching calls
fail (then the rule stops failing); otherwise each call fails with probability ``rate``
(default 1.0).
Latency applies to every matching call.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from typing import Any

from localgoogle.calendar.exceptions import ApiError

DEFAULT_REASONS: dict[int, tuple[str, str]] = {
    429: ("rateLimitExceeded", "Rate Limit Exceeded"),
    403: ("userRateLimitExceeded", "User Rate Limit Exceeded"),
    500: ("backendError", "Backend Error"),
    503: ("backendError", "Backend Error"),
}
_MESSAGES = {
    "rateLimitExceeded": "Rate Limit Exceeded",
    "userRateLimitExceeded": "User Rate Limit Exceeded",
    "quotaExceeded": "Calendar usage limits exceeded.",
    "backendError": "Backend Error",
}


@dataclass
class FaultRule:
    method: str
    status: int = 503
    reason: str = "backendError"
    message: str = "Backend Error"
    rate: float = 1.0
    count: int | None = None
    latency_seconds: float = 0.0
    skip: int = 0

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> FaultRule:
        method = body.get("method")
        if not isinstance(method, str) or not method:
            raise ValueError("fault rule needs a method")
        status = int(body.get("status", 503))
        default_reason, default_message = DEFAULT_REASONS.get(status, ("backendError", "Error"))
        reason = str(body.get("reason", default_reason))
        message = str(body.get("message", _MESSAGES.get(reason, default_message)))
        count = body.get("count")
        if method != "*" and not method.startswith("calendar."):
            method = f"calendar.{method}"
        return cls(
            method=method,
            status=status, reason=reason, message=message, rate=float(body.get("rate", 1.0)),
            count=None if count is None else int(count),
            latency_seconds=float(body.get("latencySeconds", 0.0)),
            skip=int(body.get("skip", 0)),
        )  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method, "status": self.status, "reason": self.reason,
            "message": self.message, "rate": self.rate, "count": self.count,
            "latencySeconds": self.latency_seconds, "skip": self.skip,
        }  # fmt: skip


class FaultInjector:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._rng = random.Random(0)  # noqa: S311 (seeded on purpose)

    def configure(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        rules_json = body.get("rules", [body] if "method" in body else [])
        rules = [FaultRule.from_json(r) for r in rules_json]
        with self._lock:
            if "seed" in body:
                self._rng = random.Random(body["seed"])  # noqa: S311
            replaced = {r.method for r in rules}
            self._rules = [r for r in self._rules if r.method not in replaced] + rules
            return [r.to_json() for r in self._rules]

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.to_json() for r in self._rules]

    def clear(self) -> None:
        with self._lock:
            self._rules = []
            self._rng = random.Random(0)  # noqa: S311 (seeded on purpose)

    def check(self, method_id: str) -> tuple[float, ApiError | None]:
        """(latency to add, error to raise or None) for one call of ``method_id``."""
        latency = 0.0
        with self._lock:
            for rule in self._rules:
                if rule.method not in (method_id, "*"):
                    continue
                if rule.skip > 0:
                    rule.skip -= 1
                    continue
                latency = max(latency, rule.latency_seconds)
                if rule.count is not None:
                    if rule.count <= 0:
                        continue
                    rule.count -= 1
                    return latency, ApiError(rule.status, rule.reason, rule.message)
                if rule.rate > 0 and self._rng.random() < rule.rate:
                    return latency, ApiError(rule.status, rule.reason, rule.message)
        return latency, None
