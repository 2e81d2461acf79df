"""Counters per queue (what the emulator did), for ``stats()`` and ``GET /_tasks/stats``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class QueueStats:
    created: int = 0
    deduplicated: int = 0  # CreateTask refused with ALREADY_EXISTS
    attempts: int = 0  # dispatches (RunTask's included, duplicates not)
    successes: int = 0
    failures: int = 0  # non-2xx, no connection, or past the dispatch deadline
    retries: int = 0  # attempts after the first
    duplicates_delivered: int = 0  # extra deliveries of the at-least-once fault
    deleted_after_max_attempts: int = 0

    def to_json(self, *, in_flight: int, waiting: int) -> dict[str, int]:
        return {
            "created": self.created,
            "deduplicated": self.deduplicated,
            "attempts": self.attempts,
            "successes": self.successes,
            "failures": self.failures,
            "retries": self.retries,
            "duplicatesDelivered": self.duplicates_delivered,
            "deletedAfterMaxAttempts": self.deleted_after_max_attempts,
            "inFlight": in_flight,
            "waiting": waiting,
        }


def total(rows: list[dict[str, int]]) -> dict[str, int]:
    keys = [*QueueStats().to_json(in_flight=0, waiting=0)]
    return {key: sum(row[key] for row in rows) for key in keys}
