"""What every part of the store shares: the Datastore client and clock, entity keys, and
transactions retried through contention and brief outages."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Self, TypeVar

from addon.store.entities import CALENDAR, CONFERENCE, PENDING
from addon.store.errors import Contention, StoreUnavailable
from addon.store.rpc import RawCalls

T = TypeVar("T")

# Contending transactions in one entity group are aborted all but one at a time (a burst of
# picks on one calendar, a trigger storm): retry with jittered backoff for this long at most.
TRANSACTION_BUDGET_SECONDS = 10.0
TRANSACTION_ATTEMPTS = 40


def utcnow() -> datetime:
    return datetime.now(UTC)


class DatastoreBase:
    """``client`` is a ``google.cloud.datastore.Client``; ``clock`` stamps what is written."""

    def __init__(
        self,
        client: Any,
        clock: Callable[[], datetime] = utcnow,
        *,
        transaction_budget: float = TRANSACTION_BUDGET_SECONDS,
        raw_calls: bool = True,
    ) -> None:
        self._client = client
        self._clock = clock
        self._transaction_budget = transaction_budget
        # False: every call through the library (as with a client without gRPC; tests).
        self._raw = RawCalls(client, enabled=raw_calls)

    @classmethod
    def connect(cls, project: str, namespace: str | None = None) -> Self:
        from google.cloud import datastore

        return cls(datastore.Client(project=project, namespace=namespace))

    # ---- keys and transactions ----------------------------------------------------------
    def _key(self, *path: Any) -> Any:
        """A key of this client's project, database and namespace (as ``Client.key`` makes
        it), whose path views are cheap (``record_key``)."""
        client = self._client
        return record_key()(
            *path, project=client.project, database=client.database, namespace=client.namespace
        )

    def _cal_key(self, calendar_id: str) -> Any:
        return self._key(CALENDAR, calendar_id)

    def _conf_key(self, calendar_id: str, event_id: str) -> Any:
        return self._key(CALENDAR, calendar_id, CONFERENCE, event_id)

    def _pending_key(self, calendar_id: str, event_id: str) -> Any:
        return self._key(CALENDAR, calendar_id, PENDING, event_id)

    def _get_multi(self, keys: Sequence[Any]) -> list[Any]:
        """``get_multi``, cheaper (``addon.store.rpc``), retried as every read is."""
        return self._retrying(lambda: self._raw.lookup(keys))

    def _transaction(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` in a transaction, retrying on contention (``Contention`` when the budget
        runs out). ``fn`` may run several times; only the attempt that committed counts."""

        def attempt() -> T:
            # begin_later: the transaction begins with its first read (every ours starts with
            # one), saving the BeginTransaction round trip.
            with self._client.transaction(begin_later=True):
                return fn()

        return self._retrying(attempt)

    def _insert(self, key: Any, props: Mapping[str, Any], exclude: Collection[str]) -> bool:
        """Write this entity only if no entity has its key (one commit of an ``insert``
        mutation, ``RawCalls.insert``). False when the entity exists: Datastore refused the
        insert, nothing was written. A retry after a lost answer finds its own insert there
        and answers False too; the caller then reads what is stored."""
        return self._retrying(lambda: self._raw.insert(key, props, exclude))

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


_record_key: list[type] = []


def record_key() -> type:
    """``google.cloud.datastore.Key`` whose ``path`` is made from its ``flat_path``.

    The library's ``Key.path`` deep-copies the key's path, and ``name``, ``kind``, ``id``,
    ``is_partial`` and ``to_protobuf`` all go through it: a sync's lookups and commits of
    thousands of keys spent a measurable share of their CPU in ``copy.deepcopy``. The path
    built here is the same list of dicts, new on every call as the library's copy is, from
    the public ``flat_path`` tuple; ``to_protobuf`` builds the same message more cheaply.
    (Made on first use: the Datastore library is imported lazily, as everywhere in the
    store.)"""
    if not _record_key:
        from google.cloud.datastore import Key
        from google.cloud.datastore_v1.types import entity as entity_pb2

        class RecordKey(Key):
            @property
            def path(self) -> list[dict[str, Any]]:
                flat = self.flat_path
                out: list[dict[str, Any]] = []
                for i in range(0, len(flat), 2):
                    item: dict[str, Any] = {"kind": flat[i]}
                    if i + 1 < len(flat):
                        value = flat[i + 1]
                        item["id" if isinstance(value, int) else "name"] = value
                    out.append(item)
                return out

            def to_protobuf(self) -> Any:
                # The same message the library builds field by field through proto-plus,
                # built on the raw protobuf class and wrapped (proto-plus' public pb()/wrap()):
                # about 2 µs a key instead of 30.
                raw = entity_pb2.Key.pb()()
                raw.partition_id.project_id = self.project
                if self.database:
                    raw.partition_id.database_id = self.database
                if self.namespace:
                    raw.partition_id.namespace_id = self.namespace
                for item in self.path:
                    raw.path.add(**item)
                return entity_pb2.Key.wrap(raw)

        _record_key.append(RecordKey)
    return _record_key[0]


def eq(prop: str, value: Any) -> Any:
    from google.cloud.datastore.query import PropertyFilter

    return PropertyFilter(prop, "=", value)
