"""Datastore calls on the raw protobuf messages, over the client's own gRPC channel.

``Client.get_multi`` and ``Batch.commit`` build their requests and read their answers through
proto-plus wrappers and the GAPIC layer's retry and logging wrappers. For the small calls of
a conference pick (a lookup of two or three keys, an insert of one record) that is about half
of each call's CPU in our process (a lookup of two keys: 0.53 ms against 0.27 ms on the local
emulator), and a large share of a sync's lookups of a thousand keys. ``RawCalls`` sends the
same ``Lookup`` and ``Commit`` RPCs with the raw request messages, on the channel every
other call of the client uses (its credentials, its connection), with the routing header the
GAPIC client adds; the entities are made and read by the library's own ``helpers``
(``entity_to_protobuf``, ``entity_from_protobuf``): callers see what the library returns.

A sync's fenced commit (``ConferenceRecords.commit_batch``) runs its transaction the same
way (``RawTransaction``: the lookup that begins it, the commit, a rollback when it fails),
reading the raw entities through ``RawEntity`` (a property is read when asked for) and
writing entities made by ``raw_entity``, which builds the message ``entity_to_protobuf``
builds for the value types the store writes (a test compares them byte for byte) without the
``Entity`` and proto-plus objects in between.

Used only where the library would make the same plain call: inside a transaction
(``client.current_transaction``) the library's call is used, as it is when the client does
not speak gRPC (``GOOGLE_CLOUD_DISABLE_GRPC``) or no longer exposes its GAPIC client
(``client._datastore_api`` is private: ``RawCalls.fast`` says whether the raw path is in use,
and a test pins it for the library version we ship). gRPC errors become the
``google.api_core`` exceptions the library raises, so ``_retrying`` treats them the same.
"""

from __future__ import annotations

import contextlib
import datetime
import threading
from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import Any

# The GAPIC client's default deadline for both calls (datastore_v1 transports' base).
TIMEOUT_SECONDS = 60.0
_SERVICE = "/google.datastore.v1.Datastore/"
_METHODS = ("Lookup", "Commit", "Rollback", "RunQuery")


class RawCalls:
    def __init__(self, client: Any, *, enabled: bool = True) -> None:
        from google.api_core.gapic_v1 import routing_header

        self._client = client
        # The routing header the GAPIC client adds to every call (the same on each).
        params = {"project_id": client.project}
        if client.database:
            params["database_id"] = client.database
        self._routing = (routing_header.to_grpc_metadata(params),)
        self._lock = threading.Lock()
        self._stubs: dict[str, Any] | None = None
        self._built = not enabled  # disabled: never built, every call is the library's

    @property
    def fast(self) -> bool:
        """Whether calls go over the raw channel (False: through the library)."""
        return self._rpcs() is not None

    def lookup(self, keys: Sequence[Any]) -> list[Any]:
        """The entities found for ``keys`` (missing keys left out), as ``get_multi``."""
        from google.cloud.datastore import helpers

        found = self._lookup(keys)
        if found is None:
            return list(self._client.get_multi(keys))
        return [helpers.entity_from_protobuf(entity) for entity in found]

    def lookup_light(self, keys: Sequence[Any]) -> list[Any]:
        """The entities found for ``keys`` as ``RawEntity`` mappings (properties and
        ``key.flat_path``: what the store's ``*_from_entity`` functions read), or the
        library's entities when it makes the call."""
        found = self._lookup(keys)
        if found is None:
            return list(self._client.get_multi(keys))
        return [RawEntity(entity) for entity in found]

    def _lookup(self, keys: Sequence[Any]) -> list[Any] | None:
        """The raw entities found; None: the library must make the call."""
        client = self._client
        if not keys:
            return []
        rpcs = self._rpcs()
        if rpcs is None or client.current_transaction is not None:
            return None
        pending = [key.to_protobuf()._pb for key in keys]
        if any(k.partition_id.project_id != client.project for k in pending):
            raise ValueError("Keys do not match project")
        return self._read(rpcs, pending)

    def _read(
        self, rpcs: Mapping[str, Any], pending: list[Any], txn: RawTransaction | None = None
    ) -> list[Any]:
        """The raw entities found for raw keys, read in ``txn`` when given (its first read
        begins it, and the answer names it)."""
        found: list[Any] = []
        while pending:
            request = self._request(rpcs, "Lookup")
            if txn is not None and txn.id is None:
                request.read_options.new_transaction.read_write.SetInParent()
            elif txn is not None:
                request.read_options.transaction = txn.id
            request.keys.extend(pending)
            response = self._send(rpcs["Lookup"], request)
            if txn is not None and txn.id is None:
                txn.id = response.transaction
            found.extend(r.entity for r in response.found)
            # Datastore may answer part of a big lookup and defer the rest: ask again.
            pending = list(response.deferred)
        return found

    def insert(self, key: Any, props: Mapping[str, Any], exclude: Collection[str]) -> bool:
        """Write the entity of this key (a library ``Key``), properties and unindexed names
        only if no entity has its key, in one non-transactional commit whose one mutation is
        an ``insert``. False when Datastore refused it (the key exists): nothing was written."""
        from google.api_core import exceptions as gexc

        client = self._client
        rpcs = self._rpcs()
        if rpcs is None:
            return _insert_through_batch(client, key, props, exclude)
        request = self._request(rpcs, "Commit")
        request.mode = rpcs["CommitRequest"].NON_TRANSACTIONAL
        request.mutations.add().insert.CopyFrom(raw_entity(key_pb(key), props, exclude))
        try:
            self._send(rpcs["Commit"], request)
        except gexc.AlreadyExists:
            return False
        return True

    def keys_where(self, kind: str, ancestor: Any, equal: Mapping[str, str]) -> list[Any] | None:
        """The raw keys of the ``kind`` entities under ``ancestor`` (a library ``Key``) whose
        properties equal ``equal``: a keys-only ancestor query, every batch of it (strongly
        consistent, as ancestor queries are). None when not ``fast`` (use the library)."""
        rpcs = self._rpcs()
        if rpcs is None:
            return None
        request = self._request(rpcs, "RunQuery")
        ancestor_pb = key_pb(ancestor)
        request.partition_id.CopyFrom(ancestor_pb.partition_id)
        query = request.query
        query.kind.add(name=kind)
        query.projection.add().property.name = "__key__"
        filters = query.filter.composite_filter
        filters.op = filters.AND
        parent = filters.filters.add().property_filter
        parent.property.name = "__key__"
        parent.op = parent.HAS_ANCESTOR
        parent.value.key_value.CopyFrom(ancestor_pb)
        for name, value in equal.items():
            condition = filters.filters.add().property_filter
            condition.property.name = name
            condition.op = condition.EQUAL
            condition.value.string_value = value
        keys: list[Any] = []
        while True:
            batch = self._send(rpcs["RunQuery"], request).batch
            keys.extend(r.entity.key for r in batch.entity_results)
            if batch.more_results != batch.NOT_FINISHED:
                return keys
            query.start_cursor = batch.end_cursor

    def transaction(self) -> RawTransaction:
        """A read-write transaction that begins with its first lookup (``RawTransaction``);
        only when ``fast``."""
        rpcs = self._rpcs()
        if rpcs is None:
            raise RuntimeError("no gRPC channel: use the library's transaction")
        return RawTransaction(self, rpcs)

    def _request(self, rpcs: Mapping[str, Any], method: str) -> Any:
        request = rpcs[method + "Request"](project_id=self._client.project)
        if self._client.database:
            request.database_id = self._client.database
        return request

    def _send(self, rpc: Any, request: Any) -> Any:
        from google.api_core import exceptions as gexc

        try:
            return rpc(request, metadata=self._routing, timeout=TIMEOUT_SECONDS)
        except Exception as exc:
            if _is_grpc_error(exc):
                raise gexc.from_grpc_error(exc) from exc
            raise

    def _rpcs(self) -> dict[str, Any] | None:
        with self._lock:
            if not self._built:
                self._built = True
                self._stubs = _raw_stubs(self._client)
            return self._stubs


def _raw_stubs(client: Any) -> dict[str, Any] | None:
    """Lookup and Commit on the client's channel with raw protobuf (de)serializers, and the
    raw request classes; None when the client has no gRPC channel to share."""
    from google.cloud.datastore_v1.types import datastore as types

    api = getattr(client, "_datastore_api", None)  # private: see the module docstring
    channel = getattr(getattr(api, "transport", None), "grpc_channel", None)
    if channel is None or not hasattr(channel, "unary_unary"):
        return None
    stubs: dict[str, Any] = {}
    for method in _METHODS:
        request = getattr(types, method + "Request").pb()
        response = getattr(types, method + "Response").pb()
        stubs[method] = channel.unary_unary(
            _SERVICE + method,
            request_serializer=request.SerializeToString,
            response_deserializer=response.FromString,
        )
        stubs[method + "Request"] = request
    return stubs


class RawTransaction:
    """One read-write transaction on raw messages: ``lookup`` (the first begins it, as the
    library's ``begin_later`` does: no BeginTransaction round trip), ``upsert`` and
    ``delete`` collect mutations, ``commit`` sends them. Leaving the ``with`` block without
    a commit (an exception, ``LeaseLost``) rolls it back, so Datastore releases it at once."""

    def __init__(self, calls: RawCalls, rpcs: Mapping[str, Any]) -> None:
        self._calls = calls
        self._rpcs = rpcs
        self.id: bytes | None = None
        self._mutations: list[Any] = []
        self._mutation_type = rpcs["CommitRequest"]().mutations.add().__class__
        self._done = False

    def __enter__(self) -> RawTransaction:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._done or self.id is None:
            return
        self._done = True
        request = self._calls._request(self._rpcs, "Rollback")
        request.transaction = self.id
        # Best effort: a transaction nobody ends times out on Datastore's side.
        with contextlib.suppress(Exception):
            self._calls._send(self._rpcs["Rollback"], request)

    def lookup(self, key_pbs: Sequence[Any]) -> list[Any]:
        """The raw entities found for these raw keys, read in the transaction."""
        return self._calls._read(self._rpcs, list(key_pbs), self)

    def upsert(self, entity_pb: Any) -> None:
        mutation = self._mutation_type()
        mutation.upsert.CopyFrom(entity_pb)
        self._mutations.append(mutation)

    # The same three operations as ``LibraryWrites``, on library keys: what a fenced commit
    # does inside its transaction, whichever way it is made.
    def read(self, keys: Sequence[Any]) -> list[RawEntity]:
        return [RawEntity(e) for e in self.lookup([key_pb(k) for k in keys])]

    def put(self, key: Any, props: Mapping[str, Any], exclude: Collection[str]) -> None:
        self.upsert(raw_entity(key_pb(key), props, exclude))

    def delete(self, key: Any) -> None:
        mutation = self._mutation_type()
        mutation.delete.CopyFrom(key_pb(key))
        self._mutations.append(mutation)

    def commit(self) -> None:
        if self.id is None:
            raise RuntimeError("a transaction commits after its first lookup")
        request = self._calls._request(self._rpcs, "Commit")
        request.mode = self._rpcs["CommitRequest"].TRANSACTIONAL
        request.transaction = self.id
        request.mutations.extend(self._mutations)
        self._done = True  # committed or failed, Datastore ends the transaction either way
        self._calls._send(self._rpcs["Commit"], request)


def key_pb(key: Any) -> Any:
    """The raw message of a library ``Key``."""
    return key.to_protobuf()._pb


def raw_entity(key: Any, props: Mapping[str, Any], exclude: Collection[str]) -> Any:
    """The raw ``Entity`` message ``helpers.entity_to_protobuf`` makes for an entity of this
    key (a raw ``Key`` message), these properties and these unindexed names, for the value
    types the store writes: None, bool, int, float, str, bytes and aware datetimes; an
    entity with any other value is made by the library."""
    from google.cloud.datastore_v1.types import entity as entity_types

    entity = entity_types.Entity.pb()()
    entity.key.CopyFrom(key)
    properties = entity.properties
    for name, value in props.items():
        value_pb = properties[name]
        if value is None:
            value_pb.null_value = 0
        elif isinstance(value, bool):
            value_pb.boolean_value = value
        elif isinstance(value, int):
            value_pb.integer_value = value
        elif isinstance(value, float):
            value_pb.double_value = value
        elif isinstance(value, str):
            value_pb.string_value = value
        elif isinstance(value, bytes):
            value_pb.blob_value = value
        elif isinstance(value, datetime.datetime) and value.tzinfo is not None:
            micros = _micros(value)
            value_pb.timestamp_value.seconds = micros // 1_000_000
            value_pb.timestamp_value.nanos = (micros % 1_000_000) * 1000
        else:
            return _library_entity(key, props, exclude)
        if name in exclude:
            value_pb.exclude_from_indexes = True
    return entity


def _library_entity(key: Any, props: Mapping[str, Any], exclude: Collection[str]) -> Any:
    from google.cloud.datastore import Entity, helpers

    entity = Entity(helpers.key_from_protobuf(key), exclude_from_indexes=tuple(exclude))
    entity.update(props)
    return helpers.entity_to_protobuf(entity)._pb


_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def _micros(when: datetime.datetime) -> int:
    # As the library does: whole microseconds since the epoch, in UTC.
    delta = when - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def raw_value(entity_pb: Any, name: str, default: Any = None) -> Any:
    """A property of a raw entity as the library would read it, for the value types
    ``raw_entity`` writes (a datetime comes back aware, in UTC); ``default`` when absent."""
    if name not in entity_pb.properties:
        return default
    value = entity_pb.properties[name]
    kind = value.WhichOneof("value_type")
    if kind is None or kind == "null_value":
        return None
    if kind == "timestamp_value":
        ts = value.timestamp_value
        return _EPOCH + datetime.timedelta(seconds=ts.seconds, microseconds=ts.nanos // 1000)
    if kind in ("boolean_value", "integer_value", "double_value", "string_value", "blob_value"):
        return getattr(value, kind)
    from google.cloud.datastore import helpers

    return helpers.entity_from_protobuf(entity_pb)[name]


class RawKey:
    """The ``flat_path`` of a raw key, as the library's ``Key`` has it."""

    __slots__ = ("flat_path",)

    def __init__(self, key: Any) -> None:
        flat: list[Any] = []
        for element in key.path:
            flat.append(element.kind)
            flat.append(element.name if element.WhichOneof("id_type") == "name" else element.id)
        self.flat_path = tuple(flat)


class RawEntity(Mapping[str, Any]):
    """A raw entity's properties (each read when asked for, as ``raw_value`` reads it) and
    its key's ``flat_path``: what the store reads of a library ``Entity``, without making
    one."""

    __slots__ = ("_entity", "key")

    def __init__(self, entity: Any) -> None:
        self._entity = entity
        self.key = RawKey(entity.key)

    def __getitem__(self, name: str) -> Any:
        if name not in self._entity.properties:
            raise KeyError(name)
        return raw_value(self._entity, name)

    def __contains__(self, name: object) -> bool:
        return name in self._entity.properties

    def __iter__(self) -> Iterator[str]:
        return iter(self._entity.properties)

    def __len__(self) -> int:
        return len(self._entity.properties)


class LibraryWrites:
    """``RawTransaction``'s ``read``, ``put`` and ``delete`` through the library's client,
    inside the library's transaction (a client without gRPC)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def read(self, keys: Sequence[Any]) -> list[Any]:
        return list(self._client.get_multi(keys))

    def put(self, key: Any, props: Mapping[str, Any], exclude: Collection[str]) -> None:
        from google.cloud.datastore import Entity

        entity = Entity(key, exclude_from_indexes=tuple(exclude))
        entity.update(props)
        self._client.put(entity)

    def delete(self, key: Any) -> None:
        self._client.delete(key)


def _insert_through_batch(
    client: Any, key: Any, props: Mapping[str, Any], exclude: Collection[str]
) -> bool:
    """The library's way: ``Batch.mutations`` is the documented list of the protobuf
    mutations the commit sends; ``put`` adds an upsert, turned into an insert here."""
    from google.api_core import exceptions as gexc
    from google.cloud.datastore import Entity

    entity = Entity(key, exclude_from_indexes=tuple(exclude))
    entity.update(props)
    batch = client.batch()
    batch.begin()
    batch.put(entity)
    mutation = batch.mutations[-1]
    mutation.insert = mutation.upsert  # one of: setting insert clears the upsert
    try:
        batch.commit()
    except gexc.AlreadyExists:
        return False
    return True


def _is_grpc_error(exc: Exception) -> bool:
    import grpc  # type: ignore[import-untyped]

    return isinstance(exc, grpc.RpcError) and isinstance(exc, grpc.Call)
