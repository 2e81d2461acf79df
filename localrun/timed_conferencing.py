"""The fake conferencing server's state with a time on every logged call (local console).

``localgoogle.vendors.rest.ConferencingState`` logs calls without a time; the console
merges provider calls with trigger calls and sync runs into one timeline, so it needs one.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from localgoogle.vendors.rest import ConferencingState, Outcome, Result


class TimedConferencingState(ConferencingState):
    """The fake conferencing server's state, with the time of every logged call.

    The console merges provider calls with trigger calls and sync runs into one timeline;
    the base class logs calls without a time, so this records one per call, in call order.
    """

    def __init__(self, **kwargs: Any) -> None:
        self._stamps: list[datetime] = []
        super().__init__(**kwargs)

    def reset(self) -> None:
        super().reset()
        with self._lock:
            self._stamps = []

    def _decide(self, *args: Any, **kwargs: Any) -> tuple[Result, Outcome]:
        # Runs under the state's lock immediately before the call is appended to the log,
        # so stamp i belongs to call i.
        self._stamps.append(datetime.now(UTC))
        return super()._decide(*args, **kwargs)

    def timed_calls(self) -> list[tuple[datetime | None, dict[str, Any]]]:
        """Every logged call with its time (None if unknown), oldest first."""
        with self._lock:
            calls = [asdict(call) for call in self._calls]
            stamps = list(self._stamps)
        return [(stamps[i] if i < len(stamps) else None, call) for i, call in enumerate(calls)]
