"""One batch of changed events: read their records, plan each event, execute its actions.

Provider calls are network waits, so a batch runs them on a bounded pool of threads
(``pool_size``, ``ADDON_SYNC_POOL_SIZE``), in **lanes**: every event that touches the same
record (an event and, for a recurring series, its occurrences) goes to one lane, and a lane
runs its events one after another, in listing order, each planned against what the lane did
before it. Lanes touch disjoint records, so they may run in any order: the outcome is the one
the events would have had one by one.

* **Back-pressure.** At most ``pool_size`` provider calls are in flight per sync, and the
  next page is not read before this batch's lanes are done and flushed.
* **The lease** is kept alive while the lanes run (the waiting thread ticks it, every call
  first checks it outlasts its budget); once it is lost, lanes stop before their next event.
* **A failure that stops the run** (lease lost, the user's token refused, quota) stops every
  lane before its next event and is raised once all lanes have stopped; what was done before
  is staged and flushed by the engine, as after a stop in a sequential run.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import FIRST_EXCEPTION, Future, wait
from typing import Any

from addon.store.datastore import Store
from addon.store.records import Conference
from addon.sync.execute import Executor
from addon.sync.lease import LeaseGuard
from addon.sync.plan import Action, foreign_conference_ids, owning_series, plan_event
from addon.sync.report import SyncReport

# How often the waiting thread looks at the lease while lanes run (LeaseGuard.tick renews it
# only when due, so this costs nothing in between).
TICK_SECONDS = 1.0

Event = Mapping[str, Any]
# A lane's events in listing order, and the plan made for the first when lanes were formed.
Lane = tuple[list[Event], list[Action] | None]


def lane_of(event: Event, records: Mapping[str, Conference]) -> str:
    """The record an event's actions touch: its own, or its series' for an occurrence of a
    series we hold (``plan.owning_series``, the test ``plan_event`` makes)."""
    series = owning_series(event, records)
    return series.event_id if series is not None else str(event.get("id"))


class _Batch:
    """The shared state of one batch's lanes."""

    def __init__(
        self,
        executor: Executor,
        report: SyncReport,
        guard: LeaseGuard,
        records: dict[str, Conference],
        owners: Mapping[str, Conference],
    ) -> None:
        self.executor = executor
        self.report = report
        self.guard = guard
        self.records = records
        self.owners = owners
        self.stopped = threading.Event()
        self._lock = threading.Lock()

    def plan(self, event: Event) -> list[Action] | None:
        """The event's actions; None: it is parked, left as it is (not even settled)."""
        parked = self.executor.pending.get(str(event.get("id")))
        if parked is not None and parked.parked and parked.event.get("etag") == event.get("etag"):
            return None  # parked until its event changes (or a person retries it)
        return plan_event(event, self.records, self.owners, self.executor.context)

    def run_lane(self, lane: Lane) -> None:
        events, first = lane
        for i, event in enumerate(events):
            if self.stopped.is_set():
                return
            try:
                # The first event's plan was made when the lanes were formed; later ones are
                # planned against what the lane did before them.
                self.run_event(event, first if i == 0 else self.plan(event))
            except BaseException:
                self.stopped.set()
                raise

    def run_event(self, event: Event, actions: list[Action] | None) -> None:
        executor = self.executor
        if actions is None:
            return
        for action in actions:
            name = type(action).__name__
            with self._lock:
                self.report.actions[name] = self.report.actions.get(name, 0) + 1
            executor.run(action, event)
        executor.settle(event)
        if actions:
            # Provider calls can be slow: a page's worth must not outlive the lease.
            self.guard.tick()
            # The lane's later events (an occurrence after its series) are planned against
            # what was just done, or they would be applied twice. Only this lane writes
            # these keys.
            for key in ("id", "recurringEventId"):
                ref = event.get(key)
                if isinstance(ref, str):
                    latest = executor.ledger.latest.get(ref)
                    if latest is not None:
                        self.records[ref] = latest


def process_batch(
    store: Store,
    events: Iterable[Event],
    executor: Executor,
    report: SyncReport,
    guard: LeaseGuard,
) -> None:
    """Plan and execute one batch of changed events (a listing page, a replay, a reconcile
    batch), against the records of the batch's events as stored or as just changed."""
    batch = list(events)
    if not batch:
        return
    calendar_id = report.calendar_id
    wanted = executor.known.lookup_ids(batch)
    report.lookups += len(wanted)
    records = store.get_conferences(calendar_id, wanted)
    executor.begin_batch()
    owners: dict[str, Conference] = {}
    for conference_id in foreign_conference_ids(batch, records):
        found = store.find_by_conference_id(conference_id)
        if found:
            owners[conference_id] = found[0]
    state = _Batch(executor, report, guard, records, owners)
    lanes: dict[str, list[Event]] = {}
    for event in batch:
        lanes.setdefault(lane_of(event, records), []).append(event)
    busy: list[Lane] = []
    for group in lanes.values():
        actions = state.plan(group[0])
        if actions or len(group) > 1:
            busy.append((group, actions))
        elif actions is not None:
            executor.settle(group[0])  # nothing to do (most events): no thread needed
    _run_lanes(state, busy, executor)
    executor.flush()


def _run_lanes(state: _Batch, lanes: list[Lane], executor: Executor) -> None:
    if not lanes:
        return
    if executor.pool_size <= 1 or len(lanes) == 1:
        for lane in lanes:
            state.run_lane(lane)
        return
    pool = executor.lane_pool()
    futures = [pool.submit(state.run_lane, lane) for lane in lanes]
    pending: set[Future[None]] = set(futures)
    try:
        while pending:
            done, pending = wait(pending, timeout=TICK_SECONDS, return_when=FIRST_EXCEPTION)
            if any(f.exception() is not None for f in done):
                break
            if pending:
                state.guard.tick()
    finally:
        state.stopped.set()  # lanes still running stop before their next event...
        wait(pending)  # ...and none outlives the batch
    # Raise the first failure, in submission order.
    for future in futures:
        exc = future.exception()
        if exc is not None:
            raise exc
