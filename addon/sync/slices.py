"""Time slices: how much one task may do, and where a cut listing stands.

A sync task does at most ``SliceBudget.pages`` listing pages or ``SliceBudget.seconds`` of
work (whichever ends first, checked between pages and reconcile batches, so every slice
makes progress), stores its ``ListCursor`` with the calendar and leaves the rest to a
continuation task. A 100,000-event initial sync then never holds a worker for minutes, and
other calendars' tasks run in between. ``None`` (inline mode, the CLI) means no limit.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from addon.store.records import ListCursor


@dataclass(frozen=True)
class SliceBudget:
    pages: int | None = None
    seconds: float | None = None


class Meter:
    """Counts one slice's pages and time against its budget."""

    def __init__(
        self, budget: SliceBudget | None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._budget = budget or SliceBudget()
        self._clock = clock
        self._started = clock()
        self.pages = 0

    def page(self) -> None:
        self.pages += 1

    def exhausted(self) -> bool:
        b = self._budget
        if b.pages is not None and self.pages >= b.pages:
            return True
        return b.seconds is not None and self._clock() - self._started >= b.seconds


@dataclass
class Progress:
    """The cursor as of the last page or reconcile batch fully applied and flushed: what a
    run stores when it is cut, or stopped by a failure, so the next one resumes there."""

    cursor: ListCursor


def new_cursor(sync_token: str | None, time_min: str) -> ListCursor:
    if sync_token is not None:
        return ListCursor(mode="incremental", run_id=uuid.uuid4().hex, base_token=sync_token)
    return ListCursor(mode="full", run_id=uuid.uuid4().hex, time_min=time_min)


def restart(cursor: ListCursor, time_min: str) -> ListCursor:
    """Calendar refused a token (410) while ``cursor`` was being listed: what to list instead.

    A continuation's page token that expired restarts its listing from the top (an incremental
    one from the token it started with; every change applied so far is applied idempotently
    again). An expired sync token means a full listing. Google documents 410 for sync tokens;
    what an expired *page* token gets is not documented, and the same answer is assumed.
    """
    if cursor.mode == "incremental" and cursor.page_token is not None:
        return dataclasses.replace(cursor, page_token=None)
    return new_cursor(None, time_min)
