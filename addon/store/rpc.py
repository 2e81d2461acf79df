"""Two Datastore calls on the raw protobuf messages, over the client's own gRPC channel.

``Client.get_multi`` and ``Batch.commit`` build their requests and read their answers through
proto-plus wrappers and the GAPIC layer's retry and logging wrappers. For the small calls of
a conference pick (a lookup of two or three keys, an insert of one record) that is about half
of each call's CPU in our process (a lookup of two keys: 0.53 ms against 0.27 ms on the local
emulator), and a large share of a sync's lookups of a thousand keys. ``RawCalls`` sends the
same ``Lookup`` and ``Commit`` RPCs with the raw request messages, on the channel every
other call of the client uses (its credentials, its connection), with the routing header the
GAPIC client adds; the entities are made and read by the library's own ``helpers``
(``entity_to_protobuf``, ``entity_from_protobuf``): callers see what the library returns.

Used only where the library would make the same plain call: inside a transaction
(``client.current_transaction``) the library's call is used, as it is when the client does
not speak gRPC (``GOOGLE_CLOUD_DISABLE_GRPC``) or no longer exposes its GAPIC client
(``client._datastore_api`` is private: ``RawCalls.fast`` says whether the raw path is in use,
and a test pins it for the library version we ship). gRPC errors become the
``google.api_core`` exceptions the library raises, so ``_retrying`` treats them the same.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

# The GAPIC client's default deadline for both calls (datastore_v1 transports' base).
TIMEOUT_SECONDS = 60.0
_SERVICE = "/google.datastore.v1.Datastore/"


class RawCalls:
    def __init__(self, client: Any) -> None:
        self._client = client
        self._lock = threading.Lock()
        self._stubs: dict[str, Any] | None = None
        self._built = False

    @property
    def fast(self) -> bool:
        """Whether calls go over the raw channel (False: through the library)."""
        return self._rpcs() is not None

    def lookup(self, keys: Sequence[Any]) -> list[Any]:
        """The entities found for ``keys`` (missing keys left out), as ``get_multi``."""
        client = self._client
        if not keys:
            return []
        rpcs = self._rpcs()
        if rpcs is None or client.current_transaction is not None:
            return list(client.get_multi(keys))
        from google.cloud.datastore import helpers

        pending = [key.to_protobuf()._pb for key in keys]
        if any(k.partition_id.project_id != client.project for k in pending):
            raise ValueError("Keys do not match project")
        found: list[Any] = []
        while pending:
            request = rpcs["LookupRequest"](project_id=client.project)
            if client.database:
                request.database_id = client.database
            request.keys.extend(pending)
            response = self._send(rpcs["Lookup"], request)
            found.extend(helpers.entity_from_protobuf(r.entity) for r in response.found)
            # Datastore may answer part of a big lookup and defer the rest: ask again.
            pending = list(response.deferred)
        return found

    def insert(self, entity: Any) -> bool:
        """Write ``entity`` only if no entity has its key, in one non-transactional commit
        whose one mutation is an ``insert``. False when Datastore refused it (the key exists):
        nothing was written."""
        from google.api_core import exceptions as gexc

        client = self._client
        rpcs = self._rpcs()
        if rpcs is None:
            return _insert_through_batch(client, entity)
        from google.cloud.datastore import helpers

        request = rpcs["CommitRequest"](project_id=client.project)
        if client.database:
            request.database_id = client.database
        request.mode = rpcs["CommitRequest"].NON_TRANSACTIONAL
        request.mutations.add().insert.CopyFrom(helpers.entity_to_protobuf(entity)._pb)
        try:
            self._send(rpcs["Commit"], request)
        except gexc.AlreadyExists:
            return False
        return True

    def _send(self, rpc: Any, request: Any) -> Any:
        from google.api_core import exceptions as gexc

        try:
            return rpc(request, metadata=self._metadata(), timeout=TIMEOUT_SECONDS)
        except Exception as exc:
            if _is_grpc_error(exc):
                raise gexc.from_grpc_error(exc) from exc
            raise

    def _metadata(self) -> tuple[tuple[str, str], ...]:
        from google.api_core.gapic_v1 import routing_header

        params = {"project_id": self._client.project}
        if self._client.database:
            params["database_id"] = self._client.database
        return (routing_header.to_grpc_metadata(params),)

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
    for method in ("Lookup", "Commit"):
        request = getattr(types, method + "Request").pb()
        response = getattr(types, method + "Response").pb()
        stubs[method] = channel.unary_unary(
            _SERVICE + method,
            request_serializer=request.SerializeToString,
            response_deserializer=response.FromString,
        )
        stubs[method + "Request"] = request
    return stubs


def _insert_through_batch(client: Any, entity: Any) -> bool:
    """The library's way: ``Batch.mutations`` is the documented list of the protobuf
    mutations the commit sends; ``put`` adds an upsert, turned into an insert here."""
    from google.api_core import exceptions as gexc

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
