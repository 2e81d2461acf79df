"""The sweep: what Cloud Scheduler calls every few minutes (``POST /tasks/sweep``) so that no
calendar waits for a trigger that may never come.

``sweep(svc, now)`` reads only what is due, never every calendar, and turns it into tasks:

1. **Due calendars whose work has no owner** (``DueMarker`` entities: dirty, pending changes,
   a full sync needed, a cursor, a retry): skipped while a lease is live (its holder runs
   again) or a retry task is scheduled (it owns the work); otherwise a ``check`` sync task,
   named by the minute so overlapping sweeps collapse. The task reads Calendar with stored
   credentials (``addon.credentials.access``); a calendar nobody may read waits visibly.
2. **Channels close to expiry** (live channels whose ``renew_at`` falls within the next
   ``RENEW_HORIZON``): a channel task at ``renew_at``, named by the channel.
3. **Periodic checks** (``next_check_at`` passed; every finished listing pushes it a whole
   ``ADDON_CHECK_INTERVAL_SECONDS`` ahead, so only idle calendars come up): a ``check`` sync
   task. Its incremental listing reports every change since the stored token, deletions
   included, so a deletion no trigger and no notification reported is still found. The
   check is then moved a whole interval ahead.
4. **Expired channel records** are deleted (nothing can arrive on them any more).

Each kind reads at most ``ADDON_SWEEP_BATCH`` keys; when one is full the sweep continues as a
task. Every query is a keys-only range or kind query over a single-property index, whose cost
follows the matches, not the number of calendars (Datastore scans an index range for it).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from addon.credentials.access import WAITING
from addon.services import Services
from addon.store.records import CalendarState
from addon.tasks import names
from addon.tasks.body import ChannelTaskBody, TaskBody

log = logging.getLogger(__name__)

# Renewals are enqueued this far ahead (scheduled at their renew_at): the sweep may run as
# rarely as this and still never miss one.
RENEW_HORIZON = timedelta(hours=1)
# A due calendar whose retry was due this long ago has lost its retry task.
RETRY_GRACE = timedelta(minutes=5)
SWEEP_WINDOW_SECONDS = 60


@dataclass
class SweepReport:
    due: int = 0
    due_enqueued: int = 0
    renewals: int = 0
    checks: int = 0
    expired_channels: int = 0
    continued: bool = False
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, why: str) -> None:
        self.skipped[why] = self.skipped.get(why, 0) + 1

    def to_dict(self) -> dict[str, object]:
        return {
            "due": self.due,
            "dueEnqueued": self.due_enqueued,
            "renewals": self.renewals,
            "checks": self.checks,
            "expiredChannels": self.expired_channels,
            "continued": self.continued,
            "skipped": self.skipped,
        }


def sweep(svc: Services, now: datetime) -> SweepReport:
    """One sweep; raises ``StoreError``/``QueueUnavailable`` (the caller answers 503 and the
    scheduler or Cloud Tasks calls again; every task id is derived, so a repeat is harmless)."""
    report = SweepReport()
    batch = svc.settings.sweep_batch
    window = math.floor(now.timestamp() / SWEEP_WINDOW_SECONDS)
    full = _due(svc, now, window, batch, report)
    full |= _renewals(svc, now, batch, report)
    full |= _checks(svc, now, batch, report)
    expired = svc.store.expired_channels(now, batch)
    for channel_id in expired:
        svc.store.delete_channel(channel_id)
    report.expired_channels = len(expired)
    if full or len(expired) == batch:
        report.continued = svc.queue.enqueue_sweep(f"sweep-{window}-{_digits(now)}")
    log.info("sweep", extra={"json_fields": report.to_dict()})
    return report


def _due(svc: Services, now: datetime, window: int, batch: int, report: SweepReport) -> bool:
    ids = svc.store.due_calendars(batch)
    report.due = len(ids)
    for state in svc.store.get_calendars(ids):
        why = _owned(state, now)
        if why is not None:
            report.skip(why)
            continue
        task_id = f"{names.calendar_hash(state.calendar_id)}-s{window}"
        if svc.queue.enqueue(task_id, TaskBody(state.calendar_id, "check")):
            report.due_enqueued += 1
    return len(ids) == batch


def _owned(state: CalendarState, now: datetime) -> str | None:
    """Why a due calendar needs no task from the sweep (None: it does)."""
    if not state.subscribed:
        return "not subscribed"
    if state.lease_owner is not None and state.lease_expires and state.lease_expires > now:
        return "lease held"
    if state.retry_at is not None and state.retry_at > now - RETRY_GRACE:
        return "retry scheduled"
    if state.attention is not None and state.attention.startswith(WAITING):
        # Nothing the add-on holds can read it: its next trigger, a consent given or the
        # periodic check resumes it; asking Google on every sweep would not.
        return "waiting for the user"
    return None


def _renewals(svc: Services, now: datetime, batch: int, report: SweepReport) -> bool:
    ids = svc.store.channels_to_renew(now + RENEW_HORIZON, batch)
    for record in svc.store.get_channels(ids):
        if record.status != "live" or record.renew_at is None:
            continue
        task_id = f"{names.calendar_hash(record.calendar_id)}-w{record.channel_id}"
        body = ChannelTaskBody(record.calendar_id, "open", record.channel_id)
        if svc.queue.enqueue(task_id, body, max(now, record.renew_at).timestamp()):
            report.renewals += 1
    return len(ids) == batch


def _checks(svc: Services, now: datetime, batch: int, report: SweepReport) -> bool:
    ids = svc.store.checks_due(now, batch)
    interval = timedelta(seconds=svc.settings.check_interval_seconds)
    for state in svc.store.get_calendars(ids):
        due_at = state.next_check_at
        if due_at is None or due_at > now:
            continue  # a listing pushed it ahead since the query
        # Enqueued first (named by the check it stands for, so a repeat collapses), then
        # moved ahead: a failure in between makes the next sweep enqueue the same id again.
        task_id = f"{names.calendar_hash(state.calendar_id)}-k{_digits(due_at)}"
        if svc.queue.enqueue(task_id, TaskBody(state.calendar_id, "check")):
            report.checks += 1
        svc.store.move_check(state.calendar_id, due_at, now + interval)
    return len(ids) == batch


def _digits(moment: datetime) -> str:
    return str(round(moment.timestamp() * 1000))
