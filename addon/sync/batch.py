"""One batch of changed events: read their records, plan each event, execute its actions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from addon.store.datastore import Store
from addon.store.records import Conference
from addon.sync.execute import Executor
from addon.sync.lease import LeaseGuard
from addon.sync.plan import foreign_conference_ids, plan_event
from addon.sync.report import SyncReport


def process_batch(
    store: Store,
    events: Iterable[Mapping[str, Any]],
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
    # Records are read per batch; keep the executor's memory to one batch.
    executor.latest.clear()
    ids: list[str] = []
    for e in batch:
        for key in ("id", "recurringEventId"):
            if isinstance(e.get(key), str):
                ids.append(e[key])
    records = store.get_conferences(calendar_id, ids)
    owners: dict[str, Conference] = {}
    for conference_id in foreign_conference_ids(batch, records):
        found = store.find_by_conference_id(conference_id)
        if found:
            owners[conference_id] = found[0]
    for event in batch:
        event_id = event.get("id")
        parked = executor.pending.get(str(event_id))
        if parked is not None and parked.parked and parked.event.get("etag") == event.get("etag"):
            continue  # parked until its event changes (or a person retries it)
        actions = plan_event(event, records, owners, executor.context)
        for action in actions:
            name = type(action).__name__
            report.actions[name] = report.actions.get(name, 0) + 1
            executor.run(action, event)
        executor.settle(event)
        if actions:
            # Provider calls can be slow: a page's worth must not outlive the lease.
            guard.tick()
            # Later changes in the same batch (pending replay, then the listing) must be
            # planned against what we just did, or they would be applied twice.
            for key in ("id", "recurringEventId"):
                ref = event.get(key)
                if isinstance(ref, str) and ref in executor.latest:
                    records[ref] = executor.latest[ref]
    executor.flush()
