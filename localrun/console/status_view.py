"""The status panel: the calendar's sync state as the add-on recorded it, in plain words."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from addon.store.records import CalendarState, PendingChange
from addon.tasks.names import calendar_hash
from localrun.console.text import TIMES, ago


@dataclass
class StatusView:
    calendar_id: str
    known: bool
    subscribed: bool
    subscribed_by: str | None
    host_subscribers: list[str]
    token: str
    token_age: str
    last_sync: str
    last_result: str
    pending: int
    needs_full_sync: bool
    lease: str | None
    error: str | None
    faults: list[str]
    # (event id, what it stood for, why) of each change parked as needing attention.
    parked: list[tuple[str, str, str]] = field(default_factory=list)
    next_retry: str | None = None
    attention: str | None = None
    # This calendar's sync tasks waiting in Cloud Tasks: (what, when, attempts, last answer).
    queued: list[tuple[str, str, int, str]] = field(default_factory=list)


# What a sync task id says after its calendar hash (``addon.tasks.names``).
TASK_KINDS = {"t": "sync (debounced trigger)", "r": "retry of work left", "l": "lease check",
              "c": "next time slice"}  # fmt: skip


def queued_tasks(
    calendar_id: str, queues: Iterable[Mapping[str, Any]], now: datetime
) -> list[tuple[str, str, int, str]]:
    """The calendar's tasks in the queues, soonest first, in words."""
    prefix = calendar_hash(calendar_id) + "-"
    rows: list[tuple[datetime, tuple[str, str, int, str]]] = []
    for queue in queues:
        for task in queue.get("tasks") or ():
            task_id = str(task.get("id", ""))
            if not task_id.startswith(prefix):
                continue
            kind = TASK_KINDS.get(task_id[len(prefix) : len(prefix) + 1], "task")
            at = _moment(task.get("scheduleTime")) or now
            seconds = (at - now).total_seconds()
            when = "running" if task.get("running") else (
                f"in {seconds:.1f} s" if seconds > 0 else "due now")  # fmt: skip
            status = str(task.get("lastAttemptStatus") or "")
            rows.append((at, (kind, when, int(task.get("dispatchCount") or 0), status)))
    return [row for _, row in sorted(rows, key=lambda r: r[0])]


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def summarise_report(report: Mapping[str, Any]) -> str:
    if not report:
        return "no sync yet"
    parts = [
        f"{report.get('mode', '?')} sync",
        f"{report.get('pages', 0)} list call(s)",
        f"{report.get('changes', 0)} change(s)",
    ]
    actions = report.get("actions") or {}
    if actions:
        parts.append(", ".join(f"{k}{TIMES}{v}" for k, v in sorted(actions.items())))
    if report.get("token_expired"):
        parts.append("410: token expired → full sync + reconcile")
    if report.get("replayed"):
        parts.append(f"replayed {report['replayed']}")
    if report.get("pending"):
        parts.append(f"{report['pending']} pending")
    if report.get("parked"):
        parts.append(f"{report['parked']} parked")
    if report.get("error"):
        parts.append(f"error: {report['error']}")
    return " · ".join(parts)


def status_view(
    calendar_id: str,
    state: CalendarState | None,
    pending: int,
    subscribers: list[str],
    faults: list[str],
    now: datetime,
    error: str | None = None,
    parked: Iterable[PendingChange] = (),
    queued: list[tuple[str, str, int, str]] | None = None,
) -> StatusView:
    if state is None:
        return StatusView(
            calendar_id, False, False, None, subscribers, "none", "—", "never",
            "no sync yet", pending, False, None, error, faults, queued=queued or [],
            next_retry=retry_line(None, pending, now),
        )  # fmt: skip
    lease = None
    if state.lease_owner and state.lease_expires and state.lease_expires > now:
        lease = f"held by {state.lease_owner[:18]} until {state.lease_expires:%H:%M:%S}"
    return StatusView(
        calendar_id=calendar_id,
        known=True,
        subscribed=state.subscribed,
        subscribed_by=state.subscribed_by,
        host_subscribers=subscribers,
        token=f"generation {state.token_generation}" if state.sync_token else "none",
        token_age=ago(state.token_stored_at, now) if state.sync_token else "—",
        last_sync=ago(state.last_sync_at, now),
        last_result=summarise_report(state.last_result),
        pending=pending,
        needs_full_sync=state.needs_full_sync,
        lease=lease,
        error=error,
        faults=faults,
        parked=[(p.event_id, p.action, p.last_error or "") for p in parked],
        next_retry=retry_line(state, pending, now),
        attention=state.attention,
        queued=queued or [],
    )


def retry_line(state: CalendarState | None, pending: int, now: datetime) -> str | None:
    """When the work left behind is tried again, in words; None when nothing waits.

    ``retry_at`` is what the add-on stored with the run that left the work (``retry_in``);
    pending changes without it wait for the calendar's next change, which replays them."""
    if state is None or state.retry_at is None:
        if pending:
            return "no retry scheduled: the calendar's next change replays them"
        return None
    seconds = math.ceil((state.retry_at - now).total_seconds())
    when = f"in {seconds} s" if seconds > 0 else "due now"
    return f"next retry {when} (at {state.retry_at:%H:%M:%S}) · attempt {state.retry_count + 1}"
