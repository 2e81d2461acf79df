"""Per-event records on Datastore: ``Conference`` (an event's meeting) and ``Pending`` (a change
to replay or parked), and the sync's fenced compare-and-set batch commit of both."""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from addon.store.base import DatastoreBase, eq
from addon.store.entities import (
    CALENDAR,
    CONFERENCE,
    CONFERENCE_UNINDEXED,
    PENDING,
    PENDING_UNINDEXED,
    calendar_from_entity,
    conference_from_entity,
    conference_to_props,
    key_kind,
    key_name,
    pending_from_entity,
    pending_to_props,
)
from addon.store.errors import LeaseLost
from addon.store.preferences import USER_PREFERENCES, UserPreferences, preferences_from_entity
from addon.store.records import CalendarState, Conference, EventSnapshot, PendingChange
from addon.store.rpc import LibraryWrites, RawTransaction

# Datastore commits at most 500 mutations; the lease check reads one more entity.
BATCH_ENTITIES = 400
LOOKUP_KEYS = 1000


def _fetch_all(query: Any) -> list[Any]:
    return list(query.fetch())


@dataclass
class CreationView:
    """What ``creation_view`` read: the event's record, the calendar's state, the user's
    settings (None when no verified user was named)."""

    conference: Conference | None
    calendar: CalendarState | None
    preferences: UserPreferences | None


@dataclass
class BatchResult:
    """What ``commit_batch`` stored: the records with their new versions, and the event ids
    whose records were not written because they changed since the sync read them."""

    stored: list[Conference] = field(default_factory=list)
    superseded: list[str] = field(default_factory=list)


class ConferenceRecords(DatastoreBase):
    # ---- conferences --------------------------------------------------------------------
    def get_conference(self, calendar_id: str, event_id: str) -> Conference | None:
        key = self._conf_key(calendar_id, event_id)
        entity = self._retrying(lambda: self._client.get(key))
        return conference_from_entity(entity) if entity is not None else None

    def creation_view(
        self, calendar_id: str, event_id: str, user_id: str | None = None
    ) -> CreationView:
        """What onCreate reads before it calls the provider, in one lookup: the event's
        record, the calendar's state and (for a verified ``user_id``) the user's settings."""
        conf_key, cal_key = self._conf_key(calendar_id, event_id), self._cal_key(calendar_id)
        keys = [conf_key, cal_key]
        if user_id is not None:
            keys.append(self._client.key(USER_PREFERENCES, user_id))
        found = self._get_multi(keys)
        view = CreationView(
            None, None, preferences_from_entity(user_id, None) if user_id is not None else None
        )
        for entity in found:
            kind = key_kind(entity.key)
            if kind == CONFERENCE:
                view.conference = conference_from_entity(entity)
            elif kind == CALENDAR:
                view.calendar = calendar_from_entity(calendar_id, entity)
            elif user_id is not None:
                view.preferences = preferences_from_entity(user_id, entity)
        return view

    def get_conferences(self, calendar_id: str, event_ids: Iterable[str]) -> dict[str, Conference]:
        keys = [self._conf_key(calendar_id, e) for e in dict.fromkeys(event_ids)]
        out: dict[str, Conference] = {}
        for i in range(0, len(keys), LOOKUP_KEYS):
            chunk = keys[i : i + LOOKUP_KEYS]
            for entity in self._retrying(functools.partial(self._raw.lookup_light, chunk)):
                conf = conference_from_entity(entity)
                out[conf.event_id] = conf
        return out

    def live_record_ids(self, calendar_id: str) -> set[str]:
        """Event ids of the calendar's live records (active or retired): keys-only ancestor
        queries with one equality filter each, served by built-in indexes."""
        ids: set[str] = set()
        for state in ("active", "retired"):
            keys = self._retrying(
                functools.partial(
                    self._raw.keys_where, CONFERENCE, self._cal_key(calendar_id), {"state": state}
                )
            )
            if keys is not None:
                ids.update(k.path[-1].name for k in keys)
                continue
            query = self._client.query(kind=CONFERENCE, ancestor=self._cal_key(calendar_id))
            query.add_filter(filter=eq("state", state))
            query.keys_only()
            ids.update(
                key_name(e.key) for e in self._retrying(functools.partial(_fetch_all, query))
            )
        return ids

    def find_by_conference_id(self, conference_id: str) -> list[Conference]:
        query = self._client.query(kind=CONFERENCE)
        query.add_filter(filter=eq("conference_id", conference_id))
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
        query.add_filter(filter=eq("confirmed", False))
        query.add_filter(filter=eq("state", "active"))
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

    def save_creation(
        self, conference: Conference, *, absent: bool = False
    ) -> tuple[Conference, bool, Conference | None]:
        """Store a record for a meeting just created by onCreate, unless a record for the same
        event and solution is live (a concurrent duplicate won). Returns the stored record,
        whether ours was written, and the record it replaced (its meeting is the caller's to
        retire). A smaller transaction than any other: one entity.

        ``absent``: the caller read no record for the event (``creation_view``). The record
        is then *inserted* in one commit, which Datastore refuses when any record for the
        event exists by then (a concurrent duplicate, a sync's copy); only then does the
        transaction below read it and decide, as it does whenever a record was read."""
        if absent:
            stored = self._stamped(conference, 1)
            key = self._conf_key(stored.calendar_id, stored.event_id)
            if self._insert(key, conference_to_props(stored), CONFERENCE_UNINDEXED):
                return stored, True, None

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

    def swap_meeting(self, expected: Conference, replacement: Conference) -> Conference | None:
        """Replace the event's record by ``replacement`` (a new meeting for the same event)
        only if it is still ``expected`` (same version): a sync or a creation that wrote it
        meanwhile wins, and None is returned. One entity, one transaction."""

        def run() -> Conference | None:
            found = self._client.get(self._conf_key(expected.calendar_id, expected.event_id))
            current = conference_from_entity(found) if found is not None else None
            if current is None or current.version != expected.version:
                return None
            stored = self._stamped(replacement, current.version + 1)
            self._client.put(self._conference_entity(stored))
            return stored

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
            stored, superseded = self._commit_chunk(calendar_id, owner, ops[i : i + BATCH_ENTITIES])
            result.stored.extend(stored)
            result.superseded.extend(superseded)
        return result

    def _commit_chunk(
        self, calendar_id: str, owner: str, chunk: list[tuple[str, Any]]
    ) -> tuple[list[Conference], list[str]]:
        """One chunk in one transaction: on raw messages (``addon.store.rpc``, no ``Entity``
        made of every record read or written), or the library's for a client without gRPC."""
        if not self._raw.fast:
            writes = LibraryWrites(self._client)
            return self._transaction(
                functools.partial(self._fenced_writes, calendar_id, owner, chunk, writes)
            )

        def attempt() -> tuple[list[Conference], list[str]]:
            with self._raw.transaction() as txn:
                done = self._fenced_writes(calendar_id, owner, chunk, txn)
                txn.commit()
            return done

        return self._retrying(attempt)

    def _fenced_writes(
        self,
        calendar_id: str,
        owner: str,
        chunk: list[tuple[str, Any]],
        writes: RawTransaction | LibraryWrites,
    ) -> tuple[list[Conference], list[str]]:
        records = [r for kind, r in chunk if kind == "record"]
        cal_key = self._cal_key(calendar_id)
        keys = [self._conf_key(calendar_id, r.event_id) for r in records]
        # One lookup: the lease (the fence) and the records as stored (compare-and-set).
        found = writes.read([cal_key, *keys])
        calendar = next((e for e in found if key_kind(e.key) == CALENDAR), None)
        if calendar is None or calendar.get("lease_owner") != owner:
            raise LeaseLost(calendar_id)
        current = {key_name(e.key): e for e in found if key_kind(e.key) == CONFERENCE}
        stored: list[Conference] = []
        superseded: list[str] = []
        for record, key in zip(records, keys, strict=True):
            entity = current.get(record.event_id)
            version = int(entity.get("version", 0)) if entity is not None else 0
            newer = entity is not None and record.snapshot.is_older_than(
                EventSnapshot.from_dict(json.loads(entity["snapshot"]))
            )
            if version != record.version or newer:
                superseded.append(record.event_id)
                continue
            new = self._stamped(record, version + 1)
            writes.put(key, conference_to_props(new), CONFERENCE_UNINDEXED)
            stored.append(new)
        now = self._clock()
        for kind, item in chunk:
            if kind == "pending":
                props = pending_to_props(dataclasses.replace(item, updated_at=now))
                writes.put(self._pending_key(calendar_id, item.event_id), props, PENDING_UNINDEXED)
            elif kind == "unpend":
                writes.delete(self._pending_key(calendar_id, item))
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
