"""What the operators' status page reads: counts and short lists, every query cheap.

``overview(limit)`` answers with keys-only queries where counting is all that is needed (the
subscribed calendars, the due markers) and bounded entity queries for the rest (parked
changes with their reasons, the oldest pending change, the channels expiring first, the
latest sync runs). Every query is served by Datastore's built-in indexes (one property, or a
kind alone; see ``index.yaml``). Counts stop at ``COUNT_CAP`` so a huge installation costs a
bounded read: the page then says "at least".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from addon.store.base import DatastoreBase, eq
from addon.store.channels import CHANNEL
from addon.store.entities import CALENDAR, DUE_MARKER, PENDING, SYNC_RUN, calendar_from_entity
from addon.store.records import CalendarState

COUNT_CAP = 10_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class ParkedItem:
    calendar_id: str
    event_id: str
    action: str
    reason: str
    since: datetime | None


@dataclass(frozen=True)
class Overview:
    subscribed: int
    due: int
    retrying: list[CalendarState]
    waiting: list[CalendarState]
    parked: list[ParkedItem]
    oldest_pending: ParkedItem | None
    channels: list[dict[str, Any]]
    runs: list[dict[str, Any]]
    capped: bool = False
    due_ids: list[str] = field(default_factory=list)


class OverviewQueries(DatastoreBase):
    def _count(self, kind: str) -> tuple[int, list[Any]]:
        query = self._client.query(kind=kind)
        query.keys_only()
        keys = self._retrying(lambda: [e.key for e in query.fetch(limit=COUNT_CAP)])
        return len(keys), keys

    def overview(self, limit: int = 50) -> Overview:
        subscribed, _ = self._count(CALENDAR)
        due, due_keys = self._count(DUE_MARKER)
        due_ids = [k.parent.name for k in due_keys[:limit]]
        states = (
            {
                e.key.name: calendar_from_entity(e.key.name, e)
                for e in self._get_multi([self._cal_key(c) for c in due_ids])
            }
            if due_ids
            else {}
        )
        ordered = [states[c] for c in due_ids if c in states]
        retrying = [s for s in ordered if s.retry_count]
        waiting = [s for s in ordered if s.attention]

        parked_q = self._client.query(kind=PENDING)
        parked_q.add_filter(filter=eq("parked", True))
        parked = [_item(e) for e in self._retrying(lambda: list(parked_q.fetch(limit=limit)))]

        oldest_q = self._client.query(kind=PENDING)
        oldest_q.add_filter(filter=_gt("first_failed_at", _EPOCH))
        oldest_q.order = ["first_failed_at"]
        oldest = self._retrying(lambda: list(oldest_q.fetch(limit=1)))

        channel_q = self._client.query(kind=CHANNEL)
        channel_q.add_filter(filter=_gt("expires_at", _EPOCH))
        channel_q.order = ["expires_at"]
        channels = [
            {
                "channel_id": e.key.name,
                "calendar_id": e.get("calendar_id"),
                "status": e.get("status"),
                "expires_at": e.get("expires_at"),
            }
            for e in self._retrying(lambda: list(channel_q.fetch(limit=limit)))
        ]

        runs_q = self._client.query(kind=SYNC_RUN)
        runs_q.order = ["-at"]
        runs = [
            {"calendar_id": e.key.parent.name, "at": e["at"], **json.loads(e["report"])}
            for e in self._retrying(lambda: list(runs_q.fetch(limit=limit * 4)))
        ]
        return Overview(
            subscribed=subscribed,
            due=due,
            retrying=retrying,
            waiting=waiting,
            parked=parked,
            oldest_pending=_item(oldest[0]) if oldest else None,
            channels=channels,
            runs=runs,
            capped=subscribed >= COUNT_CAP or due >= COUNT_CAP,
            due_ids=due_ids,
        )


def _gt(prop: str, value: Any) -> Any:
    from google.cloud.datastore.query import PropertyFilter

    return PropertyFilter(prop, ">", value)


def _item(e: Any) -> ParkedItem:
    return ParkedItem(
        calendar_id=e.key.parent.name,
        event_id=e.key.name,
        action=e.get("action") or "",
        reason=e.get("last_error") or e.get("kind") or "",
        since=e.get("first_failed_at"),
    )
