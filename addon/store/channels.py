"""Push channels on Datastore: one ``Channel`` entity per ``events.watch`` channel we opened.

Key ``(Channel, <channel id>)``, top level, so a notification (which names only the channel
and resource ids) is matched with one lookup. ``status``:

* ``opening`` — written before ``events.watch`` is called, so a channel Calendar opened for us
  is known even if we crash before recording its answer;
* ``live`` — the calendar's current channel (``Calendar.channel_id`` names it); only live
  channels carry ``renew_at`` in the index, so the sweep's range query finds them alone;
* ``replaced`` — a newer channel took over (renewal); notifications on it are acknowledged and
  cause nothing, and it is stopped;
* ``stopped`` — ``channels.stop`` succeeded, or nobody can stop it any more (the credentials
  are gone); kept until it expires so late notifications are still recognised as ours.

Records are deleted once their channel expired (``expired_channels``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from addon.store.calendars import CalendarRecords
from addon.store.records import CalendarState

CHANNEL = "Channel"

ChannelStatus = Literal["opening", "live", "replaced", "stopped"]


@dataclass(frozen=True)
class ChannelRecord:
    channel_id: str
    calendar_id: str
    status: ChannelStatus = "opening"
    resource_id: str | None = None
    expires_at: datetime | None = None
    renew_at: datetime | None = None
    created_at: datetime | None = None

    def with_(self, **changes: Any) -> ChannelRecord:
        return replace(self, **changes)


class ChannelRecords(CalendarRecords):
    """Channels, and the calendar state that names the live one (same transactions)."""

    def _channel_key(self, channel_id: str) -> Any:
        return self._client.key(CHANNEL, channel_id)

    def _channel_entity(self, record: ChannelRecord) -> Any:
        from google.cloud import datastore

        unindexed = ["calendar_id", "resource_id", "status", "created_at"]
        live = record.status == "live" and record.renew_at is not None
        if not live:
            # Left out of the index: a null would match the sweep's range query.
            unindexed.append("renew_at")
        if record.expires_at is None:
            unindexed.append("expires_at")  # opening: not expired, whatever the query says
        entity = datastore.Entity(
            self._channel_key(record.channel_id), exclude_from_indexes=tuple(unindexed)
        )
        entity.update(
            {
                "calendar_id": record.calendar_id,
                "status": record.status,
                "resource_id": record.resource_id,
                "expires_at": record.expires_at,
                "renew_at": record.renew_at if live else None,
                "created_at": record.created_at or self._clock(),
            }
        )
        return entity

    def get_channel(self, channel_id: str) -> ChannelRecord | None:
        entity = self._retrying(lambda: self._client.get(self._channel_key(channel_id)))
        return _channel_from_entity(entity) if entity is not None else None

    def get_channels(self, channel_ids: Sequence[str]) -> list[ChannelRecord]:
        if not channel_ids:
            return []
        keys = [self._channel_key(c) for c in channel_ids]
        return [_channel_from_entity(e) for e in self._get_multi(keys)]

    def put_channel(self, record: ChannelRecord) -> None:
        entity = self._channel_entity(record)
        self._retrying(lambda: self._client.put(entity))

    def delete_channel(self, channel_id: str) -> None:
        self._retrying(lambda: self._client.delete(self._channel_key(channel_id)))

    def activate_channel(self, record: ChannelRecord, previous: str | None) -> bool:
        """Make ``record`` (opened by Calendar) the calendar's live channel, only if the
        calendar's channel is still ``previous``; the previous one becomes ``replaced``.
        False: another delivery got there first (the caller stops its own channel)."""

        def decide(state: CalendarState) -> tuple[CalendarState | None, bool]:
            if state.channel_id != previous or not state.subscribed:
                return None, False
            self._client.put(self._channel_entity(record.with_(status="live")))
            if previous is not None:
                self._mark(previous, "replaced")
            return state.with_(channel_id=record.channel_id), True

        return self._decide(record.calendar_id, decide)[1]

    def retire_channel(self, calendar_id: str, channel_id: str, status: ChannelStatus) -> None:
        """The channel is no longer live (``status``: replaced or stopped); the calendar then
        has none, if it still named this one."""

        def decide(state: CalendarState) -> tuple[CalendarState | None, None]:
            self._mark(channel_id, status)
            if state.channel_id != channel_id:
                return None, None
            return state.with_(channel_id=None), None

        self._decide(calendar_id, decide)

    def _mark(self, channel_id: str, status: ChannelStatus) -> None:
        """Inside a transaction: the channel's new status (no renewal any more)."""
        old = self._client.get(self._channel_key(channel_id))
        if old is not None:
            record = _channel_from_entity(old).with_(status=status, renew_at=None)
            self._client.put(self._channel_entity(record))

    def channels_to_renew(self, before: datetime, limit: int = 500) -> list[str]:
        """Live channels whose renewal time is at or before ``before`` (keys only)."""
        from google.cloud.datastore.query import PropertyFilter

        query = self._client.query(kind=CHANNEL, filters=[PropertyFilter("renew_at", "<=", before)])
        query.keys_only()
        return [e.key.name for e in query.fetch(limit=limit)]

    def expired_channels(self, before: datetime, limit: int = 500) -> list[str]:
        """Channels (any status) that expired before ``before``: nothing more can arrive."""
        from google.cloud.datastore.query import PropertyFilter

        query = self._client.query(
            kind=CHANNEL, filters=[PropertyFilter("expires_at", "<=", before)]
        )
        query.keys_only()
        return [e.key.name for e in query.fetch(limit=limit)]


def _channel_from_entity(e: Any) -> ChannelRecord:
    status = e.get("status")
    return ChannelRecord(
        channel_id=e.key.name,
        calendar_id=e["calendar_id"],
        status=status if status in ("opening", "live", "replaced", "stopped") else "stopped",
        resource_id=e.get("resource_id"),
        expires_at=e.get("expires_at"),
        renew_at=e.get("renew_at"),
        created_at=e.get("created_at"),
    )
