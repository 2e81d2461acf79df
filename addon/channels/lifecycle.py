"""Opening, renewing and stopping a calendar's push channel (each a Cloud Tasks task).

``open_channel(svc, calendar_id, previous)`` opens a channel to replace ``previous`` (None: the
calendar has none):

1. The calendar must still name ``previous`` as its channel (a second delivery of the same
   task, or a renewal that already happened, changes nothing) and stored credentials must work
   (``stored_only``: a channel must be renewable without a trigger).
2. A ``Channel`` record is written as ``opening`` *before* ``events.watch``, so a channel
   Calendar opened for us is recognised even if we crash before recording its answer.
3. ``events.watch`` with a random id, our HMAC token, the push endpoint and the lifetime.
4. In one transaction the new channel becomes the calendar's live one, only if the calendar
   still names ``previous``; otherwise another delivery won and ours is stopped at once.
5. The previous channel is stopped (``channels.stop``) and kept as ``stopped`` until it
   expires. While both were open, a notification on the old one is acknowledged and causes
   nothing (``notifications``), so the overlap never makes a second sync.

``stop_channel(svc, calendar_id, channel_id)`` stops one channel (the calendar's credentials
are gone, or a stop failed before). Without credentials nobody can stop it: it is recorded as
stopped and left to expire (notifications on it cause nothing).

Outcomes are strings for the task's log line; ``CalendarUnavailable`` and
``TokenServiceUnavailable`` propagate so Cloud Tasks retries the task.
"""

from __future__ import annotations

import logging
import random
import uuid
from datetime import UTC, datetime, timedelta

from addon.calendar.client import CalendarClient
from addon.calendar.errors import CalendarError, CalendarUnavailable
from addon.channels.schedule import renew_at
from addon.channels.tokens import channel_key, channel_token
from addon.credentials.access import NoAccess
from addon.services import Services
from addon.store.channels import ChannelRecord

log = logging.getLogger(__name__)

PUSH_PATH = "/calendar/push"

_rng = random.Random()  # noqa: S311 - jitter, not security


def open_channel(svc: Services, calendar_id: str, previous: str | None) -> str:
    settings = svc.settings
    store = svc.store
    state = store.get_calendar(calendar_id)
    if state is None or not state.subscribed:
        return "unknown calendar"
    if not settings.push_channels:
        return "push channels are off"
    if state.channel_id != previous:
        return "superseded"  # renewed already, or another delivery opened one
    access = svc.access.for_calendar(state, None, stored_only=True)
    if isinstance(access, NoAccess):
        if previous is not None:
            store.retire_channel(calendar_id, previous, "stopped")
        return "no stored credentials"
    client = svc.calendar(access.credentials)
    channel_id = uuid.uuid4().hex
    now = datetime.now(UTC)
    # Until Calendar answers, the longest the channel could live: the record is then
    # deleted by the sweep once a channel opened by an unanswered watch could have lapsed.
    latest = now + timedelta(seconds=settings.channel_ttl_seconds)
    record = ChannelRecord(channel_id, calendar_id, "opening", expires_at=latest, created_at=now)
    store.put_channel(record)
    try:
        answer = client.watch_events(
            calendar_id,
            channel_id=channel_id,
            address=settings.endpoint_url(PUSH_PATH),
            token=channel_token(channel_key(svc.settings.secret_key), channel_id),
            ttl_seconds=settings.channel_ttl_seconds,
        )
    except CalendarUnavailable:
        # The watch may have reached Calendar: the record stays (as opening) so the channel's
        # notifications are still recognised as ours; the task is retried.
        raise
    except CalendarError as exc:
        # Refused (the calendar is gone, access lost): nothing to renew until that changes;
        # the periodic check tries again.
        store.delete_channel(channel_id)
        log.warning("events.watch refused: %s", type(exc).__name__)
        return f"watch refused ({type(exc).__name__})"
    expires = _expiration(answer, now, settings.channel_ttl_seconds)
    live = record.with_(
        resource_id=str(answer.get("resourceId") or ""),
        expires_at=expires,
        renew_at=renew_at(
            expires,
            renew_before=settings.channel_renew_before_seconds,
            jitter=settings.channel_jitter_seconds,
            rng=_rng,
        ),
    )
    if not store.activate_channel(live, previous):
        _stop_quietly(client, live)
        store.retire_channel(calendar_id, channel_id, "stopped")
        return "superseded"
    if previous is not None:
        old = store.get_channel(previous)
        if old is not None and old.resource_id:
            _stop_quietly(client, old)
        store.retire_channel(calendar_id, previous, "stopped")
    log.info(
        "push channel open",
        extra={"json_fields": {"renewed": previous is not None, "expires": expires.isoformat()}},
    )
    return "renewed" if previous is not None else "opened"


def stop_channel(svc: Services, calendar_id: str, channel_id: str) -> str:
    store = svc.store
    record = store.get_channel(channel_id)
    if record is None or record.calendar_id != calendar_id:
        return "unknown channel"
    state = store.get_calendar(calendar_id)
    access = svc.access.for_calendar(state, None, stored_only=True) if state else None
    if access is None or isinstance(access, NoAccess) or not record.resource_id:
        store.retire_channel(calendar_id, channel_id, "stopped")
        return "left to expire (no credentials to stop it)"
    client = svc.calendar(access.credentials)
    client.stop_channel(channel_id, record.resource_id)  # CalendarUnavailable: retried
    store.retire_channel(calendar_id, channel_id, "stopped")
    return "stopped"


def _stop_quietly(client: CalendarClient, record: ChannelRecord) -> None:
    """Stop a channel we no longer want; a failure leaves it to expire (it causes nothing)."""
    if not record.resource_id:
        return
    try:
        client.stop_channel(record.channel_id, record.resource_id)
    except CalendarError as exc:
        log.warning("channels.stop failed: %s", type(exc).__name__)


def _expiration(answer: dict[str, object], now: datetime, ttl: int) -> datetime:
    """The channel's expiration Calendar answered (epoch milliseconds, as a string)."""
    raw = answer.get("expiration")
    try:
        return datetime.fromtimestamp(int(str(raw)) / 1000, UTC)
    except (TypeError, ValueError):
        # Google documents the field; an answer without it is taken at the lifetime we asked.
        return now + timedelta(seconds=ttl)
