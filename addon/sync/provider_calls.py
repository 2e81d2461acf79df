"""Provider calls of a sync: what a meeting request carries, and bounded retries that never
start a call the lease might not outlast."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from addon.providers.base import ConferenceProvider, MeetingRequest, ProviderUnavailable
from addon.settings import Solution
from addon.store.records import EventSnapshot
from addon.sync.lease import LeaseGuard

PROVIDER_ATTEMPTS = 3
PROVIDER_BACKOFF = 0.2
# The longest ``Retry-After`` waited for inside a run. A vendor asking for more gets the whole
# run's calls to it stopped: the changes stay pending and a later task replays them, so a rate
# limit never holds the calendar's lease (or a worker thread) for minutes.
MAX_INLINE_RETRY_AFTER = 5.0


def call_budget(
    provider: ConferenceProvider,
    attempts: int = PROVIDER_ATTEMPTS,
    backoff: float = PROVIDER_BACKOFF,
) -> float:
    """The longest one provider operation may take: every attempt timing out, plus backoff."""
    waits = sum(backoff * 2**i for i in range(attempts - 1))
    return float(attempts * provider.timeout_seconds + waits)


def meeting_request(
    calendar_id: str, event_id: str, solution: Solution, event: Mapping[str, Any] | None
) -> MeetingRequest:
    """What the vendor is told about the event (the same for creation and every update)."""
    snap = EventSnapshot.from_event(event or {})
    organizer = (event or {}).get("organizer")
    return MeetingRequest(
        calendar_id=calendar_id,
        event_id=event_id,
        solution_id=solution.id,
        summary=snap.summary,
        start=snap.start,
        end=snap.end,
        time_zone=snap.time_zone,
        attendees=snap.attendees,
        organizer=organizer.get("email") if isinstance(organizer, Mapping) else None,
        recurrence=snap.recurrence,
        options=solution.options,
        event_version=snap.updated,
    )


class ProviderCalls:
    """One run's provider calls: ``attempts`` tries with doubling backoff on
    ``ProviderUnavailable`` (at least the vendor's ``Retry-After``, up to
    ``MAX_INLINE_RETRY_AFTER``); each try first checks the lease outlasts it (``LeaseGuard.ensure``
    raises ``LeaseLost`` when it was taken). Once a provider is found down in this run, later
    calls to it fail at once instead of waiting through the same retries again."""

    def __init__(
        self,
        providers: Mapping[str, ConferenceProvider],
        guard: LeaseGuard,
        count: Callable[[str], None],
        *,
        attempts: int = PROVIDER_ATTEMPTS,
        backoff: float = PROVIDER_BACKOFF,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._providers = providers
        self._guard = guard
        self._count = count
        self._attempts = attempts
        self._backoff = backoff
        self._sleep = sleep
        self._down: set[str] = set()

    def call(self, solution_id: str, kind: str, fn: Callable[[], Any]) -> Any:
        provider = self._providers[solution_id]
        if solution_id in self._down:
            raise ProviderUnavailable("provider marked down earlier in this run")
        for attempt in range(self._attempts):
            # Never start a call the lease might not outlast (raises LeaseLost if taken).
            self._guard.ensure(provider.timeout_seconds)
            try:
                self._count(kind)
                return fn()
            except ProviderUnavailable as exc:
                wait = self._backoff * 2**attempt
                if exc.retry_after is not None:
                    wait = max(wait, exc.retry_after)
                if attempt + 1 == self._attempts or wait > MAX_INLINE_RETRY_AFTER:
                    self._down.add(solution_id)
                    raise
                self._sleep(wait)
        raise AssertionError("unreachable")
