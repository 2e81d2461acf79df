"""BENCHMARK ONLY — NOT USED BY THE PRODUCT. The floor of one incremental sync: the least work
the same sync can do, measured in the same run and on the same data as ours and the seed port,
so ``ours ÷ floor`` is what the product's bookkeeping costs.

What it does, and nothing else:

1. one Datastore lookup: the calendar's stored sync token (``Store.get_calendar``);
2. every page of the calendar's changes since that token, through the product's own
   ``addon.calendar.client.CalendarClient`` (2,500 events per page, its retries, its
   httplib2 transport);
3. for every listed event that carries an add-on conference of one of our solutions
   (``addon.conference_data.carried_conference``, the solution named by the conference's
   parameters) and is not ``cancelled``: one provider update through ``RestProvider`` built
   from the solution's options (the providers' default transport, ``PoolTransport``), with
   the body the product sends (``meeting_request``) and its idempotency key
   (``update_key(solution, conference id, etag)``). A page's updates run on a
   ``ThreadPoolExecutor`` of the product's size (``Settings().sync_pool_size``, 8 where the
   setting does not exist); the sequential variant uses a pool of one;
4. per page, one ``Conference`` record per updated conference, written with ``put_multi`` in
   batches of at most 500 through the store's entity mapping
   (``addon.store.entities.conference_to_props``): no reads, no transaction.

What it omits — everything that makes the product's sync correct and safe: the lease and its
fencing; reading our records, hence the plan (whether the meeting fields changed at all,
deleting the meetings of cancelled events, occurrences of series, copies of events,
write-backs of join data, events whose conference is not ours); pending changes, provider
retries with backoff and the lease checks before each call; compare-and-set on records and
batch transactions; storing the next sync token; the run report and its history.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from addon.calendar.client import CalendarClient
from addon.conference_data import CarriedConference, carried_conference, join_digest
from addon.providers.base import Meeting
from addon.providers.rest import RestProvider
from addon.settings import Settings, Solution
from addon.store.datastore import Store
from addon.store.entities import CALENDAR, CONFERENCE, CONFERENCE_UNINDEXED, conference_to_props
from addon.store.records import Conference, EventSnapshot
from addon.sync.keys import update_key
from addon.sync.provider_calls import meeting_request

PUT_BATCH = 500  # Datastore's limit of entities per commit
DEFAULT_POOL_SIZE = 8


def product_pool_size() -> int:
    """The provider call pool the product's sync uses (8 until the setting exists)."""
    return int(getattr(Settings(), "sync_pool_size", DEFAULT_POOL_SIZE))


def conference_entity(client: Any, conference: Conference, now: datetime) -> Any:
    """The Datastore entity the store writes for ``conference`` (its own mapping)."""
    from google.cloud import datastore as gds

    entity = gds.Entity(
        client.key(CALENDAR, conference.calendar_id, CONFERENCE, conference.event_id),
        exclude_from_indexes=CONFERENCE_UNINDEXED,
    )
    entity.update(conference_to_props(conference.with_(created_at=now, updated_at=now)))
    return entity


def put_records(store: Store, conferences: Sequence[Conference]) -> None:
    """Blind writes in batches of ``PUT_BATCH``: no read, no transaction."""
    client = store._client
    now = datetime.now(UTC)
    entities = [conference_entity(client, c, now) for c in conferences]
    for i in range(0, len(entities), PUT_BATCH):
        client.put_multi(entities[i : i + PUT_BATCH])


@dataclass
class FloorReport:
    pages: int = 0
    events: int = 0
    updates: int = 0
    records: int = 0


@dataclass(frozen=True)
class _Change:
    """One listed event carrying our conference: what its provider update needs."""

    event: Mapping[str, Any]
    carried: CarriedConference
    solution: Solution


class FloorSync:
    """Built before timing (providers, pool size); ``sync`` is what is measured."""

    def __init__(
        self, store: Store, solutions: Sequence[Solution], pool_size: int | None = None
    ) -> None:
        self.store = store
        self.pool_size = pool_size or product_pool_size()
        self.solutions = {s.id: s for s in solutions if s.provider == "rest"}
        self.providers = {s.id: RestProvider(s.options) for s in self.solutions.values()}

    def sync(self, calendar: CalendarClient, calendar_id: str) -> FloorReport:
        state = self.store.get_calendar(calendar_id)
        if state is None or not state.sync_token:
            raise RuntimeError(f"no stored sync token for {calendar_id}")
        report = FloorReport()
        with ThreadPoolExecutor(self.pool_size, thread_name_prefix="floor") as pool:
            for page in calendar.iter_pages(calendar_id, sync_token=state.sync_token):
                items = page.get("items") or []
                report.pages += 1
                report.events += len(items)
                changes = list(self._changes(items))
                records = list(pool.map(lambda c: self._update(calendar_id, c), changes))
                put_records(self.store, records)
                report.updates += len(changes)
                report.records += len(records)
        return report

    def _changes(self, items: Iterable[Mapping[str, Any]]) -> Iterable[_Change]:
        for event in items:
            if event.get("status") == "cancelled":
                continue
            carried = carried_conference(event)
            solution = self.solutions.get(carried.solution_id or "") if carried else None
            if carried is not None and solution is not None:
                yield _Change(event, carried, solution)

    def _update(self, calendar_id: str, change: _Change) -> Conference:
        event, solution = change.event, change.solution
        event_id, conference_id = str(event["id"]), change.carried.conference_id
        # The floor holds no record: the meeting is named by the event's conference id.
        known = Meeting(meeting_id=conference_id, entry_points=())
        meeting = self.providers[solution.id].update(
            known,
            meeting_request(calendar_id, event_id, solution, event),
            idempotency_key=update_key(solution.id, conference_id, event.get("etag")),
        )
        return Conference(
            calendar_id=calendar_id,
            event_id=event_id,
            solution_id=solution.id,
            conference_id=conference_id,
            meeting=meeting,
            snapshot=EventSnapshot.from_event(event),
            confirmed=True,
            written_digest=join_digest(meeting),
        )
