"""The store: every read and write of durable state, on Cloud Datastore.

Entity layout (one entity group per calendar, so a calendar's records are read strongly
consistently with ancestor queries and updated together in transactions):

* ``Calendar``   key ``(Calendar, calendar_id)``: sync state, lease, subscription.
* ``Conference`` key ``(Calendar, calendar_id, Conference, event_id)``: one event's meeting.
* ``Pending``    key ``(Calendar, calendar_id, Pending, event_id)``: a change to replay.

Large JSON blobs are stored unindexed (``exclude_from_indexes``); only properties that are
queried are indexed (``conference_id``, ``due``).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from addon.store.records import (
    CalendarState,
    Conference,
    EventSnapshot,
    PendingChange,
    meeting_from_dict,
    meeting_to_dict,
)

T = TypeVar("T")

CALENDAR = "Calendar"
CONFERENCE = "Conference"
PENDING = "Pending"
SYNC_RUN = "SyncRun"
SYNC_RUNS_KEPT = 50
PRUNE_PROBABILITY = 0.1

_CAL_UNINDEXED = ("last_result", "sync_token", "subscribed_by", "lease_owner")
_CONF_UNINDEXED = ("meeting", "snapshot", "occurrences")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Store:
    """Datastore-backed state. ``client`` is a ``google.cloud.datastore.Client``."""

    def __init__(self, client: Any, clock: Callable[[], datetime] = utcnow) -> None:
        self._client = client
        self._clock = clock

    @classmethod
    def connect(cls, project: str, namespace: str | None = None) -> Store:
        from google.cloud import datastore

        return cls(datastore.Client(project=project, namespace=namespace))

    # ---- keys ---------------------------------------------------------------------------
    def _cal_key(self, calendar_id: str) -> Any:
        return self._client.key(CALENDAR, calendar_id)

    def _conf_key(self, calendar_id: str, event_id: str) -> Any:
        return self._client.key(CALENDAR, calendar_id, CONFERENCE, event_id)

    def _pending_key(self, calendar_id: str, event_id: str) -> Any:
        return self._client.key(CALENDAR, calendar_id, PENDING, event_id)

    def _transaction(self, fn: Callable[[], T], attempts: int = 12) -> T:
        """Run ``fn`` in a transaction, retrying on contention.

        Datastore aborts all but one of the transactions that touch the same entity group at
        once (a trigger storm does exactly that), so losers back off with jitter and retry.
        """
        from google.api_core import exceptions as gexc

        for attempt in range(attempts):
            try:
                with self._client.transaction():
                    return fn()
            except (gexc.Aborted, gexc.Conflict):
                if attempt == attempts - 1:
                    raise
                time.sleep(random.uniform(0, min(1.0, 0.02 * 2**attempt)))  # noqa: S311
        raise AssertionError("unreachable")

    # ---- calendar state -----------------------------------------------------------------
    def get_calendar(self, calendar_id: str) -> CalendarState | None:
        entity = self._client.get(self._cal_key(calendar_id))
        return _calendar_from_entity(calendar_id, entity) if entity is not None else None

    def _get_or_new_calendar(self, calendar_id: str) -> CalendarState:
        return self.get_calendar(calendar_id) or CalendarState(calendar_id=calendar_id)

    def _put_calendar(self, state: CalendarState) -> None:
        from google.cloud import datastore

        entity = datastore.Entity(
            self._cal_key(state.calendar_id), exclude_from_indexes=_CAL_UNINDEXED
        )
        entity.update(_calendar_to_props(state))
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
        attempt that committed is returned.
        """

        def run() -> tuple[CalendarState, T]:
            current = self._get_or_new_calendar(calendar_id)
            new, outcome = decide(current)
            if new is None:
                return current, outcome
            new = new.with_(due=bool(new.dirty or new.pending_count or new.needs_full_sync))
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
        full_sync_failed: bool = False,
    ) -> bool:
        """Store the new sync token and the run's summary, only while we hold the lease.

        A holder whose lease expired (it was slow or paused) must not overwrite the token
        a newer holder stored: that is how the token never goes backwards.
        """
        now = self._clock()

        def decide(state: CalendarState) -> tuple[CalendarState | None, bool]:
            if state.lease_owner != owner:
                return None, False
            summary = state.with_(last_sync_at=now, last_result=result, pending_count=pending_count)
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
        """Calendars with work to do (dirty, pending changes, full sync needed).

        An indexed equality query on ``due``: its cost grows with the due calendars only.
        """
        query = self._client.query(kind=CALENDAR)
        query.add_filter(filter=_eq("due", True))
        query.keys_only()
        return [e.key.name for e in query.fetch(limit=limit)]

    def all_calendars(self) -> list[CalendarState]:
        query = self._client.query(kind=CALENDAR)
        return [_calendar_from_entity(e.key.name, e) for e in query.fetch()]

    # ---- conferences --------------------------------------------------------------------
    def get_conference(self, calendar_id: str, event_id: str) -> Conference | None:
        entity = self._client.get(self._conf_key(calendar_id, event_id))
        return _conference_from_entity(entity) if entity is not None else None

    def get_conferences(self, calendar_id: str, event_ids: Iterable[str]) -> dict[str, Conference]:
        keys = [self._conf_key(calendar_id, e) for e in dict.fromkeys(event_ids)]
        out: dict[str, Conference] = {}
        # Datastore caps a lookup at 1000 keys.
        for i in range(0, len(keys), 1000):
            for entity in self._client.get_multi(keys[i : i + 1000]):
                conf = _conference_from_entity(entity)
                out[conf.event_id] = conf
        return out

    def find_by_conference_id(self, conference_id: str) -> list[Conference]:
        query = self._client.query(kind=CONFERENCE)
        query.add_filter(filter=_eq("conference_id", conference_id))
        return [_conference_from_entity(e) for e in query.fetch(limit=10)]

    def list_conferences(self, calendar_id: str, *, active_only: bool = True) -> list[Conference]:
        query = self._client.query(kind=CONFERENCE, ancestor=self._cal_key(calendar_id))
        confs = [_conference_from_entity(e) for e in query.fetch()]
        return [c for c in confs if c.state == "active"] if active_only else confs

    def put_conference(self, conference: Conference) -> Conference:
        from google.cloud import datastore

        now = self._clock()
        conference = conference.with_(created_at=conference.created_at or now, updated_at=now)
        entity = datastore.Entity(
            self._conf_key(conference.calendar_id, conference.event_id),
            exclude_from_indexes=_CONF_UNINDEXED,
        )
        entity.update(_conference_to_props(conference))
        self._client.put(entity)
        return conference

    def create_conference_if_absent(self, conference: Conference) -> tuple[Conference, bool]:
        """Insert unless a record for the same event and solution exists (a concurrent
        duplicate won): returns the stored record and whether we inserted it."""

        def run() -> tuple[Conference, bool]:
            existing = self.get_conference(conference.calendar_id, conference.event_id)
            if (
                existing is not None
                and existing.state == "active"
                and existing.solution_id == conference.solution_id
            ):
                return existing, False
            return self.put_conference(conference), True

        return self._transaction(run)

    # ---- pending changes ----------------------------------------------------------------
    def put_pending(self, change: PendingChange) -> None:
        from google.cloud import datastore

        entity = datastore.Entity(
            self._pending_key(change.calendar_id, change.event_id),
            exclude_from_indexes=("event", "last_error"),
        )
        entity.update(
            {
                "event": json.dumps(dict(change.event)),
                "attempts": change.attempts,
                "last_error": change.last_error,
                "updated_at": self._clock(),
            }
        )
        self._client.put(entity)

    def delete_pending(self, calendar_id: str, event_id: str) -> None:
        self._client.delete(self._pending_key(calendar_id, event_id))

    def list_pending(self, calendar_id: str) -> list[PendingChange]:
        query = self._client.query(kind=PENDING, ancestor=self._cal_key(calendar_id))
        return [
            PendingChange(
                calendar_id=calendar_id,
                event_id=e.key.name,
                event=json.loads(e["event"]),
                attempts=int(e.get("attempts", 0)),
                last_error=e.get("last_error"),
                updated_at=e.get("updated_at"),
            )
            for e in query.fetch()
        ]

    def count_pending(self, calendar_id: str) -> int:
        query = self._client.query(kind=PENDING, ancestor=self._cal_key(calendar_id))
        query.keys_only()
        return sum(1 for _ in query.fetch())

    # ---- sync history -------------------------------------------------------------------
    def append_sync_run(self, calendar_id: str, report: dict[str, Any]) -> None:
        """Keep a short history of sync runs per calendar (operators, the local console)."""
        from google.cloud import datastore

        now = self._clock()
        key = self._client.key(CALENDAR, calendar_id, SYNC_RUN, f"{now.timestamp():020.6f}")
        entity = datastore.Entity(key, exclude_from_indexes=("report",))
        entity.update({"at": now, "report": json.dumps(report, default=str)})
        self._client.put(entity)
        # Pruning needs a query; doing it on about one run in ten keeps the history near
        # SYNC_RUNS_KEPT without a query on every run.
        if random.random() < PRUNE_PROBABILITY:  # noqa: S311 - not security relevant
            old = self._sync_run_keys(calendar_id)[SYNC_RUNS_KEPT:]
            if old:
                self._client.delete_multi(old)

    def _sync_run_keys(self, calendar_id: str) -> list[Any]:
        query = self._client.query(kind=SYNC_RUN, ancestor=self._cal_key(calendar_id))
        query.keys_only()
        return sorted((e.key for e in query.fetch()), key=lambda k: k.name, reverse=True)

    def recent_sync_runs(self, calendar_id: str, limit: int = 20) -> list[dict[str, Any]]:
        """Newest first: ``{"at": datetime, **report}``."""
        keys = self._sync_run_keys(calendar_id)[:limit]
        entities = {e.key.name: e for e in self._client.get_multi(keys)} if keys else {}
        out = []
        for key in keys:
            e = entities.get(key.name)
            if e is not None:
                out.append({"at": e["at"], **json.loads(e["report"])})
        return out


def _eq(prop: str, value: Any) -> Any:
    from google.cloud.datastore.query import PropertyFilter

    return PropertyFilter(prop, "=", value)


def _calendar_to_props(s: CalendarState) -> dict[str, Any]:
    return {
        "subscribed": s.subscribed,
        "subscribed_by": s.subscribed_by,
        "sync_token": s.sync_token,
        "token_generation": s.token_generation,
        "token_stored_at": s.token_stored_at,
        "needs_full_sync": s.needs_full_sync,
        "lease_owner": s.lease_owner,
        "lease_expires": s.lease_expires,
        "dirty": s.dirty,
        "pending_count": s.pending_count,
        "due": s.due,
        "last_sync_at": s.last_sync_at,
        "last_result": json.dumps(dict(s.last_result)),
    }


def _calendar_from_entity(calendar_id: str, e: Any) -> CalendarState:
    return CalendarState(
        calendar_id=calendar_id,
        subscribed=bool(e.get("subscribed", False)),
        subscribed_by=e.get("subscribed_by"),
        sync_token=e.get("sync_token"),
        token_generation=int(e.get("token_generation", 0)),
        token_stored_at=e.get("token_stored_at"),
        needs_full_sync=bool(e.get("needs_full_sync", False)),
        lease_owner=e.get("lease_owner"),
        lease_expires=e.get("lease_expires"),
        dirty=bool(e.get("dirty", False)),
        pending_count=int(e.get("pending_count", 0)),
        due=bool(e.get("due", False)),
        last_sync_at=e.get("last_sync_at"),
        last_result=json.loads(e.get("last_result") or "{}"),
    )


def _conference_to_props(c: Conference) -> dict[str, Any]:
    return {
        "conference_id": c.conference_id,
        "solution_id": c.solution_id,
        "state": c.state,
        "confirmed": c.confirmed,
        "meeting": json.dumps(meeting_to_dict(c.meeting)),
        "snapshot": json.dumps(c.snapshot.to_dict()),
        "occurrences": json.dumps(dict(c.occurrences)),
        "origin": c.origin,
        "created_at": c.created_at,
        "updated_at": c.updated_at,
    }


def _conference_from_entity(e: Any) -> Conference:
    return Conference(
        calendar_id=e.key.parent.name,
        event_id=e.key.name,
        solution_id=e["solution_id"],
        conference_id=e["conference_id"],
        meeting=meeting_from_dict(json.loads(e["meeting"])),
        snapshot=EventSnapshot.from_dict(json.loads(e["snapshot"])),
        state=e.get("state", "active"),
        confirmed=bool(e.get("confirmed", False)),
        occurrences=json.loads(e.get("occurrences") or "{}"),
        origin=e.get("origin", "create"),
        created_at=e.get("created_at"),
        updated_at=e.get("updated_at"),
    )
