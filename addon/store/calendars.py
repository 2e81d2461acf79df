"""Calendar state on Datastore: sync token, subscription, the sync lease, the run summary.

Every change is a transactional read-decide-write of the ``Calendar`` entity (``_decide``),
where ``due`` is derived in one place.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

from addon.store.base import DatastoreBase, eq
from addon.store.entities import (
    CALENDAR,
    CALENDAR_UNINDEXED,
    DUE_MARKER,
    SEEN_ALIVE,
    calendar_from_entity,
    calendar_to_props,
)
from addon.store.errors import StoreError
from addon.store.records import CalendarState, ListCursor

T = TypeVar("T")

# Datastore refuses entities over 1 MiB; event ids are usually 26 characters but may be
# 1,024, so chunks are cut by size, well below the limit.
SEEN_CHUNK_BYTES = 512 * 1024


class MissingSeen(StoreError):
    """A chunk of a sliced full listing's seen ids is gone; the listing must start over."""


def seen_chunks(ids: Sequence[str], limit: int = SEEN_CHUNK_BYTES) -> list[list[str]]:
    """Cut ``ids`` into chunks whose JSON stays under ``limit`` bytes."""
    chunks: list[list[str]] = []
    size = limit
    for i in ids:
        cost = len(i.encode()) + 4  # quotes, comma, space
        if size + cost > limit:
            chunks.append([])
            size = 2
        chunks[-1].append(i)
        size += cost
    return chunks


class CalendarRecords(DatastoreBase):
    # ---- calendar state -----------------------------------------------------------------
    def get_calendar(self, calendar_id: str) -> CalendarState | None:
        return self._retrying(lambda: self._read_calendar(calendar_id))

    def _read_calendar(self, calendar_id: str) -> CalendarState | None:
        """One read, no retry: inside a transaction a retry belongs to the transaction."""
        entity = self._client.get(self._cal_key(calendar_id))
        return calendar_from_entity(calendar_id, entity) if entity is not None else None

    def _get_or_new_calendar(self, calendar_id: str) -> CalendarState:
        return self._read_calendar(calendar_id) or CalendarState(calendar_id=calendar_id)

    def _put_calendar(self, state: CalendarState, was_due: bool = True) -> None:
        """Write the state and keep its due marker in step (same entity group, same
        transaction). ``was_due`` False: the state read was not due, so no marker to drop."""
        from google.cloud import datastore

        # A calendar with no check scheduled is left out of that index altogether, so the
        # sweep's range query over it never meets a null.
        unindexed = CALENDAR_UNINDEXED + (("next_check_at",) if state.next_check_at is None else ())
        entity = datastore.Entity(self._cal_key(state.calendar_id), exclude_from_indexes=unindexed)
        entity.update(calendar_to_props(state))
        self._client.put(entity)
        marker = self._client.key(CALENDAR, state.calendar_id, DUE_MARKER, "due")
        if state.due:
            self._client.put(datastore.Entity(marker))
        elif was_due:
            self._client.delete(marker)

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
            due = bool(
                new.dirty
                or new.pending_count
                or new.needs_full_sync
                or new.retry_at
                or new.cursor is not None
            )
            new = new.with_(due=due)
            self._put_calendar(new, was_due=current.due)
            return new, outcome

        return self._transaction(run)

    def subscribe(
        self,
        calendar_id: str,
        user_email: str | None,
        current: CalendarState | None = None,
        *,
        verified: tuple[str, str] | None = None,
    ) -> bool:
        """Mark the calendar subscribed; True if it was not before (first conference).
        ``current``: the state as the caller just read it (saves a lookup when subscribed).
        ``verified``: (sub, email) of the verified user acting; the first one becomes the
        calendar's sync user (whose stored credentials sync it without a trigger)."""
        current = current if current is not None else self.get_calendar(calendar_id)
        if current is not None and current.subscribed:
            # The common case, without a transaction; subscription is never undone.
            if verified is not None and current.sync_user_id is None:
                self.adopt_sync_user(calendar_id, *verified)
            return False

        def decide(state: CalendarState) -> tuple[CalendarState | None, bool]:
            if state.subscribed:
                return None, False
            new = state.with_(subscribed=True, subscribed_by=user_email)
            if verified is not None and state.sync_user_id is None:
                new = new.with_(sync_user_id=verified[0], sync_user_email=verified[1])
            return new, True

        return self._decide(calendar_id, decide)[1]

    def adopt_sync_user(self, calendar_id: str, user_id: str, email: str) -> bool:
        """Make this verified user the calendar's sync user if it has none; True if it did."""

        def decide(state: CalendarState) -> tuple[CalendarState | None, bool]:
            if state.sync_user_id is not None or not state.subscribed:
                return None, False
            return state.with_(sync_user_id=user_id, sync_user_email=email), True

        return self._decide(calendar_id, decide)[1]

    def calendars_of_user(self, user_id: str, limit: int = 1000) -> list[str]:
        """The calendars this user syncs (keys only; an equality query on an indexed property)."""
        query = self._client.query(kind=CALENDAR, filters=[eq("sync_user_id", user_id)])
        query.keys_only()
        return [e.key.name for e in query.fetch(limit=limit)]

    def get_calendars(self, calendar_ids: Sequence[str]) -> list[CalendarState]:
        """The states of these calendars (one lookup; unknown ids are left out)."""
        if not calendar_ids:
            return []
        keys = [self._cal_key(c) for c in calendar_ids]
        found = self._get_multi(keys)
        return [calendar_from_entity(e.key.name, e) for e in found]

    def move_check(self, calendar_id: str, was: datetime, to: datetime) -> None:
        """Move the calendar's periodic check from ``was`` to ``to`` (unless it moved since)."""
        self.update_calendar(
            calendar_id, lambda s: s.with_(next_check_at=to) if s.next_check_at == was else None
        )

    def checks_due(self, now: datetime, limit: int = 500) -> list[str]:
        """Subscribed calendars whose periodic check is due (``next_check_at <= now``): a range
        scan of one single-property index, whose cost follows the matches (keys only)."""
        from google.cloud.datastore.query import PropertyFilter

        query = self._client.query(
            kind=CALENDAR, filters=[PropertyFilter("next_check_at", "<=", now)]
        )
        query.keys_only()
        return [e.key.name for e in query.fetch(limit=limit)]

    def mark_needs_full_sync(self, calendar_id: str, reason: str) -> None:
        self.update_calendar(
            calendar_id,
            lambda s: s.with_(
                needs_full_sync=True,
                sync_token=None,
                cursor=None,
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
        cursor: ListCursor | None = None,
        seen: Sequence[str] = (),
        check_in: float | None = None,
    ) -> bool:
        """Store the new sync token and the run's summary, only while we hold the lease.

        A holder whose lease expired (it was slow or paused) must not overwrite the token
        a newer holder stored: that is how the token never goes backwards. ``retry_in``
        (seconds) means work was left behind and the calendar is retried then; None clears
        the retry schedule. ``cursor``: the listing is cut here and continues from it (None
        ends it); ``seen`` (ids a full listing showed alive in this slice) is stored with it,
        in the same transaction, as the cursor's next chunks (the stored cursor counts them).
        ``check_in`` (seconds): when the calendar is next synced without a notification (the
        periodic reconcile); None keeps what is scheduled.
        """
        now = self._clock()
        chunks = seen_chunks(seen) if cursor is not None else []
        first = cursor.seen_chunks if cursor is not None else 0
        if cursor is not None and chunks:
            cursor = replace(cursor, seen_chunks=first + len(chunks))

        def decide(state: CalendarState) -> tuple[CalendarState | None, bool]:
            if state.lease_owner != owner:
                return None, False
            if cursor is not None:
                for n, ids in enumerate(chunks, start=first):
                    self._put_seen(calendar_id, cursor.run_id, n, ids)
            summary = state.with_(
                cursor=cursor,
                last_sync_at=now,
                last_result=result,
                pending_count=pending_count,
                parked_count=parked_count,
                attention=attention,
                access_role=access_role or state.access_role,
                retry_count=state.retry_count + 1 if retry_in is not None else 0,
                retry_at=now + timedelta(seconds=retry_in) if retry_in is not None else None,
                next_check_at=(
                    now + timedelta(seconds=check_in)
                    if check_in is not None
                    else state.next_check_at
                ),
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

    # ---- ids a sliced full listing showed alive ------------------------------------------
    def _seen_key(self, calendar_id: str, run_id: str, n: int) -> Any:
        return self._client.key(CALENDAR, calendar_id, SEEN_ALIVE, f"{run_id}-{n:05d}")

    def _put_seen(self, calendar_id: str, run_id: str, n: int, ids: list[str]) -> None:
        from google.cloud import datastore

        entity = datastore.Entity(
            self._seen_key(calendar_id, run_id, n), exclude_from_indexes=("ids",)
        )
        entity["ids"] = json.dumps(ids)
        self._client.put(entity)

    def _seen_keys(self, calendar_id: str, cursor: ListCursor) -> list[Any]:
        return [self._seen_key(calendar_id, cursor.run_id, n) for n in range(cursor.seen_chunks)]

    def load_seen(self, calendar_id: str, cursor: ListCursor) -> set[str]:
        keys = self._seen_keys(calendar_id, cursor)
        found = self._get_multi(keys) if keys else []
        if len(found) != len(keys):
            # A chunk stored with the cursor is missing: nothing can say what was seen.
            raise MissingSeen(f"{len(keys) - len(found)} of {len(keys)} chunks are missing")
        return {i for e in found for i in json.loads(e["ids"])}

    def drop_seen(self, calendar_id: str, cursor: ListCursor) -> None:
        keys = self._seen_keys(calendar_id, cursor)
        if keys:
            self._retrying(lambda: self._client.delete_multi(keys))

    def due_calendars(self, limit: int = 500) -> list[str]:
        """Calendars with work to do (dirty, pending changes, full sync needed, a retry due).

        A keys-only query over the due markers (``DUE_MARKER``): its cost grows with the due
        calendars only, never with the subscribed ones.
        """
        query = self._client.query(kind=DUE_MARKER)
        query.keys_only()
        return [e.key.parent.name for e in query.fetch(limit=limit)]

    def all_calendars(self) -> list[CalendarState]:
        query = self._client.query(kind=CALENDAR)
        return [calendar_from_entity(e.key.name, e) for e in query.fetch()]
