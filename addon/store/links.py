"""Vendor account links on Datastore: the vendor tokens a user linked, and link flows under way.

* ``VendorLink`` key ``(VendorLink, "<solution id>:<Google user id>")``: the vendor's access
  and refresh tokens, each sealed (``addon.sealing``, context ``link_context``: the solution
  and the user, so a sealed token cannot be moved onto another user's or solution's link), when
  the access token expires, and ``version``, bumped on every write. A refresh writes only if the
  version is still the one it refreshed from (**compare-and-set**): two refreshes racing never
  put an older (rotated, now dead) refresh token over a newer one. A refused refresh leaves
  ``state="needs_link"`` with the reason and no tokens, so the next pick asks again, once.
* ``LinkFlow`` key ``(LinkFlow, <random nonce>)``: one linking under way, bound to the verified
  Google user who started it and the solution. It moves through ``issued`` (onCreate made the
  link) → ``google`` (the user pressed Continue: Google Sign-In under way) → ``vendor`` (the
  Google user was confirmed: the vendor's authorization under way, PKCE verifier sealed on it).
  ``advance_link_flow`` moves it one step in a transaction and ``take_link_flow`` deletes it in
  the transaction that reads it: each step can happen once. Flows older than
  ``LINK_FLOW_LIFETIME`` are refused; ``expires_at`` lets a Datastore TTL policy delete the ones
  abandoned halfway.

Both are keyed by the user id (``sub``) of a verified Google ID token, never an email.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from addon.store.base import DatastoreBase

VENDOR_LINK = "VendorLink"
LINK_FLOW = "LinkFlow"
# The whole linking (two sign-ins) is expected within minutes.
LINK_FLOW_LIFETIME = timedelta(minutes=10)

LinkState = Literal["active", "needs_link"]
FlowStage = Literal["issued", "google", "vendor"]


def link_context(solution_id: str, user_id: str) -> str:
    """Associated data of a link's sealed tokens (the NUL cannot occur in either id)."""
    return f"vendor-link\x00{solution_id}\x00{user_id}"


@dataclass(frozen=True)
class VendorLink:
    user_id: str
    solution_id: str
    email: str
    access_token: Mapping[str, str] | None  # sealed
    refresh_token: Mapping[str, str] | None  # sealed; None when the vendor issued none
    expires_at: datetime | None = None
    vendor_user_id: str | None = None
    state: LinkState = "active"
    reason: str | None = None
    version: int = 0
    # A process is refreshing the tokens until then (a claim taken by compare-and-set): others
    # wait for its result instead of spending the same refresh token.
    refreshing_until: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def usable(self) -> bool:
        return self.state == "active" and self.access_token is not None

    def with_(self, **changes: Any) -> VendorLink:
        return replace(self, **changes)


@dataclass(frozen=True)
class LinkFlow:
    nonce: str
    user_id: str
    email: str
    solution_id: str
    stage: FlowStage
    created_at: datetime
    code_verifier: Mapping[str, str] | None = None  # sealed, once at the vendor stage


class LinkRecords(DatastoreBase):
    def _link_key(self, solution_id: str, user_id: str) -> Any:
        return self._client.key(VENDOR_LINK, f"{solution_id}:{user_id}")

    def get_link(self, solution_id: str, user_id: str) -> VendorLink | None:
        key = self._link_key(solution_id, user_id)
        entity = self._retrying(lambda: self._client.get(key))
        return _link_from_entity(entity) if entity is not None else None

    def put_link(self, link: VendorLink) -> VendorLink:
        """Store a new link (a completed linking), whatever was there: version grows."""

        def run() -> VendorLink:
            current = self._client.get(self._link_key(link.solution_id, link.user_id))
            version = int(current.get("version", 0)) if current is not None else 0
            created = current.get("created_at") if current is not None else None
            entity, stored = self._link_entity(link.with_(version=version + 1, created_at=created))
            self._client.put(entity)
            return stored

        return self._transaction(run)

    def swap_link(self, link: VendorLink, expected_version: int) -> tuple[bool, VendorLink | None]:
        """Write ``link`` only if the stored version is still ``expected_version``
        (compare-and-set). Returns (written, the link as stored now)."""

        def run() -> tuple[bool, VendorLink | None]:
            current = self._client.get(self._link_key(link.solution_id, link.user_id))
            if current is None:
                return False, None
            stored = _link_from_entity(current)
            if stored.version != expected_version:
                return False, stored
            entity, written = self._link_entity(
                link.with_(version=expected_version + 1, created_at=stored.created_at)
            )
            self._client.put(entity)
            return True, written

        return self._transaction(run)

    def delete_link(self, solution_id: str, user_id: str) -> bool:
        """Forget the link (the user unlinked). True when one was held."""
        key = self._link_key(solution_id, user_id)

        def run() -> bool:
            current = self._client.get(key)
            if current is None:
                return False
            self._client.delete(key)
            return bool(current.get("access_token"))

        return self._transaction(run)

    def _link_entity(self, link: VendorLink) -> tuple[Any, VendorLink]:
        from google.cloud import datastore

        now = self._clock()
        link = link.with_(created_at=link.created_at or now, updated_at=now)
        entity = datastore.Entity(
            self._link_key(link.solution_id, link.user_id),
            exclude_from_indexes=(
                "access_token",
                "refresh_token",
                "email",
                "reason",
                "vendor_user_id",
                "expires_at",
                "version",
                "refreshing_until",
            ),
        )
        entity.update(
            {
                "user_id": link.user_id,
                "solution_id": link.solution_id,
                "email": link.email,
                "access_token": _dump(link.access_token),
                "refresh_token": _dump(link.refresh_token),
                "expires_at": link.expires_at,
                "vendor_user_id": link.vendor_user_id,
                "state": link.state,
                "reason": link.reason,
                "version": link.version,
                "refreshing_until": link.refreshing_until,
                "created_at": link.created_at,
                "updated_at": link.updated_at,
            }
        )
        return entity, link

    # ---- link flows ---------------------------------------------------------------------
    def put_link_flow(self, flow: LinkFlow) -> None:
        entity = self._flow_entity(flow)
        self._retrying(lambda: self._client.put(entity))

    def _flow_entity(self, flow: LinkFlow) -> Any:
        from google.cloud import datastore

        entity = datastore.Entity(
            self._client.key(LINK_FLOW, flow.nonce),
            exclude_from_indexes=(
                "code_verifier",
                "email",
                "user_id",
                "solution_id",
                "stage",
                "expires_at",
            ),
        )
        entity.update(
            {
                "user_id": flow.user_id,
                "email": flow.email,
                "solution_id": flow.solution_id,
                "stage": flow.stage,
                "code_verifier": _dump(flow.code_verifier),
                "created_at": flow.created_at,
                # When the flow is of no use any more: a Datastore TTL policy on this property
                # deletes abandoned flows (nothing reads it; expiry is checked on created_at).
                "expires_at": flow.created_at + LINK_FLOW_LIFETIME,
            }
        )
        return entity

    def get_link_flow(self, nonce: str) -> LinkFlow | None:
        """The flow as it stands (no step taken); None when unknown or too old."""
        entity = self._retrying(lambda: self._client.get(self._client.key(LINK_FLOW, nonce)))
        return self._fresh(entity, nonce)

    def advance_link_flow(
        self,
        nonce: str,
        expected: FlowStage,
        to: FlowStage,
        code_verifier: Mapping[str, str] | None = None,
    ) -> LinkFlow | None:
        """Move the flow from ``expected`` to ``to`` in one transaction; None (nothing
        changed) when it is unknown, too old or at another stage (a replayed step)."""
        key = self._client.key(LINK_FLOW, nonce)

        def run() -> LinkFlow | None:
            flow = self._fresh(self._client.get(key), nonce)
            if flow is None or flow.stage != expected:
                return None
            moved = replace(flow, stage=to, code_verifier=code_verifier or flow.code_verifier)
            self._client.put(self._flow_entity(moved))
            return moved

        return self._transaction(run)

    def take_link_flow(self, nonce: str, expected: FlowStage) -> LinkFlow | None:
        """The flow at stage ``expected``, deleted in the same transaction (single use); None
        when unknown, used already, too old or at another stage."""
        key = self._client.key(LINK_FLOW, nonce)

        def run() -> LinkFlow | None:
            entity = self._client.get(key)
            if entity is None:
                return None
            self._client.delete(key)
            flow = self._fresh(entity, nonce)
            return flow if flow is not None and flow.stage == expected else None

        return self._transaction(run)

    def _fresh(self, entity: Any, nonce: str) -> LinkFlow | None:
        if entity is None:
            return None
        flow = LinkFlow(
            nonce=nonce,
            user_id=entity["user_id"],
            email=entity["email"],
            solution_id=entity["solution_id"],
            stage=entity["stage"],
            created_at=entity["created_at"],
            code_verifier=_load(entity.get("code_verifier")),
        )
        return flow if self._clock() - flow.created_at <= LINK_FLOW_LIFETIME else None


def _dump(sealed: Mapping[str, str] | None) -> str | None:
    return json.dumps(dict(sealed)) if sealed else None


def _load(raw: Any) -> dict[str, str] | None:
    return json.loads(raw) if isinstance(raw, str) and raw else None


def _link_from_entity(e: Any) -> VendorLink:
    return VendorLink(
        user_id=e["user_id"],
        solution_id=e["solution_id"],
        email=e.get("email") or "",
        access_token=_load(e.get("access_token")),
        refresh_token=_load(e.get("refresh_token")),
        expires_at=e.get("expires_at"),
        vendor_user_id=e.get("vendor_user_id"),
        state="active" if e.get("state") == "active" else "needs_link",
        reason=e.get("reason"),
        version=int(e.get("version", 0)),
        refreshing_until=e.get("refreshing_until"),
        created_at=e.get("created_at"),
        updated_at=e.get("updated_at"),
    )
