"""The store's failures, as types the callers act on."""

from __future__ import annotations


class StoreError(Exception):
    """Base of the store's own failures (Datastore's errors pass through unchanged)."""


class LeaseLost(StoreError):
    """The calendar's sync lease is no longer held by this owner: another process took it over
    after it expired. The caller must stop writing at once; nothing of this write was stored."""

    def __init__(self, calendar_id: str) -> None:
        super().__init__("the calendar's sync lease was taken over by another process")
        self.calendar_id = calendar_id


class Contention(StoreError):
    """A transaction kept being aborted by concurrent ones until its retry budget ran out."""


class StoreUnavailable(StoreError):
    """Datastore did not answer (unreachable, overloaded, deadline exceeded) within the
    retry budget: the work is retried later."""
