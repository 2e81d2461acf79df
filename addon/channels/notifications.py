"""What a push notification does (``POST /calendar/push``).

Calendar's notifications carry no body and no Google signature: only headers
(``X-Goog-Channel-ID``, ``X-Goog-Channel-Token``, ``X-Goog-Resource-ID``,
``X-Goog-Resource-State``, ``X-Goog-Message-Number``). A notification counts only when its
channel is one we stored, its token is our HMAC of that channel id and its resource id is the
one Calendar gave us; anything else is refused (404, so Google does not retry it) and changes
nothing. What a genuine one does, answered at once:

* ``sync`` (the first message of every channel) — acknowledged;
* on a live (or just-opening) channel — the calendar's debounced sync task is enqueued, the
  same task a trigger in that window names, so a storm of notifications (and triggers)
  becomes one sync;
* on a replaced or stopped channel (the overlap after a renewal, or one we could not stop) —
  acknowledged, nothing synced: the live channel reports the same change; a replaced one is
  stopped by a task.

Google retries a notification only on 500, 502, 503 and 504: Cloud Tasks being unreachable is
answered 503 so the change is not lost.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from werkzeug.datastructures import Headers

from addon.channels.tokens import channel_key, token_matches
from addon.services import Services
from addon.tasks import names
from addon.tasks.body import ChannelTaskBody, TaskBody


@dataclass(frozen=True)
class Notification:
    channel_id: str
    token: str | None
    resource_id: str | None
    state: str | None
    number: str | None

    @classmethod
    def from_headers(cls, headers: Headers) -> Notification | None:
        channel_id = headers.get("X-Goog-Channel-ID")
        if not channel_id or len(channel_id) > 64:
            return None
        return cls(
            channel_id=channel_id,
            token=headers.get("X-Goog-Channel-Token"),
            resource_id=headers.get("X-Goog-Resource-ID"),
            state=headers.get("X-Goog-Resource-State"),
            number=headers.get("X-Goog-Message-Number"),
        )


def on_notification(svc: Services, note: Notification) -> str:
    """The outcome: ``unknown`` (refused), ``acknowledged``, ``ignored``, ``queued`` or
    ``coalesced``. Raises ``QueueUnavailable`` / ``StoreError`` (answered 503)."""
    if not token_matches(channel_key(svc.settings.secret_key), note.channel_id, note.token):
        return "unknown"  # checked first: a forged id costs no Datastore read
    record = svc.store.get_channel(note.channel_id)
    if record is None or (record.resource_id and record.resource_id != note.resource_id):
        return "unknown"
    if record.status in ("replaced", "stopped"):
        if record.status == "replaced":
            body = ChannelTaskBody(record.calendar_id, "stop", record.channel_id)
            svc.queue.enqueue(f"{names.calendar_hash(record.calendar_id)}-x{note.channel_id}", body)
        return "ignored"
    if note.state == "sync":
        return "acknowledged"
    task_id, at = names.debounced(record.calendar_id, time.time(), svc.settings.debounce_seconds)
    created = svc.queue.enqueue(task_id, TaskBody(record.calendar_id, "push"), at)
    return "queued" if created else "coalesced"
