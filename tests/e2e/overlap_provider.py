"""A real provider for the pool tests: the REST provider, recording how many of its calls are
in flight at once, overall and per meeting, and holding the first ``barrier`` calls until that
many are in flight together (so a pool that runs fewer at once fails the test, by timeout,
instead of passing slowly).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from addon.providers.base import Meeting, MeetingRequest, OccurrenceChange
from addon.providers.registry import register
from addon.providers.rest import RestProvider

T = TypeVar("T")


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.per_meeting: dict[str, int] = {}
        self.max_per_meeting = 0
        self.order: list[tuple[str, str]] = []  # (meeting id, occurrence event id or op)
        self.barrier: threading.Barrier | None = None
        self.barrier_calls = 0

    def hold_first(self, parties: int) -> None:
        self.barrier = threading.Barrier(parties, timeout=20)
        self.barrier_calls = parties

    def run(self, meeting_id: str, label: str, call: Callable[[], T]) -> T:
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.per_meeting[meeting_id] = self.per_meeting.get(meeting_id, 0) + 1
            self.max_per_meeting = max(self.max_per_meeting, self.per_meeting[meeting_id])
            self.order.append((meeting_id, label))
            wait = self.barrier if self.barrier_calls > 0 else None
            self.barrier_calls -= 1
        try:
            if wait is not None:
                wait.wait()  # BrokenBarrierError if the pool never runs that many at once
            time.sleep(0.02)  # a remote call's latency: overlapping calls show up above
            return call()
        finally:
            with self.lock:
                self.in_flight -= 1
                self.per_meeting[meeting_id] -= 1


RECORDER = Recorder()


@register("overlap")
class OverlapProvider(RestProvider):
    name = "overlap"

    def __init__(self, options: Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(options, **kwargs)

    def update(self, meeting: Meeting, request: MeetingRequest, *, idempotency_key: str) -> Meeting:
        sup = super().update
        key = idempotency_key
        return RECORDER.run(
            meeting.meeting_id, "update", lambda: sup(meeting, request, idempotency_key=key)
        )

    def update_occurrence(
        self, meeting: Meeting, change: OccurrenceChange, *, idempotency_key: str
    ) -> None:
        sup = super().update_occurrence
        RECORDER.run(
            meeting.meeting_id,
            change.occurrence_event_id,
            lambda: sup(meeting, change, idempotency_key=idempotency_key),
        )
