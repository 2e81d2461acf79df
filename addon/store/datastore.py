"""The store: every read and write of durable state, on Cloud Datastore.

Entity layout (one entity group per calendar, so a calendar's records are read strongly
consistently with ancestor queries and updated together in transactions):

* ``Calendar``   key ``(Calendar, calendar_id)``: sync state, lease, subscription.
* ``Conference`` key ``(Calendar, calendar_id, Conference, event_id)``: one event's meeting.
* ``Pending``    key ``(Calendar, calendar_id, Pending, event_id)``: a change to replay, or
  one parked as needing attention.
* ``SyncRun``    key ``(Calendar, calendar_id, SyncRun, <time>)``: recent run reports.

Writes made by a sync go through ``commit_batch``: one transaction per chunk that first
checks the writer still holds the calendar's lease (**fencing**: a process that lost its lease
while it stalled cannot land a late write) and writes each record only if it is still at the
version the sync read (**compare-and-set**: a creation that replaced the record meanwhile
wins) and never over a record made from a newer event version. Property names live in
``addon.store.entities``.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from addon.store.entities import (
    CALENDAR,
    CALENDAR_UNINDEXED,
    CONFERENCE,
    CONFERENCE_UNINDEXED,
    PENDING,
    PENDING_UNINDEXED,
    SYNC_RUN,
    calendar_from_entity,
    calendar_to_props,
    conference_from_entity,
    conference_to_props,
    pending_from_entity,
    pending_to_props,
)
from addon.store.errors import Contention, LeaseLost, StoreUnavailable
from addon.store.records import CalendarState, Conference, EventSnapshot, PendingChange

T = TypeVar("T")

SYNC_RUNS_KEPT = 50
PRUNE_PROBABILITY = 0.1
# Datastore commits at most 500 mutations; the lease check reads one more entity.
BATCH_ENTITIES = 400
LOOKUP_KEYS = 1000
# Contending transactions in one entity group are aborted all but one at a time (a burst of
# picks on one calendar, a trigger storm): retry with jittered backoff for this long at most.
TRANSACTION_BUDGET_SECONDS = 10.0
TRANSACTION_ATTEMPTS = 40


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class BatchResult:
    """What ``commit_batch`` stored: the records with their new versions, and the event ids
    whose records were not written because they changed since the sync read them."""

    stored: list[Conference] = field(default_factory=list)
    superseded: list[str] = field(default_factory=list)


class Store:
    """Datastore-backed state. ``client`` is a ``google.cloud.datastore.Client``."""

    def __init__(
        self,
        client: Any,
        clock: Callable[[], datetime] = utcnow,
        *,
        transaction_budget: float = TRANSACTION_BUDGET_SECONDS,
    ) -> None:
        self._client = client
        self._clock = clock
        self._transaction_budget = transaction_budget

    @classmethod
    def connect(cls, project: str, namespace: str | None = None) -> Store:
        from google.cloud import datastore

        return cls(datastore.Client(project=project, namespace=namespace))

    # ---- keys and transactions ----------------------------------------------------------
    def _cal_key(self, calendar_id: str) -> Any:
        return self._client.key(CALENDAR, calendar_id)

    def _conf_key(self, calendar_id: str, event_id: str) -> Any:
        return self._client.key(CALENDAR, calendar_id, CONFERENCE, event_id)

    def _pending_key(self, calendar_id: str, event_id: str) -> Any:
        return self._client.key(CALENDAR, calendar_id, PENDING, event_id)

    def _transaction(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` in a transaction, retrying on contention (``Contention`` when the budget
        runs out). ``fn`` may run several times; only the attempt that committed counts."""

        def attempt() -> T:
            with self._client.transaction():
                return fn()

        return self._retrying(attempt)

    def _retrying(self, fn: Callable[[], T]) -> T:
        """Run ``fn``, retrying with jittered backoff while Datastore aborts it for contention
        (strongly consistent reads of an entity group abort too while it is being written) or
        is briefly unavailable; ``Contention`` or ``StoreUnavailable`` past the budget."""
        from google.api_core import exceptions as gexc

        deadline = time.monotonic() + self._transaction_budget
        for attempt in range(TRANSACTION_ATTEMPTS):
            try:
                return fn()
            except (gexc.Aborted, gexc.Conflict) as exc:
                if time.monotonic() >= deadline or attempt == TRANSACTION_ATTEMPTS - 1:
                    raise Contention(f"aborted {attempt + 1} times: {exc}") from exc
            except (
                gexc.ServiceUnavailable,
                gexc.DeadlineExceeded,
                gexc.InternalServerError,
            ) as exc:
                if time.monotonic() >= deadline or attempt == TRANSACTION_ATTEMPTS - 1:
                    raise StoreUnavailable(f"Datastore unavailable: {type(exc).__name__}") from exc
            time.sleep(random.uniform(0, min(0.5, 0.02 * 2**attempt)))  # noqa: S311
        raise AssertionError("unreachable")

    def ping(self, timeout: float = 2.0) -> None:
        """One cheap lookup; raises when Datastore cannot be reached (readiness checks)."""
        self._client.get(self._client.key("Readiness", "ping"), timeout=timeout, retry=None)

    # ---- calendar state -----------------------------------------------------------------
    def get_calendar(self, calendar_id: str) -> CalendarState | None:
        return self._retrying(lambda: self._read_calendar(calendar_id))

    def _read_calendar(self, calendar_id: str) -> CalendarState | None:
        """One read, no retry: inside a transaction a retry belongs to the transaction."""
        entity = self._client.get(self._cal_key(calendar_id))
        return calendar_from_entity(calendar_id, entity) if entity is not None else None

    def _get_or_new_calendar(self, calendar_id: str) -> CalendarState:
        return self._read_calendar(calendar_id) or CalendarState(calendar_id=calendar_id)

    def _put_calendar(self, state: CalendarState) -> None:
        from google.cloud import datastore

        entity = datastore.Entity(
            self._cal_key(state.calendar_id), exclude_from_indexes=CALENDAR_UNINDEXED
        )
        entity.update(calendar_to_props(state))
        self._client.put(entity)

    def update_calendar(
        self, calendar_id: str, change: Callable[[CalendarState], CalendarState | None]
    ) -> CalendarState:
        """Read-modify-write one calendar's state in a transaction; ``change`` returning None
        means "no write"."""

        def decide(state: CalendarState) -> tuple[CalendarState | None, None]:
            return change(state), None

        return self._decide(calendar_id, decide)[0]

    def _decide(
        self,
        calendar_id: str,
        decide: Callable[[CalendarState], tuple[CalendarState | None, T]],
    ) -> tuple[CalendarState, T]:
        """Transactional read-decide-write of one calendar's state.

        ``decide`` returns the new state (None: no write) and an outcome for the caller. It may
        run several times (Datastore aborts contending transactions); only the outcome of the
        attempt that committed is returned. ``due`` is derived here, in one place.
        """

        def run() -> tuple[CalendarState, T]:
            current = self._get_or_new_calendar(calendar_id)
            new, outcome = decide(current)
            if new is None:
                return current, outcome
            due = bool(new.dirty or new.pending_count or new.needs_full_sync or new.retry_at)
            new = new.with_(due=due)
            self._put_calendar(new)
            return new, outcome

        return self._transaction(run)

    def subscribe(self, calendar_id: str, user_email: str | None) -> bool:
        """Mark the calendar subscribed; True if it was not before (first conference)."""
        current = self.get_calendar(calendar_id)
        if current is not None and current.subscribed:
            return False  # the common case, without a transaction; subscription is never undone

        def decide(state: CalendarState) -> tuple[CalendarState | None, bool]:
            if state.subscribed:
                return None, False
            return state.with_(subscribed=True, subscribed_by=user_email), True

        return self._decide(calendar_id, decide)[1]

    def mark_needs_full_sync(self, calendar_id: str, reason: str) -> None:
        self.update_calendar(
            calendar_id,
            lambda s: s.with_(
                needs_full_sync=True,
                sync_token=None,
                last_result={**s.last_result, "error": reason},
            ),
        )

    # ---- lease --------------------------------------------------------------------------
    def acquire_lease(self, calendar_id: str, owner: str, seconds: int) -> bool:
        """Take the calendar's sync lease, or mark it dirty so the holder runs again."""
        now = self._clock()

        def decide(state: CalendarState) -> tuple[CalendarState, bool]:
            free = state.lease_owner is None or (
                state.lease_expires is not None and state.lease_expires <= now
            )
            if free:
                expires = now + timedelta(seconds=seconds)
                return state.with_(lease_owner=owner, lease_expires=expires, dirty=False), True
            return state.with_(dirty=True), False

        return self._decide(calendar_id, decide)[1]

    def renew_lease(self, calendar_id: str, owner: str, seconds: int) -> bool:
        """Extend our lease; False if we lost it (expired and taken): stop writing then."""
        now = self._clock()

        def decide(state: CalendarState) -> tuple[CalendarState | None, bool]:
            if state.lease_owner != owner:
                return None, False
            return state.with_(lease_expires=now + timedelta(seconds=seconds)), True

        return self._decide(calendar_id, decide)[1]

    def finish_run(self, calendar_id: str, owner: str, seconds: int) -> bool:
        """End of one sync run: True = lease released; False = triggers arrived meanwhile
        (dirty), the lease is kept and renewed and the caller must run again."""
        now = self._clock()

        def decide(state: CalendarState) -> tuple[CalendarState | None, bool]:
            if state.lease_owner != owner:
                return None, True
            if state.dirty:
                expires = now + timedelta(seconds=seconds)
                return state.with_(dirty=False, lease_expires=expires), False
            return state.with_(lease_owner=None, lease_expires=None), True

        return self._decide(calendar_id, decide)[1]

    def release_lease(self, calendar_id: str, owner: str) -> None:
        self.update_calendar(
            calendar_id,
            lambda s: s.with_(lease_owner=None, lease_expires=None)
            if s.lease_owner == owner
            else None,
        )

    def store_sync_result(
        self,
        calendar_id: str,
        owner: str,
        *,
        sync_token: str | None,
        result: dict[str, Any],
        pending_count: int,
        parked_count: int = 0,
        retry_in: float | None = None,
        attention: str | None = None,
        access_role: str | None = None,
        full_sync_failed: bool = False,
    ) -> bool:
        """Store the new sync token and the run's summary, only while we hold the lease.

        A holder whose lease expired (it was slow or paused) must not overwrite the token
        a newer holder stored: that is how the token never goes backwards. ``retry_in``
        (seconds) means work was left behind and the calendar is retried then; None clears
        the retry schedule.
        """
        now = self._clock()

        def decide(state: CalendarState) -> tuple[CalendarState | None, bool]:
            if state.lease_owner != owner:
                return None, False
            summary = state.with_(
                last_sync_at=now,
                last_result=result,
                pending_count=pending_count,
                parked_count=parked_count,
                attention=attention,
                access_role=access_role or state.access_role,
                retry_count=state.retry_count + 1 if retry_in is not None else 0,
                retry_at=now + timedelta(seconds=retry_in) if retry_in is not None else None,
            )
            if sync_token is None:
                return summary.with_(
                    needs_full_sync=state.needs_full_sync or full_sync_failed
                ), True
            return summary.with_(
                sync_token=sync_token,
                token_generation=state.token_generation + 1,
                token_stored_at=now,
                needs_full_sync=False,
            ), True

        return self._decide(calendar_id, decide)[1]

    def due_calendars(self, limit: int = 500) -> list[str]:
        """Calendars with work to do (dirty, pending changes, full sync needed, a retry due).

        An indexed equality query on ``due``: its cost grows with the due calendars only.
        """
        query = self._client.query(kind=CALENDAR)
        query.add_filter(filter=_eq("due", True))
        query.keys_only()
        return [e.key.name for e in query.fetch(limit=limit)]

    def all_calendars(self) -> list[CalendarState]:
        query = self._client.query(kind=CALENDAR)
        return [calendar_from_entity(e.key.name, e) for e in query.fetch()]

    # ---- conferences --------------------------------------------------------------------
    def get_conference(self, calendar_id: str, event_id: str) -> Conference | None:
        key = self._conf_key(calendar_id, event_id)
        entity = self._retrying(lambda: self._client.get(key))
        return conference_from_entity(entity) if entity is not None else None

    def get_conferences(self, calendar_id: str, event_ids: Iterable[str]) -> dict[str, Conference]:
        keys = [self._conf_key(calendar_id, e) for e in dict.fromkeys(event_ids)]
        out: dict[str, Conference] = {}
        for i in range(0, len(keys), LOOKUP_KEYS):
            chunk = keys[i : i + LOOKUP_KEYS]
            for entity in self._retrying(functools.partial(self._client.get_multi, chunk)):
                conf = conference_from_entity(entity)
                out[conf.event_id] = conf
        return out

    def find_by_conference_id(self, conference_id: str) -> list[Conference]:
        query = self._client.query(kind=CONFERENCE)
        query.add_filter(filter=_eq("conference_id", conference_id))
        found = self._retrying(lambda: list(query.fetch(limit=10)))
        return [conference_from_entity(e) for e in found]

    def list_conferences(self, calendar_id: str, *, active_only: bool = True) -> list[Conference]:
        """The calendar's records; ``active_only``: those still needing provider work (not
        deleted, not retired)."""
        query = self._client.query(kind=CONFERENCE, ancestor=self._cal_key(calendar_id))
        confs = [conference_from_entity(e) for e in self._retrying(lambda: list(query.fetch()))]
        return [c for c in confs if c.state == "active"] if active_only else confs

    def unconfirmed_conferences(self, calendar_id: str) -> list[Conference]:
        """Live records of onCreate that no listing has shown on their event yet (an index-
        served query: ancestor and equality filters only)."""
        query = self._client.query(kind=CONFERENCE, ancestor=self._cal_key(calendar_id))
        query.add_filter(filter=_eq("confirmed", False))
        query.add_filter(filter=_eq("state", "active"))
        found = self._retrying(lambda: list(query.fetch()))
        return [conference_from_entity(e) for e in found]

    def _conference_entity(self, conference: Conference) -> Any:
        from google.cloud import datastore

        entity = datastore.Entity(
            self._conf_key(conference.calendar_id, conference.event_id),
            exclude_from_indexes=CONFERENCE_UNINDEXED,
        )
        entity.update(conference_to_props(conference))
        return entity

    def _stamped(self, conference: Conference, version: int) -> Conference:
        now = self._clock()
        return conference.with_(
            created_at=conference.created_at or now, updated_at=now, version=version
        )

    def put_conference(self, conference: Conference) -> Conference:
        """Unconditional write (tools, tests, seeding); the service writes through
        ``save_creation`` and ``commit_batch``."""
        stored = self._stamped(conference, conference.version + 1)
        self._client.put(self._conference_entity(stored))
        return stored

    def save_creation(self, conference: Conference) -> tuple[Conference, bool, Conference | None]:
        """Store a record for a meeting just created by onCreate, unless a record for the same
        event and solution is live (a concurrent duplicate won). Returns the stored record,
        whether ours was written, and the record it replaced (its meeting is the caller's to
        retire). A smaller transaction than any other: one entity."""

        def run() -> tuple[Conference, bool, Conference | None]:
            found = self._client.get(self._conf_key(conference.calendar_id, conference.event_id))
            existing = conference_from_entity(found) if found is not None else None
            if (
                existing is not None
                and existing.live
                and existing.solution_id == conference.solution_id
            ):
                return existing, False, None
            stored = self._stamped(conference, (existing.version if existing else 0) + 1)
            self._client.put(self._conference_entity(stored))
            return stored, True, existing

        return self._transaction(run)

    def commit_batch(
        self,
        calendar_id: str,
        owner: str,
        records: Sequence[Conference],
        pending_puts: Sequence[PendingChange] = (),
        pending_deletes: Sequence[str] = (),
    ) -> BatchResult:
        """A sync's writes, fenced by its lease (see the module docstring).

        Each record is written only if the stored one is still at ``record.version`` and not
        from a newer event version; it is stored with ``version + 1``. Raises ``LeaseLost``
        (nothing of that chunk written) when ``owner`` no longer holds the lease.
        """
        ops: list[tuple[str, Any]] = [("record", r) for r in records]
        ops += [("pending", p) for p in pending_puts]
        ops += [("unpend", e) for e in pending_deletes]
        result = BatchResult()
        for i in range(0, len(ops), BATCH_ENTITIES):
            chunk = ops[i : i + BATCH_ENTITIES]
            stored, superseded = self._transaction(
                functools.partial(self._commit_chunk, calendar_id, owner, chunk)
            )
            result.stored.extend(stored)
            result.superseded.extend(superseded)
        return result

    def _commit_chunk(
        self, calendar_id: str, owner: str, chunk: list[tuple[str, Any]]
    ) -> tuple[list[Conference], list[str]]:
        from google.cloud import datastore

        calendar = self._client.get(self._cal_key(calendar_id))
        if calendar is None or calendar.get("lease_owner") != owner:
            raise LeaseLost(calendar_id)
        records = [r for kind, r in chunk if kind == "record"]
        keys = [self._conf_key(calendar_id, r.event_id) for r in records]
        current = {e.key.name: e for e in self._client.get_multi(keys)} if keys else {}
        stored: list[Conference] = []
        superseded: list[str] = []
        for record in records:
            entity = current.get(record.event_id)
            version = int(entity.get("version", 0)) if entity is not None else 0
            newer = entity is not None and record.snapshot.is_older_than(
                EventSnapshot.from_dict(json.loads(entity["snapshot"]))
            )
            if version != record.version or newer:
                superseded.append(record.event_id)
                continue
            new = self._stamped(record, version + 1)
            self._client.put(self._conference_entity(new))
            stored.append(new)
        now = self._clock()
        for kind, item in chunk:
            if kind == "pending":
                entity = datastore.Entity(
                    self._pending_key(calendar_id, item.event_id),
                    exclude_from_indexes=PENDING_UNINDEXED,
                )
                entity.update(pending_to_props(dataclasses.replace(item, updated_at=now)))
                self._client.put(entity)
            elif kind == "unpend":
                self._client.delete(self._pending_key(calendar_id, item))
        return stored, superseded

    # ---- pending changes ----------------------------------------------------------------
    def put_pending(self, change: PendingChange) -> None:
        """Unfenced write of one pending change (tools and tests)."""
        from google.cloud import datastore

        entity = datastore.Entity(
            self._pending_key(change.calendar_id, change.event_id),
            exclude_from_indexes=PENDING_UNINDEXED,
        )
        entity.update(pending_to_props(change))
        self._client.put(entity)

    def delete_pending(self, calendar_id: str, event_id: str) -> None:
        self._client.delete(self._pending_key(calendar_id, event_id))

    def list_pending(self, calendar_id: str) -> list[PendingChange]:
        """Every pending change of the calendar, parked ones included (``parked`` says)."""
        query = self._client.query(kind=PENDING, ancestor=self._cal_key(calendar_id))
        found = self._retrying(lambda: list(query.fetch()))
        return [pending_from_entity(calendar_id, e) for e in found]

    def count_pending(self, calendar_id: str) -> int:
        """Pending changes still to be replayed (parked ones are not)."""
        return sum(1 for p in self.list_pending(calendar_id) if not p.parked)

    # ---- sync history -------------------------------------------------------------------
    def append_sync_run(self, calendar_id: str, report: dict[str, Any]) -> None:
        """Keep a short history of sync runs per calendar (operators, the local console)."""
        from google.cloud import datastore

        now = self._clock()
        key = self._client.key(CALENDAR, calendar_id, SYNC_RUN, f"{now.timestamp():020.6f}")
        entity = datastore.Entity(key, exclude_from_indexes=("report",))
        entity.update({"at": now, "report": json.dumps(report, default=str)})
        self._retrying(lambda: self._client.put(entity))
        # Pruning needs a query; doing it on about one run in ten keeps the history near
        # SYNC_RUNS_KEPT without a query on every run.
        if random.random() < PRUNE_PROBABILITY:  # noqa: S311 - not security relevant
            old = self._sync_run_keys(calendar_id)[SYNC_RUNS_KEPT:]
            if old:
                self._client.delete_multi(old)

    def _sync_run_keys(self, calendar_id: str) -> list[Any]:
        query = self._client.query(kind=SYNC_RUN, ancestor=self._cal_key(calendar_id))
        query.keys_only()
        found = self._retrying(lambda: list(query.fetch()))
        return sorted((e.key for e in found), key=lambda k: k.name, reverse=True)

    def recent_sync_runs(self, calendar_id: str, limit: int = 20) -> list[dict[str, Any]]:
        """Newest first: ``{"at": datetime, **report}``."""
        keys = self._sync_run_keys(calendar_id)[:limit]
        found = self._retrying(lambda: self._client.get_multi(keys)) if keys else []
        entities = {e.key.name: e for e in found}
        out = []
        for key in keys:
            e = entities.get(key.name)
            if e is not None:
                out.append({"at": e["at"], **json.loads(e["report"])})
        return out


def _eq(prop: str, value: Any) -> Any:
    from google.cloud.datastore.query import PropertyFilter

    return PropertyFilter(prop, "=", value)
