"""Offline consent on Datastore: the grants users gave and the consent flows under way.

* ``OfflineGrant`` key ``(OfflineGrant, <Google user id>)``: the user's refresh token, sealed
  (``addon.sealing``, context ``grant_context(user_id)``), the scopes granted, and whether it
  still works. A refused refresh (``invalid_grant``: the user revoked access in their Google
  account, or it expired) drops the token and leaves ``state="needs_consent"`` with the reason,
  so the user is shown as needing to consent again and nothing retries in a loop.
* ``ConsentFlow`` key ``(ConsentFlow, <random id>)``: one authorization request under way, the
  id being the OAuth ``state`` parameter. It holds who started it (verified user id and email)
  and the PKCE code verifier, sealed. ``take_consent_flow`` deletes it in the same transaction
  that reads it, so a callback can use it once; it is refused past ``FLOW_LIFETIME``.

Both are keyed by the user id (``sub``) Google's verified ID tokens carry, never an email read
from event data.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from addon.store.base import DatastoreBase

OFFLINE_GRANT = "OfflineGrant"
CONSENT_FLOW = "ConsentFlow"
# An authorization request is expected to come back within minutes; Google's codes last 10.
FLOW_LIFETIME = timedelta(minutes=15)

GrantState = Literal["active", "needs_consent"]


@dataclass(frozen=True)
class OfflineGrant:
    user_id: str
    email: str
    refresh_token: Mapping[str, str] | None  # sealed; None once dropped
    scopes: tuple[str, ...] = ()
    state: GrantState = "active"
    reason: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def usable(self) -> bool:
        return self.state == "active" and self.refresh_token is not None

    def with_(self, **changes: Any) -> OfflineGrant:
        return replace(self, **changes)


@dataclass(frozen=True)
class ConsentFlow:
    flow_id: str
    user_id: str
    email: str
    code_verifier: Mapping[str, str]  # sealed
    created_at: datetime


class GrantRecords(DatastoreBase):
    def _grant_key(self, user_id: str) -> Any:
        return self._client.key(OFFLINE_GRANT, user_id)

    def get_grant(self, user_id: str) -> OfflineGrant | None:
        entity = self._retrying(lambda: self._client.get(self._grant_key(user_id)))
        return _grant_from_entity(entity) if entity is not None else None

    def put_grant(self, grant: OfflineGrant) -> OfflineGrant:
        entity, grant = self._grant_entity(grant)
        self._retrying(lambda: self._client.put(entity))
        return grant

    def _grant_entity(self, grant: OfflineGrant) -> tuple[Any, OfflineGrant]:
        from google.cloud import datastore

        now = self._clock()
        grant = grant.with_(created_at=grant.created_at or now, updated_at=now)
        entity = datastore.Entity(
            self._grant_key(grant.user_id),
            exclude_from_indexes=("refresh_token", "scopes", "reason", "email"),
        )
        entity.update(
            {
                "email": grant.email,
                "refresh_token": json.dumps(dict(grant.refresh_token))
                if grant.refresh_token
                else None,
                "scopes": json.dumps(list(grant.scopes)),
                "state": grant.state,
                "reason": grant.reason,
                "created_at": grant.created_at,
                "updated_at": grant.updated_at,
            }
        )
        return entity, grant

    def drop_grant(self, user_id: str, reason: str) -> OfflineGrant | None:
        """Forget the refresh token and mark the user as needing consent (the record stays so
        the user's state can be shown). None if the user never consented."""

        def run() -> OfflineGrant | None:
            entity = self._client.get(self._grant_key(user_id))
            if entity is None:
                return None
            dropped = _grant_from_entity(entity).with_(
                refresh_token=None, state="needs_consent", reason=reason
            )
            new_entity, dropped = self._grant_entity(dropped)
            self._client.put(new_entity)
            return dropped

        return self._transaction(run)

    # ---- consent flows ------------------------------------------------------------------
    def put_consent_flow(self, flow: ConsentFlow) -> None:
        from google.cloud import datastore

        entity = datastore.Entity(
            self._client.key(CONSENT_FLOW, flow.flow_id),
            exclude_from_indexes=("code_verifier", "email", "user_id"),
        )
        entity.update(
            {
                "user_id": flow.user_id,
                "email": flow.email,
                "code_verifier": json.dumps(dict(flow.code_verifier)),
                "created_at": flow.created_at,
            }
        )
        self._retrying(lambda: self._client.put(entity))

    def take_consent_flow(self, flow_id: str) -> ConsentFlow | None:
        """The flow, deleted in the same transaction (single use); None when unknown, used
        already or older than ``FLOW_LIFETIME``."""
        key = self._client.key(CONSENT_FLOW, flow_id)
        now = self._clock()

        def run() -> ConsentFlow | None:
            entity = self._client.get(key)
            if entity is None:
                return None
            self._client.delete(key)
            flow = ConsentFlow(
                flow_id=flow_id,
                user_id=entity["user_id"],
                email=entity["email"],
                code_verifier=json.loads(entity["code_verifier"]),
                created_at=entity["created_at"],
            )
            return flow if now - flow.created_at <= FLOW_LIFETIME else None

        return self._transaction(run)


def _grant_from_entity(e: Any) -> OfflineGrant:
    token = e.get("refresh_token")
    return OfflineGrant(
        user_id=e.key.name,
        email=e.get("email") or "",
        refresh_token=json.loads(token) if token else None,
        scopes=tuple(json.loads(e.get("scopes") or "[]")),
        state="active" if e.get("state") == "active" else "needs_consent",
        reason=e.get("reason"),
        created_at=e.get("created_at"),
        updated_at=e.get("updated_at"),
    )
